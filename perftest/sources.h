// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// The fault and invalidation counters perftest reads around each measured
// repetition: the device's ODP hw_counters (rxe with the ibodp patches),
// the ib_umem_odp tracepoints (kernel-patches/, any ODP driver, needs
// root; per mmu notifier event) and the ftrace function profiler over the
// ODP fault and invalidation functions (any kernel, needs root). A source that
// cannot be read is reported with its reason, never as zeros.
#ifndef PERFTEST_SOURCES_H_
#define PERFTEST_SOURCES_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ibodp/hwcounters.h"
#include "ibodp/odptrace.h"
#include "ibodp/profiler.h"
#include "report.h"

namespace perftest {

enum class CounterMode { kAuto, kHw, kTrace, kProfiler, kNone };

// "auto", "hw", "trace", "profiler", "none"; throws ibodp::Error for other
// names.
CounterMode CounterModeFromName(const std::string& name);

class CounterSources {
 public:
  // kAuto opens what it can and records why the others are unavailable;
  // kHw, kTrace and kProfiler throw ibodp::Unsupported when theirs cannot
  // be read.
  CounterSources(const std::string& device, CounterMode mode);

  // Starts counting; End() returns the deltas since, every source, the
  // available ones first in the order hw_counters, tracepoints, profiler:
  // the first is the primary. Both read the sources as of one instant
  // (bracketed.h), so that an invalidation the kernel makes by itself
  // while they read is counted by all or by none; they throw ibodp::Error
  // when the kernel does not let them.
  void Begin();
  std::vector<Counters> End();

  // The primary source's values since Begin(), read now and alone, not
  // bracketed with the others: a timeline's samples, all of one source,
  // whose differences are exact for it. Empty when no source is available.
  ibodp::CounterValues Peek() const;

  // Page faults in `counters` from its primary source, or nullopt when no
  // source is available.
  static std::optional<uint64_t> Faults(const std::vector<Counters>& counters);

 private:
  // Whether the trace and the profiler, those available, are at zero.
  bool CountedNothing() const;

  std::unique_ptr<ibodp::HwCounters> hw_;
  std::unique_ptr<ibodp::OdpTrace> trace_;
  std::unique_ptr<ibodp::FunctionProfiler> profiler_;
  std::string hw_reason_;
  std::string trace_reason_;
  std::string profiler_reason_;
  ibodp::CounterValues hw_before_;
};

}  // namespace perftest

#endif  // PERFTEST_SOURCES_H_
