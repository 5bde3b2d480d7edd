// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// NUMA balancing's hints over a warmed ODP MR. The scanner
// (task_numa_work() -> change_prot_numa()) makes the PTEs of the task's
// VMAs PROT_NONE, so that the next CPU access takes a hinting fault, and
// sends MMU_NOTIFY_PROTECTION_VMA over each chunk it scans. Without
// kernel-patches/ 0009-0010 the umem drops its valid pages on each hint,
// and the next device READ faults every page again; with them the hint
// carries MMU_NOTIFIER_RANGE_NUMA_HINT and the pages stay, read-only.
//
// The lab boots with numa_balancing=disable; the test turns balancing on
// with scans every 100 ms, runs on the CPU until the MR gets an
// invalidation, and turns it off before the READ. IBODP_EXPECT_KEEP says
// what the kernel does (see faults_test.cc): 1 for the patched kernel,
// whose series has 0009-0010.
#include <gtest/gtest.h>
#include <numa.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "cpu_pin.h"
#include "ibodp/error.h"
#include "ibodp/movers.h"
#include "ibodp/odptrace.h"
#include "ibodp/profiler.h"
#include "odp_fixture.h"
#include "proc_knob.h"

namespace ibodp {
namespace {

constexpr const char* kBalancing = "/proc/sys/kernel/numa_balancing";
constexpr const char* kKnobs = "/sys/kernel/debug/sched/numa_balancing";

// A counter of /proc/vmstat; throws Error when the kernel has no such
// line (numa_* need CONFIG_NUMA_BALANCING).
uint64_t VmStat(const std::string& name) {
  std::ifstream in("/proc/vmstat");
  std::string key;
  uint64_t value = 0;
  while (in >> key >> value) {
    if (key == name) {
      return value;
    }
  }
  throw Error("no " + name + " in /proc/vmstat");
}

class NumaHint : public guest::OdpFixture {
 protected:
  void SetUp() override {
    IBODP_REQUIRE(keeps_ = guest::RequireExpectKeep());
    try {
      nodes_ = RequireNumaNodes();
      profiler_ = std::make_unique<FunctionProfiler>(
          std::vector<std::string>{kOdpFaultFunction, kRxeInvalidateFunction});
    } catch (const Unsupported& e) {
      GTEST_SKIP() << e.what();
    }
    if (!std::filesystem::exists(kBalancing) ||
        !std::filesystem::is_directory(kKnobs)) {
      GTEST_SKIP() << "no " << kBalancing << " or " << kKnobs
                   << ": needs CONFIG_NUMA_BALANCING and debugfs";
    }
    if (keeps_) {
      // The patched kernel has the tracepoints: their absence fails.
      trace_ = std::make_unique<OdpTrace>();
    }
    guest::OdpFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) {
      return;
    }
    // The scanner of a single-threaded task leaves alone the pages on the
    // node it runs on (folio_can_map_prot_numa()): run on CPU 0 and put
    // the MR's pages on the other node, so that the hint makes each of
    // their PTEs PROT_NONE. The migration drops them from the MR; a READ
    // maps them again.
    pinned_ = std::make_unique<guest::PinnedToCpu>(0);
    const int home = numa_node_of_cpu(0);
    MovePages(remote_->bytes(), home == nodes_[0] ? nodes_[1] : nodes_[0]);
    ASSERT_EQ(Read(0, Bytes()).status, IBV_WC_SUCCESS);
  }

  void TearDown() override {
    pinned_.reset();
    guest::OdpFixture::TearDown();
  }

  // Runs on the CPU, in user space, with balancing on and a scan every
  // 100 ms, until the MR has had an invalidation; false after `timeout`.
  bool RunUntilHinted(std::chrono::seconds timeout) {
    const guest::ProcKnob min(std::string(kKnobs) + "/scan_period_min_ms",
                              "100");
    const guest::ProcKnob max(std::string(kKnobs) + "/scan_period_max_ms",
                              "100");
    const guest::ProcKnob delay(std::string(kKnobs) + "/scan_delay_ms", "0");
    const guest::ProcKnob on(kBalancing, "1");
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    volatile uint64_t spin = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      for (int i = 0; i < 1000000; ++i) {
        spin = spin + 1;
      }
      if (profiler_->HitsOf(kRxeInvalidateFunction) > 0) {
        return true;
      }
    }
    return false;
  }

  bool keeps_ = false;
  std::vector<int> nodes_;
  std::unique_ptr<guest::PinnedToCpu> pinned_;
  std::unique_ptr<FunctionProfiler> profiler_;
  std::unique_ptr<OdpTrace> trace_;
};

TEST_F(NumaHint, ReadAfterAHintFaultsWhatTheKernelKeeps) {
  profiler_->Reset();
  if (trace_) {
    trace_->Clear();
  }
  ASSERT_TRUE(RunUntilHinted(std::chrono::seconds(60)))
      << "no invalidation of the MR in 60 s of NUMA balancing with 100 ms "
         "scans";
  // Balancing is off again: nothing but the READ below touches the MR.
  if (trace_) {
    const OdpTraceRecords records = trace_->Read();
    ASSERT_FALSE(records.invalidations.empty());
    // A pass may end inside the MR and the next one take the rest.
    uint64_t kept = 0;
    for (const OdpInvalidateRecord& r : records.invalidations) {
      EXPECT_EQ(r.event, "protection_vma");
      EXPECT_NE(r.flags & kRangeNumaHint, 0u) << "flags " << r.flags;
      EXPECT_EQ(r.action, kOdpActionWriteProtect);
      EXPECT_EQ(r.dropped, 0u);
      kept += r.kept;
    }
    EXPECT_GE(kept, kPages);
  }
  profiler_->Reset();
  ASSERT_EQ(Read(0, Bytes()).status, IBV_WC_SUCCESS);
  EXPECT_EQ(profiler_->HitsOf(kOdpFaultFunction), keeps_ ? 0 : kPages);
  ExpectLocal(0, Bytes(), kRemoteSeed);
  if (keeps_) {
    // The device read pages whose PTEs the hint had made PROT_NONE: the
    // CPU now takes a hinting fault on each (other tasks' hinting faults
    // can only add to the count).
    const uint64_t before = VmStat("numa_hint_faults");
    guest::CpuReadEveryPage(remote_->bytes());
    EXPECT_GE(VmStat("numa_hint_faults") - before, kPages);
  }
}

// A device write to a page kept across a hint still faults: the hint left
// it without write access in the MR, and PROT_NONE for the CPU, so the
// fault takes a hinting fault first. The bytes land.
TEST_F(NumaHint, WriteAfterAHintFaultsEveryPage) {
  profiler_->Reset();
  ASSERT_TRUE(RunUntilHinted(std::chrono::seconds(60)))
      << "no invalidation of the MR in 60 s of NUMA balancing with 100 ms "
         "scans";
  constexpr uint64_t kSeed = 7;
  FillPattern(local_->bytes(), kSeed);
  profiler_->Reset();
  ASSERT_EQ(Write(0, Bytes()).status, IBV_WC_SUCCESS);
  EXPECT_EQ(profiler_->HitsOf(kOdpFaultFunction), kPages);
  EXPECT_FALSE(FirstMismatch(remote_->bytes(), kSeed).has_value());
}

}  // namespace
}  // namespace ibodp
