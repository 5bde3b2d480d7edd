// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// Hit counts of kernel functions from the ftrace function profiler
// (CONFIG_FUNCTION_PROFILER): fault and invalidation counters that work on
// a kernel without ODP statistics. Needs root and tracefs.
#ifndef IBODP_PROFILER_H_
#define IBODP_PROFILER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ibodp {

// The ODP functions whose hits count faults and invalidations.
inline constexpr const char* kOdpFaultFunction = "ib_umem_odp_map_dma_and_lock";
inline constexpr const char* kRxeInvalidateFunction = "rxe_ib_invalidate_range";

// Sums the per-CPU "Function Hit ..." tables of trace_stat/function*.
std::map<std::string, uint64_t> ParseProfileStats(
    const std::vector<std::string>& per_cpu_tables);

// The profiler is switched on once and never off: on Linux 7.3 under QEMU
// TCG, switching it off, changing the filter and switching it on again
// made the next call of a filtered function jump to a stale trampoline
// (Oops, seen in the lab guest). Counts are deltas from a baseline instead,
// and profiling stays on until the guest reboots.
class FunctionProfiler {
 public:
  // Adds the `functions` that the kernel can trace to the profiler's
  // filter (the others are reported by Missing()) and starts it if it is
  // off. Throws Unsupported naming the cause: not root, no tracefs, no
  // CONFIG_FUNCTION_PROFILER.
  explicit FunctionProfiler(const std::vector<std::string>& functions,
                            std::string tracefs = "/sys/kernel/tracing");

  // Counts start from zero again.
  void Reset();
  // Hits since the last Reset(), summed over CPUs; 0 for functions that
  // were not hit, absent for Missing() ones.
  std::map<std::string, uint64_t> Hits() const;
  uint64_t HitsOf(const std::string& function) const;
  const std::vector<std::string>& Missing() const { return missing_; }

 private:
  void Write(const std::string& file, const std::string& value,
             bool append = false) const;
  std::map<std::string, uint64_t> RawHits() const;
  std::string tracefs_;
  std::map<std::string, uint64_t> baseline_;
  std::vector<std::string> functions_;
  std::vector<std::string> missing_;
};

}  // namespace ibodp

#endif  // IBODP_PROFILER_H_
