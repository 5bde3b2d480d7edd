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
// What it cannot see: an event that one inner source counted before its
// read and the bracket only after the second bracket read (an event that
// the sources count at different moments, as an invalidation does: on
// entry to the driver's callback, at its tracepoint, at its end). The
// caller orders the inner reads so that this needs one callback to last
// through a slow read (see CounterSources::End()).
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
