# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""rdma-core's pyverbs suite (the lab's build of rdma-core 65.0) on rxe0 of each kernel,
from the suite's own outcome file: every ODP test passes or skips with
rdma-core's reason, and patched passes every test pristine passes."""

import collections

import pytest

from .. import guestjob, pyverbs, rdmauser, skips
from ..common import info
from ..kernel import COMPARED

VARIANTS = COMPARED


def suite_job(odplab, variant):
    name = f"pyverbs-{variant}"
    return odplab.job(variant, name, [
        "/usr/bin/python3", pyverbs.SUITE, "--dev=rxe0",
        f"--out={guestjob.path_in(name, 'outcomes.json')}"], 1500,
        echo=False)


def suite_doc(odplab, variant):
    job = suite_job(odplab, variant)
    data = job.json("outcomes.json")
    assert data is not None, f"no outcomes.json: {job.result.message}"
    return data


def outcomes(odplab, variant):
    return suite_doc(odplab, variant)["rounds"][0]


def test_suite_is_the_labs_rdma_core(odplab, variant):
    """The suite, pyverbs and libibverbs came from the lab's rdma-core
    build (65.0), not from the host's python3-pyverbs."""
    doc = suite_doc(odplab, variant)
    user = rdmauser.ensure_guest_userspace()
    assert doc.get("suite_dir") == str(user.pyverbs_tests)
    assert doc.get("pyverbs", "").startswith(str(user.rdma_core)), doc.get(
        "pyverbs")
    assert doc.get("libibverbs", "").startswith(f"{user.lib}/"), doc.get(
        "libibverbs")


def test_suite_ran_clean(odplab, variant):
    job = suite_job(odplab, variant)
    assert job.clean, job.result.message
    counts = collections.Counter(o["outcome"]
                                 for o in outcomes(odplab, variant).values())
    info(f"{variant}: pyverbs: " + ", ".join(
        f"{n} {k}" for k, n in sorted(counts.items())))


def test_odp_tests(odplab, variant):
    """Each of rdma-core's test_odp tests, one sub-check each."""
    odp = {k: v for k, v in outcomes(odplab, variant).items()
           if ".test_odp." in k}
    assert odp, "no test_odp tests in the suite's outcomes"
    bad, skipped = [], []
    for test_id, o in sorted(odp.items()):
        name = f"pyverbs {test_id.split('.', 1)[-1]}"
        reason = pyverbs.unsupported(o) or (
            o["detail"] if o["outcome"] == "skip" else None)
        if reason is not None:
            skipped.append((name, reason))
        elif o["outcome"] != "pass":
            bad.append(f"{name}: {o['outcome']}: {o['detail'][-600:]}")
    assert not bad, "\n".join(bad)
    for name, reason in skipped:
        # An unexpected skip fails here; expected ones are listed.
        if skips.expected(variant, name, reason) is None:
            pytest.fail(skips.unexpected_message(variant, name, reason),
                        pytrace=False)
    info(f"{variant}: {len(odp) - len(skipped)} pyverbs ODP tests passed, "
         f"{len(skipped)} skipped as expected: " +
         "; ".join(f"{n}: {r}" for n, r in skipped))


def test_patched_passes_what_pristine_passes(odplab):
    base, cand = outcomes(odplab, "pristine"), outcomes(odplab, "patched")

    def rerun(variant, tests):
        name = f"pyverbs-rerun-{variant}"
        job = odplab.job(variant, name, [
            "/usr/bin/python3", pyverbs.SUITE, "--dev=rxe0",
            f"--out={guestjob.path_in(name, 'outcomes.json')}",
            f"--repeat={pyverbs.RERUNS}", "--tests=" + ",".join(tests)],
            900, echo=False)
        data = job.json("outcomes.json") if job.clean else None
        if data is None:
            return None
        return {t: sum(r.get(t, {}).get("outcome") == "pass"
                       for r in data["rounds"]) for t in tests}

    ok, detail, notes = pyverbs.judge(base, cand, rerun)
    odplab.notes.extend(notes)
    assert ok, detail

