// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// Reading several counters as of one instant. The kernel cannot be paused
// while perftest reads its counter sources one after the other, and it
// faults and invalidates by itself too (khugepaged collapsing a range that
// perftest split, kswapd, writeback): an invalidation between two sources'
// reads is counted by one and not by the other. ReadBracketed() reads one
// source (the bracket) before and after the others, and accepts the
// reading only when the bracket did not change across them: then nothing
// the bracket counts happened while the others were read, and all of them
// describe the same moment.
//
// What it cannot see: an event whose counts in the two sources straddle
// the whole reading (counted by the bracket before it, by another source
// only after it). That needs one invalidation to stay inside a notifier
// callback for the length of a reading (tens of ms).
#ifndef PERFTEST_BRACKETED_H_
#define PERFTEST_BRACKETED_H_

#include <optional>
#include <utility>

namespace perftest {

// bracket(), inner(), bracket(), inner(), ... until two consecutive
// bracket() values are equal: returns that value and the inner() read
// between them; nullopt after `attempts` inner reads without.
template <typename Bracket, typename Inner>
auto ReadBracketed(Bracket&& bracket, Inner&& inner, int attempts)
    -> std::optional<std::pair<decltype(bracket()), decltype(inner())>> {
  auto before = bracket();
  for (int i = 0; i < attempts; ++i) {
    auto between = inner();
    auto after = bracket();
    if (after == before) {
      return std::make_pair(std::move(after), std::move(between));
    }
    before = std::move(after);
  }
  return std::nullopt;
}

}  // namespace perftest

#endif  // PERFTEST_BRACKETED_H_
