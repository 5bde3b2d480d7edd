// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "event_thread.h"

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <thread>
#include <utility>

#include "file_zone.h"
#include "ibodp/error.h"
#include "ibodp/movers.h"
#include "ibodp/softdirty.h"

namespace storm {
namespace {

// How long a fork-alive child keeps its copy before comparing it.
constexpr int64_t kChildHoldNs = 30'000'000;

// How long ksmd may take to merge the read-only zone.
constexpr std::chrono::milliseconds kKsmTimeout{5000};

void Check(int rc, const char* what) {
  if (rc != 0) {
    ibodp::ThrowErrno(what, errno);
  }
}

// Runs fn with `gen` odd, so that workers know the event overlapped them.
template <typename Fn>
void Within(Generation& gen, Fn&& fn) {
  gen.Enter();
  try {
    fn();
  } catch (...) {
    gen.Exit();
    throw;
  }
  gen.Exit();
}

}  // namespace

const std::vector<std::string>& StormEventNames() {
  static const std::vector<std::string> kNames = {
      "soft-dirty",       "mprotect-ro",  "uffd-wp", "fork",    "fork-alive",
      "madvise-dontneed", "munmap-remap", "mremap",  "pageout", "migrate",
      "thp-collapse",     "thp-split",    "compact", "ksm",     "writeback"};
  return kNames;
}

EventThread::EventThread(Shared& shared, uint64_t seed,
                         std::vector<std::string> events)
    : shared_(shared),
      rng_(seed),
      events_(std::move(events)),
      fork_(ibodp::MakeEvent("fork")),
      uffd_wp_(ibodp::MakeEvent("uffd-wp")),
      snapshot_(ibodp::Mapping::Anonymous(shared.layout().write_pages *
                                          shared.layout().page)),
      ksm_twin_(ibodp::Mapping::Anonymous(
          std::max<size_t>(shared.layout().ro_pages, 1) *
          shared.layout().page)) {
  const auto& known = StormEventNames();
  for (const auto& e : events_) {
    if (std::find(known.begin(), known.end(), e) == known.end()) {
      std::string list;
      for (const auto& k : known) {
        if (!list.empty()) {
          list += ", ";
        }
        list += k;
      }
      std::string msg = "unknown storm event '";
      msg += e;
      msg += "'; known: ";
      msg += list;
      throw ibodp::Error(msg);
    }
  }
  if (events_.empty()) {
    throw ibodp::Error("no storm events given");
  }
  const auto wants = [this](const char* e) {
    return std::find(events_.begin(), events_.end(), e) != events_.end();
  };
  const Layout& l = shared_.layout();
  for (const char* e : {"thp-collapse", "thp-split"}) {
    if (wants(e) && l.huge_pages == 0) {
      throw ibodp::Error(std::string("event ") + e +
                         " needs huge pages in the write zone: give "
                         "--huge_pages 512 (or more), or leave the event out");
    }
  }
  for (const char* e : {"munmap-remap", "mremap"}) {
    if (wants(e) && l.write_pages == l.huge_pages) {
      throw ibodp::Error(std::string("event ") + e +
                         " keeps out of the huge pages and the write zone "
                         "has no others: give --write_pages 8 (or more)");
    }
  }
  if (wants("writeback") && l.file_pages == 0) {
    throw ibodp::Error(
        "event writeback cleans the file zone and it has no pages: give "
        "--file_pages 16 (or more), or leave the event out");
  }
  // The movers need swap and a second NUMA node: say so before the storm.
  if (wants("pageout")) {
    ibodp::RequireSwap();
  }
  if (wants("migrate")) {
    nodes_ = ibodp::RequireNumaNodes();
  }
  if (wants("ksm")) {
    if (l.ro_pages == 0) {
      throw ibodp::Error(
          "event ksm merges the read-only zone and it has no pages: give "
          "--ro_pages 16 (or more), or leave the event out");
    }
    // ksmd merges two pages only where both are mergeable and equal: the
    // twin holds the read-only zone's bytes (written before the storm
    // starts, never changed) for the storm's lifetime.
    std::memcpy(ksm_twin_.data(), l.ReadOnlyBase(), l.ro_pages * l.page);
    Check(madvise(ksm_twin_.data(), ksm_twin_.size(), MADV_MERGEABLE),
          "madvise(MADV_MERGEABLE) on the KSM twin (needs CONFIG_KSM)");
  }
}

EventThread::~EventThread() { ReapChild(/*wait=*/true); }

void EventThread::Run() {
  std::uniform_int_distribution<size_t> pick(0, events_.size() - 1);
  std::uniform_int_distribution<int> pause_us(0, 2000);
  while (!shared_.stop().load(std::memory_order_relaxed)) {
    const std::string& name = events_[pick(rng_)];
    try {
      Apply(name);
      ++counts_[name];
    } catch (const ibodp::Error& e) {
      shared_.Fail(Failure::kEventError, "event " + name + ": " + e.what());
      shared_.stop().store(true);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(pause_us(rng_)));
  }
  ReapChild(/*wait=*/true);
}

ibodp::EventTarget EventThread::Chunk(bool replaces_mapping) {
  const Layout& l = shared_.layout();
  const size_t first = replaces_mapping ? l.huge_pages : 0;
  const size_t max_len = std::min<size_t>(8, l.write_pages - first);
  std::uniform_int_distribution<size_t> len_dist(1, max_len);
  const size_t len = len_dist(rng_);
  std::uniform_int_distribution<size_t> start_dist(first, l.write_pages - len);
  return {l.Slot(start_dist(rng_)), len * l.page, -1};
}

std::span<uint8_t> EventThread::HugeExtent() {
  const Layout& l = shared_.layout();
  std::uniform_int_distribution<size_t> pick(
      0, l.huge_pages / l.PagesPerHuge() - 1);
  return {l.Slot(pick(rng_) * l.PagesPerHuge()), Layout::kHugeBytes};
}

// MADV_COLLAPSE copies the extent's pages into a new huge page and maps
// it: the bytes stay. It fails now and then because the workers keep
// pages busy; a run in which it never made a huge page proved nothing,
// and the storm says so (huge_pages_made()).
void EventThread::Collapse() {
  const std::span<uint8_t> extent = HugeExtent();
  if (ibodp::TryCollapseHugePage(extent) &&
      (ibodp::KernelPageFlags(extent.data()) & ibodp::kPageFlagThp) != 0) {
    ++huge_pages_made_;
  }
}

void EventThread::Apply(const std::string& name) {
  const Layout& l = shared_.layout();
  if (name == "soft-dirty") {
    Within(shared_.soft_dirty(), [] { ibodp::ClearSoftDirty(); });
  } else if (name == "mprotect-ro") {
    MprotectToggle();
  } else if (name == "uffd-wp") {
    uffd_wp_->Apply({l.ReadOnlyBase(), l.ro_pages * l.page, -1});
  } else if (name == "fork") {
    fork_->Apply({l.base, l.Bytes(), -1});
  } else if (name == "fork-alive") {
    ForkAndCheck();
  } else if (name == "madvise-dontneed") {
    const ibodp::EventTarget t = Chunk();
    Within(shared_.reset(), [&] {
      Check(madvise(t.addr, t.length, MADV_DONTNEED), "madvise(DONTNEED)");
    });
  } else if (name == "munmap-remap") {
    ReplaceMapFixed(Chunk(/*replaces_mapping=*/true));
  } else if (name == "mremap") {
    ReplaceMremap(Chunk(/*replaces_mapping=*/true));
  } else if (name == "pageout") {
    // The bytes stay: the workers' checks must still see their own.
    const ibodp::EventTarget t = Chunk();
    ibodp::PageOut({t.addr, t.length});
  } else if (name == "migrate") {
    // Pages the device or a worker holds at the moment may stay behind.
    const ibodp::EventTarget t = Chunk();
    next_node_ = (next_node_ + 1) % nodes_.size();
    ibodp::MovePagesTo({t.addr, t.length}, nodes_[next_node_]);
  } else if (name == "thp-collapse") {
    Collapse();
  } else if (name == "thp-split") {
    // The bytes stay: the split remaps the same memory as base pages.
    ibodp::SplitHugePages(HugeExtent());
  } else if (name == "compact") {
    // The bytes stay; which of the MR's pages move is the kernel's choice.
    ibodp::CompactMemory();
  } else if (name == "ksm") {
    KsmMergeAndUnmerge();
  } else if (name == "writeback") {
    // The file zone's dirty pages go to the disk; folio_mkclean()
    // write-protects them, and the device's next write must dirty them
    // again. The bytes stay.
    WriteBack(l);
  }
}

// ksmd replaces each page of the read-only zone with the twin's KSM page
// and MADV_UNMERGEABLE copies them back to private pages: every page
// moves twice, and the workers' READs must still see the zone's bytes.
void EventThread::KsmMergeAndUnmerge() {
  const Layout& l = shared_.layout();
  const std::span<uint8_t> zone{l.ReadOnlyBase(), l.ro_pages * l.page};
  Check(madvise(zone.data(), zone.size(), MADV_MERGEABLE),
        "madvise(MADV_MERGEABLE) on the read-only zone");
  ibodp::KsmMerge(zone, kKsmTimeout);
  Check(madvise(zone.data(), zone.size(), MADV_UNMERGEABLE),
        "madvise(MADV_UNMERGEABLE) on the read-only zone");
}

// mmap(MAP_FIXED) unmaps and maps in one call: the device never finds a
// hole in its MR, only new zero pages (an UNMAP invalidation).
void EventThread::ReplaceMapFixed(const ibodp::EventTarget& t) {
  Within(shared_.reset(), [&] {
    void* p = mmap(t.addr, t.length, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p != t.addr) {
      ibodp::ThrowErrno("mmap(MAP_FIXED) over the MR", errno);
    }
  });
}

// mremap() of a populated zero range over the MR's pages: they are
// replaced in one call by pages that moved from elsewhere.
void EventThread::ReplaceMremap(const ibodp::EventTarget& t) {
  void* scratch = mmap(nullptr, t.length, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (scratch == MAP_FAILED) {
    ibodp::ThrowErrno("mmap scratch range for mremap", errno);
  }
  // Writing a zero makes each page present, so real pages move.
  for (size_t off = 0; off < t.length; off += shared_.layout().page) {
    static_cast<volatile uint8_t*>(scratch)[off] = 0;
  }
  Within(shared_.reset(), [&] {
    void* moved = mremap(scratch, t.length, t.length,
                         MREMAP_MAYMOVE | MREMAP_FIXED, t.addr);
    if (moved != t.addr) {
      const int err = errno;
      munmap(scratch, t.length);
      ibodp::ThrowErrno("mremap over the MR", err);
    }
  });
}

void EventThread::MprotectToggle() {
  const Layout& l = shared_.layout();
  const size_t len = l.ro_pages * l.page;
  Check(mprotect(l.ReadOnlyBase(), len, PROT_READ), "mprotect(PROT_READ)");
  std::uniform_int_distribution<int> hold_us(0, 1000);
  std::this_thread::sleep_for(std::chrono::microseconds(hold_us(rng_)));
  Check(mprotect(l.ReadOnlyBase(), len, PROT_READ | PROT_WRITE),
        "mprotect(PROT_READ | PROT_WRITE)");
}

// A child that copies its view of the write zone, waits while the parent's
// workers write through the device, and compares: the parent's writes
// must go to its own copies (COW), never into pages the child shares.
void EventThread::ForkAndCheck() {
  ReapChild(/*wait=*/true);
  const Layout& l = shared_.layout();
  const size_t len = l.write_pages * l.page;
  const pid_t pid = fork();
  if (pid < 0) {
    ibodp::ThrowErrno("fork", errno);
  }
  if (pid == 0) {
    std::memcpy(snapshot_.data(), l.base, len);
    timespec hold = {0, static_cast<decltype(timespec::tv_nsec)>(kChildHoldNs)};
    nanosleep(&hold, nullptr);
    const int same = std::memcmp(snapshot_.data(), l.base, len) == 0 ? 0 : 1;
    _exit(same);
  }
  child_ = pid;
}

void EventThread::ReapChild(bool wait) {
  if (child_ <= 0) {
    return;
  }
  int status = 0;
  const pid_t r = waitpid(child_, &status, wait ? 0 : WNOHANG);
  if (r == 0) {
    return;
  }
  child_ = 0;
  if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    shared_.Fail(
        Failure::kForkChild,
        "fork-alive: the child's copy of the write zone changed while it "
        "held it (a device write reached a page shared after fork), or the "
        "child died (wait status " +
            std::to_string(status) + ")");
  }
}

}  // namespace storm
