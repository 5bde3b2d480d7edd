// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// A scenario with both sides in this process: the requester's QP sends its
// ops over a loopback RC pair to the responder's QP, whose MR is the one
// under test (ODP, or pinned for the pinned registration). The local side
// is pinned memory. Events, backgrounds and counters act on this process's
// MR.
#ifndef PERFTEST_WORKLOAD_H_
#define PERFTEST_WORKLOAD_H_

#include <infiniband/verbs.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "bench.h"
#include "ibodp/device.h"
#include "ibodp/loopback.h"
#include "ibodp/mapping.h"
#include "ibodp/verbs.h"
#include "ops.h"
#include "scenario.h"
#include "sources.h"
#include "target.h"

namespace perftest {

class Workload : public Bench {
 public:
  // Throws ibodp::Unsupported when `dev` lacks ODP for the op, and
  // ibodp::Error for any other setup failure.
  Workload(const ibodp::Device& dev, const Scenario& scenario,
           CounterSources& sources, std::chrono::milliseconds timeout);

  std::chrono::nanoseconds RunOp(uint64_t index, bool since_event) override;
  uint64_t OpsToCoverMr() const override { return layout_.OpsToCover(); }
  std::chrono::nanoseconds RegistrationTime() const override {
    return target_->RegistrationTime();
  }
  std::chrono::nanoseconds ApplyEvent() override {
    return target_->ApplyEvent();
  }
  bool PrepareBackground() override { return target_->PrepareBackground(); }
  void StartBackground() override { target_->StartBackground(); }
  void StopBackground() override { target_->StopBackground(); }
  void BeginCounting() override { sources_.Begin(); }
  std::vector<Counters> EndCounting() override { return sources_.End(); }
  ibodp::CounterValues PeekCounters() override { return sources_.Peek(); }

 private:
  Scenario scenario_;
  SlotLayout layout_;
  CounterSources& sources_;
  std::chrono::milliseconds timeout_;
  // Declared in creation order: teardown runs in reverse.
  ibodp::ProtectionDomain pd_;
  std::unique_ptr<ibodp::LoopbackRcPair> pair_;
  ibodp::Mapping local_;
  ibodp::MemoryRegion local_mr_;
  std::unique_ptr<TargetMr> target_;
  std::unique_ptr<SendChain> sends_;
  std::unique_ptr<SlotChain> slots_;
  std::vector<ibv_wc> wcs_;
};

// The ODP transport capabilities an op needs on the responder's side.
uint32_t RequiredOdpCaps(Op op);

}  // namespace perftest

#endif  // PERFTEST_WORKLOAD_H_
