// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// Memory-event generators: each applies one kind of event to the range an
// ODP MR covers and reports the time its system calls took. Each states the
// mmu-notifier event the kernel is expected to send for it, and whether the
// event only write-protects (so a kernel that keeps ODP pages on such events
// should not fault an RDMA READ afterwards).
#ifndef IBODP_EVENTS_H_
#define IBODP_EVENTS_H_

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ibodp/mapping.h"

namespace ibodp {

// The range an event acts on. `fd` is the backing file of a MAP_SHARED
// range (msync), -1 for anonymous memory.
struct EventTarget {
  uint8_t* addr = nullptr;
  size_t length = 0;
  int fd = -1;
};

class MemoryEvent {
 public:
  MemoryEvent() = default;
  MemoryEvent(const MemoryEvent&) = delete;
  MemoryEvent& operator=(const MemoryEvent&) = delete;
  virtual ~MemoryEvent() = default;

  // "soft-dirty", "mprotect-ro", ...: the name perftest's --events takes.
  virtual std::string_view Name() const = 0;
  // "MMU_NOTIFY_SOFT_DIRTY", ...; "none" when no invalidation is expected.
  virtual std::string_view NotifierEvent() const = 0;
  // True when the event only takes write access away and keeps every page.
  virtual bool WriteProtectOnly() const = 0;
  // Whether the range keeps its bytes across the event.
  virtual bool PreservesContents() const { return true; }
  // Whether the event needs a MAP_SHARED file-backed range (EventTarget.fd):
  // writeback (msync) does; every other event acts on anonymous memory.
  virtual bool NeedsFile() const { return false; }
  // Whether the event needs a range that transparent huge pages back
  // (Mapping::AnonymousHuge): the THP events collapse and split them.
  virtual bool NeedsHugePages() const { return false; }
  // Whether one application takes tens to hundreds of milliseconds under
  // TCG (the THP movers, a KSM merge): perftest's presets leave such
  // events out, and they are run on their own.
  virtual bool SlowPerOp() const { return false; }
  // Whether the event does its work on pages that a pinned (non-ODP) MR
  // holds. Moving, reclaiming, merging or collapsing a page skips or fails
  // on a pinned one, and the kernel refuses a long-term pin of a
  // MAP_SHARED file mapping on most filesystems (writeback must be able to
  // write-protect it), so those events cannot act on a pinned MR.
  virtual bool ActsOnPinnedPages() const { return true; }
  // Applies the event once; returns the time spent in system calls.
  // Throws Error naming the failing call.
  virtual std::chrono::nanoseconds Apply(const EventTarget& target) = 0;
};

// Every name MakeEvent() accepts, in a stable order.
std::vector<std::string> EventNames();

// Throws Error("unknown event 'x'; known events: ...") for a bad name.
std::unique_ptr<MemoryEvent> MakeEvent(std::string_view name);

// The events of EventNames() that act on anonymous memory (!NeedsFile()).
std::vector<std::string> AnonymousEventNames();

// The name as a C identifier ("soft-dirty" -> "soft_dirty"), for test
// parameter names.
std::string EventIdentifier(std::string_view name);

}  // namespace ibodp

#endif  // IBODP_EVENTS_H_
