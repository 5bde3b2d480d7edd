// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// One scenario's set-up as the runner measures it: the requester's op,
// and the responder's MR under test with the scenario's memory event,
// background activity and fault counters. Workload (workload.h) holds both
// sides in one process over a loopback queue pair; RemoteBench (remote.h)
// is perftest --client's, with the responder in perftest --server.
// Setup happens in the constructors; RunOp() is the timed fast path.
#ifndef PERFTEST_BENCH_H_
#define PERFTEST_BENCH_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "ibodp/hwcounters.h"
#include "report.h"
#include "scenario.h"

namespace perftest {

class Bench {
 public:
  Bench() = default;
  Bench(const Bench&) = delete;
  Bench& operator=(const Bench&) = delete;
  virtual ~Bench() = default;

  // Runs op number `index`; returns its latency (post to last completion).
  // With the odp-prefetch registration, an op `since_event` (one that
  // touches slots the last event invalidated: fewer than OpsToCoverMr()
  // ops after it) first prefetches its slots, inside the latency. Throws
  // ibodp::Error on a failed completion or a timeout.
  virtual std::chrono::nanoseconds RunOp(uint64_t index, bool since_event) = 0;
  // Ops that touch every slot of the MR once.
  virtual uint64_t OpsToCoverMr() const = 0;
  // How long registering the MR under test took (ibv_reg_mr).
  virtual std::chrono::nanoseconds RegistrationTime() const = 0;

  // The scenario's memory event on the whole MR; returns how long it took.
  virtual std::chrono::nanoseconds ApplyEvent() = 0;
  // The scenario's background (background.h): Prepare() returns true when
  // it unmapped the MR's pages from the device.
  virtual bool PrepareBackground() = 0;
  virtual void StartBackground() = 0;
  virtual void StopBackground() = 0;

  // The responder's counters (sources.h): Begin, then End for the deltas
  // with the primary source first; Peek for the primary source's values
  // since Begin.
  virtual void BeginCounting() = 0;
  virtual std::vector<Counters> EndCounting() = 0;
  virtual ibodp::CounterValues PeekCounters() = 0;
};

// Sets up a scenario: throws ibodp::Unsupported when the device cannot run
// it and ibodp::Error for any other failure.
using BenchFactory =
    std::function<std::unique_ptr<Bench>(const Scenario& scenario)>;

}  // namespace perftest

#endif  // PERFTEST_BENCH_H_
