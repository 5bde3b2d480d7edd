# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""The invalidation storm at CI length on each compared kernel, from its
JSON summary."""

from .. import storm
from ..common import info


def test_storm_passes(odplab, variant):
    job = storm.run(odplab, variant)
    data = storm.summary(job)
    if data:
        info(f"{variant} storm: {storm.line(data)}")
    assert job.clean and data is not None and data["passed"], (
        f"{job.result.message}{'' if data else ' (no summary.json)'}; seed "
        f"{data['seed'] if data else '?'}\n{job.rerun_hint()}")


def test_storm_made_huge_pages(odplab, variant):
    """The THP zone is there: a storm that made no huge page tested no
    collapse or split."""
    data = storm.summary(storm.run(odplab, variant))
    assert data is not None, "no summary.json"
    assert data["huge_pages_made"] > 0, storm.line(data)


def test_storm_ran_every_event_kind(odplab, variant):
    data = storm.summary(storm.run(odplab, variant))
    assert data is not None, "no summary.json"
    idle = sorted(k for k, v in data["events"].items() if not v)
    assert not idle, f"events that never ran: {idle}; {storm.line(data)}"
