// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// ODP MRs while the kernel moves their pages by itself: page-out to swap,
// reclaim by a memory cgroup, NUMA migration, THP collapse and split, KSM
// merging. After each move the device must read the bytes the CPU sees and
// its writes must reach the memory the CPU sees, and stay there when the
// kernel moves the pages again. The lab guest has a swap disk, two NUMA
// nodes and cgroup v2 (lab/guest/init.sh); a mover that is missing skips
// with the reason.
//
// One scenario per test. The remote range is an ODP MR that QP a reads and
// writes through QP b, one page per operation; the local buffer is pinned.
#include "ibodp/movers.h"

#include <gtest/gtest.h>
#include <numa.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cpu_pin.h"
#include "ibodp/error.h"
#include "ibodp/mapping.h"
#include "ibodp/pattern.h"
#include "ibodp/verbs.h"
#include "odp_fixture.h"
#include "proc_knob.h"

namespace ibodp::guest {
namespace {

constexpr size_t kHuge = size_t{2} << 20;
constexpr uint64_t kCpuSeed = 1;
constexpr uint64_t kDeviceSeed = 2;
constexpr std::chrono::seconds kBalancing{60};
constexpr std::chrono::seconds kEvictFor{5};

class Movers : public LoopbackFixture {
 protected:
  static constexpr size_t kPages = 16;

  void SetUp() override {
    LoopbackFixture::SetUp();
    if (IsSkipped()) {
      return;
    }
    local_ = std::make_unique<Mapping>(Mapping::Anonymous(kHuge));
    local_mr_ = RegisterMr(pd_.get(), local_->data(), kHuge, kFullAccess,
                           Registration::kPinned);
  }

  // The remote range: CPU-written with kCpuSeed, an ODP MR over it, and a
  // device READ that maps every page in the MR.
  void UseRemote(std::span<uint8_t> range) {
    remote_ = range;
    FillPattern(remote_, kCpuSeed);
    remote_mr_ = RegisterMr(pd_.get(), remote_.data(), remote_.size(),
                            kFullAccess, Registration::kOdp);
    ExpectDeviceReads(kCpuSeed);
  }
  std::span<uint8_t> NewRemote(size_t bytes = kPages * PageSize()) {
    owned_ = std::make_unique<Mapping>(Mapping::Anonymous(bytes));
    return owned_->bytes();
  }

  // One page-aligned RDMA operation of span_ bytes per page of the remote
  // range.
  ibv_wc_status OpPerPage(ibv_wr_opcode opcode) {
    for (size_t off = 0; off < remote_.size(); off += PageSize()) {
      const ibv_sge sge{reinterpret_cast<uint64_t>(local_->data() + off),
                        static_cast<uint32_t>(span_), local_mr_->lkey};
      const ibv_wc wc = RdmaOp(
          opcode, sge,
          {reinterpret_cast<uint64_t>(remote_.data() + off), remote_mr_->rkey},
          /*wr_id=*/off);
      if (wc.status != IBV_WC_SUCCESS) {
        return wc.status;
      }
    }
    return IBV_WC_SUCCESS;
  }

  // From here on each operation moves one packet, the first MTU bytes of
  // its page: the reproducers of base-patches/ bugs must fail on the
  // vanilla kernel for their own bug, not for its copy bug (base-patches/
  // 0001), which corrupts every packet that does not start a page.
  void OnePacketPerPage() { span_ = guest::OnePacketBytes(pair_->port()); }

  size_t PagesNotHolding(std::span<const uint8_t> range, uint64_t seed) const {
    return guest::PagesNotHolding(range, seed, span_);
  }

  // A device READ of the remote range returns `seed`'s bytes.
  void ExpectDeviceReads(uint64_t seed) {
    const std::span<uint8_t> dst = local_->bytes().first(remote_.size());
    std::fill(dst.begin(), dst.end(), 0);
    ASSERT_EQ(OpPerPage(IBV_WR_RDMA_READ), IBV_WC_SUCCESS);
    EXPECT_EQ(PagesNotHolding(dst, seed), 0U)
        << "pages of " << remote_.size() / PageSize()
        << " that the device read wrong";
  }

  // A device WRITE of `seed`'s bytes over the remote range.
  void DeviceWrite(uint64_t seed) {
    FillPattern(local_->bytes().first(remote_.size()), seed);
    ASSERT_EQ(OpPerPage(IBV_WR_RDMA_WRITE), IBV_WC_SUCCESS);
  }

  void ExpectCpuSees(uint64_t seed, const std::string& when) {
    EXPECT_EQ(PagesNotHolding(remote_, seed), 0U)
        << "pages of " << remote_.size() / PageSize()
        << " without the expected bytes " << when;
  }

  // Evict the remote range with `evict` until every page is in swap.
  // Neither eviction is exact in one call. MADV_PAGEOUT takes only pages
  // on the LRU lists and drains only this CPU's batch of new ones onto
  // them (the Swap tests fault their pages in from one pinned CPU).
  // memory.reclaim deactivates anonymous pages only when the memcg's
  // statistics say the inactive list is low or that pages refaulted
  // (prepare_scan_control()), and it reads them from a cache that is
  // flushed after 128 updates or every 2 s (FLUSH_TIME, mm/memcontrol.c):
  // a page that swap-in activated as a refault can stay on the active
  // list until that flush. So keep trying for longer than one flush.
  template <typename Evict>
  void EvictAll(const std::string& how, Evict evict) {
    const auto deadline = std::chrono::steady_clock::now() + kEvictFor;
    PageCounts c;
    int tries = 0;
    do {
      evict();
      ++tries;
      c = CountPages(remote_);
      if (c.swapped == remote_.size() / PageSize()) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } while (std::chrono::steady_clock::now() < deadline);
    FAIL() << how << " left " << c.present << " of "
           << remote_.size() / PageSize() << " pages resident after " << tries
           << " tries in " << kEvictFor.count() << " s:" << ResidentPages();
  }

  // The resident pages of the remote range, each as its index and its
  // /proc/kpageflags bits.
  std::string ResidentPages() const {
    std::ostringstream out;
    for (size_t i = 0; i < remote_.size() / PageSize(); ++i) {
      const uint64_t flags = KernelPageFlags(remote_.data() + i * PageSize());
      if (flags != 0) {
        out << " page " << i << " kpageflags 0x" << std::hex << flags
            << std::dec << ";";
      }
    }
    return out.str();
  }

  void PageOutAll() {
    EvictAll("MADV_PAGEOUT", [this] { PageOut(remote_); });
  }

  std::unique_ptr<Mapping> local_;
  MemoryRegion local_mr_;
  std::unique_ptr<Mapping> owned_;
  std::span<uint8_t> remote_;
  MemoryRegion remote_mr_;
  size_t span_ = PageSize();
};

// The Swap tests run their thread on CPU 0 (see PageOutAll).
class Swap : public Movers {
 protected:
  void SetUp() override {
    pinned_ = std::make_unique<PinnedToCpu>(0);
    Movers::SetUp();
  }
  void TearDown() override { pinned_.reset(); }

 private:
  std::unique_ptr<PinnedToCpu> pinned_;
};

TEST_F(Swap, DeviceReadOfSwappedOutPagesReturnsTheirBytes) {
  IBODP_REQUIRE(RequireSwap());
  ASSERT_NO_FATAL_FAILURE(UseRemote(NewRemote()));
  ASSERT_NO_FATAL_FAILURE(PageOutAll());
  ASSERT_NO_FATAL_FAILURE(ExpectDeviceReads(kCpuSeed));
}

TEST_F(Swap, DeviceWriteToSwappedOutPagesIsSeenByTheCpu) {
  IBODP_REQUIRE(RequireSwap());
  ASSERT_NO_FATAL_FAILURE(UseRemote(NewRemote()));
  ASSERT_NO_FATAL_FAILURE(PageOutAll());
  ASSERT_NO_FATAL_FAILURE(DeviceWrite(kDeviceSeed));
  ExpectCpuSees(kDeviceSeed, "after the device wrote swapped-out pages");
}

// Issue (b): a page swapped back in by a read is mapped writable but clean
// and stays in the swap cache; a device write needs no fault then, so
// unless the invalidation that drops it marks it dirty, the next page-out
// discards the device's bytes and swap-in brings the old ones back.
TEST_F(Swap, DeviceWriteAfterSwapInSurvivesTheNextPageOut) {
  IBODP_REQUIRE(RequireSwap());
  OnePacketPerPage();
  ASSERT_NO_FATAL_FAILURE(UseRemote(NewRemote()));
  ASSERT_NO_FATAL_FAILURE(PageOutAll());
  CpuReadEveryPage(remote_);
  ASSERT_NO_FATAL_FAILURE(DeviceWrite(kDeviceSeed));
  ASSERT_NO_FATAL_FAILURE(PageOutAll());
  const size_t lost = PagesNotHolding(remote_, kDeviceSeed);
  EXPECT_EQ(lost, 0U) << lost << " of " << kPages
                      << " pages lost the device's write across a page-out; "
                      << kPages - PagesNotHolding(remote_, kCpuSeed)
                      << " came back from swap with the bytes from before it";
}

TEST_F(Swap, CgroupReclaimKeepsADeviceWriteToASwappedInPage) {
  IBODP_REQUIRE(RequireSwap());
  OnePacketPerPage();
  std::unique_ptr<MemoryCgroup> cgroup;
  IBODP_REQUIRE(cgroup = std::make_unique<MemoryCgroup>());
  // Charged to the group: allocated after joining it.
  ASSERT_NO_FATAL_FAILURE(UseRemote(NewRemote()));
  const auto reclaim = [&cgroup] { cgroup->Reclaim(size_t{256} << 20); };
  ASSERT_NO_FATAL_FAILURE(EvictAll("memory.reclaim", reclaim));
  ASSERT_NO_FATAL_FAILURE(ExpectDeviceReads(kCpuSeed));  // swaps them in, clean
  ASSERT_NO_FATAL_FAILURE(DeviceWrite(kDeviceSeed));
  ASSERT_NO_FATAL_FAILURE(EvictAll("memory.reclaim, again,", reclaim));
  ExpectCpuSees(kDeviceSeed, "after reclaim of the device-written pages");
  ASSERT_NO_FATAL_FAILURE(ExpectDeviceReads(kDeviceSeed));
}

using Numa = Movers;

TEST_F(Numa, MovePagesToTheOtherNodeAndBack) {
  std::vector<int> nodes;
  IBODP_REQUIRE(nodes = RequireNumaNodes());
  ASSERT_NO_FATAL_FAILURE(UseRemote(NewRemote()));
  const int home = NodesOf(remote_).front();
  const int other = home == nodes[0] ? nodes[1] : nodes[0];
  MovePages(remote_, other);
  ASSERT_NO_FATAL_FAILURE(ExpectDeviceReads(kCpuSeed));
  ASSERT_NO_FATAL_FAILURE(DeviceWrite(kDeviceSeed));
  ExpectCpuSees(kDeviceSeed, "after the device wrote migrated pages");
  MovePages(remote_, home);
  ExpectCpuSees(kDeviceSeed, "after migrating them back");
  ASSERT_NO_FATAL_FAILURE(ExpectDeviceReads(kDeviceSeed));
}

TEST_F(Numa, MigratePagesOfTheProcess) {
  std::vector<int> nodes;
  IBODP_REQUIRE(nodes = RequireNumaNodes());
  ASSERT_NO_FATAL_FAILURE(UseRemote(NewRemote()));
  MovePages(remote_, nodes[0]);
  ASSERT_NO_FATAL_FAILURE(ExpectDeviceReads(kCpuSeed));
  MigrateProcessPages(nodes[0], nodes[1]);
  for (const int node : NodesOf(remote_)) {
    ASSERT_EQ(node, nodes[1]) << "migrate_pages left a page behind";
  }
  ASSERT_NO_FATAL_FAILURE(ExpectDeviceReads(kCpuSeed));
  ASSERT_NO_FATAL_FAILURE(DeviceWrite(kDeviceSeed));
  ExpectCpuSees(kDeviceSeed, "after the device wrote migrated pages");
}

// NUMA balancing unmaps the pages for hinting faults (PROT_NONE, an
// MMU_NOTIFY_PROTECTION_VMA invalidation) and migrates those that the CPU
// keeps touching from the other node.
TEST_F(Numa, BalancingMovesPagesToTheNodeThatTouchesThem) {
  std::vector<int> nodes;
  IBODP_REQUIRE(nodes = RequireNumaNodes());
  const PinnedToCpu pinned(0);
  const int home = numa_node_of_cpu(0);
  const int other = home == nodes[0] ? nodes[1] : nodes[0];
  ASSERT_NO_FATAL_FAILURE(UseRemote(NewRemote()));
  MovePages(remote_, other);
  {
    // The scanner backs off up to scan_period_max_ms (60 s) between
    // passes over the mm and keeps that period across runs of this test
    // in one process (--gtest_repeat): scan every 100 ms instead.
    const ProcKnob period_min(
        "/sys/kernel/debug/sched/numa_balancing/scan_period_min_ms", "100");
    const ProcKnob period_max(
        "/sys/kernel/debug/sched/numa_balancing/scan_period_max_ms", "100");
    const ProcKnob balancing("/proc/sys/kernel/numa_balancing", "1");
    const auto deadline = std::chrono::steady_clock::now() + kBalancing;
    size_t moved = 0;
    while (moved < kPages && std::chrono::steady_clock::now() < deadline) {
      CpuReadEveryPage(remote_);
      const std::vector<int> where = NodesOf(remote_);
      moved = static_cast<size_t>(std::count(where.begin(), where.end(), home));
    }
    ASSERT_EQ(moved, kPages) << "NUMA balancing moved " << moved << " of "
                             << kPages << " pages to node " << home
                             << " within " << kBalancing.count() << " s";
  }
  ASSERT_NO_FATAL_FAILURE(ExpectDeviceReads(kCpuSeed));
  ASSERT_NO_FATAL_FAILURE(DeviceWrite(kDeviceSeed));
  ExpectCpuSees(kDeviceSeed, "after the device wrote balanced pages");
}

using HugePages = Movers;

TEST_F(HugePages, CollapseIntoATransparentHugePage) {
  const Mapping range = Mapping::AnonymousAligned(kHuge, kHuge);
  ASSERT_EQ(madvise(range.bytes().data(), kHuge, MADV_NOHUGEPAGE), 0);
  ASSERT_NO_FATAL_FAILURE(UseRemote(range.bytes()));
  ASSERT_EQ(SmapsKb(remote_.data(), "AnonHugePages"), 0U);
  ASSERT_EQ(madvise(remote_.data(), kHuge, MADV_HUGEPAGE), 0);
  IBODP_REQUIRE(CollapseHugePage(remote_));
  ASSERT_EQ(SmapsKb(remote_.data(), "AnonHugePages"), kHuge / 1024)
      << "MADV_COLLAPSE left the range in small pages";
  ASSERT_NO_FATAL_FAILURE(ExpectDeviceReads(kCpuSeed));
  ASSERT_NO_FATAL_FAILURE(DeviceWrite(kDeviceSeed));
  ExpectCpuSees(kDeviceSeed, "after the device wrote the collapsed page");
}

TEST_F(HugePages, SplitATransparentHugePage) {
  const Mapping range = Mapping::AnonymousAligned(kHuge, kHuge);
  ASSERT_EQ(madvise(range.bytes().data(), kHuge, MADV_HUGEPAGE), 0);
  FillPattern(range.bytes(), kCpuSeed);
  IBODP_REQUIRE(CollapseHugePage(range.bytes()));
  ASSERT_NO_FATAL_FAILURE(UseRemote(range.bytes()));
  ASSERT_NE(KernelPageFlags(remote_.data()) & kPageFlagThp, 0U);
  IBODP_REQUIRE(SplitHugePages(remote_));
  ASSERT_EQ(SmapsKb(remote_.data(), "AnonHugePages"), 0U)
      << "split_huge_pages left the huge page whole";
  ASSERT_NO_FATAL_FAILURE(ExpectDeviceReads(kCpuSeed));
  ASSERT_NO_FATAL_FAILURE(DeviceWrite(kDeviceSeed));
  ExpectCpuSees(kDeviceSeed, "after the device wrote the split pages");
}

using Ksm = Movers;

// KSM write-protects and replaces the MR's pages with shared ones; a device
// write must break the sharing, as a CPU write would, and leave the twin
// that shared the pages as it was.
TEST_F(Ksm, DeviceWriteToMergedPagesLeavesTheTwinAlone) {
  std::span<uint8_t> remote = NewRemote();
  Mapping twin = Mapping::Anonymous(remote.size());
  FillPattern(twin.bytes(), kCpuSeed);
  ASSERT_NO_FATAL_FAILURE(UseRemote(remote));
  ASSERT_EQ(madvise(remote_.data(), remote_.size(), MADV_MERGEABLE), 0);
  ASSERT_EQ(madvise(twin.data(), twin.size(), MADV_MERGEABLE), 0);
  IBODP_REQUIRE(KsmMerge(remote_, std::chrono::seconds(60)));
  ASSERT_NO_FATAL_FAILURE(ExpectDeviceReads(kCpuSeed));
  ASSERT_NO_FATAL_FAILURE(DeviceWrite(kDeviceSeed));
  ExpectCpuSees(kDeviceSeed, "after the device wrote merged pages");
  EXPECT_EQ(guest::PagesNotHolding(twin.bytes(), kCpuSeed, PageSize()), 0U)
      << "the device's write reached the KSM twin of the MR's pages";
  EXPECT_EQ(KernelPageFlags(remote_.data()) & kPageFlagKsm, 0U)
      << "the written page is still a KSM page";
}

}  // namespace
}  // namespace ibodp::guest
