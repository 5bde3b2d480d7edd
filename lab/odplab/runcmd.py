# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""`odplab run`: the perftest matrix and the ib_*_lat reference on the
pristine and the patched kernel, one guest boot each, and their comparison.

The report directory (results/run/STAMP by default) holds, per kernel,
VARIANT/perftest.json, VARIANT/reference/, the guest's console.log and
dmesg.txt, VARIANT/kernel/ (config, build manifest, the exact patch files),
and at the top compare.md and compare.html. perftest rewrites its JSON
after every scenario, so a run stopped with Ctrl-C leaves the finished
scenarios readable and the comparison is written from them.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from . import accel
from . import compare as compare_mod
from . import expect
from . import kernel as kernel_mod
from . import nodes as nodes_mod
from . import reportcheck
from .common import PROJECT_ROOT, LabError, info, results_dir, step
from .userspace import (KHUGEPAGED_ASLEEP, KHUGEPAGED_CONTEXT, PERFTEST,
                        build_userspace)
from .vm import VmOptions, run_in_vm

SUITE = PROJECT_ROOT / "lab" / "guest" / "suite.py"
REFLAT = PROJECT_ROOT / "lab" / "odplab" / "reflat.py"


# Per preset: perftest's preset, guest timeout (s), reference iterations
# and measured rounds per tool.
PRESETS = {
    "quick": ("quick", 900, 1000, 1),
    # The default matrix took about 40 min of perftest per kernel under
    # TCG on 2 cores (2026-12-04): 70 min leaves room for a slower host.
    "default": ("default", 4200, 3000, 2),
    "full": ("full", 6 * 3600, 3000, 3),
}


# A large MR's first touch: every op WRITEs 1 MiB (256 pages) that
# MADV_DONTNEED has just dropped, so the responder faults in and zeroes
# 256 pages while the requester waits on the wire; with its control (no
# event). The report's retry table says whether the requester sent again.
FIRST_TOUCH_POINTS = ",".join(
    f"write/msg=1048576/mr=67108864/pages=1/event={e}/period=1"
    for e in ("none", "madvise-dontneed"))
# perftest flags of a run of two nodes (--nodes 2), before the user's:
# the prefetch of odp-prefetch would run in the server, outside the
# requester's latency, so perftest --server does not offer it.
NODES_ARGS = ("--registration=odp,pinned", f"--points={FIRST_TOUCH_POINTS}")
# ... and of its --quick: the event scenarios, which the checks read.
NODES_QUICK_ARGS = ("--backgrounds=none",)


def node_args(preset, nodes):
    """The perftest flags a run of `nodes` guests adds for `preset`."""
    if nodes == 1:
        return []
    return [*NODES_ARGS, *(NODES_QUICK_ARGS if preset == "quick" else ())]


def report_dir(out, label, nodes=1):
    """Where a kernel's perftest.json and reference/ are: with two nodes,
    in the client's (node 1's) results."""
    if nodes == 2:
        return nodes_mod.node_dir(out / label, nodes_mod.CLIENT)
    return out / label


def _stamp():
    return datetime.now().strftime("%Y%m%d-%H%M%S")


def _new_dir(base):
    out, n = base, 1
    while out.exists():
        n += 1
        out = base.with_name(f"{base.name}.{n}")
    out.mkdir(parents=True)
    return out


def _save_kernel(kern, vdir):
    """The kernel's config, build manifest and exact patch series."""
    kdir = vdir / "kernel"
    kdir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(kern.directory / "config", kdir / "config")
    shutil.copy2(kern.directory / "manifest.json", kdir / "manifest.json")
    pdir = kern.directory / "patches"
    if pdir.is_dir():
        shutil.copytree(pdir, kdir / "patches", dirs_exist_ok=True)


def perftest_argv(binary, preset, output, manifest, variant, extra,
                  context=()):
    # Directory/name, so that the context's sorted map keeps the order in
    # which the series was applied (base-, kernel-, rxe-patches).
    series = ",".join(f"{p['file']}={p['sha256']}"
                      for p in manifest.get("patches", []))
    argv = [str(binary), f"--preset={preset}", f"--output={output}",
            f"--kernel_config_hash={manifest.get('config_sha256', '')}",
            f"--context=variant={variant},flavour="
            f"{manifest.get('flavour', '')},kernel_key="
            f"{manifest.get('key', '')[:12]}" + "".join(
                f",{c}" for c in context)]
    if series:
        argv.append(f"--patch_series={series}")
    return argv + list(extra)


def _suite_argv(vdir, preset_spec, perftest_cmd, reference, device="rxe0"):
    _, _, iters, rounds = preset_spec
    # Debian's interpreter, which the guest also has (the host's root).
    return ["/usr/bin/python3", str(SUITE), f"--out={vdir}",
            f"--reflat={REFLAT}",
            f"--ref-ops={'read,write,send' if reference else ''}",
            f"--ref-device={device}", f"--ref-iterations={iters}",
            f"--ref-rounds={rounds}", "--", *perftest_cmd]


def run_variant(src, variant, out, preset_spec, reference, extra,
                label=None, nodes=1):
    """One kernel's boot (or two guests' with nodes=2); returns its
    VmResult, with two nodes the first that failed, else the client's."""
    vdir = out / (label or variant)
    vdir.mkdir(parents=True, exist_ok=True)
    kern = kernel_mod.ensure_kernel(src, variant, "default")
    _save_kernel(kern, vdir)
    rdir = report_dir(out, label or variant, nodes)
    cmd = [str(KHUGEPAGED_ASLEEP), *perftest_argv(
        PERFTEST, preset_spec[0], rdir / "perftest.json", kern.manifest,
        variant, extra, context=[KHUGEPAGED_CONTEXT])]
    tools = (" and ib_read_lat / ib_write_lat / ib_send_lat --odp"
             if reference else "")
    argv = _suite_argv(vdir, preset_spec, cmd, reference)
    if nodes == 1:
        step(f"{label or variant}: perftest --preset={preset_spec[0]}"
             f"{tools} in one guest boot")
        opts = VmOptions(timeout=preset_spec[1], boot_timeout=180.0)
        return run_in_vm(kern, argv, variant, out_dir=vdir, opts=opts)
    step(f"{label or variant}: perftest --server in node 0, --client "
         f"--preset={preset_spec[0]} in node 1{tools}, two guest boots")
    opts = VmOptions(cpus=nodes_mod.default_cpus(), timeout=preset_spec[1],
                     boot_timeout=180.0)
    results = nodes_mod.run_nodes(kern, argv, variant, out_dir=vdir,
                                  opts=opts)
    return next((r for r in results if r.exit_code), results[-1])


def _reference(rdir):
    path = rdir / "reference" / "reference.json"
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _empty_report(variant):
    return {"schema_version": compare_mod.SCHEMA_VERSION,
            "context": {"extra": {"variant": f"{variant} (not run)"}},
            "results": []}


def write_comparison(out, labels=("pristine", "patched"), keeps=(False, True),
                     nodes=1):
    """compare.md and compare.html from whatever reports exist; `keeps`
    says whether each kernel keeps ODP pages (reportcheck)."""
    reports = []
    for label in labels:
        path = report_dir(out, label, nodes) / "perftest.json"
        if path.exists():
            reports.append((path, compare_mod.load_report(path)))
        else:
            reports.append((path, _empty_report(label)))
    (pa, a), (pb, b) = reports
    if not a["results"] and not b["results"]:
        info("no perftest scenario finished; no comparison written")
        return None, []
    comp = compare_mod.compare(a, b, pa, pb, labels[0], labels[1])
    reference = {"A": _reference(report_dir(out, labels[0], nodes)),
                 "B": _reference(report_dir(out, labels[1], nodes))}
    checks = reportcheck.expectation_checks(comp, keeps)
    compare_mod.write_comparison_files(comp, a, b, out, reference, checks)
    return comp, checks


def _finish(out, comp, checks, failures, interrupted, same_kernel=False):
    step("report")
    for name, ok, detail in checks:
        print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}", flush=True)
        if not ok and not interrupted:
            failures.append(f"check {name}: {detail}")
    if comp is not None:
        for line in compare_mod.headline_lines(comp):
            print(line, flush=True)
        for line in compare_mod.target_lines(comp):
            print(f"target: {line}", flush=True)
        if same_kernel:
            # Every flag is a false positive: the rate, with the threshold.
            print(compare_mod.same_kernel_line(comp), flush=True)
        else:
            regs = comp.regressions()
            print(f"noise threshold: {compare_mod.noise_line(comp)}",
                  flush=True)
            print(f"regressions (patched slower beyond noise): "
                  f"{', '.join(r.name for r in regs) if regs else 'none'}",
                  flush=True)
        print(compare_mod.chance_line(comp), flush=True)
    for f in failures:
        print(f"odplab: FAILED {f}", file=sys.stderr, flush=True)
    if interrupted:
        print("odplab: interrupted; the finished part of the report is "
              "readable", flush=True)
    print(accel.summary(), flush=True)
    if comp is None:
        print(f"report: no comparison written; the reports are in {out}",
              flush=True)
    else:
        print(f"report: {out}/compare.html and {out}/compare.md",
              flush=True)


def check_perftest_args(preset, extra):
    """perftest --dry_run on the host: bad extra flags fail here, before
    any kernel is built or booted. Returns the number of scenarios."""
    proc = subprocess.run([str(PERFTEST), f"--preset={preset}",
                           "--dry_run", "--json", *extra],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise LabError("perftest rejects the run's flags "
                       f"({' '.join(extra) or 'the preset'}): "
                       + (proc.stderr.strip() or proc.stdout.strip()))
    return len(json.loads(proc.stdout)["scenarios"])


def run(src, preset="default", out=None, reference=True, extra=(),
        same_kernel=None, nodes=1):
    """perftest on pristine and on patched, one boot each, and their
    comparison; with same_kernel=VARIANT, that kernel on two boots
    instead, whose comparison measures compare's false-positive rate.
    With nodes=2, each boot is two guests: the responder and the
    requester (perftest --server and --client)."""
    preset_spec = PRESETS[preset]
    extra = [*node_args(preset, nodes), *extra]
    if same_kernel:
        runs = [(same_kernel, f"{same_kernel}-boot{i}") for i in (1, 2)]
    else:
        runs = [(v, v) for v in kernel_mod.COMPARED]
    labels = tuple(label for _, label in runs)
    build_userspace()
    n = check_perftest_args(preset_spec[0], extra)
    out = Path(out).resolve() if out else _new_dir(
        results_dir() / "run" / _stamp())
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    info(f"{n} perftest scenarios per kernel")
    # Both kernels before the first boot: a build never splits the run.
    for variant in sorted({v for v, _ in runs}):
        kernel_mod.ensure_kernel(src, variant, "default")
    info(f"report directory: {out}")
    failures, interrupted, comp, checks = [], False, None, []
    try:
        for i, (variant, label) in enumerate(runs, 1):
            step(f"stage {i} of {len(runs)}: {label} "
                 f"({time.monotonic() - t0:.0f} s elapsed)")
            r = run_variant(src, variant, out, preset_spec, reference, extra,
                            label=label, nodes=nodes)
            if r.exit_code != 0:
                failures.append(f"{label}: {r.message}")
    except KeyboardInterrupt:
        interrupted = True
    try:
        keeps = tuple(expect.keeps_pages(v) for v, _ in runs)
        comp, checks = write_comparison(out, labels, keeps, nodes=nodes)
    except KeyboardInterrupt:
        interrupted = True
    except LabError as e:  # e.g. an old report from another accelerator
        failures.append(f"comparison: {e}")
    _finish(out, comp, checks, failures, interrupted,
            same_kernel=bool(same_kernel))
    if interrupted:
        return 130
    return 1 if failures else 0


def _first_device():
    try:
        names = sorted(os.listdir("/sys/class/infiniband"))
    except OSError:
        names = []
    if not names:
        raise LabError("no RDMA device on this host (/sys/class/infiniband "
                       "is empty or missing): run without --host to use "
                       "the QEMU guests with Soft-RoCE, or load the "
                       "device's driver (mlx5_ib)")
    return names[0]


def run_host(device, preset="default", out=None, reference=True, extra=()):
    """The same suite on this machine's own kernel and RDMA device (real
    ODP hardware), no VM; compare two such runs with odplab compare."""
    preset_spec = PRESETS[preset]
    release = os.uname().release
    build_userspace()
    check_perftest_args(preset_spec[0], extra)
    out = Path(out).resolve() if out else _new_dir(
        results_dir() / "run" / f"{_stamp()}-host")
    vdir = out / release
    vdir.mkdir(parents=True, exist_ok=True)
    extra = [f"--device={device}", *extra] if device else list(extra)
    cmd = perftest_argv(PERFTEST, preset_spec[0], vdir / "perftest.json",
                        {}, f"host-{release}", extra)
    argv = _suite_argv(vdir, preset_spec, cmd, reference,
                       device=device or _first_device())
    step(f"host kernel {release}: {' '.join(cmd)}")
    # No VM: the report says so where a guest's says KVM or TCG.
    env = {**os.environ, "IBODP_CONTEXT_ACCELERATOR": "none"}
    try:
        rc = subprocess.run(argv, env=env, check=False).returncode
    except KeyboardInterrupt:
        rc = 130
    print(f"report: {vdir}/perftest.json; compare two kernels with "
          f"./odplab compare A/perftest.json B/perftest.json", flush=True)
    if rc not in (0, 130):
        raise LabError(f"the suite failed on the host (exit {rc}); its "
                       f"output is above, the report in {vdir}", rc)
    return rc


