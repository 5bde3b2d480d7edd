// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// perftest's result model and its JSON form (schema kSchemaVersion), the
// one file format every perftest run writes and every comparison reads.
// Serialisation goes through nlohmann::json only.
//
// JSON layout (perftest/report.schema.json has it whole):
// {"schema_version": 5, "context": {...}, "results": [{
//   "scenario": {"name", "op", "msg_size", ..., "event_facts": {
//     "notifier_event", "write_protect_only", "preserves_contents"},
//     "registration"},
//   "error": "",
//   "aggregates": {"p50_ns": {"mean", "stddev", "min", "max", "cv", "n"}},
//   "repetitions": [{"ops", "elapsed_ns", "latency": {...},
//     "registration_ns", "counters": [
//     {"source", "available", "unavailable_reason", "values": {...}}],
//     "faults_per_op": null | number, ...,
//     "timeline": [{"t_ns", "ops", "values": {...}}]}]}]}
// A double that is not finite is written as null and read back as NaN;
// faults_per_op is null when absent.
#ifndef PERFTEST_REPORT_H_
#define PERFTEST_REPORT_H_

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scenario.h"
#include "stats.h"

namespace perftest {

// 2: latency.quantiles_ns (the CDF) added.
// 3: scenario.event_facts: the event's expected mmu-notifier event, whether
//    it only write-protects and whether it keeps the contents, from
//    ibodp::MemoryEvent.
// 4: scenario.registration (odp, pinned, odp-prefetch), scenario.background
//    and scenario.seconds, repetitions[].registration_ns and wall_ns.
// 5: repetitions[].timeline: a background scenario's counters about once a
//    second. perftest/report.schema.json describes version 5.
inline constexpr int kSchemaVersion = 5;

// Where and how a report was made.
struct Context {
  int schema_version = kSchemaVersion;
  std::string date;  // ISO-8601 UTC, e.g. "2026-01-31T12:00:00Z"
  std::string host;
  std::string kernel_release;
  std::string kernel_config_hash;
  std::string cpu_model;
  std::string device;
  std::string command_line;
  std::map<std::string, std::string> patch_series;  // patch name -> sha256
  std::map<std::string, std::string> extra;

  bool operator==(const Context&) const = default;
};

// The counter deltas of one source over one repetition. A source that could
// not be read is available = false with the reason, never a set of zeros.
struct Counters {
  std::map<std::string, uint64_t> values;
  std::string source;  // "hw_counters", "function-profiler", ...
  bool available = false;
  std::string unavailable_reason;

  bool operator==(const Counters&) const = default;
};

// A background scenario's counters at one moment of its window.
struct TimelineSample {
  // Since the window's first op.
  double t_ns = 0;
  // Ops completed by then.
  uint64_t ops = 0;
  // The primary counter source's values since the window's start.
  std::map<std::string, uint64_t> values;

  bool operator==(const TimelineSample&) const = default;
};

struct RepetitionResult {
  uint64_t ops = 0;
  double elapsed_ns = 0;
  Summary latency;
  double event_time_ns_total = 0;
  uint64_t events = 0;
  // How long ibv_reg_mr of the MR under test took, in the workload that
  // measured this repetition (one workload may measure several).
  double registration_ns = 0;
  // Wall time from the first measured op to the last completion, events
  // and gaps included: a background scenario's window.
  double wall_ns = 0;
  // counters[0] is the primary source.
  std::vector<Counters> counters;
  // Page faults per op from the primary source; nullopt when it is
  // unavailable.
  std::optional<double> faults_per_op;
  double ops_per_sec = 0;
  double bytes_per_sec = 0;
  // A background scenario's samples of the primary source
  // (counters[0].source), one about every second and one at the end of the
  // window; empty for event scenarios.
  std::vector<TimelineSample> timeline;

  bool operator==(const RepetitionResult&) const = default;
};

struct ScenarioResult {
  Scenario scenario;
  std::vector<RepetitionResult> repetitions;
  // Over the repetitions; keys as Aggregate() names them.
  std::map<std::string, RepetitionStats> aggregates;
  // Non-empty when the scenario failed; `repetitions` may then be partial.
  std::string error;

  bool operator==(const ScenarioResult&) const = default;
};

struct Report {
  Context context;
  std::vector<ScenarioResult> results;

  bool operator==(const Report&) const = default;
};

// What ibodp::MemoryEvent states of `event` (an ibodp::EventNames() name):
// {"notifier_event", "write_protect_only", "preserves_contents"}, the one
// place a report's consumers read an event's expected behaviour from.
// Throws ibodp::Error for an unknown event.
nlohmann::json EventFactsJson(std::string_view event);

// Aggregates over `repetitions` (empty when there are none): "p50_ns",
// "p90_ns", "p99_ns", "p999_ns", "mean_ns", "max_ns", "ops_per_sec",
// "bytes_per_sec", "event_time_ns" over every repetition; "faults_per_op"
// over those that have it and "invalidations" (the primary source's
// page_invalidations) over those whose primary source is available and has
// it, each left out when no repetition has it.
std::map<std::string, RepetitionStats> Aggregate(
    const std::vector<RepetitionResult>& repetitions);

// The parts of a report, for perftest's server and client to send each
// other in the report's own form. The readers throw ibodp::Error naming
// the path of a missing or mistyped field ("scenario.op"); the counters
// writer throws it for counters that are unavailable without a reason or
// with values.
nlohmann::json ScenarioJson(const Scenario& s);
Scenario ScenarioFromJson(const nlohmann::json& j, const std::string& path);
nlohmann::json CountersJson(const Counters& c, const std::string& path);
Counters CountersFromJson(const nlohmann::json& j, const std::string& path);
// j["values"]: counter names to non-negative integers.
std::map<std::string, uint64_t> CounterValuesFromJson(const nlohmann::json& j,
                                                      const std::string& path);
nlohmann::json ContextJson(const Context& c);
Context ContextFromJson(const nlohmann::json& j, const std::string& path);

// Throws ibodp::Error naming the field for counters that are unavailable
// without a reason or with values.
nlohmann::json ToJson(const Report& report);
// Throws ibodp::Error on a schema_version other than kSchemaVersion, or
// naming the path of a missing or mistyped field ("results[0].error").
Report ReportFromJson(const nlohmann::json& json);

// Writes the JSON atomically: a temporary file next to `path`, synced, then
// renamed over it. Throws ibodp::Error naming the file and the failure.
void WriteReport(const Report& report, const std::filesystem::path& path);
// Throws ibodp::Error naming the file when it cannot be read or parsed.
Report ReadReport(const std::filesystem::path& path);

// "2026-01-31T12:00:00Z".
std::string FormatIsoUtc(std::chrono::system_clock::time_point time);

// A console table with fixed-width columns: scenario name, repetitions,
// p50/p99/p99.9 latency in us, faults per op, invalidations per
// repetition, event time per repetition in us and Mops/s, each the mean
// over the repetitions ("-" when absent). A failed scenario shows its error.
std::string FormatTableHeader();
std::string FormatTableRow(const ScenarioResult& result);

}  // namespace perftest

#endif  // PERFTEST_REPORT_H_
