// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "summary.h"

#include <cerrno>
#include <fstream>

#include "ibodp/error.h"

namespace storm {

nlohmann::json SummaryJson(const RunSummary& run, const Shared& shared) {
  const Layout& l = shared.layout();
  nlohmann::json by_kind = nlohmann::json::object();
  const auto counts = shared.failures_by_kind();
  for (size_t k = 0; k < kFailureKinds; ++k) {
    by_kind[FailureName(static_cast<Failure>(k))] = counts.at(k);
  }
  return {
      {"schema_version", kSummarySchemaVersion},
      {"seed", run.seed},
      {"seconds", run.seconds},
      {"workers", run.workers},
      {"device", run.device},
      {"layout",
       {{"page_bytes", l.page},
        {"write_pages", l.write_pages},
        {"huge_pages", l.huge_pages},
        {"ro_pages", l.ro_pages},
        {"file_pages", l.file_pages}}},
      {"ops",
       {{"reads", run.ops.reads},
        {"writes", run.ops.writes},
        {"atomics", run.ops.atomics},
        {"ro_reads", run.ops.ro_reads},
        {"file_writes", run.ops.file_writes},
        {"verified_bytes", run.ops.verified_bytes},
        {"overlapped", run.ops.overlapped},
        {"torn_reads", run.ops.torn_reads}}},
      {"events", run.events},
      {"huge_pages_made", run.huge_pages_made},
      {"passed", shared.failures() == 0},
      {"failures", shared.failures()},
      {"failures_by_kind", by_kind},
      {"failure_log", shared.failure_log()},
  };
}

void WriteJson(const std::string& path, const nlohmann::json& json) {
  std::ofstream out(path);
  if (!out) {
    ibodp::ThrowErrno("--summary_json: cannot create " + path, errno);
  }
  out << json.dump(2) << "\n";
  out.close();
  if (!out) {
    ibodp::ThrowErrno("--summary_json: cannot write " + path, errno);
  }
}

}  // namespace storm
