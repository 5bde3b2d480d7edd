// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// Latency statistics for perftest. Every statistic is exact over all the
// samples it is given: nothing is trimmed, dropped or bucketed, and all the
// arithmetic is in double.
//
// Percentiles use linear interpolation between the closest ranks, the
// definition Hyndman & Fan call R-7 (numpy's and Excel's PERCENTILE.INC
// default): with the n samples sorted as x[0] <= ... <= x[n-1], the p-th
// quantile (0 <= p <= 1) sits at rank h = p * (n - 1) and is
//   x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)]).
// So the median of {1, 2} is 1.5 and p90 of 1..100 is 90.1.
#ifndef PERFTEST_STATS_H_
#define PERFTEST_STATS_H_

#include <cstddef>
#include <span>
#include <vector>

namespace perftest {

inline constexpr size_t kQuantileSteps = 100;

// Order statistics, mean and sample standard deviation of one repetition's
// per-operation latencies, in nanoseconds.
struct Summary {
  size_t count = 0;
  double min_ns = 0;
  double p50_ns = 0;
  double p90_ns = 0;
  double p99_ns = 0;
  double p999_ns = 0;
  double max_ns = 0;
  double mean_ns = 0;
  // Sample standard deviation (n - 1 denominator); 0 for a single sample.
  double stddev_ns = 0;
  // The latency CDF: quantiles_ns[i] is the R-7 quantile i / 100, for i in
  // 0..kQuantileSteps ([0] is the min, [kQuantileSteps] the max).
  std::vector<double> quantiles_ns;

  bool operator==(const Summary&) const = default;
};

// Summarises `samples_ns` (taken by value: it is sorted in place).
// Throws ibodp::Error when it is empty or holds a NaN or an infinity.
Summary Summarize(std::vector<double> samples_ns);

// The R-7 quantile `p` (0 <= p <= 1) of `sorted`, which must be sorted in
// ascending order. Throws ibodp::Error when `sorted` is empty or `p` is
// outside [0, 1].
double Percentile(std::span<const double> sorted, double p);

// google/benchmark-style aggregate of one value (the p50 of each repetition,
// its faults per op, ...) over the repetitions of a scenario.
struct RepetitionStats {
  double mean = 0;
  // Sample standard deviation (n - 1 denominator); 0 for a single value.
  double stddev = 0;
  double min = 0;
  double max = 0;
  // Coefficient of variation stddev / mean; 0 when the mean is 0 (as
  // google/benchmark reports it).
  double cv = 0;
  size_t n = 0;

  bool operator==(const RepetitionStats&) const = default;
};

// Throws ibodp::Error when `values` is empty or holds a NaN or an infinity.
RepetitionStats AggregateRepetitions(std::span<const double> values);

}  // namespace perftest

#endif  // PERFTEST_STATS_H_
