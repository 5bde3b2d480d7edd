# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""`odplab test`: builds what the checks need, then runs the pytest suite
in lab/odplab/suite/ (one module per stage) with a JUnit file in
results/test/ and the closing line `odplab: N passed, N failed, N
skipped`."""

from pathlib import Path

from . import accel
from . import kernel as kernel_mod
from .common import results_dir, step
from .guestjob import TEST_FLAVOUR
from .userspace import build_userspace

SUITE = Path(__file__).resolve().parent / "suite"


def modules(variants, selftests=True, reproducers=True, planted=True):
    """The suite's modules in the order they run."""
    mods = ["test_host.py", "test_patches.py"]
    if selftests and "pristine" in variants:
        mods.append("test_selftests.py")
    if variants:
        mods += ["test_guest.py", "test_perftest.py", "test_errors.py",
                 "test_storm.py", "test_nodes.py"]
    if reproducers:
        mods.append("test_reproducers.py")
    if planted:
        mods.append("test_planted.py")
    if all(v in variants for v in kernel_mod.COMPARED):
        mods += ["test_reports.py", "test_pyverbs.py"]
    return mods


def kernels_needed(variants, reproducers, planted):
    needed = list(variants)
    needed += ["vanilla"] if reproducers else []
    needed += ["planted"] if planted else []
    return needed


def run_all(source, variants, selftests=True, reproducers=True,
            planted=True, select=None):
    """Runs the suite; returns 0 when no check failed."""
    # Imported here so that odplab's other commands need no pytest.
    import pytest  # pylint: disable=import-outside-toplevel

    from .suite.plugin import OdplabPlugin, Stopwatch  # pylint: disable=import-outside-toplevel
    watch = Stopwatch()
    watch.run("C++ build", build_userspace)
    if not select:
        # Every kernel before the first check: a build never splits the
        # run. With -k, only the kernels the chosen checks boot are built,
        # when they boot them.
        for v in kernels_needed(variants, reproducers, planted):
            watch.run(f"kernel {v} ({TEST_FLAVOUR[v]})",
                      kernel_mod.ensure_kernel, source, v, TEST_FLAVOUR[v])
    plugin = OdplabPlugin(source, variants, watch.times)
    junit = results_dir() / "test" / "junit.xml"
    junit.parent.mkdir(parents=True, exist_ok=True)
    args = ["-p", "no:cacheprovider", "-s", "-v", "-rfE", "--tb=short",
            f"--rootdir={SUITE.parent.parent}",
            f"--junitxml={junit}", "-o", "junit_family=xunit2",
            "-o", "console_output_style=classic"]
    args += ["-k", select] if select else []
    args += [str(SUITE / m) for m in modules(variants, selftests,
                                              reproducers, planted)]
    step(f"the checks: pytest over {SUITE}, JUnit in {junit}")
    rc = pytest.main(args, plugins=[plugin])
    step("summary")
    plugin.print_summary()
    print(accel.summary(), flush=True)
    c = plugin.counts
    print(f"odplab: {c['passed']} passed, {c['failed']} failed, "
          f"{c['skipped']} skipped", flush=True)
    return 0 if rc == 0 and c["failed"] == 0 and c["passed"] > 0 else 1

