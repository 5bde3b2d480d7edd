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


# The lab guests' page size (x86-64), and the hosts' that --host runs on.
PAGE_SIZE = 4096


def pages_per_op(scenario):
    """The pages an op touches: scenario["pages"] slots, each of a message
    that spans ceil(msg_size / PAGE_SIZE) pages (perftest/ops.h)."""
    return scenario["pages"] * -(-scenario["msg_size"] // PAGE_SIZE)


def expected_faults(scenario, keeps):
    """Page faults per op of an RDMA READ or WRITE touching
    pages_per_op() pages right after the event (period 1): none without
    an event; none for a READ after an event that only write-protects on a
    kernel that keeps pages; every page otherwise (a kernel that drops
    pages on every event; an event that may move a page or remove read
    access; a WRITE, which needs write access back).

    A pinned MR never faults. None for ODP + prefetch: whether a prefetch
    counts as a fault depends on the counter source (rxe's page_faults
    leaves it out, the fault function's profiler counts its calls); None
    for a background scenario, whose faults are the kernel's doing, as many
    as it happened to act."""
    facts = scenario["event_facts"]
    if scenario["background"] != "none":
        return None
    if scenario["registration"] == "pinned":
        return 0
    if scenario["registration"] != "odp":
        return None
    if facts["notifier_event"] == "none":
        return 0
    if scenario["op"] == "read" and facts["write_protect_only"] and keeps:
        return 0
    return pages_per_op(scenario)


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
    if want is None:
        return ""
    if any(g != want for g in got):
        return f"want {want} faults per op, repetitions show {got}"
    return ""


# Facts two counter sources both count, as (label, source A, its value,
# source B, its value); a value is the sum of the named counters. rxe's
# page_faults leaves out prefetches, which it counts apart and the fault
# tracepoint does not; the profiler counts calls of the fault function,
# snapshots included.
_HW, _TRACE, _PROF = "hw_counters", "tracepoints", "function-profiler"
AGREEMENTS = (
    ("pages faulted", _HW, ("page_faults", "page_prefetch"),
     _TRACE, ("page_faults",)),
    ("valid pages dropped", _HW, ("page_invalidations",),
     _TRACE, ("page_invalidations",)),
    ("valid pages kept", _HW, ("page_write_protections",),
     _TRACE, ("page_write_protections",)),
    ("invalidation calls", _HW, ("page_invalidations_handled",),
     _TRACE, ("page_invalidations_handled",)),
    ("fault calls", _PROF, ("ib_umem_odp_map_dma_and_lock",),
     _TRACE, ("page_faults_handled", "snapshots")),
    ("invalidation calls", _PROF, ("rxe_ib_invalidate_range",),
     _TRACE, ("page_invalidations_handled",)),
)


def counter_disagreements(rep):
    """Where two available counter sources of a repetition count the same
    fact differently: a list of messages, empty when they agree. A fact
    that one of its sources lacks is not compared."""
    by_source = {c["source"]: c["values"] for c in rep["counters"]
                 if c["available"]}
    problems = []
    for label, a, a_keys, b, b_keys in AGREEMENTS:
        if a not in by_source or b not in by_source:
            continue
        va = [by_source[a].get(k) for k in a_keys]
        vb = [by_source[b].get(k) for k in b_keys]
        if None in va or None in vb:
            problems.append(f"{label}: {a} {a_keys} or {b} {b_keys} "
                            "missing from an available source")
        elif sum(va) != sum(vb):
            problems.append(f"{label}: {a} {'+'.join(a_keys)} = {sum(va)}, "
                            f"{b} {'+'.join(b_keys)} = {sum(vb)}")
    return problems
