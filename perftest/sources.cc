// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "sources.h"

#include <algorithm>
#include <string>
#include <utility>

#include "bracketed.h"
#include "ibodp/error.h"

namespace perftest {
namespace {

constexpr const char* kHwSource = "hw_counters";
constexpr const char* kProfilerSource = "function-profiler";
constexpr const char* kTraceSource = "tracepoints";

// Readings of the sources before one is taken as of one instant
// (bracketed.h); each waits out one hw_counters read (its lifespan and
// 20 ms).
constexpr int kReadAttempts = 20;

ibodp::Error BusyKernel(const char* when) {
  return ibodp::Error(
      std::string("counters at the ") + when +
      " of a repetition: the kernel faulted or invalidated ODP pages while "
      "the counter sources were read, " +
      std::to_string(kReadAttempts) +
      " times in a row, so they cannot be read as of one instant and would "
      "disagree; stop what touches the MR in the background, or count "
      "with one source (--counters=hw, trace or profiler)");
}

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

bool CounterSources::CountedNothing() const {
  if (trace_) {
    const ibodp::OdpTraceRecords records = trace_->Read();
    if (!records.faults.empty() || !records.invalidations.empty()) {
      return false;
    }
  }
  if (profiler_) {
    for (const auto& [name, hits] : profiler_->Hits()) {
      if (hits != 0) {
        return false;
      }
    }
  }
  return true;
}

void CounterSources::Begin() {
  // Zero the trace and the profiler, then take hw_counters' baseline, then
  // check that the zeroed ones still are: else the kernel counted
  // something in between that the baseline may or may not hold (see
  // bracketed.h), and the start is taken again.
  for (int i = 0; i < kReadAttempts; ++i) {
    if (trace_) {
      trace_->Clear();
    }
    if (profiler_) {
      profiler_->Reset();
    }
    if (hw_) {
      hw_before_ = hw_->Read();
    }
    if (CountedNothing()) {
      return;
    }
  }
  throw BusyKernel("start");
}

std::vector<Counters> CounterSources::End() {
  // The trace, when there is one, else the profiler, brackets the others
  // (bracketed.h).
  const auto bracket = [this] {
    if (trace_) {
      return TraceValues(ibodp::Summarize(trace_->Read()));
    }
    return profiler_ ? profiler_->Hits() : ibodp::CounterValues{};
  };
  struct Inner {
    ibodp::CounterValues hw;
    ibodp::CounterValues profiler;
  };
  // The profiler first: an invalidation counts in the profiler when
  // rxe_ib_invalidate_range() is entered, then in the trace, then in
  // hw_counters. Read so, an invalidation that the trace reads miss had
  // to last through the hw_counters read (its lifespan wait, 20 ms or
  // more) to count in the profiler read but not in the trace.
  const auto inner = [this] {
    Inner r;
    if (trace_ && profiler_) {
      r.profiler = profiler_->Hits();
    }
    if (hw_) {
      r.hw = ibodp::CounterDelta(hw_before_, hw_->Read());
    }
    return r;
  };
  auto read = ReadBracketed(bracket, inner, kReadAttempts);
  if (!read) {
    throw BusyKernel("end");
  }
  auto& [bracket_values, inner_values] = *read;

  Counters hw;
  hw.source = kHwSource;
  if (hw_) {
    hw.values = std::move(inner_values.hw);
    hw.available = true;
  } else {
    hw.unavailable_reason = hw_reason_;
  }
  Counters prof;
  prof.source = kProfilerSource;
  if (profiler_) {
    prof.values = trace_ ? std::move(inner_values.profiler) : bracket_values;
    prof.available = true;
  } else {
    prof.unavailable_reason = profiler_reason_;
  }
  Counters trace;
  trace.source = kTraceSource;
  if (trace_) {
    trace.values = std::move(bracket_values);
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

ibodp::CounterValues CounterSources::Peek() const {
  // End()'s order of primaries.
  if (hw_) {
    return ibodp::CounterDelta(hw_before_, hw_->Read());
  }
  if (trace_) {
    return TraceValues(ibodp::Summarize(trace_->Read()));
  }
  return profiler_ ? profiler_->Hits() : ibodp::CounterValues{};
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
