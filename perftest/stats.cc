// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "stats.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "ibodp/error.h"

namespace perftest {
namespace {

struct Moments {
  double mean = 0;
  double stddev = 0;
};

void RequireFinite(std::span<const double> values, const char* what) {
  if (values.empty()) {
    throw ibodp::Error(std::string("cannot summarise an empty list of ") +
                       what + ": run at least one operation");
  }
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      throw ibodp::Error(std::string(what) + " #" + std::to_string(i) + " is " +
                         std::to_string(values[i]) +
                         ": every value must be a finite number");
    }
  }
}

// Welford's online algorithm: numerically stable for large values with a
// small spread (latencies of ~1e12 ns), unlike the sum of squares.
Moments MeanAndSampleStddev(std::span<const double> values) {
  double mean = 0;
  double m2 = 0;
  double n = 0;
  for (const double x : values) {
    n += 1;
    const double delta = x - mean;
    mean += delta / n;
    m2 += delta * (x - mean);
  }
  Moments m;
  m.mean = mean;
  m.stddev = values.size() > 1 ? std::sqrt(m2 / (n - 1)) : 0.0;
  return m;
}

}  // namespace

double Percentile(std::span<const double> sorted, double p) {
  if (sorted.empty()) {
    throw ibodp::Error("cannot take a percentile of no samples");
  }
  if (!(p >= 0.0 && p <= 1.0)) {
    throw ibodp::Error("percentile " + std::to_string(p) +
                       " is outside [0, 1]: pass 0.5 for the median");
  }
  const double rank = p * static_cast<double>(sorted.size() - 1);
  const double lower = std::floor(rank);
  const auto lo = static_cast<size_t>(lower);
  if (lo + 1 >= sorted.size()) {
    return sorted[sorted.size() - 1];
  }
  return sorted[lo] + (rank - lower) * (sorted[lo + 1] - sorted[lo]);
}

Summary Summarize(std::vector<double> samples_ns) {
  RequireFinite(samples_ns, "latency sample");
  std::sort(samples_ns.begin(), samples_ns.end());
  const Moments moments = MeanAndSampleStddev(samples_ns);
  Summary s;
  s.count = samples_ns.size();
  s.min_ns = samples_ns.front();
  s.p50_ns = Percentile(samples_ns, 0.50);
  s.p90_ns = Percentile(samples_ns, 0.90);
  s.p99_ns = Percentile(samples_ns, 0.99);
  s.p999_ns = Percentile(samples_ns, 0.999);
  s.quantiles_ns.reserve(kQuantileSteps + 1);
  for (size_t i = 0; i <= kQuantileSteps; ++i) {
    s.quantiles_ns.push_back(Percentile(
        samples_ns,
        static_cast<double>(i) / static_cast<double>(kQuantileSteps)));
  }
  s.max_ns = samples_ns.back();
  s.mean_ns = moments.mean;
  s.stddev_ns = moments.stddev;
  return s;
}

RepetitionStats AggregateRepetitions(std::span<const double> values) {
  RequireFinite(values, "repetition value");
  const Moments moments = MeanAndSampleStddev(values);
  const auto [min, max] = std::minmax_element(values.begin(), values.end());
  RepetitionStats r;
  r.mean = moments.mean;
  r.stddev = moments.stddev;
  r.min = *min;
  r.max = *max;
  r.cv = moments.mean == 0.0 ? 0.0 : moments.stddev / moments.mean;
  r.n = values.size();
  return r;
}

}  // namespace perftest
