// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// Reproducer of upstream bug (a): ib_umem_odp_map_dma_and_lock() lets
// hmm_range_fault_unlocked_timeout() store into the MR's live pfn list
// without umem_mutex. A walk that reads a PTE after an invalidation cleared
// the entry, but before the zap reached the PTE, stores a page that is about
// to be freed, and when the walk then fails (here at a PROT_NONE page at the
// end of the range) no retry overwrites it: rxe serves every later access to
// that page from the freed page. base-patches/ 0003 makes the walk fill a
// private array that reaches the pfn list only under umem_mutex, after the
// retry check.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "ibodp/error.h"
#include "ibodp/prefetch.h"
#include "odp_fixture.h"

namespace ibodp {
namespace {

using Clock = std::chrono::steady_clock;

class FaultRace : public guest::LoopbackFixture {
 protected:
  // The MR: kDataPages of anonymous memory, then one PROT_NONE page at
  // which every fault of the whole MR fails (EFAULT).
  static constexpr size_t kDataPages = 16384;
  // The stale entries are a tail of the range: the READs check this many
  // pages at its end.
  static constexpr size_t kCheckedPages = 64;
  static constexpr int kWantOverlaps = 32;
  static constexpr int kMaxRounds = 96;
  // Each round starts the MADV_DONTNEED at another point, from the start
  // of the prefetch to 1.5 walks after it.
  static constexpr int kDelaySteps = 16;

  void SetUp() override {
    LoopbackFixture::SetUp();
    if (IsSkipped()) {
      return;
    }
    region_ = std::make_unique<Mapping>(
        Mapping::Anonymous((kDataPages + 1) * PageSize()));
    ASSERT_EQ(mprotect(region_->data() + DataBytes(), PageSize(), PROT_NONE),
              0);
    local_ = std::make_unique<Mapping>(
        Mapping::Anonymous(kCheckedPages * PageSize()));
    mr_ = RegisterMr(pd_.get(), region_->data(), region_->size(), kFullAccess,
                     Registration::kOdp);
    local_mr_ = RegisterMr(pd_.get(), local_->data(), local_->size(),
                           kFullAccess, Registration::kPinned);
    span_ = guest::OnePacketBytes(pair_->port());
  }

  static size_t DataBytes() { return kDataPages * PageSize(); }
  // The second half of the data pages, which MADV_DONTNEED drops. The
  // walk's stores outlive the invalidation only where the walk is inside
  // the dropped range when the driver has cleared its entries and the zap
  // has not yet caught up: a dropped range that starts where the walk is
  // halfway keeps the invalidation's clearing short and makes that window
  // as long as the walk's time in the range.
  std::span<uint8_t> Dropped() {
    return region_->bytes().subspan(DataBytes() / 2, DataBytes() / 2);
  }

  // A read prefetch of the whole MR, PROT_NONE page included: the walk
  // stores every data page's entry, then fails at the last page. Returns
  // the error, empty when the prefetch succeeded (which it must not).
  std::string FailingPrefetch() {
    try {
      PrefetchMr(*mr_, region_->data(), region_->size(), PrefetchAccess::kRead,
                 /*wait=*/true);
    } catch (const Unsupported&) {
      throw;
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }

  // How long a failing prefetch of the whole MR takes: the median of three.
  Clock::duration WalkTime() {
    std::vector<Clock::duration> took;
    for (int i = 0; i < 3; i++) {
      const auto start = Clock::now();
      const std::string error = FailingPrefetch();
      took.push_back(Clock::now() - start);
      EXPECT_NE(error, "") << "a prefetch over a PROT_NONE page succeeded";
    }
    std::sort(took.begin(), took.end());
    return took[1];
  }

  // The CPU makes every data page present, and writes the pattern `seed`
  // into the part of each checked page that the READs compare.
  void FillDataPages(uint64_t seed) {
    const size_t first = DataBytes() - local_->size();
    for (size_t off = 0; off < DataBytes(); off += PageSize()) {
      const size_t n = off < first ? 1 : span_;
      for (size_t i = 0; i < n; ++i) {
        region_->data()[off + i] = PatternByte(seed, off + i);
      }
    }
  }

  // How many of the last kCheckedPages data pages an RDMA READ returns
  // differently from the pattern `seed` the CPU wrote. Each READ moves the
  // first packet of one page: the vanilla kernel's copy bug (base-patches/
  // 0001) corrupts every packet that does not start a page, and must not
  // stand in for this one.
  size_t PagesTheDeviceReadsWrong(uint64_t seed) {
    const size_t first = DataBytes() - local_->size();
    std::fill(local_->bytes().begin(), local_->bytes().end(), 0);
    for (size_t off = 0; off < local_->size(); off += PageSize()) {
      const ibv_sge sge{reinterpret_cast<uint64_t>(local_->data() + off),
                        static_cast<uint32_t>(span_), local_mr_->lkey};
      const ibv_wc wc =
          RdmaOp(IBV_WR_RDMA_READ, sge,
                 {reinterpret_cast<uint64_t>(region_->data() + first + off),
                  mr_->rkey},
                 off);
      EXPECT_EQ(wc.status, IBV_WC_SUCCESS)
          << "READ of page " << (first + off) / PageSize() << ": "
          << ibv_wc_status_str(wc.status);
    }
    return guest::PagesNotHolding(local_->bytes(), seed, span_, first);
  }

  std::unique_ptr<Mapping> region_;
  std::unique_ptr<Mapping> local_;
  MemoryRegion mr_;
  MemoryRegion local_mr_;
  // Bytes each READ moves: one packet.
  size_t span_ = 0;
};

// Each round: the CPU fills the data pages (pattern A); one thread
// prefetches the whole MR while this one drops the data pages with
// MADV_DONTNEED at a point of the walk that moves each round; the CPU then
// fills fresh pages (pattern B), which sends no invalidation; an RDMA READ
// of the last data pages must return pattern B. An entry the walk stored
// after the invalidation points at a freed page, and the READ returns what
// that page holds now. The walk outruns both the clearing and the zap, so
// the entries it left behind are a tail of the range. Rounds go on until
// kWantOverlaps of them had the MADV_DONTNEED and the prefetch overlap in
// time: a pass with fewer would not have tried the race.
TEST_F(FaultRace, AFailedFaultLeavesNoFreedPageInTheMr) {
  FillDataPages(1);
  std::string calibration_error;
  try {
    calibration_error = FailingPrefetch();
  } catch (const Unsupported& e) {
    GTEST_SKIP() << e.what();
  }
  ASSERT_NE(calibration_error.find("errno 14"), std::string::npos)
      << "the prefetch over the PROT_NONE page should fail with EFAULT: "
      << calibration_error;
  const Clock::duration walk = WalkTime();
  int round = 0;
  int overlaps = 0;
  for (; round < kMaxRounds && overlaps < kWantOverlaps; round++) {
    const uint64_t before = 2 * round + 2;
    const uint64_t after = 2 * round + 3;
    FillDataPages(before);
    std::atomic<bool> started{false};
    std::string prefetch_error;
    Clock::time_point prefetch_end;
    std::thread prefetcher([&] {
      started.store(true);
      prefetch_error = FailingPrefetch();
      prefetch_end = Clock::now();
    });
    while (!started.load()) {
    }
    const auto prefetch_start = Clock::now();
    const int step = round % kDelaySteps;
    const auto until = prefetch_start + walk * 3 * step / (2 * kDelaySteps);
    while (Clock::now() < until) {
    }
    ASSERT_EQ(madvise(Dropped().data(), Dropped().size(), MADV_DONTNEED), 0);
    const auto madvise_end = Clock::now();
    prefetcher.join();
    ASSERT_NE(prefetch_error, "") << "round " << round;
    const bool overlap = until < prefetch_end && madvise_end > prefetch_start;
    overlaps += overlap ? 1 : 0;
    FillDataPages(after);
    const size_t wrong = PagesTheDeviceReadsWrong(after);
    ASSERT_EQ(wrong, 0u) << "round " << round << " (MADV_DONTNEED " << step
                         << "/" << kDelaySteps
                         << " of 1.5 walks after the prefetch began): the "
                            "device read "
                         << wrong << " of the last " << kCheckedPages
                         << " pages wrong: their entries outlived the "
                            "invalidation and point at freed pages";
  }
  std::cout
      << "[ INFO     ] " << overlaps << " of " << round
      << " rounds overlapped a " << kDataPages + 1 << "-page walk of "
      << std::chrono::duration_cast<std::chrono::microseconds>(walk).count()
      << " us\n";
  EXPECT_GE(overlaps, kWantOverlaps)
      << "the MADV_DONTNEED overlapped the prefetch in too few rounds for a "
         "pass to mean anything";
}

}  // namespace
}  // namespace ibodp
