// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "sources.h"

#include <algorithm>

#include "ibodp/error.h"

namespace perftest {
namespace {

constexpr const char* kHwSource = "hw_counters";
constexpr const char* kProfilerSource = "function-profiler";
constexpr const char* kTraceSource = "tracepoints";

// The trace's totals under hw_counters' names where they mean the same,
// and per mmu notifier event: "soft_dirty:calls", ":wrprotect_calls",
// ":kept", ":dropped".
ibodp::CounterValues TraceValues(const ibodp::OdpTraceTotals& t) {
  ibodp::CounterValues v = {
      {ibodp::kCntPageFaults, t.fault_pages},
      {ibodp::kCntPageFaultsHandled, t.fault_calls},
      {"fault_errors", t.fault_errors},
      {"snapshots", t.snapshot_calls},
      {ibodp::kCntPageInvalidations, t.invalidations.dropped},
      {ibodp::kCntPageInvalidationsHandled, t.invalidations.calls},
      {ibodp::kCntPageWriteProtections, t.invalidations.kept},
  };
  for (const auto& [event, e] : t.by_event) {
    v[event + ":calls"] = e.calls;
    v[event + ":wrprotect_calls"] = e.write_protect_calls;
    v[event + ":kept"] = e.kept;
    v[event + ":dropped"] = e.dropped;
  }
  return v;
}

}  // namespace

CounterMode CounterModeFromName(const std::string& name) {
  if (name == "auto") {
    return CounterMode::kAuto;
  }
  if (name == "hw") {
    return CounterMode::kHw;
  }
  if (name == "profiler") {
    return CounterMode::kProfiler;
  }
  if (name == "trace") {
    return CounterMode::kTrace;
  }
  if (name == "none") {
    return CounterMode::kNone;
  }
  throw ibodp::Error("--counters: unknown source '" + name +
                     "'; use auto, hw, trace, profiler or none");
}

CounterSources::CounterSources(const std::string& device, CounterMode mode) {
  hw_reason_ = trace_reason_ = profiler_reason_ = "not asked for (--counters)";
  if (mode == CounterMode::kAuto || mode == CounterMode::kHw) {
    try {
      hw_ = std::make_unique<ibodp::HwCounters>(device, 1);
      hw_->Require({ibodp::kCntPageFaults, ibodp::kCntPageInvalidations},
                   "the kernel has no rxe ODP counters (the ibodp counter "
                   "patch adds them)");
    } catch (const ibodp::Unsupported& e) {
      hw_.reset();
      hw_reason_ = e.what();
      if (mode == CounterMode::kHw) {
        throw;
      }
    }
  }
  if (mode == CounterMode::kAuto || mode == CounterMode::kTrace) {
    try {
      trace_ = std::make_unique<ibodp::OdpTrace>();
    } catch (const ibodp::Unsupported& e) {
      trace_reason_ = e.what();
      if (mode == CounterMode::kTrace) {
        throw;
      }
    }
  }
  if (mode == CounterMode::kAuto || mode == CounterMode::kProfiler) {
    try {
      profiler_ =
          std::make_unique<ibodp::FunctionProfiler>(std::vector<std::string>{
              ibodp::kOdpFaultFunction, ibodp::kRxeInvalidateFunction});
    } catch (const ibodp::Unsupported& e) {
      profiler_reason_ = e.what();
      if (mode == CounterMode::kProfiler) {
        throw;
      }
    }
  }
}

void CounterSources::Begin() {
  if (hw_) {
    hw_before_ = hw_->Read();
  }
  if (trace_) {
    trace_->Clear();
  }
  if (profiler_) {
    profiler_->Reset();
  }
}

std::vector<Counters> CounterSources::End() {
  Counters hw;
  hw.source = kHwSource;
  if (hw_) {
    hw.values = ibodp::CounterDelta(hw_before_, hw_->Read());
    hw.available = true;
  } else {
    hw.unavailable_reason = hw_reason_;
  }
  Counters prof;
  prof.source = kProfilerSource;
  if (profiler_) {
    for (const auto& [name, hits] : profiler_->Hits()) {
      prof.values[name] = hits;
    }
    prof.available = true;
  } else {
    prof.unavailable_reason = profiler_reason_;
  }
  Counters trace;
  trace.source = kTraceSource;
  if (trace_) {
    trace.values = TraceValues(ibodp::Summarize(trace_->Read()));
    trace.available = true;
  } else {
    trace.unavailable_reason = trace_reason_;
  }
  // The primary source first: the device's own counters, then the
  // tracepoints, then the profiler; unavailable ones last.
  std::vector<Counters> all = {hw, trace, prof};
  std::stable_partition(all.begin(), all.end(),
                        [](const Counters& c) { return c.available; });
  return all;
}

std::optional<uint64_t> CounterSources::Faults(
    const std::vector<Counters>& counters) {
  if (counters.empty() || !counters[0].available) {
    return std::nullopt;
  }
  const Counters& primary = counters[0];
  const char* key = primary.source == kProfilerSource ? ibodp::kOdpFaultFunction
                                                      : ibodp::kCntPageFaults;
  const auto it = primary.values.find(key);
  if (it == primary.values.end()) {
    return std::nullopt;
  }
  return it->second;
}

}  // namespace perftest
