// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// rxe's ODP counters (hw_counters, from the ibodp counter patch) against
// the ftrace function profiler and against exact expectations, per memory
// event: page faults of an RDMA READ of every page of a warmed MR, and the
// pages that the event's invalidations dropped or kept read-only.
//
// Counts are in pages of the invalidated ranges (clipped to the MR), as
// mlx5 counts them: 16 per invalidation that covers the whole MR.
//
// IBODP_EXPECT_KEEP says what the kernel does (see faults_test.cc). With
// IBODP_EXPECT_KEEP=1 the counters must exist: their absence fails. With
// 0 (pristine kernel) a kernel without them skips, naming the reason.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ibodp/error.h"
#include "ibodp/hwcounters.h"
#include "ibodp/profiler.h"
#include "ibodp/softdirty.h"
#include "odp_fixture.h"

namespace ibodp {
namespace {

// enum mmu_notifier_event, as the counter names spell it.
constexpr std::array<const char*, 9> kEvents = {
    "unmap",           "clear",      "protection_vma",
    "protection_page", "soft_dirty", "release",
    "migrate",         "exclusive",  "other"};

class OdpCounters : public guest::OdpFixture {
 protected:
  void SetUp() override {
    const std::optional<bool> keep = guest::ExpectKeep();
    if (!keep) {
      GTEST_SKIP() << guest::kExpectKeepUnset;
    }
    keeps_ = *keep;
    try {
      profiler_ = std::make_unique<FunctionProfiler>(
          std::vector<std::string>{kOdpFaultFunction});
    } catch (const Unsupported& e) {
      GTEST_SKIP() << e.what();
    }
    guest::OdpFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) {
      return;
    }
    try {
      counters_ = std::make_unique<HwCounters>(dev_->name(), 1);
      std::vector<std::string> names = {kCntPageFaults, kCntPageFaultsHandled,
                                        kCntPageInvalidations,
                                        kCntPageWriteProtections};
      for (const auto& event : kEvents) {
        names.push_back(DroppedCounter(event));
        names.push_back(WriteProtectedCounter(event));
      }
      counters_->Require(names, "the kernel lacks the ibodp rxe counter patch");
    } catch (const Unsupported& e) {
      if (keeps_) {
        FAIL() << "the patched kernel must count ODP events: " << e.what();
      }
      GTEST_SKIP() << e.what();
    }
  }

  // Counter deltas over `event` and a READ of every page; `faults_` gets
  // the profiler's fault count of the READ alone.
  CounterValues AfterEventAndRead(const std::function<void()>& event) {
    const CounterValues before = counters_->Read();
    event();
    profiler_->Reset();
    EXPECT_EQ(Read(0, Bytes()).status, IBV_WC_SUCCESS);
    faults_ = profiler_->HitsOf(kOdpFaultFunction);
    CounterValues delta = CounterDelta(before, counters_->Read());
    ExpectTotalsMatchEvents(delta);
    return delta;
  }

  static void ExpectTotalsMatchEvents(const CounterValues& delta) {
    uint64_t dropped = 0;
    uint64_t kept = 0;
    for (const auto& event : kEvents) {
      dropped += ValueOf(delta, DroppedCounter(event));
      kept += ValueOf(delta, WriteProtectedCounter(event));
    }
    EXPECT_EQ(ValueOf(delta, kCntPageInvalidations), dropped);
    EXPECT_EQ(ValueOf(delta, kCntPageWriteProtections), kept);
  }

  // Each faulting page faults alone here (see faults_test.cc): the
  // counters, the profiler and the expectation must agree.
  void ExpectFaults(const CounterValues& delta, uint64_t expected) const {
    EXPECT_EQ(faults_, expected) << "function profiler";
    EXPECT_EQ(ValueOf(delta, kCntPageFaults), expected);
    EXPECT_EQ(ValueOf(delta, kCntPageFaultsHandled), expected);
  }

  // `invalidations` ranges over the MR, all of `event`, each either kept
  // (write-protect-only events on a keeping kernel) or dropped.
  void ExpectInvalidated(const CounterValues& delta, const std::string& event,
                         uint64_t invalidations, bool write_protect_only) {
    const bool kept = write_protect_only && keeps_;
    EXPECT_EQ(ValueOf(delta, WriteProtectedCounter(event)),
              kept ? invalidations * kPages : 0);
    EXPECT_EQ(ValueOf(delta, DroppedCounter(event)),
              kept ? 0 : invalidations * kPages);
  }

  uint64_t Expected(bool write_protect_only) const {
    return write_protect_only && keeps_ ? 0 : kPages;
  }

  bool keeps_ = false;
  uint64_t faults_ = 0;
  std::unique_ptr<FunctionProfiler> profiler_;
  std::unique_ptr<HwCounters> counters_;
};

TEST_F(OdpCounters, NoEvent) {
  const CounterValues delta = AfterEventAndRead([] {});
  ExpectFaults(delta, 0);
  EXPECT_EQ(ValueOf(delta, kCntPageInvalidations), 0u);
  EXPECT_EQ(ValueOf(delta, kCntPageWriteProtections), 0u);
}

TEST_F(OdpCounters, SoftDirty) {
  const CounterValues delta = AfterEventAndRead([] { ClearSoftDirty(); });
  ExpectFaults(delta, Expected(true));
  ExpectInvalidated(delta, "soft_dirty", 1, true);
}

TEST_F(OdpCounters, ForkWithChildThatExits) {
  const CounterValues delta = AfterEventAndRead(guest::ForkChildThatExits);
  ExpectFaults(delta, Expected(true));
  ExpectInvalidated(delta, "protection_page", 1, true);
}

TEST_F(OdpCounters, MprotectReadOnlyAndBack) {
  const CounterValues delta = AfterEventAndRead([this] {
    ASSERT_EQ(mprotect(remote_->data(), Bytes(), PROT_READ), 0);
    ASSERT_EQ(mprotect(remote_->data(), Bytes(), PROT_READ | PROT_WRITE), 0);
  });
  ExpectFaults(delta, Expected(true));
  // Both calls keep the range readable.
  ExpectInvalidated(delta, "protection_vma", 2, true);
}

TEST_F(OdpCounters, MprotectNoneAndBack) {
  const CounterValues delta = AfterEventAndRead([this] {
    ASSERT_EQ(mprotect(remote_->data(), Bytes(), PROT_NONE), 0);
    ASSERT_EQ(mprotect(remote_->data(), Bytes(), PROT_READ | PROT_WRITE), 0);
  });
  ExpectFaults(delta, Expected(false));
  // PROT_NONE drops; the way back keeps the range readable, with no page
  // left to keep, and still counts its range.
  const uint64_t back = keeps_ ? kPages : 0;
  EXPECT_EQ(ValueOf(delta, DroppedCounter("protection_vma")),
            2 * kPages - back);
  EXPECT_EQ(ValueOf(delta, WriteProtectedCounter("protection_vma")), back);
}

TEST_F(OdpCounters, MadviseDontneed) {
  const CounterValues delta = AfterEventAndRead([this] {
    ASSERT_EQ(madvise(remote_->data(), Bytes(), MADV_DONTNEED), 0);
  });
  ExpectFaults(delta, Expected(false));
  ExpectInvalidated(delta, "clear", 1, false);
}

}  // namespace
}  // namespace ibodp
