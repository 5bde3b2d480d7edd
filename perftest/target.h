// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// The MR under test: the memory the scenario's event or background acts
// on, mapped the way they need it (a MAP_SHARED file, huge pages, a 2 MiB-
// aligned mapping, or anonymous memory), filled, and registered ODP or
// pinned, with the event and the background that act on it. The process
// that owns it is the responder: the loopback workload's, or perftest
// --server's.
#ifndef PERFTEST_TARGET_H_
#define PERFTEST_TARGET_H_

#include <infiniband/verbs.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "background.h"
#include "ibodp/events.h"
#include "ibodp/mapping.h"
#include "ibodp/unique_fd.h"
#include "ibodp/verbs.h"
#include "scenario.h"

namespace perftest {

class TargetMr {
 public:
  // Maps and registers scenario.mr_size bytes on `pd`. Throws ibodp::Error
  // naming the step that failed.
  TargetMr(ibv_pd* pd, const Scenario& scenario);
  TargetMr(const TargetMr&) = delete;
  TargetMr& operator=(const TargetMr&) = delete;

  // The range the memory events act on: the whole MR.
  ibodp::EventTarget Target() const;
  uint64_t addr() const { return reinterpret_cast<uint64_t>(mapping_.data()); }
  uint32_t lkey() const { return mr_->lkey; }
  uint32_t rkey() const { return mr_->rkey; }
  // How long ibv_reg_mr took.
  std::chrono::nanoseconds RegistrationTime() const {
    return registration_time_;
  }

  // The scenario's memory event on the whole MR; returns how long it took.
  std::chrono::nanoseconds ApplyEvent();
  // The scenario's background over one window: a fresh one each window,
  // as it starts from the kernel's settings (Background::Prepare()'s
  // result). Throws ibodp::Error for a scenario without a background, or
  // a start or stop without its prepare.
  bool PrepareBackground();
  void StartBackground();
  void StopBackground();

 private:
  // The window's background; throws ibodp::Error naming `step` ("start")
  // when PrepareBackground() has not made one.
  Background& Prepared(std::string_view step);

  uint64_t size_ = 0;
  std::chrono::nanoseconds registration_time_{0};
  // Declared in creation order: the MR goes before its mapping and file.
  // The msync event's backing file, or -1.
  ibodp::UniqueFd fd_;
  ibodp::Mapping mapping_;
  ibodp::MemoryRegion mr_;
  std::unique_ptr<ibodp::MemoryEvent> event_;
  std::string background_name_;
  // The window's background, stopped and gone before the MR.
  std::unique_ptr<Background> background_;
};

}  // namespace perftest

#endif  // PERFTEST_TARGET_H_
