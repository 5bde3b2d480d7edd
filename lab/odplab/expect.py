# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""What a perftest scenario's fault count must be, from the event facts
the report carries (perftest writes them from ibodp::MemoryEvent): no
list of events lives here."""

from .guestjob import EXPECT_KEEP


def keeps_pages(variant):
    """Whether the variant's kernel keeps ODP pages read-only on events
    that only write-protect (the patched series and the planted kernel
    built on it)."""
    return EXPECT_KEEP[variant] == "1"


def expected_faults(scenario, keeps):
    """Page faults per op of an RDMA READ or WRITE touching
    scenario["pages"] pages right after the event (period 1): none without
    an event; none for a READ after an event that only write-protects on a
    kernel that keeps pages; every page otherwise (a kernel that drops
    pages on every event; an event that may move a page or remove read
    access; a WRITE, which needs write access back)."""
    facts = scenario["event_facts"]
    if facts["notifier_event"] == "none":
        return 0
    if scenario["op"] == "read" and facts["write_protect_only"] and keeps:
        return 0
    return scenario["pages"]


def fault_count_problems(result, keeps):
    """Why a perftest result's faults per op are not what its event facts
    expect on a kernel that keeps (or drops) pages; "" when they are. Every
    repetition must show exactly the expected count."""
    want = expected_faults(result["scenario"], keeps)
    got = [rep["faults_per_op"] for rep in result["repetitions"]]
    if result["error"]:
        return f"the scenario failed: {result['error']}"
    if not got:
        return "no repetition ran"
    if any(g != want for g in got):
        return f"want {want} faults per op, repetitions show {got}"
    return ""


def counters_agree(rep):
    """(hw_counters page_faults, the profiler's fault hits) of a
    repetition that has both sources, else None."""
    by_source = {c["source"]: c for c in rep["counters"] if c["available"]}
    hw, prof = by_source.get("hw_counters"), by_source.get("function-profiler")
    if not hw or not prof:
        return None
    return (hw["values"].get("page_faults"),
            prof["values"].get("ib_umem_odp_map_dma_and_lock"))
