// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// ODP prefetch (ibv_advise_mr): after a prefetch of the whole MR, an RDMA
// READ of every page faults none. Skips with the reason where the
// userspace provider has no advise_mr (rxe with rdma-core before 59).
#include "ibodp/prefetch.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <memory>
#include <string>
#include <vector>

#include "ibodp/error.h"
#include "ibodp/profiler.h"
#include "odp_fixture.h"

namespace ibodp {
namespace {

class OdpPrefetch : public guest::OdpFixture {
 protected:
  void SetUp() override {
    try {
      profiler_ = std::make_unique<FunctionProfiler>(
          std::vector<std::string>{kOdpFaultFunction});
    } catch (const Unsupported& e) {
      GTEST_SKIP() << e.what();
    }
    guest::OdpFixture::SetUp();
    if (IsSkipped()) {
      return;
    }
    // Drop the warmed pages from the MR (on every kernel), then put the
    // pattern back with the CPU: the device has none of them mapped.
    ASSERT_EQ(madvise(remote_->data(), Bytes(), MADV_DONTNEED), 0);
    FillPattern(remote_->bytes(), kRemoteSeed);
  }

  // Prefetches the whole remote MR, skipping the test if the provider
  // cannot (GTEST_SKIP returns from here only: callers check IsSkipped).
  void Prefetch(PrefetchAccess access) {
    try {
      PrefetchMr(*remote_mr_, remote_->data(), Bytes(), access,
                 /*wait=*/true);
    } catch (const Unsupported& e) {
      GTEST_SKIP() << e.what();
    }
  }

  uint64_t ReadFaults() {
    profiler_->Reset();
    const ibv_wc wc = Read(0, Bytes());
    EXPECT_EQ(wc.status, IBV_WC_SUCCESS);
    ExpectLocal(0, Bytes(), kRemoteSeed);
    return profiler_->HitsOf(kOdpFaultFunction);
  }

  std::unique_ptr<FunctionProfiler> profiler_;
};

TEST_F(OdpPrefetch, WithoutPrefetchEveryPageFaults) {
  EXPECT_EQ(ReadFaults(), kPages);
}

TEST_F(OdpPrefetch, ReadAfterPrefetchFaultsNone) {
  Prefetch(PrefetchAccess::kRead);
  if (IsSkipped()) {
    return;
  }
  EXPECT_EQ(ReadFaults(), 0u);
}

TEST_F(OdpPrefetch, ReadAfterWritePrefetchFaultsNone) {
  Prefetch(PrefetchAccess::kWrite);
  if (IsSkipped()) {
    return;
  }
  EXPECT_EQ(ReadFaults(), 0u);
}

TEST_F(OdpPrefetch, RangeOutsideTheMrIsAnErrorNotACall) {
  EXPECT_THROW(PrefetchMr(*remote_mr_, remote_->data() + PageSize(), Bytes(),
                          PrefetchAccess::kRead, /*wait=*/true),
               Error);
}

}  // namespace
}  // namespace ibodp
