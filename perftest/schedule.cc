// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "schedule.h"

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <random>
#include <string>
#include <utility>

#include "ibodp/error.h"
#include "round.h"
#include "runner.h"

namespace perftest {
namespace {

using Clock = std::chrono::steady_clock;

// The interleaved report is rewritten at most this often within a round.
constexpr std::chrono::seconds kWriteInterval{10};

int64_t SecondsSince(Clock::time_point start) {
  return static_cast<int64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - start)
          .count());
}

// Runs `step` and records its failure in `result`; returns true when the
// failure counts (an unsupported scenario does not).
template <typename Step>
bool Guarded(ScenarioResult& result, Step step) {
  try {
    step();
  } catch (const ibodp::Unsupported& e) {
    result.error = std::string("unsupported: ") + e.what();
  } catch (const ibodp::Error& e) {
    result.error = e.what();
    return true;
  }
  return false;
}

int RunContiguous(const BenchFactory& setup, const std::vector<Scenario>& all,
                  const ScheduleOptions& opts, Report& report) {
  const auto start = Clock::now();
  int failed = 0;
  std::cout << FormatTableHeader() << "\n" << std::flush;
  for (size_t i = 0; i < all.size(); ++i) {
    std::cerr << "perftest: scenario " << i + 1 << " of " << all.size() << " ("
              << SecondsSince(start) << " s): " << all[i].Name() << "\n";
    ScenarioResult result;
    result.scenario = all[i];
    failed += Guarded(result, [&] { result = RunScenario(setup, all[i]); });
    std::cout << FormatTableRow(result) << "\n" << std::flush;
    report.results.push_back(std::move(result));
    WriteReport(report, opts.output);
  }
  return failed;
}

int RunInterleaved(const BenchFactory& setup, const std::vector<Scenario>& all,
                   const ScheduleOptions& opts, Report& report) {
  const size_t first = report.results.size();
  for (const Scenario& s : all) {
    ScenarioResult result;
    result.scenario = s;
    report.results.push_back(std::move(result));
  }
  uint64_t rounds = 0;
  for (const Scenario& s : all) {
    rounds = std::max(rounds, s.repetitions);
  }
  std::mt19937_64 rng(opts.seed);
  const auto start = Clock::now();
  auto written = start;
  int failed = 0;
  for (uint64_t round = 0; round < rounds; ++round) {
    const std::vector<size_t> order = ShuffledRound(all, rng);
    for (size_t k = 0; k < order.size(); ++k) {
      ScenarioResult& result = report.results[first + order[k]];
      const Scenario& s = all[order[k]];
      if (!result.error.empty() || round >= s.repetitions) {
        continue;
      }
      std::cerr << "perftest: round " << round + 1 << " of " << rounds
                << ", scenario " << k + 1 << " of " << all.size() << " ("
                << SecondsSince(start) << " s): " << s.Name() << "\n";
      failed += Guarded(result, [&] {
        result.repetitions.push_back(RunRepetition(setup, s, round));
        result.aggregates = Aggregate(result.repetitions);
      });
      if (!result.error.empty() || Clock::now() - written > kWriteInterval) {
        WriteReport(report, opts.output);
        written = Clock::now();
      }
    }
    WriteReport(report, opts.output);
    written = Clock::now();
  }
  std::cout << FormatTableHeader() << "\n";
  for (size_t i = first; i < report.results.size(); ++i) {
    std::cout << FormatTableRow(report.results[i]) << "\n";
  }
  std::cout << std::flush;
  return failed;
}

}  // namespace

std::string DescribeSchedule(const ScheduleOptions& opts) {
  return opts.interleave
             ? "interleaved by point, seed " + std::to_string(opts.seed)
             : "contiguous";
}

int RunAll(const BenchFactory& setup, const std::vector<Scenario>& all,
           const ScheduleOptions& opts, Report& report) {
  return opts.interleave ? RunInterleaved(setup, all, opts, report)
                         : RunContiguous(setup, all, opts, report);
}

}  // namespace perftest
