// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "round.h"

#include <algorithm>
#include <map>
#include <string>

namespace perftest {
namespace {

// The indices of `all` grouped by matrix point (Name() without the
// registration), groups and members in `all`'s order.
std::vector<std::vector<size_t>> GroupByPoint(
    const std::vector<Scenario>& all) {
  std::vector<std::vector<size_t>> groups;
  std::map<std::string, size_t> group_of;
  for (size_t i = 0; i < all.size(); ++i) {
    Scenario point = all[i];
    point.registration = Registration::kOdp;
    const auto [it, added] = group_of.emplace(point.Name(), groups.size());
    if (added) {
      groups.emplace_back();
    }
    groups[it->second].push_back(i);
  }
  return groups;
}

}  // namespace

std::vector<size_t> ShuffledRound(const std::vector<Scenario>& all,
                                  std::mt19937_64& rng) {
  std::vector<std::vector<size_t>> groups = GroupByPoint(all);
  std::shuffle(groups.begin(), groups.end(), rng);
  std::vector<size_t> order;
  order.reserve(all.size());
  for (std::vector<size_t>& group : groups) {
    std::shuffle(group.begin(), group.end(), rng);
    order.insert(order.end(), group.begin(), group.end());
  }
  return order;
}

}  // namespace perftest
