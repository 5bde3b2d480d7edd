// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// Background activity: the kernel's own work on the MR while perftest runs
// a steady stream of ops for a number of seconds and applies no event
// itself. What it measures is what ODP costs a user while the kernel goes
// about its business.
#ifndef PERFTEST_BACKGROUND_H_
#define PERFTEST_BACKGROUND_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ibodp/events.h"

namespace perftest {

class Background {
 public:
  Background() = default;
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  // Stops what Start() started and gives the kernel its settings back.
  virtual ~Background() = default;

  // "writeback": the name perftest's --backgrounds takes.
  virtual std::string_view Name() const = 0;
  // Whether the MR must be a MAP_SHARED file mapping (ext4 in the lab).
  virtual bool NeedsFile() const { return false; }
  // Whether the MR must start a 2 MiB-aligned mapping that ends on a 2 MiB
  // boundary (past the MR's end when the MR is not a multiple of 2 MiB),
  // mapped in base pages (MADV_NOHUGEPAGE) until Prepare().
  virtual bool NeedsHugeAlignment() const { return false; }
  // Whether the activity can touch pages pinned for DMA (a non-ODP MR's):
  // when not, a pinned MR would measure nothing happening.
  virtual bool ActsOnPinnedPages() const { return true; }
  // Before the counters begin: puts the MR's pages where the activity
  // starts from. Returns true when that unmapped them from the device, so
  // that the caller maps them again before it measures.
  virtual bool Prepare(const ibodp::EventTarget& /*target*/) { return false; }
  // Sets the kernel up and starts whatever keeps the activity going on
  // `target`. Throws ibodp::Error naming the setting it could not make.
  virtual void Start(const ibodp::EventTarget& target) = 0;
  // Ends the activity before the counters are read: after Stop() the
  // kernel should soon leave the MR alone.
  virtual void Stop() = 0;
};

// "none" and every background's name.
std::vector<std::string> BackgroundNames();
// The background called `name`; nullptr for "none". Throws ibodp::Error
// naming the known ones.
std::unique_ptr<Background> MakeBackground(std::string_view name);

}  // namespace perftest

#endif  // PERFTEST_BACKGROUND_H_
