# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""One guest job of `odplab test`: a variant, a command line, and what came
back (exit status, splats, the structured result files the command wrote
into its out directory). Every check of the suite reads its guest's results
through this layer; a job runs once per `odplab test` however many checks
read it."""

import functools
import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from . import kernel as kernel_mod
from . import nodes
from .common import results_dir
from .vm import VmOptions, VmResult, run_in_vm

# What the in-guest fault-count tests expect of each kernel: whether it
# keeps ODP pages on write-protecting events (tests/guest/faults_test.cc
# reads IBODP_EXPECT_KEEP).
EXPECT_KEEP = {"vanilla": "0", "pristine": "0", "patched": "1",
               "planted": "1"}

# The kernels the in-guest tests run on: the patched one with lockdep,
# DEBUG_VM (lab/config/debug.config) and KASAN (kasan.config), since it
# keeps mappings the pristine one drops.
TEST_FLAVOUR = {"vanilla": "default", "pristine": "default",
                "patched": "kasan", "planted": "default"}


@dataclass
class GuestJob:
    variant: str
    name: str
    argv: list
    result: VmResult

    @property
    def out(self):
        return self.result.out_dir

    @property
    def clean(self):
        """Exit status 0 and no kernel splat."""
        return self.result.exit_code == 0

    def json(self, filename):
        """A JSON file the command wrote, or None when it wrote none (or
        an unreadable one: the check that needs it says so)."""
        try:
            return json.loads((self.out / filename).read_text())
        except (OSError, ValueError):
            return None

    def console(self):
        path = self.out / "console.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def rerun_hint(self):
        return (f"rerun: ./odplab vm run --variant {self.variant} --flavour "
                f"{TEST_FLAVOUR[self.variant]} -- "
                + " ".join(str(a) for a in self.argv))


def out_dir(name):
    return results_dir() / "test" / name


def run_job(source, variant, argv, name, timeout, echo=True, prepare=None):
    """Boots the variant's test kernel and runs argv in it; the command's
    files land in results/test/NAME (pass paths there in argv), which is
    emptied first so that no check reads an earlier run's file.
    prepare(out) writes the job's inputs there before the boot."""
    kern, out, opts = _set_up(source, variant, name, timeout, echo)
    if prepare is not None:
        prepare(out)
    r = run_in_vm(kern, [str(a) for a in argv], variant, out_dir=out,
                  opts=opts)
    return GuestJob(variant, name, list(argv), r)


def _set_up(source, variant, name, timeout, echo, cpus=2):
    """The variant's test kernel, the job's emptied out directory and the
    guests' options."""
    kern = kernel_mod.ensure_kernel(source, variant, TEST_FLAVOUR[variant])
    out = out_dir(name)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    opts = VmOptions(timeout=timeout, boot_timeout=min(timeout, 180.0),
                     echo=echo, cpus=cpus,
                     env={"IBODP_EXPECT_KEEP": EXPECT_KEEP[variant]})
    return kern, out, opts


@dataclass
class NodesJob:
    """A job of two guests (odplab vm run --nodes 2): node n's results
    are in out/node{n}."""
    variant: str
    name: str
    argv: list
    results: list
    out: Path

    @property
    def clean(self):
        """Every node's command exited 0, and no kernel splat in either."""
        return all(r.exit_code == 0 for r in self.results)

    @property
    def message(self):
        return "\n".join(f"node{n}: {r.message}"
                         for n, r in enumerate(self.results) if r.message)

    def json(self, node, filename):
        """A JSON file node `node`'s command wrote, or None."""
        try:
            return json.loads((self.results[node].out_dir /
                               filename).read_text())
        except (OSError, ValueError):
            return None


def run_nodes_job(source, variant, argv, name, timeout, echo=True):
    """argv in both guests of the variant's test kernel (nodes.py), its
    files in results/test/NAME/node{0,1}."""
    kern, out, opts = _set_up(source, variant, name, timeout, echo,
                              cpus=nodes.default_cpus())
    results = nodes.run_nodes(kern, [str(a) for a in argv], variant,
                              out_dir=out, opts=opts)
    return NodesJob(variant, name, list(argv), results, out)


@dataclass
class GtestCase:
    name: str          # Suite.Test
    verdict: str       # "PASSED" | "FAILED" | "SKIPPED"
    message: str       # the failure or the skip's reason


def gtest_xml(path):
    """{Suite.Test: GtestCase} of a GoogleTest XML report, or None when the
    file is missing or cut short (the run died)."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    cases = {}
    for tc in root.iter("testcase"):
        name = f"{tc.get('classname')}.{tc.get('name')}"
        failures = [f.get("message", "") for f in tc.findall("failure")]
        skipped = tc.find("skipped")
        if failures:
            cases[name] = GtestCase(name, "FAILED", "\n".join(failures))
        elif tc.get("result") == "skipped" or skipped is not None:
            msg = skipped.get("message", "") if skipped is not None else ""
            # The message starts with FILE:LINE; the reason follows.
            cases[name] = GtestCase(name, "SKIPPED",
                                    msg.split("\n", 1)[-1].strip())
        else:
            cases[name] = GtestCase(name, "PASSED", "")
    return cases


@functools.lru_cache(maxsize=None)
def gtest_list(binary):
    """Suite.Test names a GoogleTest binary has (--gtest_list_tests needs
    no device, so it runs on the host)."""
    proc = subprocess.run([str(binary), "--gtest_list_tests"],
                          capture_output=True, text=True, check=True)
    names, suite = [], None
    for line in proc.stdout.splitlines():
        if not line.strip():
            continue
        if not line.startswith(" "):
            suite = line.split()[0]
        else:
            names.append(suite + line.split()[0])
    return names


def path_in(name, filename):
    """An absolute path in a job's out directory, for the guest's argv."""
    return Path(out_dir(name)) / filename
