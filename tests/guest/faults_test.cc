// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// Exact ODP fault counts of an RDMA READ over every page of a warmed MR
// after one memory event, counted with the ftrace function profiler
// (calls of ib_umem_odp_map_dma_and_lock: one per faulting page here, as
// each page's first packet faults that page alone).
//
// The expectation depends on the kernel: IBODP_EXPECT_KEEP=1 for a kernel
// that keeps pages on write-protecting events (the patched one),
// IBODP_EXPECT_KEEP=0 for one that drops them on every event (pristine).
// `odplab test` sets it; without it these tests skip and say so.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "ibodp/error.h"
#include "ibodp/profiler.h"
#include "ibodp/softdirty.h"
#include "odp_fixture.h"

namespace ibodp {
namespace {

class OdpFaults : public guest::OdpFixture {
 protected:
  void SetUp() override {
    const std::optional<bool> keep = guest::ExpectKeep();
    if (!keep) {
      GTEST_SKIP() << guest::kExpectKeepUnset;
    }
    keeps_ = *keep;
    try {
      profiler_ = std::make_unique<FunctionProfiler>(
          std::vector<std::string>{kOdpFaultFunction, kRxeInvalidateFunction});
    } catch (const Unsupported& e) {
      GTEST_SKIP() << e.what();
    }
    guest::OdpFixture::SetUp();
  }

  // Faults of a READ of every page, counted from just before `event`.
  uint64_t ReadFaultsAfter(const std::function<void()>& event) {
    event();
    profiler_->Reset();
    const ibv_wc wc = Read(0, Bytes());
    EXPECT_EQ(wc.status, IBV_WC_SUCCESS);
    return profiler_->HitsOf(kOdpFaultFunction);
  }

  uint64_t Expected(bool write_protect_only) const {
    return write_protect_only && keeps_ ? 0 : kPages;
  }

  bool keeps_ = false;
  std::unique_ptr<FunctionProfiler> profiler_;
};

TEST_F(OdpFaults, NoEventNoFault) {
  EXPECT_EQ(ReadFaultsAfter([] {}), 0u);
}

TEST_F(OdpFaults, SoftDirty) {
  EXPECT_EQ(ReadFaultsAfter([] { ClearSoftDirty(); }), Expected(true));
  ExpectLocal(0, Bytes(), kRemoteSeed);
}

TEST_F(OdpFaults, MprotectReadOnlyAndBack) {
  EXPECT_EQ(ReadFaultsAfter([this] {
              ASSERT_EQ(mprotect(remote_->data(), Bytes(), PROT_READ), 0);
              ASSERT_EQ(
                  mprotect(remote_->data(), Bytes(), PROT_READ | PROT_WRITE),
                  0);
            }),
            Expected(true));
}

TEST_F(OdpFaults, MprotectNoneAndBack) {
  EXPECT_EQ(ReadFaultsAfter([this] {
              ASSERT_EQ(mprotect(remote_->data(), Bytes(), PROT_NONE), 0);
              ASSERT_EQ(
                  mprotect(remote_->data(), Bytes(), PROT_READ | PROT_WRITE),
                  0);
            }),
            Expected(false));
}

TEST_F(OdpFaults, ForkWithChildThatExits) {
  EXPECT_EQ(ReadFaultsAfter(guest::ForkChildThatExits), Expected(true));
  ExpectLocal(0, Bytes(), kRemoteSeed);
}

TEST_F(OdpFaults, MadviseDontneed) {
  EXPECT_EQ(ReadFaultsAfter([this] {
              ASSERT_EQ(madvise(remote_->data(), Bytes(), MADV_DONTNEED), 0);
            }),
            Expected(false));
}

}  // namespace
}  // namespace ibodp
