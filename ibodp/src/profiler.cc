// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "ibodp/profiler.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "file_io.h"
#include "ibodp/error.h"

namespace ibodp {

std::map<std::string, uint64_t> ParseProfileStats(
    const std::vector<std::string>& per_cpu_tables) {
  std::map<std::string, uint64_t> hits;
  for (const std::string& table : per_cpu_tables) {
    std::istringstream lines(table);
    std::string line;
    while (std::getline(lines, line)) {
      std::istringstream fields(line);
      std::string name;
      std::string count;
      if (!(fields >> name >> count) || name == "Function" ||
          name.starts_with("-")) {
        continue;
      }
      if (!std::all_of(count.begin(), count.end(),
                       [](char c) { return c >= '0' && c <= '9'; })) {
        continue;
      }
      hits[name] += std::stoull(count);
    }
  }
  return hits;
}

FunctionProfiler::FunctionProfiler(const std::vector<std::string>& functions,
                                   std::string tracefs)
    : tracefs_(std::move(tracefs)) {
  if (geteuid() != 0) {
    throw Unsupported(
        "the function profiler needs root (tracefs is root-only); run as "
        "root or in the lab guest");
  }
  if (!std::filesystem::exists(tracefs_ + "/available_filter_functions")) {
    throw Unsupported("no tracefs at " + tracefs_ +
                      ": mount -t tracefs tracefs " + tracefs_ +
                      " (kernel needs CONFIG_FTRACE)");
  }
  if (!std::filesystem::exists(tracefs_ + "/function_profile_enabled")) {
    throw Unsupported("kernel has no function profiler (" + tracefs_ +
                      "/function_profile_enabled is missing): build it with "
                      "CONFIG_FUNCTION_PROFILER=y");
  }
  std::set<std::string> available;
  {
    std::istringstream in(ReadFile(tracefs_ + "/available_filter_functions"));
    std::string name;
    std::string rest;
    while (in >> name) {
      std::getline(in, rest);  // "[module]" suffix, if any.
      available.insert(name);
    }
  }
  for (const auto& f : functions) {
    (available.contains(f) ? functions_ : missing_).push_back(f);
  }
  if (functions_.empty()) {
    throw Unsupported("none of the requested functions can be traced");
  }
  std::set<std::string> filtered;
  {
    std::istringstream in(ReadFile(tracefs_ + "/set_ftrace_filter"));
    std::string name;
    while (in >> name) {
      filtered.insert(name);
    }
  }
  for (const auto& f : functions_) {
    if (!filtered.contains(f)) {
      Write("set_ftrace_filter", f + "\n", /*append=*/true);
    }
  }
  if (ReadFile(tracefs_ + "/function_profile_enabled").starts_with("0")) {
    Write("function_profile_enabled", "1");
  }
  Reset();
}

void FunctionProfiler::Write(const std::string& file, const std::string& value,
                             bool append) const {
  WriteFile(tracefs_ + "/" + file, value,
            append ? WriteMode::kAppend : WriteMode::kTruncate);
}

void FunctionProfiler::Reset() { baseline_ = RawHits(); }

std::map<std::string, uint64_t> FunctionProfiler::RawHits() const {
  std::vector<std::string> tables;
  for (const auto& entry :
       std::filesystem::directory_iterator(tracefs_ + "/trace_stat")) {
    if (entry.path().filename().string().starts_with("function")) {
      tables.push_back(ReadFile(entry.path().string()));
    }
  }
  std::map<std::string, uint64_t> parsed = ParseProfileStats(tables);
  std::map<std::string, uint64_t> hits;
  for (const auto& f : functions_) {
    hits[f] = parsed.contains(f) ? parsed[f] : 0;
  }
  return hits;
}

std::map<std::string, uint64_t> FunctionProfiler::Hits() const {
  std::map<std::string, uint64_t> hits = RawHits();
  for (auto& [f, n] : hits) {
    const auto it = baseline_.find(f);
    n -= (it != baseline_.end() && it->second <= n) ? it->second : 0;
  }
  return hits;
}

uint64_t FunctionProfiler::HitsOf(const std::string& function) const {
  const auto hits = Hits();
  const auto it = hits.find(function);
  if (it == hits.end()) {
    throw Error(
        "function " + function + " is not profiled" +
        (std::find(missing_.begin(), missing_.end(), function) != missing_.end()
             ? " (the kernel cannot trace it)"
             : ""));
  }
  return it->second;
}

}  // namespace ibodp
