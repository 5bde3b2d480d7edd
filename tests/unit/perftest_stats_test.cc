// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// perftest's latency statistics: exact R-7 percentiles over every sample,
// sample standard deviation, all in double.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "ibodp/error.h"
#include "stats.h"

namespace perftest {
namespace {

std::vector<double> OneToHundred() {
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i) {
    v.push_back(i);
  }
  return v;
}

TEST(StatsTest, OneToHundredMatchesR7) {
  const Summary s = Summarize(OneToHundred());
  EXPECT_EQ(s.count, 100u);
  EXPECT_DOUBLE_EQ(s.min_ns, 1);
  EXPECT_DOUBLE_EQ(s.p50_ns, 50.5);
  EXPECT_DOUBLE_EQ(s.p90_ns, 90.1);
  EXPECT_DOUBLE_EQ(s.p99_ns, 99.01);
  EXPECT_DOUBLE_EQ(s.p999_ns, 99.901);
  EXPECT_DOUBLE_EQ(s.max_ns, 100);
  EXPECT_DOUBLE_EQ(s.mean_ns, 50.5);
  EXPECT_DOUBLE_EQ(s.stddev_ns, 29.011491975882016);
}

TEST(StatsTest, QuantilesAreTheCdfInPercentSteps) {
  const Summary s = Summarize(OneToHundred());
  ASSERT_EQ(s.quantiles_ns.size(), kQuantileSteps + 1);
  EXPECT_DOUBLE_EQ(s.quantiles_ns.front(), s.min_ns);
  EXPECT_DOUBLE_EQ(s.quantiles_ns[50], s.p50_ns);
  EXPECT_DOUBLE_EQ(s.quantiles_ns[90], s.p90_ns);
  EXPECT_DOUBLE_EQ(s.quantiles_ns[99], s.p99_ns);
  EXPECT_DOUBLE_EQ(s.quantiles_ns.back(), s.max_ns);
  // R-7 at i / 100 of 1..100 is 1 + 0.99 i.
  EXPECT_DOUBLE_EQ(s.quantiles_ns[37], 1 + 0.99 * 37);
}

TEST(StatsTest, SingleSample) {
  const Summary s = Summarize({1234.5});
  EXPECT_EQ(s.count, 1u);
  EXPECT_DOUBLE_EQ(s.min_ns, 1234.5);
  EXPECT_DOUBLE_EQ(s.p50_ns, 1234.5);
  EXPECT_DOUBLE_EQ(s.p999_ns, 1234.5);
  EXPECT_DOUBLE_EQ(s.max_ns, 1234.5);
  EXPECT_DOUBLE_EQ(s.mean_ns, 1234.5);
  EXPECT_DOUBLE_EQ(s.stddev_ns, 0);
}

TEST(StatsTest, FractionalResults) {
  const Summary s = Summarize({1, 2});
  EXPECT_DOUBLE_EQ(s.p50_ns, 1.5);
  EXPECT_DOUBLE_EQ(s.p90_ns, 1.9);
  EXPECT_DOUBLE_EQ(s.mean_ns, 1.5);
  EXPECT_DOUBLE_EQ(s.stddev_ns, std::sqrt(0.5));
}

TEST(StatsTest, UnsortedInputIsSorted) {
  const Summary s = Summarize({5, 1, 4, 2, 3});
  EXPECT_DOUBLE_EQ(s.min_ns, 1);
  EXPECT_DOUBLE_EQ(s.p50_ns, 3);
  EXPECT_DOUBLE_EQ(s.p90_ns, 4.6);
  EXPECT_DOUBLE_EQ(s.max_ns, 5);
  EXPECT_DOUBLE_EQ(s.mean_ns, 3);
  EXPECT_DOUBLE_EQ(s.stddev_ns, std::sqrt(2.5));
}

TEST(StatsTest, LargeValuesKeepTheirFractions) {
  // Around 1e12 ns an int32 overflows and a float loses the last digits.
  const double base = 1e12;
  const Summary s = Summarize({base + 0.5, base + 1.5, base + 2.5});
  EXPECT_DOUBLE_EQ(s.min_ns, base + 0.5);
  EXPECT_DOUBLE_EQ(s.p50_ns, base + 1.5);
  EXPECT_DOUBLE_EQ(s.max_ns, base + 2.5);
  EXPECT_DOUBLE_EQ(s.mean_ns, base + 1.5);
  EXPECT_NEAR(s.stddev_ns, 1.0, 1e-6);
}

TEST(StatsTest, EveryOutlierCounts) {
  std::vector<double> v(999, 100.0);
  v.push_back(1e9);
  const Summary s = Summarize(v);
  EXPECT_EQ(s.count, 1000u);
  EXPECT_DOUBLE_EQ(s.max_ns, 1e9);
  EXPECT_DOUBLE_EQ(s.mean_ns, (999 * 100.0 + 1e9) / 1000);
  // rank 0.999 * 999 = 998.001: 0.1% of the way from 100 to 1e9.
  EXPECT_NEAR(s.p999_ns, 100 + 0.001 * (1e9 - 100), 1e-2);
}

TEST(StatsTest, EmptyInputThrows) {
  try {
    Summarize({});
    FAIL() << "expected ibodp::Error";
  } catch (const ibodp::Error& e) {
    EXPECT_NE(std::string(e.what()).find("empty"), std::string::npos)
        << e.what();
  }
}

TEST(StatsTest, NonFiniteSampleThrows) {
  EXPECT_THROW(Summarize({1, std::numeric_limits<double>::quiet_NaN()}),
               ibodp::Error);
  EXPECT_THROW(Summarize({std::numeric_limits<double>::infinity()}),
               ibodp::Error);
}

TEST(StatsTest, PercentileBounds) {
  const std::vector<double> sorted = {10, 20, 30};
  EXPECT_DOUBLE_EQ(Percentile(sorted, 0), 10);
  EXPECT_DOUBLE_EQ(Percentile(sorted, 0.25), 15);
  EXPECT_DOUBLE_EQ(Percentile(sorted, 1), 30);
  EXPECT_THROW(Percentile(sorted, 1.5), ibodp::Error);
  EXPECT_THROW(Percentile(sorted, -0.1), ibodp::Error);
  EXPECT_THROW(Percentile({}, 0.5), ibodp::Error);
}

TEST(RepetitionStatsTest, AggregatesLikeGoogleBenchmark) {
  const std::vector<double> p50s = {10, 12, 14};
  const RepetitionStats r = AggregateRepetitions(p50s);
  EXPECT_EQ(r.n, 3u);
  EXPECT_DOUBLE_EQ(r.mean, 12);
  EXPECT_DOUBLE_EQ(r.stddev, 2);
  EXPECT_DOUBLE_EQ(r.min, 10);
  EXPECT_DOUBLE_EQ(r.max, 14);
  EXPECT_DOUBLE_EQ(r.cv, 2.0 / 12.0);
}

TEST(RepetitionStatsTest, SingleAndZeroValues) {
  const std::vector<double> one = {7};
  const RepetitionStats r = AggregateRepetitions(one);
  EXPECT_EQ(r.n, 1u);
  EXPECT_DOUBLE_EQ(r.stddev, 0);
  EXPECT_DOUBLE_EQ(r.cv, 0);
  const std::vector<double> zeros = {0, 0};
  EXPECT_DOUBLE_EQ(AggregateRepetitions(zeros).cv, 0);
  EXPECT_THROW(AggregateRepetitions(std::vector<double>{}), ibodp::Error);
}

}  // namespace
}  // namespace perftest
