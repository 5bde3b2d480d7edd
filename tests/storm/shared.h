// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// What the storm's worker and event threads share: the memory layout,
// the generation counters that tell a worker whether an event overlapped
// its operation, and the failure log.
#ifndef TESTS_STORM_SHARED_H_
#define TESTS_STORM_SHARED_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace storm {

// One ODP MR over write_pages pages (slots, read, written and updated
// atomically by the workers; the target of soft-dirty, fork, MADV_DONTNEED,
// munmap+remap and mremap) followed by ro_pages pages of fixed contents
// (read only; the target of mprotect(PROT_READ) and uffd write-protect,
// during which a device write would fail by design).
//
// Then file_pages pages of a MAP_SHARED file on a filesystem with
// writeback (the file zone): slots too, read, written and updated like the
// write zone's, and the target of writeback (msync). No event replaces
// their pages, and at the end of the storm the file's bytes on disk must
// be what the CPU sees in them (FileZone).
//
// The first huge_pages pages of the write zone start 2 MiB aligned and are
// backed by transparent huge pages (MADV_HUGEPAGE), the target of
// thp-collapse and thp-split. munmap+remap and mremap keep out of them: a
// mapping they put there would split the zone's VMA for good, and no
// 2 MiB extent across two VMAs can be collapsed again.
struct Layout {
  uint8_t* base = nullptr;
  size_t page = 4096;
  size_t write_pages = 0;
  size_t huge_pages = 0;
  size_t ro_pages = 0;
  size_t file_pages = 0;

  // Slots 0 .. write_pages-1 are the write zone's pages, the next
  // file_pages slots the file zone's.
  size_t Slots() const { return write_pages + file_pages; }
  bool IsFileSlot(size_t i) const { return i >= write_pages; }
  uint8_t* Slot(size_t i) const {
    return base + (IsFileSlot(i) ? i + ro_pages : i) * page;
  }
  uint8_t* ReadOnly(size_t i) const { return base + (write_pages + i) * page; }
  uint8_t* ReadOnlyBase() const { return ReadOnly(0); }
  uint8_t* FileBase() const { return ReadOnly(ro_pages); }
  size_t Bytes() const { return (write_pages + ro_pages + file_pages) * page; }
  // Base pages in one transparent huge page (2 MiB).
  size_t PagesPerHuge() const { return kHugeBytes / page; }

  static constexpr size_t kHugeBytes = size_t{2} << 20;
};

// Odd while an event of its kind runs. A worker reads it before posting
// and after checking: equal and even means no such event overlapped.
class Generation {
 public:
  void Enter() { value_.fetch_add(1, std::memory_order_acq_rel); }
  void Exit() { value_.fetch_add(1, std::memory_order_acq_rel); }
  uint64_t Read() const { return value_.load(std::memory_order_acquire); }
  static bool Quiet(uint64_t before, uint64_t after) {
    return before == after && before % 2 == 0;
  }

 private:
  std::atomic<uint64_t> value_{0};
};

// What a failure is, for the run's summary: the planted kernel must show
// kNotSoftDirty, a kernel that loses data kLostWrite or kStaleRead.
enum class Failure {
  kErrorCompletion,  // an RDMA op completed with an error status
  kCorruptRead,      // the device read bytes that are no slot's record
  kStaleRead,        // the device read other bytes than the CPU sees
  kWrongBytes,       // the CPU sees neither the write nor a reset page
  kLostWrite,        // the CPU does not see a device write
  kWrongAtomic,      // a fetch-and-add's old or new value is off
  kNotSoftDirty,     // a device write left the page clean for soft-dirty
  kReadOnlyBytes,    // the read-only zone read back wrong
  kForkChild,        // a forked child's copy changed, or the child died
  kEventError,       // an event's system call failed
  kCoverage,         // an op kind or event never ran: the run was short
};
inline constexpr size_t kFailureKinds =
    static_cast<size_t>(Failure::kCoverage) + 1;

// "error-completion", "not-soft-dirty", ...: the summary's keys.
const char* FailureName(Failure kind);

class Shared {
 public:
  explicit Shared(const Layout& layout) : layout_(layout) {}

  const Layout& layout() const { return layout_; }
  // Events that may replace write-zone pages (their bytes become zeros).
  Generation& reset() { return reset_; }
  // Soft-dirty clears (clear_refs 4).
  Generation& soft_dirty() { return soft_dirty_; }
  std::atomic<bool>& stop() { return stop_; }

  // Records a failure (the first kMaxLogged are kept with their text).
  void Fail(Failure kind, const std::string& what);
  uint64_t failures() const;
  std::array<uint64_t, kFailureKinds> failures_by_kind() const;
  std::vector<std::string> failure_log() const;

 private:
  static constexpr size_t kMaxLogged = 40;
  Layout layout_;
  Generation reset_;
  Generation soft_dirty_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  uint64_t failures_ = 0;
  std::array<uint64_t, kFailureKinds> by_kind_{};
  std::vector<std::string> log_;
};

}  // namespace storm

#endif  // TESTS_STORM_SHARED_H_
