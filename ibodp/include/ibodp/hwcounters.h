// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// A device's port counters from sysfs
// (/sys/class/infiniband/DEV/ports/PORT/hw_counters), among them the ODP
// counters that rxe exposes with the ibodp patches.
#ifndef IBODP_HWCOUNTERS_H_
#define IBODP_HWCOUNTERS_H_

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace ibodp {

using CounterValues = std::map<std::string, uint64_t>;

// ODP counters that rxe's hw_counters carry with the ibodp counter patch
// (rxe-patches/ 0002; summed over the device's MRs; mlx5 keeps them per MR
// only). Pages are valid pages: an invalidation counts what it dropped, or
// kept without write access, not the size of its range.
inline constexpr const char* kCntPageFaults = "page_faults";
inline constexpr const char* kCntPageFaultsHandled = "page_faults_handled";
inline constexpr const char* kCntPageInvalidations = "page_invalidations";
inline constexpr const char* kCntPageInvalidationsHandled =
    "page_invalidations_handled";
inline constexpr const char* kCntPagePrefetch = "page_prefetch";
inline constexpr const char* kCntPageWriteProtections =
    "page_write_protections";

class HwCounters {
 public:
  // Throws Unsupported when the port has no hw_counters directory.
  HwCounters(const std::string& device, uint8_t port,
             const std::filesystem::path& sysfs = "/sys/class/infiniband");

  // Current values of every counter. The kernel caches them for its
  // "lifespan" (10 ms by default, rounded up to whole jiffies) after each
  // update, and serves the cache until jiffies has passed the update's
  // jiffy + lifespan: Read() first waits the lifespan plus two jiffies
  // at the lowest HZ (20 ms), so that what happened before the call is
  // counted even when the last update was a moment ago.
  CounterValues Read() const;

  bool Has(const std::string& name) const;
  // Throws Unsupported naming the device and the missing counters.
  void Require(const std::vector<std::string>& names,
               const std::string& why) const;
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::string device_;
  std::filesystem::path dir_;
  std::chrono::milliseconds lifespan_{10};
};

// after - before, per counter present in both; throws Error when a counter
// went backwards (a reset or a wrapped value would corrupt a measurement).
CounterValues CounterDelta(const CounterValues& before,
                           const CounterValues& after);

// The value of `name`; throws Error when it is absent (never a silent 0).
uint64_t ValueOf(const CounterValues& values, const std::string& name);

}  // namespace ibodp

#endif  // IBODP_HWCOUNTERS_H_
