// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// The storm's event thread: memory events on the MR's pages in a random,
// seeded order, with short random pauses, until Shared::stop().
#ifndef TESTS_STORM_EVENT_THREAD_H_
#define TESTS_STORM_EVENT_THREAD_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "ibodp/events.h"
#include "ibodp/mapping.h"
#include "shared.h"

namespace storm {

// soft-dirty, mprotect-ro, uffd-wp, fork, fork-alive, madvise-dontneed,
// munmap-remap, mremap, and the kernel moving pages: pageout (to swap),
// migrate (to another NUMA node), thp-collapse (MADV_COLLAPSE of a huge
// page extent), thp-split (debugfs split_huge_pages of one), compact
// (/proc/sys/vm/compact_memory) and ksm (ksmd merges the read-only zone
// with a twin, then MADV_UNMERGEABLE copies it back).
const std::vector<std::string>& StormEventNames();

class EventThread {
 public:
  // Throws ibodp::Error naming an unknown event or an event the layout
  // has no pages for, and ibodp::Unsupported when pageout has no swap or
  // migrate no second NUMA node.
  EventThread(Shared& shared, uint64_t seed, std::vector<std::string> events);
  EventThread(const EventThread&) = delete;
  EventThread& operator=(const EventThread&) = delete;
  ~EventThread();

  // Applies events until shared.stop(); a failing system call or a forked
  // child that saw its copy change is recorded with Shared::Fail.
  void Run();
  const std::map<std::string, uint64_t>& counts() const { return counts_; }
  // thp-collapse events after which the extent was one huge page.
  uint64_t huge_pages_made() const { return huge_pages_made_; }

 private:
  void Apply(const std::string& name);
  // A write-zone range of 1 to 8 whole pages; outside the huge pages
  // when `replaces_mapping`.
  ibodp::EventTarget Chunk(bool replaces_mapping = false);
  // One of the huge page extents, at random.
  std::span<uint8_t> HugeExtent();
  void Collapse();
  void KsmMergeAndUnmerge();
  void ReplaceMapFixed(const ibodp::EventTarget& t);
  void ReplaceMremap(const ibodp::EventTarget& t);
  void MprotectToggle();
  void ForkAndCheck();
  void ReapChild(bool wait);

  Shared& shared_;
  std::mt19937_64 rng_;
  std::vector<std::string> events_;
  std::map<std::string, uint64_t> counts_;
  std::unique_ptr<ibodp::MemoryEvent> fork_;
  std::unique_ptr<ibodp::MemoryEvent> uffd_wp_;
  // The fork-alive child's copy of the write zone, allocated before fork.
  ibodp::Mapping snapshot_;
  pid_t child_ = 0;
  // The read-only zone's bytes, mergeable, for the ksm event.
  ibodp::Mapping ksm_twin_;
  // The NUMA nodes migrate moves pages between, and the last one used.
  std::vector<int> nodes_;
  size_t next_node_ = 0;
  uint64_t huge_pages_made_ = 0;
};

}  // namespace storm

#endif  // TESTS_STORM_EVENT_THREAD_H_
