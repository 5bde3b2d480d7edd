// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "bracketed.h"

namespace perftest {
namespace {

// A kernel that counts one invalidation in two sources: `trace` (the
// bracket) and `hw`. `event_at` lists the reads (0, 1, ... over both
// sources) right before which one invalidation happens.
struct FakeKernel {
  std::vector<int> event_at;
  int reads = 0;
  uint64_t trace = 0;
  uint64_t hw = 0;

  void Step() {
    for (const int at : event_at) {
      if (at == reads) {
        ++trace;
        ++hw;
      }
    }
    ++reads;
  }
  uint64_t ReadTrace() {
    Step();
    return trace;
  }
  uint64_t ReadHw() {
    Step();
    return hw;
  }
  // ReadBracketed() with the trace as the bracket and hw inside.
  std::optional<std::pair<uint64_t, uint64_t>> Read(int attempts) {
    return ReadBracketed([this] { return ReadTrace(); },
                         [this] { return ReadHw(); }, attempts);
  }
};

TEST(ReadBracketed, QuietKernelReadsOnce) {
  FakeKernel k;
  const auto r = k.Read(5);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->first, 0u);
  EXPECT_EQ(r->second, 0u);
  EXPECT_EQ(k.reads, 3);
}

// An invalidation after the hw read and before the second trace read
// (what CI saw on thp-split: the trace one call ahead of hw_counters and
// the profiler) makes it read again, and the sources agree.
TEST(ReadBracketed, EventBetweenInnerAndBracketIsReadAgain) {
  FakeKernel k{.event_at = {2}};
  const auto r = k.Read(5);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->first, 1u);
  EXPECT_EQ(r->second, 1u);
  EXPECT_EQ(k.reads, 5);
}

TEST(ReadBracketed, EventBeforeInnerIsReadAgain) {
  FakeKernel k{.event_at = {1}};
  const auto r = k.Read(5);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->first, r->second);
  EXPECT_EQ(r->first, 1u);
}

TEST(ReadBracketed, BusyKernelGivesUpAfterTheAttempts) {
  // One invalidation before every trace read after the first.
  FakeKernel k{.event_at = {2, 4, 6}};
  const auto r = k.Read(3);
  EXPECT_FALSE(r.has_value());
  EXPECT_EQ(k.reads, 7);  // the first bracket, then 3 x (inner, bracket)
}

TEST(ReadBracketed, SettlesOnceTheKernelStops) {
  FakeKernel k{.event_at = {2, 4}};
  const auto r = k.Read(3);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->first, 2u);
  EXPECT_EQ(r->second, 2u);
}

}  // namespace
}  // namespace perftest
