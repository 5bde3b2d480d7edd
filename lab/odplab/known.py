# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""The upstream bugs the in-guest tests reproduce, and what the planted
kernel's bug must make fail."""

# The reproducers of the upstream bugs that base-patches/ fix, with the
# patch that fixes each: every one must fail on the vanilla kernel, which
# lacks the fixes, and pass on the others, which run them with the rest of
# the guest tests.
REPRODUCERS = {
    "OdpLoopback.WriteThenReadKeepsBytes":
        "0001 RDMA/rxe: Fix the page offset and buffer advance in ODP copies",
    "Swap.DeviceWriteAfterSwapInSurvivesTheNextPageOut":
        "0002 RDMA/rxe: Mark ODP pages dirty when the responder writes them",
    "Swap.CgroupReclaimKeepsADeviceWriteToASwappedInPage":
        "0002 RDMA/rxe: Mark ODP pages dirty when the responder writes them",
    "FaultRace.AFailedFaultLeavesNoFreedPageInTheMr":
        "0003 RDMA/umem_odp: Publish a fault's pfns only under umem_mutex",
}
# One per op of the responder whose fault runs out of its retry budget: a
# WRITE, a READ and a fetch-and-add of one packet. (The WRITE and READ of
# two pages that fault in the middle of the message run on the kernels
# with the fixes only: on vanilla, base bug 1 garbles them first.)
REPRODUCERS.update({
    "Ops/FaultBudgetOp.AFaultThatOutlivesItsRetryBudgetIsRetriedNotFailed/"
    + op: patch
    for op, patch in (
        ("Write", "0004 RDMA/rxe: Ask for a retry when an ODP fault of a "
                  "WRITE runs out of time"),
        ("Read", "0005 RDMA/rxe: Ask for a retry when an ODP fault of a "
                 "READ runs out of time"),
        ("FetchAdd", "0006 RDMA/rxe: Ask for a retry when an ODP fault of an "
                     "atomic runs out of time"))
})

# Reproducers of upstream bugs that no base patch fixes yet: they fail on
# every kernel, so the guest-test runs leave them out and the vanilla run
# asserts that they still fail. One that starts to pass has been fixed
# and moves to REPRODUCERS with its patch.
KNOWN_UNFIXED = {
    "Uffd.DeviceWriteToAWriteProtectedPageIsARemoteAccessError":
        "(c) a device write into a userfaultfd-write-protected page waits "
        "for a handler in rxe's worker and wedges teardown",
}

# The planted kernel (lab/planted/) keeps write access on a soft-dirty
# clear. The semantic tests that must catch it: each must fail there,
# and every other semantic test must still pass (so that the planted
# kernel is broken in the one way it was built to be).
PLANTED_SEMANTICS = "OdpSemantics.*"
PLANTED_CATCHES = {
    "OdpSemantics.SoftDirtyClearThenWriteMakesWrittenPagesSoftDirty":
        "a device write after a soft-dirty clear that leaves the page clean",
}
