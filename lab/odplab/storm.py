# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""The invalidation storm (tests/storm) as a guest job, and what its JSON
summary says."""

from . import guestjob
from .userspace import STORM

# The storm at CI length.
SECONDS = 30

# What the planted kernel's bug (lab/planted/: write access kept on a
# soft-dirty clear) shows in the storm: device writes that leave the page
# clean for soft-dirty.
PLANTED_FAILURE = "not-soft-dirty"


def run(odplab, variant):
    name = f"storm-{variant}"
    summary = guestjob.path_in(name, "summary.json")
    return odplab.job(variant, name, [
        STORM, f"--seconds={SECONDS}", f"--summary_json={summary}"], 600)


def summary(job):
    """The storm's summary, or None (an empty object is what the storm
    writes before it starts)."""
    data = job.json("summary.json")
    return data if data and "passed" in data else None


def line(data):
    ops, events = data["ops"], data["events"]
    return (f"{ops['reads']} READs, {ops['writes']} WRITEs "
            f"({ops['file_writes']} into the file zone), "
            f"{ops['atomics']} fetch-and-adds, {ops['ro_reads']} read-only "
            f"READs, {ops['overlapped']} overlapped a reset; "
            f"{sum(events.values())} events (" +
            ", ".join(f"{k} {v}" for k, v in sorted(events.items())) +
            f"); {data['huge_pages_made']} huge pages made")


def planted_verdict(status, splats, data):
    """(caught, detail) for a storm run on the planted kernel: caught when
    it exited 1 with no splat and every failure is the planted bug's."""
    if data is None:
        return False, "the storm wrote no summary.json"
    by_kind = data["failures_by_kind"]
    caught = by_kind.get(PLANTED_FAILURE, 0)
    other = {k: v for k, v in by_kind.items() if v and k != PLANTED_FAILURE}
    if splats:
        return False, f"a kernel splat: {splats}"
    if not caught:
        return False, ("the storm found no " + PLANTED_FAILURE + " failure "
                       "on the planted kernel: it no longer catches write "
                       "access kept on a soft-dirty clear")
    if other:
        return False, f"failures besides {PLANTED_FAILURE}: {other}"
    if status != 1:
        return False, f"the storm exited {status}, not 1"
    return True, f"{caught} {PLANTED_FAILURE} failures"
