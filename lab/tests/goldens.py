# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""The golden report the C++ writer's test keeps
(perftest/testdata/report-golden.json, GoldenReport.IsWhatTheWriterWrites):
the Python tests take event facts and report shapes from it instead of
restating them."""

import copy
import functools
import json

from odplab.common import PROJECT_ROOT

GOLDEN_REPORT = PROJECT_ROOT / "perftest" / "testdata" / "report-golden.json"


@functools.lru_cache(maxsize=1)
def _golden():
    return json.loads(GOLDEN_REPORT.read_text())


def golden():
    """A fresh copy of the golden report."""
    return copy.deepcopy(_golden())


def event_facts(event):
    """The event's facts as the C++ writer states them."""
    for result in _golden()["results"]:
        if result["scenario"]["event"] == event:
            return dict(result["scenario"]["event_facts"])
    raise KeyError(f"no event {event!r} in {GOLDEN_REPORT}")


def events():
    seen = []
    for result in _golden()["results"]:
        if result["scenario"]["event"] not in seen:
            seen.append(result["scenario"]["event"])
    return seen


def context(**extra):
    ctx = copy.deepcopy(_golden()["context"])
    ctx["extra"] = dict(extra)
    return ctx
