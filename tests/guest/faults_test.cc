// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// Exact ODP fault counts of an RDMA READ over every page of a warmed MR
// after each memory event ibodp has, counted with the ftrace function
// profiler (calls of ib_umem_odp_map_dma_and_lock: one per faulting page
// here, as each page's first packet faults that page alone). What each
// event should cost comes from ibodp::MemoryEvent, the one statement of it
// (tests/guest/notifier_test.cc holds that to the kernel).
//
// The expectation depends on the kernel: IBODP_EXPECT_KEEP=1 for a kernel
// that keeps pages on write-protecting events (the patched one),
// IBODP_EXPECT_KEEP=0 for one that drops them on every event (pristine).
// `odplab test` sets it; without it these tests skip and say so.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "ibodp/error.h"
#include "ibodp/events.h"
#include "ibodp/profiler.h"
#include "odp_fixture.h"

namespace ibodp {
namespace {

class OdpFaults : public guest::OdpFixture,
                  public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    IBODP_REQUIRE(keeps_ = guest::RequireExpectKeep());
    try {
      profiler_ = std::make_unique<FunctionProfiler>(
          std::vector<std::string>{kOdpFaultFunction, kRxeInvalidateFunction});
    } catch (const Unsupported& e) {
      GTEST_SKIP() << e.what();
    }
    guest::OdpFixture::SetUp();
  }

  // What a READ of every page must fault after the event: nothing without
  // an invalidation; nothing after one that only write-protects on a
  // kernel that keeps pages; every page otherwise.
  uint64_t Expected(const MemoryEvent& event) const {
    if (event.NotifierEvent() == "none") {
      return 0;
    }
    return event.WriteProtectOnly() && keeps_ ? 0 : kPages;
  }

  bool keeps_ = false;
  std::unique_ptr<FunctionProfiler> profiler_;
};

TEST_P(OdpFaults, ReadAfterTheEventFaultsWhatItStates) {
  const auto event = MakeEvent(GetParam());
  event->Apply({remote_->data(), Bytes(), -1});
  profiler_->Reset();
  ASSERT_EQ(Read(0, Bytes()).status, IBV_WC_SUCCESS);
  EXPECT_EQ(profiler_->HitsOf(kOdpFaultFunction), Expected(*event))
      << GetParam() << " (" << event->NotifierEvent() << ", write-protect only "
      << event->WriteProtectOnly() << ")";
  if (event->PreservesContents()) {
    ExpectLocal(0, Bytes(), kRemoteSeed);
  }
}

INSTANTIATE_TEST_SUITE_P(All, OdpFaults,
                         ::testing::ValuesIn(guest::FixtureEvents()),
                         guest::EventParamName);

}  // namespace
}  // namespace ibodp
