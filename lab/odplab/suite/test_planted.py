# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""The planted kernel (lab/planted/: write access kept on a soft-dirty
clear) must be caught: the storm fails there with the planted bug's
failures only, and the semantic tests that guard soft-dirty fail while the
others pass. A check that stops catching it fails `odplab test`."""

import fnmatch

import pytest

from .. import guestjob, known, storm
from ..common import info
from ..userspace import GUEST_TESTS


def test_storm_catches_the_planted_bug(odplab):
    job = storm.run(odplab, "planted")
    data = storm.summary(job)
    caught, detail = storm.planted_verdict(job.result.status,
                                           job.result.splats, data)
    if data:
        info(f"planted storm (seed {data['seed']}): {storm.line(data)}")
    assert caught, detail + ("" if data else f"; {job.result.message}")


def semantics_job(odplab):
    name = "semantics-planted"
    xml = guestjob.path_in(name, "gtest.xml")
    return odplab.job("planted", name, [
        GUEST_TESTS, "--gtest_color=no",
        f"--gtest_filter={known.PLANTED_SEMANTICS}",
        f"--gtest_output=xml:{xml}"], 600)


def semantic_tests():
    return [n for n in guestjob.gtest_list(GUEST_TESTS)
            if fnmatch.fnmatchcase(n, known.PLANTED_SEMANTICS)]


@pytest.mark.parametrize("test", semantic_tests())
def test_semantic_test_on_planted(odplab, test):
    job = semantics_job(odplab)
    cases = guestjob.gtest_xml(job.out / "gtest.xml")
    assert cases is not None, job.result.message
    got = cases[test].verdict if test in cases else "NOT RUN"
    if test in known.PLANTED_CATCHES:
        assert got == "FAILED", (
            f"{got} on the planted kernel: {test} no longer catches "
            f"{known.PLANTED_CATCHES[test]}")
    else:
        assert got == "PASSED", (
            f"{got} on the planted kernel, whose only bug is write access "
            f"kept on a soft-dirty clear: {cases[test].message if test in cases else ''}")


def test_semantics_run_has_no_splat(odplab):
    r = semantics_job(odplab).result
    assert not r.splats, r.message
