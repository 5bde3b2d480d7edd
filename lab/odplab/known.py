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

# A device write into a page that userfaultfd write-protects, with nobody
# reading the userfaultfd: on vanilla rxe's worker sleeps in
# handle_userfault() until the test's watchdog lifts the protection. Patch
# 0008 stops hmm marking a kernel thread's fault killable, and 0007 makes
# userfaultfd fail a fault that no signal can end.
REPRODUCERS["Uffd.DeviceWriteToAWriteProtectedPageIsARemoteAccessError"] = (
    "0008 mm/hmm: Do not mark a kernel thread's fault killable")

# Reproducers of upstream bugs that no base patch fixes yet: they fail on
# every kernel, so the guest-test runs leave them out and the vanilla run
# asserts that they still fail. One that starts to pass has been fixed
# and moves to REPRODUCERS with its patch. None today.
KNOWN_UNFIXED: dict[str, str] = {}


def guest_filter() -> str:
    """The gtest filter of the guest-test runs: every test but the
    reproducers of unfixed bugs."""
    return "-" + ":".join(KNOWN_UNFIXED) if KNOWN_UNFIXED else "*"


# The planted kernel (lab/planted/) keeps write access on a soft-dirty
# clear. The semantic tests that must catch it: each must fail there,
# and every other semantic test must still pass (so that the planted
# kernel is broken in the one way it was built to be).
PLANTED_SEMANTICS = "OdpSemantics.*"
PLANTED_CATCHES = {
    "OdpSemantics.SoftDirtyClearThenWriteMakesWrittenPagesSoftDirty":
        "a device write after a soft-dirty clear that leaves the page clean",
}
