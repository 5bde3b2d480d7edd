// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// The order of one round of the interleaved schedule (schedule.h). Within
// a round, the scenarios of one matrix point that differ only in
// registration (ODP, pinned, ODP + prefetch) run back to back, in a
// shuffled order, so that repetition r of each is a pair measured within
// a second or two: odplab compare takes ODP's ratio to the pinned MR per
// round. A TCG guest runs 1.4x to 1.7x slower for stretches of 10 to 30 s
// now and then; such a stretch moves both sides of most pairs, where the
// registrations scattered over a whole round would often land apart.
#ifndef PERFTEST_ROUND_H_
#define PERFTEST_ROUND_H_

#include <cstddef>
#include <random>
#include <vector>

#include "scenario.h"

namespace perftest {

// Indices into `all`: the points in a shuffled order, each point's
// registrations back to back in a shuffled order. Every index appears
// once.
std::vector<size_t> ShuffledRound(const std::vector<Scenario>& all,
                                  std::mt19937_64& rng);

}  // namespace perftest

#endif  // PERFTEST_ROUND_H_
