// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// The storm's result as JSON (--summary_json), for the lab to read instead
// of the console: the run's parameters, what ran, and the failures by kind.
#ifndef TESTS_STORM_SUMMARY_H_
#define TESTS_STORM_SUMMARY_H_

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "shared.h"
#include "worker.h"

namespace storm {

inline constexpr int kSummarySchemaVersion = 2;

struct RunSummary {
  uint64_t seed = 0;
  uint64_t seconds = 0;
  uint32_t workers = 0;
  std::string device;
  WorkerStats ops;
  std::map<std::string, uint64_t> events;
  uint64_t huge_pages_made = 0;
};

nlohmann::json SummaryJson(const RunSummary& run, const Shared& shared);

// Writes `json` to `path`; throws ibodp::Error naming the path.
void WriteJson(const std::string& path, const nlohmann::json& json);

}  // namespace storm

#endif  // TESTS_STORM_SUMMARY_H_
