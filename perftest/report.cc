// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "report.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cmath>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <limits>
#include <memory>
#include <sstream>
#include <string_view>

#include "ibodp/error.h"
#include "ibodp/events.h"
#include "ibodp/hwcounters.h"

namespace perftest {
namespace {

using nlohmann::json;

// ---- Reading, with the path of each field for the error messages. ----

std::string Child(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string Index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

[[noreturn]] void ThrowField(const std::string& path, const std::string& why) {
  throw ibodp::Error("report field '" + path + "' " + why +
                     ": the file is damaged or was not written by perftest");
}

const json& Field(const json& object, std::string_view key,
                  const std::string& path) {
  if (!object.is_object()) {
    ThrowField(path.empty() ? "(top level)" : path, "is not an object");
  }
  const auto it = object.find(key);
  if (it == object.end()) {
    ThrowField(Child(path, key), "is missing");
  }
  return *it;
}

uint64_t GetU64(const json& object, std::string_view key,
                const std::string& path) {
  const json& value = Field(object, key, path);
  if (!value.is_number_unsigned()) {
    ThrowField(Child(path, key), "is not a non-negative integer");
  }
  return value.get<uint64_t>();
}

int GetInt(const json& object, std::string_view key, const std::string& path) {
  const json& value = Field(object, key, path);
  if (!value.is_number_integer() ||
      value.get<int64_t>() > std::numeric_limits<int>::max() ||
      value.get<int64_t>() < std::numeric_limits<int>::min()) {
    ThrowField(Child(path, key), "is not an integer");
  }
  return static_cast<int>(value.get<int64_t>());
}

// null reads back as NaN: non-finite doubles are written as null.
double GetDouble(const json& object, std::string_view key,
                 const std::string& path) {
  const json& value = Field(object, key, path);
  if (value.is_null()) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  if (!value.is_number()) {
    ThrowField(Child(path, key), "is not a number");
  }
  return value.get<double>();
}

std::optional<double> GetOptionalDouble(const json& object,
                                        std::string_view key,
                                        const std::string& path) {
  const double value = GetDouble(object, key, path);
  return std::isfinite(value) ? std::optional<double>(value) : std::nullopt;
}

std::string GetString(const json& object, std::string_view key,
                      const std::string& path) {
  const json& value = Field(object, key, path);
  if (!value.is_string()) {
    ThrowField(Child(path, key), "is not a string");
  }
  return value.get<std::string>();
}

bool GetBool(const json& object, std::string_view key,
             const std::string& path) {
  const json& value = Field(object, key, path);
  if (!value.is_boolean()) {
    ThrowField(Child(path, key), "is not true or false");
  }
  return value.get<bool>();
}

const json& GetArray(const json& object, std::string_view key,
                     const std::string& path) {
  const json& value = Field(object, key, path);
  if (!value.is_array()) {
    ThrowField(Child(path, key), "is not an array");
  }
  return value;
}

const json& GetObject(const json& object, std::string_view key,
                      const std::string& path) {
  const json& value = Field(object, key, path);
  if (!value.is_object()) {
    ThrowField(Child(path, key), "is not an object");
  }
  return value;
}

std::map<std::string, std::string> GetStringMap(const json& object,
                                                std::string_view key,
                                                const std::string& path) {
  std::map<std::string, std::string> out;
  const json& map = GetObject(object, key, path);
  for (const auto& [name, value] : map.items()) {
    out[name] = GetString(map, name, Child(path, key));
  }
  return out;
}

// ---- The model, field by field. ----

json SummaryJson(const Summary& s) {
  return {{"count", s.count},         {"min_ns", s.min_ns},
          {"p50_ns", s.p50_ns},       {"p90_ns", s.p90_ns},
          {"p99_ns", s.p99_ns},       {"p999_ns", s.p999_ns},
          {"max_ns", s.max_ns},       {"mean_ns", s.mean_ns},
          {"stddev_ns", s.stddev_ns}, {"quantiles_ns", s.quantiles_ns}};
}

Summary SummaryFromJson(const json& j, const std::string& path) {
  Summary s;
  s.count = GetU64(j, "count", path);
  s.min_ns = GetDouble(j, "min_ns", path);
  s.p50_ns = GetDouble(j, "p50_ns", path);
  s.p90_ns = GetDouble(j, "p90_ns", path);
  s.p99_ns = GetDouble(j, "p99_ns", path);
  s.p999_ns = GetDouble(j, "p999_ns", path);
  s.max_ns = GetDouble(j, "max_ns", path);
  s.mean_ns = GetDouble(j, "mean_ns", path);
  s.stddev_ns = GetDouble(j, "stddev_ns", path);
  const json& quantiles = GetArray(j, "quantiles_ns", path);
  for (size_t i = 0; i < quantiles.size(); ++i) {
    if (!quantiles[i].is_number() && !quantiles[i].is_null()) {
      ThrowField(Index(Child(path, "quantiles_ns"), i), "is not a number");
    }
    s.quantiles_ns.push_back(quantiles[i].is_null()
                                 ? std::numeric_limits<double>::quiet_NaN()
                                 : quantiles[i].get<double>());
  }
  return s;
}

json StatsJson(const RepetitionStats& r) {
  return {{"mean", r.mean}, {"stddev", r.stddev}, {"min", r.min},
          {"max", r.max},   {"cv", r.cv},         {"n", r.n}};
}

RepetitionStats StatsFromJson(const json& j, const std::string& path) {
  RepetitionStats r;
  r.mean = GetDouble(j, "mean", path);
  r.stddev = GetDouble(j, "stddev", path);
  r.min = GetDouble(j, "min", path);
  r.max = GetDouble(j, "max", path);
  r.cv = GetDouble(j, "cv", path);
  r.n = GetU64(j, "n", path);
  return r;
}

}  // namespace

json ScenarioJson(const Scenario& s) {
  return {{"name", s.Name()},
          {"op", std::string(OpName(s.op))},
          {"msg_size", s.msg_size},
          {"mr_size", s.mr_size},
          {"pages", s.pages},
          {"event", s.event},
          {"event_facts", EventFactsJson(s.event)},
          {"period", s.period},
          {"registration", std::string(RegistrationName(s.registration))},
          {"background", s.background},
          {"seconds", s.seconds},
          {"ops", s.ops},
          {"warmup_ops", s.warmup_ops},
          {"repetitions", s.repetitions}};
}

// "name" and "event_facts" are derived from the other fields and not read
// back.
Scenario ScenarioFromJson(const json& j, const std::string& path) {
  Scenario s;
  try {
    s.op = OpFromName(GetString(j, "op", path));
  } catch (const ibodp::Error& e) {
    ThrowField(Child(path, "op"), std::string("is bad (") + e.what() + ")");
  }
  s.msg_size = GetU64(j, "msg_size", path);
  s.mr_size = GetU64(j, "mr_size", path);
  s.pages = GetU64(j, "pages", path);
  s.event = GetString(j, "event", path);
  s.period = GetU64(j, "period", path);
  try {
    s.registration = RegistrationFromName(GetString(j, "registration", path));
  } catch (const ibodp::Error& e) {
    ThrowField(Child(path, "registration"),
               std::string("is bad (") + e.what() + ")");
  }
  s.background = GetString(j, "background", path);
  s.seconds = GetU64(j, "seconds", path);
  s.ops = GetU64(j, "ops", path);
  s.warmup_ops = GetU64(j, "warmup_ops", path);
  s.repetitions = GetU64(j, "repetitions", path);
  return s;
}

namespace {

// A source that could not be read has a reason and no values.
void CheckCounters(const Counters& c, const std::string& path) {
  if (!c.available && c.unavailable_reason.empty()) {
    ThrowField(Child(path, "unavailable_reason"),
               "is empty although the counters are unavailable");
  }
  if (!c.available && !c.values.empty()) {
    ThrowField(Child(path, "values"),
               "is not empty although the counters are unavailable");
  }
}

}  // namespace

json CountersJson(const Counters& c, const std::string& path) {
  CheckCounters(c, path);
  return {{"source", c.source},
          {"available", c.available},
          {"unavailable_reason", c.unavailable_reason},
          {"values", c.values}};
}

// The counter values in j["values"]: names to non-negative integers.
std::map<std::string, uint64_t> CounterValuesFromJson(const json& j,
                                                      const std::string& path) {
  std::map<std::string, uint64_t> out;
  const json& values = GetObject(j, "values", path);
  for (const auto& [name, value] : values.items()) {
    out[name] = GetU64(values, name, Child(path, "values"));
  }
  return out;
}

Counters CountersFromJson(const json& j, const std::string& path) {
  Counters c;
  c.source = GetString(j, "source", path);
  c.available = GetBool(j, "available", path);
  c.unavailable_reason = GetString(j, "unavailable_reason", path);
  c.values = CounterValuesFromJson(j, path);
  CheckCounters(c, path);
  return c;
}

namespace {

json TimelineJson(const std::vector<TimelineSample>& timeline) {
  json samples = json::array();
  for (const TimelineSample& s : timeline) {
    samples.push_back({{"t_ns", s.t_ns}, {"ops", s.ops}, {"values", s.values}});
  }
  return samples;
}

std::vector<TimelineSample> TimelineFromJson(const json& j,
                                             const std::string& path) {
  std::vector<TimelineSample> timeline;
  for (size_t i = 0; i < j.size(); ++i) {
    const std::string at = Index(path, i);
    TimelineSample s;
    s.t_ns = GetDouble(j[i], "t_ns", at);
    s.ops = GetU64(j[i], "ops", at);
    s.values = CounterValuesFromJson(j[i], at);
    timeline.push_back(std::move(s));
  }
  return timeline;
}

json RepetitionJson(const RepetitionResult& r, const std::string& path) {
  json counters = json::array();
  for (size_t i = 0; i < r.counters.size(); ++i) {
    counters.push_back(
        CountersJson(r.counters[i], Index(Child(path, "counters"), i)));
  }
  const bool has_faults = r.faults_per_op && std::isfinite(*r.faults_per_op);
  return {{"ops", r.ops},
          {"elapsed_ns", r.elapsed_ns},
          {"latency", SummaryJson(r.latency)},
          {"event_time_ns_total", r.event_time_ns_total},
          {"events", r.events},
          {"registration_ns", r.registration_ns},
          {"wall_ns", r.wall_ns},
          {"counters", std::move(counters)},
          {"faults_per_op", has_faults ? json(*r.faults_per_op) : json()},
          {"ops_per_sec", r.ops_per_sec},
          {"bytes_per_sec", r.bytes_per_sec},
          {"timeline", TimelineJson(r.timeline)}};
}

RepetitionResult RepetitionFromJson(const json& j, const std::string& path) {
  RepetitionResult r;
  r.ops = GetU64(j, "ops", path);
  r.elapsed_ns = GetDouble(j, "elapsed_ns", path);
  r.latency =
      SummaryFromJson(GetObject(j, "latency", path), Child(path, "latency"));
  r.event_time_ns_total = GetDouble(j, "event_time_ns_total", path);
  r.events = GetU64(j, "events", path);
  r.registration_ns = GetDouble(j, "registration_ns", path);
  r.wall_ns = GetDouble(j, "wall_ns", path);
  const json& counters = GetArray(j, "counters", path);
  for (size_t i = 0; i < counters.size(); ++i) {
    r.counters.push_back(
        CountersFromJson(counters[i], Index(Child(path, "counters"), i)));
  }
  r.faults_per_op = GetOptionalDouble(j, "faults_per_op", path);
  r.ops_per_sec = GetDouble(j, "ops_per_sec", path);
  r.bytes_per_sec = GetDouble(j, "bytes_per_sec", path);
  r.timeline =
      TimelineFromJson(GetArray(j, "timeline", path), Child(path, "timeline"));
  return r;
}

json ResultJson(const ScenarioResult& r, const std::string& path) {
  json repetitions = json::array();
  for (size_t i = 0; i < r.repetitions.size(); ++i) {
    repetitions.push_back(
        RepetitionJson(r.repetitions[i], Index(Child(path, "repetitions"), i)));
  }
  json aggregates = json::object();
  for (const auto& [name, stats] : r.aggregates) {
    aggregates[name] = StatsJson(stats);
  }
  return {{"scenario", ScenarioJson(r.scenario)},
          {"error", r.error},
          {"aggregates", std::move(aggregates)},
          {"repetitions", std::move(repetitions)}};
}

ScenarioResult ResultFromJson(const json& j, const std::string& path) {
  ScenarioResult r;
  r.scenario =
      ScenarioFromJson(GetObject(j, "scenario", path), Child(path, "scenario"));
  r.error = GetString(j, "error", path);
  const json& aggregates = GetObject(j, "aggregates", path);
  for (const auto& [name, stats] : aggregates.items()) {
    r.aggregates[name] =
        StatsFromJson(GetObject(aggregates, name, Child(path, "aggregates")),
                      Child(Child(path, "aggregates"), name));
  }
  const json& repetitions = GetArray(j, "repetitions", path);
  for (size_t i = 0; i < repetitions.size(); ++i) {
    r.repetitions.push_back(RepetitionFromJson(
        repetitions[i], Index(Child(path, "repetitions"), i)));
  }
  return r;
}

}  // namespace

json ContextJson(const Context& c) {
  return {{"date", c.date},
          {"host", c.host},
          {"kernel_release", c.kernel_release},
          {"kernel_config_hash", c.kernel_config_hash},
          {"cpu_model", c.cpu_model},
          {"device", c.device},
          {"command_line", c.command_line},
          {"patch_series", c.patch_series},
          {"extra", c.extra}};
}

Context ContextFromJson(const json& j, const std::string& path) {
  Context c;
  c.date = GetString(j, "date", path);
  c.host = GetString(j, "host", path);
  c.kernel_release = GetString(j, "kernel_release", path);
  c.kernel_config_hash = GetString(j, "kernel_config_hash", path);
  c.cpu_model = GetString(j, "cpu_model", path);
  c.device = GetString(j, "device", path);
  c.command_line = GetString(j, "command_line", path);
  c.patch_series = GetStringMap(j, "patch_series", path);
  c.extra = GetStringMap(j, "extra", path);
  return c;
}

namespace {

// ---- Aggregates. ----

// `name` in the primary counter source, when it is available and has it.
std::optional<double> PrimaryCounter(const RepetitionResult& r,
                                     const std::string& name) {
  if (r.counters.empty() || !r.counters.front().available) {
    return std::nullopt;
  }
  const auto& values = r.counters.front().values;
  const auto it = values.find(name);
  if (it == values.end()) {
    return std::nullopt;
  }
  return static_cast<double>(it->second);
}

std::map<std::string, std::vector<double>> Columns(
    const std::vector<RepetitionResult>& repetitions) {
  std::map<std::string, std::vector<double>> columns;
  for (const RepetitionResult& r : repetitions) {
    columns["p50_ns"].push_back(r.latency.p50_ns);
    columns["p90_ns"].push_back(r.latency.p90_ns);
    columns["p99_ns"].push_back(r.latency.p99_ns);
    columns["p999_ns"].push_back(r.latency.p999_ns);
    columns["mean_ns"].push_back(r.latency.mean_ns);
    columns["max_ns"].push_back(r.latency.max_ns);
    columns["ops_per_sec"].push_back(r.ops_per_sec);
    columns["bytes_per_sec"].push_back(r.bytes_per_sec);
    columns["event_time_ns"].push_back(r.event_time_ns_total);
    if (r.faults_per_op) {
      columns["faults_per_op"].push_back(*r.faults_per_op);
    }
    if (const auto invalidations =
            PrimaryCounter(r, ibodp::kCntPageInvalidations)) {
      columns["invalidations"].push_back(*invalidations);
    }
  }
  return columns;
}

// ---- Files. ----

void WriteAll(int fd, std::string_view data, const std::filesystem::path& f) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      ibodp::ThrowErrno("cannot write " + f.string(), errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// Writes `data` to `file` and syncs it; removes `file` on failure.
void WriteSynced(const std::filesystem::path& file, std::string_view data) {
  const int fd =
      ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    ibodp::ThrowErrno("cannot create " + file.string(), errno);
  }
  try {
    WriteAll(fd, data, file);
    if (::fsync(fd) != 0) {
      ibodp::ThrowErrno("cannot sync " + file.string(), errno);
    }
  } catch (const ibodp::Error&) {
    ::close(fd);
    ::unlink(file.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(file.c_str());
    ibodp::ThrowErrno("cannot close " + file.string(), err);
  }
}

// ---- The console table. ----

constexpr int kNameWidth = 76;
constexpr int kRepsWidth = 5;
// p50 us, p99 us, p99.9 us, faults/op, invalidations, event us, kops/s.
constexpr std::array<int, 7> kValueWidths = {11, 11, 11, 11, 14, 11, 11};

// The mean of aggregate `key` divided by `scale`, or "-".
std::string Mean(const ScenarioResult& r, const std::string& key, double scale,
                 int precision) {
  const auto it = r.aggregates.find(key);
  if (it == r.aggregates.end()) {
    return "-";
  }
  std::ostringstream out;
  out << std::fixed << std::setprecision(precision) << it->second.mean / scale;
  return out.str();
}

std::string Row(const std::string& name, const std::string& reps,
                const std::vector<std::string>& values) {
  std::ostringstream out;
  out << std::left << std::setw(kNameWidth) << name << std::right
      << std::setw(kRepsWidth) << reps;
  for (size_t i = 0; i < values.size() && i < kValueWidths.size(); ++i) {
    out << std::setw(kValueWidths[i]) << values[i];
  }
  return out.str();
}

}  // namespace

nlohmann::json EventFactsJson(std::string_view event) {
  const std::unique_ptr<ibodp::MemoryEvent> e = ibodp::MakeEvent(event);
  return {{"notifier_event", std::string(e->NotifierEvent())},
          {"write_protect_only", e->WriteProtectOnly()},
          {"preserves_contents", e->PreservesContents()}};
}

std::map<std::string, RepetitionStats> Aggregate(
    const std::vector<RepetitionResult>& repetitions) {
  std::map<std::string, RepetitionStats> aggregates;
  for (const auto& [name, values] : Columns(repetitions)) {
    try {
      aggregates[name] = AggregateRepetitions(values);
    } catch (const ibodp::Error& e) {
      throw ibodp::Error("cannot aggregate " + name + ": " + e.what());
    }
  }
  return aggregates;
}

nlohmann::json ToJson(const Report& report) {
  json results = json::array();
  for (size_t i = 0; i < report.results.size(); ++i) {
    results.push_back(ResultJson(report.results[i], Index("results", i)));
  }
  return {{"schema_version", report.context.schema_version},
          {"context", ContextJson(report.context)},
          {"results", std::move(results)}};
}

Report ReportFromJson(const nlohmann::json& json) {
  const int version = GetInt(json, "schema_version", "");
  if (version != kSchemaVersion) {
    throw ibodp::Error("report schema_version " + std::to_string(version) +
                       " is not supported: this perftest reads version " +
                       std::to_string(kSchemaVersion) +
                       "; use the perftest that wrote it or re-run the "
                       "benchmark");
  }
  Report report;
  report.context = ContextFromJson(GetObject(json, "context", ""), "context");
  report.context.schema_version = version;
  const nlohmann::json& results = GetArray(json, "results", "");
  for (size_t i = 0; i < results.size(); ++i) {
    report.results.push_back(ResultFromJson(results[i], Index("results", i)));
  }
  return report;
}

void WriteReport(const Report& report, const std::filesystem::path& path) {
  // Invalid UTF-8 (from a command line, say) becomes U+FFFD instead of
  // failing the whole report.
  const std::string text =
      ToJson(report).dump(2, ' ', false, json::error_handler_t::replace) + "\n";
  std::filesystem::path temp = path;
  temp += ".tmp." + std::to_string(::getpid());
  WriteSynced(temp, text);
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    ibodp::ThrowErrno("cannot rename " + temp.string() + " to " + path.string(),
                      err);
  }
}

Report ReadReport(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) {
    ibodp::ThrowErrno("cannot open report " + path.string(), errno);
  }
  json parsed;
  try {
    parsed = json::parse(in);
  } catch (const json::exception& e) {
    throw ibodp::Error("report " + path.string() + " is not valid JSON (" +
                       e.what() + "): it is truncated or not a report");
  }
  try {
    return ReportFromJson(parsed);
  } catch (const ibodp::Error& e) {
    throw ibodp::Error("report " + path.string() + ": " + e.what());
  }
}

std::string FormatIsoUtc(std::chrono::system_clock::time_point time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  if (::gmtime_r(&seconds, &utc) == nullptr) {
    throw ibodp::Error("cannot convert time " + std::to_string(seconds) +
                       " to UTC");
  }
  std::ostringstream out;
  out << std::put_time(&utc, "%Y-%m-%dT%H:%M:%SZ");
  return out.str();
}

std::string FormatTableHeader() {
  return Row("scenario", "reps",
             {"p50 us", "p99 us", "p99.9 us", "faults/op", "invalidations",
              "event us", "kops/s"});
}

std::string FormatTableRow(const ScenarioResult& result) {
  const std::string reps = std::to_string(result.repetitions.size());
  if (!result.error.empty()) {
    return Row(result.scenario.Name(), reps, {}) + "  FAILED: " + result.error;
  }
  return Row(
      result.scenario.Name(), reps,
      {Mean(result, "p50_ns", 1e3, 2), Mean(result, "p99_ns", 1e3, 2),
       Mean(result, "p999_ns", 1e3, 2), Mean(result, "faults_per_op", 1, 3),
       Mean(result, "invalidations", 1, 1),
       Mean(result, "event_time_ns", 1e3, 2),
       Mean(result, "ops_per_sec", 1e3, 3)});
}

}  // namespace perftest
