// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// The ib_umem_odp tracepoints (kernel-patches/ 0008): one record per ODP
// fault (ib_umem_odp_map_dma_and_lock()) and per invalidation that went
// through ib_umem_odp_invalidate(), with its mmu notifier event and what
// the umem did. Any ODP driver, no driver counters needed. Read from a
// tracefs instance of our own, so that nothing else's tracing is touched.
#ifndef IBODP_ODPTRACE_H_
#define IBODP_ODPTRACE_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace ibodp {

// The trace system and its events, as the kernel patch names them.
inline constexpr const char* kOdpTraceSystem = "ib_umem_odp";
inline constexpr const char* kOdpTraceFault = "ib_umem_odp_fault";
inline constexpr const char* kOdpTraceInvalidate = "ib_umem_odp_invalidate";
// The mmu_notifier_range flag of an invalidation record that marks a NUMA
// hint: MMU_NOTIFIER_RANGE_NUMA_HINT, BIT(2) in
// include/linux/mmu_notifier.h with kernel-patches/ 0009.
inline constexpr uint64_t kRangeNumaHint = 1U << 2;

// The `action` of an invalidation record.
inline constexpr const char* kOdpActionWriteProtect = "wrprotect";
inline constexpr const char* kOdpActionDrop = "drop";

struct OdpFaultRecord {
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t pages = 0;  // umem pages in [start, end)
  bool write = false;  // write access asked for
  bool fault = false;  // faulted pages in (false: snapshot of what is mapped)
  uint64_t retries = 0;
  int64_t ret = 0;  // pages mapped, or -errno

  bool operator==(const OdpFaultRecord&) const = default;
};

struct OdpInvalidateRecord {
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t pages = 0;  // umem pages in [start, end)
  std::string event;   // mmu notifier event, lower case: "soft_dirty"
  uint64_t flags = 0;  // mmu_notifier_range flags
  std::string action;  // kOdpActionWriteProtect or kOdpActionDrop
  uint64_t valid = 0;  // valid pages found
  uint64_t kept = 0;
  uint64_t dropped = 0;

  bool operator==(const OdpInvalidateRecord&) const = default;
};

struct OdpTraceRecords {
  std::vector<OdpFaultRecord> faults;
  std::vector<OdpInvalidateRecord> invalidations;
};

// Sums of invalidation records.
struct OdpInvalidationTotals {
  uint64_t calls = 0;
  uint64_t valid = 0;
  uint64_t kept = 0;
  uint64_t dropped = 0;
  uint64_t write_protect_calls = 0;  // calls whose action was wrprotect

  bool operator==(const OdpInvalidationTotals&) const = default;
};

struct OdpTraceTotals {
  uint64_t fault_calls = 0;   // faults that faulted pages in (fault=1)
  uint64_t fault_pages = 0;   // pages those mapped
  uint64_t fault_errors = 0;  // of those, calls that failed
  uint64_t snapshot_calls = 0;
  OdpInvalidationTotals invalidations;
  std::map<std::string, OdpInvalidationTotals> by_event;
};

// Parses the text of a tracefs `trace` file: the ib_umem_odp records, in
// order; lines of other events are ignored. Throws Error on an ib_umem_odp
// line it cannot parse, and when the header says that the ring buffer
// lost events (entries-in-buffer below entries-written).
OdpTraceRecords ParseOdpTrace(const std::string& text);

OdpTraceTotals Summarize(const OdpTraceRecords& records);

// A tracefs instance with the ib_umem_odp events enabled, removed again on
// destruction.
class OdpTrace {
 public:
  // Throws Unsupported naming the cause: not root, no tracefs, a kernel
  // without the ib_umem_odp tracepoints.
  explicit OdpTrace(
      const std::filesystem::path& tracefs = "/sys/kernel/tracing");
  ~OdpTrace();
  OdpTrace(const OdpTrace&) = delete;
  OdpTrace& operator=(const OdpTrace&) = delete;

  // Empties the buffer: Read() returns what comes after.
  void Clear() const;
  // The records since the last Clear() (or the start).
  OdpTraceRecords Read() const;
  const std::filesystem::path& dir() const { return dir_; }

 private:
  void Write(const std::string& file, const std::string& value) const;
  std::filesystem::path dir_;
};

}  // namespace ibodp

#endif  // IBODP_ODPTRACE_H_
