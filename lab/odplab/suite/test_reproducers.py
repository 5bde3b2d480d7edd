# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""Each reproducer of an upstream bug fails on the vanilla kernel, which
lacks base-patches/: the bug it shows is real there. The other kernels run
the reproducers with the rest of the guest tests (test_guest.py)."""

import pytest

from .. import guestjob, known
from ..userspace import GUEST_TESTS


def vanilla_job(odplab):
    name = "reproducers-vanilla"
    xml = guestjob.path_in(name, "gtest.xml")
    return odplab.job("vanilla", name, [
        GUEST_TESTS, "--gtest_color=no", "--gtest_filter=" + ":".join(
            [*known.REPRODUCERS, *known.KNOWN_UNFIXED]),
        f"--gtest_output=xml:{xml}"], 900)


def verdict(odplab, test):
    cases = guestjob.gtest_xml(vanilla_job(odplab).out / "gtest.xml")
    assert cases is not None, vanilla_job(odplab).result.message
    return cases[test].verdict if test in cases else "NOT RUN"


@pytest.mark.parametrize("test", list(known.REPRODUCERS))
def test_fails_without_its_fix(odplab, test):
    got = verdict(odplab, test)
    assert got == "FAILED", (
        f"{got} on vanilla: the reproducer no longer shows the bug that "
        f"base-patches/{known.REPRODUCERS[test]} fixes")


# Defined only while there is an unfixed bug: an empty parameter set
# would be a skip that nobody asked for.
if known.KNOWN_UNFIXED:
    @pytest.mark.parametrize("test", list(known.KNOWN_UNFIXED))
    def test_unfixed_bug_still_fails(odplab, test):
        got = verdict(odplab, test)
        odplab.notes.append(f"known unfixed upstream bug "
                            f"{known.KNOWN_UNFIXED[test]}: {test} is left "
                            "out of the guest tests")
        assert got == "FAILED", (
            f"{got} on vanilla: if the bug is fixed, move the test to "
            "REPRODUCERS (lab/odplab/known.py) with the patch that fixes it")


def test_no_splat(odplab):
    """The reproducers fail; the kernel must not splat doing so."""
    r = vanilla_job(odplab).result
    assert not r.splats, r.message
