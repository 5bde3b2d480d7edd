// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// The order in which perftest measures: each scenario's repetitions back
// to back, or interleaved (repetition r of every scenario, in a shuffled
// order, before repetition r + 1 of any), as google/benchmark's random
// interleaving does. Interleaving spreads a slow drift of the machine over
// the repetitions of every scenario, where the U test of odplab compare
// sees it, instead of moving the few scenarios that ran during it.
//
// Within a round, a matrix point's registrations run back to back
// (round.h).
#ifndef PERFTEST_SCHEDULE_H_
#define PERFTEST_SCHEDULE_H_

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "bench.h"
#include "report.h"
#include "scenario.h"

namespace perftest {

struct ScheduleOptions {
  bool interleave = true;
  uint64_t seed = 1;             // of the shuffled order per round
  std::filesystem::path output;  // the report, rewritten as results come
};

// "interleaved by point, seed N" or "contiguous", for the report's
// context.
std::string DescribeSchedule(const ScheduleOptions& opts);

// Runs every scenario into report.results (one result per scenario, in
// `all`'s order), prints progress to stderr and the table to stdout, and
// keeps the report file current so that a run cut short leaves the
// finished part readable. Returns the number of scenarios that failed;
// an unsupported scenario is recorded, not counted.
int RunAll(const BenchFactory& setup, const std::vector<Scenario>& all,
           const ScheduleOptions& opts, Report& report);

}  // namespace perftest

#endif  // PERFTEST_SCHEDULE_H_
