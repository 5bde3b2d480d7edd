// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// Making the kernel move the pages of a range, and seeing that it did:
// page-out to swap, reclaim by a memory cgroup, NUMA migration, THP
// collapse and split, KSM merging. Each mover throws Unsupported when the
// kernel or the machine lacks what it needs (no swap, one NUMA node, no
// debugfs), with the reason, and Error when the call itself fails.
#ifndef IBODP_MOVERS_H_
#define IBODP_MOVERS_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace ibodp {

// /proc/self/pagemap bits (Documentation/admin-guide/mm/pagemap.rst).
inline constexpr uint64_t kPagemapSwapped = 1ULL << 62;
inline constexpr uint64_t kPagemapPresent = 1ULL << 63;
inline constexpr uint64_t kPagemapPfnMask = (1ULL << 55) - 1;

// /proc/kpageflags bits (include/uapi/linux/kernel-page-flags.h).
inline constexpr uint64_t kPageFlagDirty = 1ULL << 4;
inline constexpr uint64_t kPageFlagWriteback = 1ULL << 8;
inline constexpr uint64_t kPageFlagThp = 1ULL << 22;
inline constexpr uint64_t kPageFlagKsm = 1ULL << 21;
inline constexpr uint64_t kPageFlagZeroPage = 1ULL << 24;

// How many base pages of `range` are resident and how many are in swap.
struct PageCounts {
  size_t present = 0;
  size_t swapped = 0;
};
PageCounts CountPages(std::span<const uint8_t> range);

// The /proc/kpageflags word of the page mapped at `addr` (needs root, for
// the PFN), or 0 when nothing is mapped there.
uint64_t KernelPageFlags(const void* addr);

// kB of `field` (AnonHugePages, Private_Hugetlb, ...) in the
// /proc/self/smaps entry of the mapping that contains `addr`; 0 when the
// entry or the field is missing.
uint64_t SmapsKb(const void* addr, const std::string& field);

// The text of `field` (VmFlags, THPeligible, ...) in that entry; empty
// when the entry or the field is missing.
std::string SmapsField(const void* addr, const std::string& field);

// Swap is on (/proc/swaps lists a device); Unsupported otherwise.
void RequireSwap();

// MADV_PAGEOUT: reclaim the range's pages now, anonymous ones to swap.
void PageOut(std::span<uint8_t> range);

// The NUMA nodes the kernel has memory on; Unsupported with fewer than 2.
std::vector<int> RequireNumaNodes();

// The node of each page of `range` (move_pages() with no target); -errno
// for a page that is not mapped.
std::vector<int> NodesOf(std::span<const uint8_t> range);

// move_pages() every page of `range` to `node`; returns how many report
// that node afterwards (a page the kernel is busy with may stay).
size_t MovePagesTo(std::span<uint8_t> range, int node);

// MovePagesTo(), and throws unless every page moved.
void MovePages(std::span<uint8_t> range, int node);

// migrate_pages() of this process from `from` to `to`: every page of the
// process on `from`, the range's among them.
void MigrateProcessPages(int from, int to);

// MADV_COLLAPSE: make the range (2 MiB aligned) one transparent huge page.
void CollapseHugePage(std::span<uint8_t> range);

// CollapseHugePage(), but false where the kernel reports a transient
// failure (EAGAIN: a page was busy; ENOMEM or EBUSY: no huge page could
// be allocated or charged) instead of throwing.
bool TryCollapseHugePage(std::span<uint8_t> range);

// Split the huge pages mapped in `range` into base pages through
// debugfs's split_huge_pages.
void SplitHugePages(std::span<uint8_t> range);

// /proc/sys/vm/compact_memory: compact every zone now. Which pages move is
// the kernel's choice; the caller cannot name a range.
void CompactMemory();

// Run ksmd until every page of `range` (MADV_MERGEABLE) is shared
// read-only, or throw after `timeout`: a KSM page, or the shared zero page
// for a page of zeros (KSM splits a transparent huge page before it merges
// its pages, and the split maps zero-filled pages to the zero page, which
// ksmd then passes over). Other pages with the same bytes must exist for a
// merge: the caller keeps a twin. ksmd's knobs are put back afterwards.
void KsmMerge(std::span<uint8_t> range, std::chrono::milliseconds timeout);

// A child cgroup v2 with the memory controller that this process joins
// for its lifetime. Memory allocated meanwhile is charged to it.
class MemoryCgroup {
 public:
  // Under $IBODP_CGROUP_ROOT (or /sys/fs/cgroup); Unsupported when the
  // memory controller is not enabled there.
  MemoryCgroup();
  MemoryCgroup(const MemoryCgroup&) = delete;
  MemoryCgroup& operator=(const MemoryCgroup&) = delete;
  ~MemoryCgroup();

  // memory.reclaim: reclaim up to `bytes` of the group's memory now. The
  // kernel may reclaim less; the caller checks what moved.
  void Reclaim(size_t bytes) const;
  // memory.high: above it, a task that charges memory to the group
  // reclaims from the group on its way back to user space (and is
  // throttled while that does not bring the group under). nullopt: "max".
  void SetHigh(std::optional<size_t> bytes) const;
  // memory.current: what is charged to the group now.
  size_t Current() const;

  const std::string& path() const { return path_; }

 private:
  std::string parent_;
  std::string path_;
};

}  // namespace ibodp

#endif  // IBODP_MOVERS_H_
