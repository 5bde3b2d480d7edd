// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "ibodp/profiler.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ibodp {
namespace {

// The layout of /sys/kernel/tracing/trace_stat/functionN.
constexpr const char* kCpu0 =
    "  Function                               Hit    Time            Avg"
    "             s^2\n"
    "  --------                               ---    ----            ---"
    "             ---\n"
    "  ib_umem_odp_map_dma_and_lock            16    2400.512 us     150.032 us"
    "      12.5 us\n"
    "  rxe_ib_invalidate_range                  3    150.000 us      50.000 us"
    "       1.0 us\n";
constexpr const char* kCpu1 =
    "  Function                               Hit    Time            Avg"
    "             s^2\n"
    "  --------                               ---    ----            ---"
    "             ---\n"
    "  ib_umem_odp_map_dma_and_lock             4    600.000 us      150.000 us"
    "      2.0 us\n";

TEST(ProfileStats, SumsHitsOverCpus) {
  const auto hits = ParseProfileStats({kCpu0, kCpu1});
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits.at("ib_umem_odp_map_dma_and_lock"), 20u);
  EXPECT_EQ(hits.at("rxe_ib_invalidate_range"), 3u);
}

TEST(ProfileStats, EmptyTablesHaveNoHits) {
  EXPECT_TRUE(ParseProfileStats({"", "  Function  Hit  Time\n"}).empty());
}

TEST(ProfileStats, LargeCountsAreNotTruncated) {
  const auto hits = ParseProfileStats({"  f  5000000000  1.0 us\n"});
  EXPECT_EQ(hits.at("f"), 5000000000ull);
}

}  // namespace
}  // namespace ibodp
