# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""The skips `odplab test` expects, each with its reason. A skip that is
not listed here, or that gives another reason than the one listed, fails
the run and names the test: a check that silently stopped running is a
failure, not a pass."""

import fnmatch
from dataclasses import dataclass


@dataclass(frozen=True)
class ExpectedSkip:
    where: tuple       # "host", or the variants whose guest skips it
    test: str          # an fnmatch pattern of the test's name
    says: str          # the skip's reason must contain this
    why: str           # why the skip is expected


EXPECTED = (
    # The host runs whatever kernel the machine has.
    ExpectedSkip(("host",), "Events.SoftDirtyClearsThePagemapBit",
                 "CONFIG_MEM_SOFT_DIRTY",
                 "the host's kernel may lack soft-dirty; the guests test it"),
    ExpectedSkip(("host",), "All/EventTest.AppliesAndLeavesRangeUsable/"
                 "pageout*", "no swap device",
                 "the host may have no swap; the guests swap to a disk"),
    ExpectedSkip(("host",), "All/EventTest.AppliesAndLeavesRangeUsable/"
                 "migrate*", "NUMA",
                 "the host may have one NUMA node; the guests have two"),
    ExpectedSkip(("host",), "All/EventTest.AppliesAndLeavesRangeUsable/"
                 "thp_*", "split_huge_pages is not writable",
                 "the host may not mount debugfs; the guests do, and "
                 "perftest runs the THP events there"),
    # The pristine kernel has neither the rxe counters (rxe-patches/ 0002)
    # nor the ib_umem_odp tracepoints (kernel-patches/ 0008).
    ExpectedSkip(("pristine",), "OdpCounters.*", "has no",
                 "pristine lacks rxe-patches/ 0002, the ODP counters"),
    ExpectedSkip(("pristine",), "RdmaStat*", "lacks the ibodp rxe counter",
                 "pristine lacks rxe-patches/ 0002, the ODP counters"),
    ExpectedSkip(("pristine",), "All/OdpEventClassification.*", "has no",
                 "pristine lacks rxe-patches/ 0002 and kernel-patches/ "
                 "0008, whose counters and tracepoints are the kernel's "
                 "account of each event"),
    # rdma-core's own ODP tests that need what rxe lacks.
    ExpectedSkip(("pristine", "patched"), "pyverbs *test_odp*", "",
                 "rdma-core's suite skips the ODP tests rxe cannot run "
                 "(its reason is printed with each)"),
)


def expected(where, test, reason):
    """The ExpectedSkip that allows this skip, or None."""
    for s in EXPECTED:
        if (where in s.where and fnmatch.fnmatchcase(test, s.test)
                and s.says in reason):
            return s
    return None


def unexpected_message(where, test, reason):
    return (f"unexpected skip on {where}: {test}: {reason or 'no reason'}; "
            "a skip must be listed in lab/odplab/skips.py with its reason, "
            "or the test must run")
