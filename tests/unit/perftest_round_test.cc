// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// The order of one interleaved round: a point's registrations back to
// back, the points shuffled.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "round.h"
#include "scenario.h"

namespace perftest {
namespace {

// Two events and a background, each under all three registrations, the
// background without pinned (as ksm has it): 8 scenarios in 3 points.
std::vector<Scenario> Matrix() {
  std::vector<Scenario> all;
  for (const char* event : {"none", "soft-dirty"}) {
    for (const Registration reg : {Registration::kOdp, Registration::kPinned,
                                   Registration::kOdpPrefetch}) {
      Scenario s;
      s.msg_size = 4096;
      s.mr_size = 1 << 20;
      s.pages = 16;
      s.event = event;
      s.registration = reg;
      all.push_back(s);
    }
  }
  for (const Registration reg :
       {Registration::kOdp, Registration::kOdpPrefetch}) {
    Scenario s = all.front();
    s.background = "ksm";
    s.seconds = 10;
    s.registration = reg;
    all.push_back(s);
  }
  return all;
}

std::string PointOf(const Scenario& s) {
  Scenario point = s;
  point.registration = Registration::kOdp;
  return point.Name();
}

TEST(ShuffledRound, EveryScenarioOnce) {
  const std::vector<Scenario> all = Matrix();
  std::mt19937_64 rng(1);
  std::vector<size_t> order = ShuffledRound(all, rng);
  std::sort(order.begin(), order.end());
  std::vector<size_t> want(all.size());
  for (size_t i = 0; i < want.size(); ++i) {
    want[i] = i;
  }
  EXPECT_EQ(order, want);
}

TEST(ShuffledRound, RegistrationsOfAPointBackToBack) {
  const std::vector<Scenario> all = Matrix();
  std::mt19937_64 rng(7);
  for (int round = 0; round < 20; ++round) {
    const std::vector<size_t> order = ShuffledRound(all, rng);
    // Each point's name appears in one run of consecutive positions.
    std::vector<std::string> runs;
    for (const size_t i : order) {
      if (runs.empty() || runs.back() != PointOf(all[i])) {
        runs.push_back(PointOf(all[i]));
      }
    }
    EXPECT_EQ(runs.size(), 3U) << "round " << round;
    EXPECT_EQ(std::set<std::string>(runs.begin(), runs.end()).size(), 3U);
  }
}

TEST(ShuffledRound, PointsAndRegistrationsBothShuffled) {
  const std::vector<Scenario> all = Matrix();
  std::mt19937_64 rng(3);
  std::set<std::string> first_points;
  std::set<Registration> first_registrations;
  for (int round = 0; round < 50; ++round) {
    const std::vector<size_t> order = ShuffledRound(all, rng);
    first_points.insert(PointOf(all[order.front()]));
    first_registrations.insert(all[order.front()].registration);
  }
  EXPECT_EQ(first_points.size(), 3U);
  EXPECT_EQ(first_registrations.size(), 3U);
}

TEST(ShuffledRound, SameSeedSameOrder) {
  const std::vector<Scenario> all = Matrix();
  std::mt19937_64 a(5);
  std::mt19937_64 b(5);
  EXPECT_EQ(ShuffledRound(all, a), ShuffledRound(all, b));
}

}  // namespace
}  // namespace perftest
