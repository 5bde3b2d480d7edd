# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""The in-guest GoogleTest suite on each compared kernel: one check per
test, from gtest's XML report; then the run as a whole (exit status,
splats) and the debug flavour's checkers."""

from .. import guestjob, known
from ..userspace import GUEST_TESTS
from .plugin import check_skip, of

# What the boot log of a debug flavour shows when its checkers are live.
LIVE_CHECKERS = {"debug": [("lockdep", "Lock dependency validator")]}
LIVE_CHECKERS["kasan"] = LIVE_CHECKERS["debug"] + [
    ("KASAN", "KernelAddressSanitizer initialized")]


def pytest_generate_tests(metafunc):
    if "gtest_name" in metafunc.fixturenames:
        names = [n for n in guestjob.gtest_list(GUEST_TESTS)
                 if n not in known.KNOWN_UNFIXED]
        metafunc.parametrize("gtest_name", names)
    if "debug_variant" in metafunc.fixturenames:
        plugin = of(metafunc.config)
        metafunc.parametrize("debug_variant", [
            v for v in plugin.variants
            if LIVE_CHECKERS.get(guestjob.TEST_FLAVOUR[v])])


def guest_job(odplab, variant):
    name = f"guest-{variant}"
    xml = guestjob.path_in(name, "gtest.xml")
    return odplab.job(variant, name, [
        GUEST_TESTS, "--gtest_color=no",
        "--gtest_filter=" + known.guest_filter(),
        f"--gtest_output=xml:{xml}"], 900)


def test_gtest(odplab, variant, gtest_name):
    job = guest_job(odplab, variant)
    cases = guestjob.gtest_xml(job.out / "gtest.xml")
    assert cases is not None, f"no gtest.xml: {job.result.message}"
    case = cases.get(gtest_name)
    assert case is not None, f"{gtest_name} did not run: {job.result.message}"
    if case.verdict == "SKIPPED":
        check_skip(variant, gtest_name, case.message)
    assert case.verdict == "PASSED", (
        f"{case.message}\n{job.rerun_hint()} --gtest_filter={gtest_name}")


def test_guest_run_clean(odplab, variant):
    """A splat or a non-zero exit fails even if every test passed."""
    job = guest_job(odplab, variant)
    assert job.clean, job.result.message


def test_checkers_live(odplab, debug_variant):
    """The debug flavour's checkers announced themselves at boot: a
    splat-free run proves nothing if the checker was not there."""
    flavour = guestjob.TEST_FLAVOUR[debug_variant]
    checkers = LIVE_CHECKERS[flavour]
    console = guest_job(odplab, debug_variant).console()
    missing = [name for name, banner in checkers if banner not in console]
    assert not missing, f"not live in the {flavour} kernel: {missing}"
