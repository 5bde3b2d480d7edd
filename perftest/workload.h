// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// The verbs objects of one scenario and its measured operation. Setup
// (device, PD, loopback RC pair, buffers, MRs) happens in the constructor;
// RunOp() is the timed fast path and allocates nothing.
//
// An op posts `pages` work requests of msg_size bytes, one per slot: slots
// are page-aligned, round_up(msg_size, page) bytes apart, and successive
// ops move on through the MR, wrapping at its end. The "remote" side of
// every op is the MR under test (ODP, or pinned for the pinned
// registration): READ reads from it, WRITE and SEND (into RECVs posted on
// it) write to it, fetch-add updates 8 bytes of it. The local side is
// pinned memory.
#ifndef PERFTEST_WORKLOAD_H_
#define PERFTEST_WORKLOAD_H_

#include <infiniband/verbs.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ibodp/device.h"
#include "ibodp/events.h"
#include "ibodp/loopback.h"
#include "ibodp/mapping.h"
#include "ibodp/unique_fd.h"
#include "ibodp/verbs.h"
#include "scenario.h"

namespace perftest {

class Workload {
 public:
  // Throws ibodp::Unsupported when `dev` lacks ODP for the op, and
  // ibodp::Error for any other setup failure.
  Workload(const ibodp::Device& dev, const Scenario& scenario,
           std::chrono::milliseconds timeout);
  Workload(const Workload&) = delete;
  Workload& operator=(const Workload&) = delete;

  // Runs op number `index`; returns its latency (post to last completion).
  // With the odp-prefetch registration, an op `since_event` (one that
  // touches slots the last event invalidated: fewer than OpsToCoverMr()
  // ops after it) first prefetches its slots, inside the latency. Throws
  // ibodp::Error on a failed completion or a timeout.
  std::chrono::nanoseconds RunOp(uint64_t index, bool since_event = false);

  // How long registering the MR under test took (ibv_reg_mr).
  std::chrono::nanoseconds RegistrationTime() const {
    return registration_time_;
  }

  // The range the memory events act on: the whole ODP MR.
  ibodp::EventTarget Target() const;
  // Bytes an op moves.
  uint64_t BytesPerOp() const;
  // Ops that touch every slot of the MR once: the least warm-up that
  // leaves no page of the MR unmapped.
  uint64_t OpsToCoverMr() const;

 private:
  using Clock = std::chrono::steady_clock;
  // Empty polls between two reads of the clock for the timeout.
  static constexpr uint32_t kEmptyPollsPerClockRead = 1024;

  // Setup: the send and receive chains of an op, built once; an op only
  // retargets them at its slots (Retarget) before posting them.
  void BuildRequests();
  void Retarget(uint64_t first_slot);
  void PostRecvs();
  void PostSends();
  // ibv_advise_mr of the slots Retarget() chose, waiting until mapped.
  void Prefetch();
  // Polls until `expected` completions; throws on a failed one or when
  // the op has run longer than the timeout since `start`.
  void Poll(int expected, Clock::time_point start);

  Scenario scenario_;
  std::chrono::milliseconds timeout_;
  uint64_t stride_ = 0;
  uint64_t slots_ = 0;
  std::chrono::nanoseconds registration_time_{0};
  // Declared in creation order: teardown runs in reverse.
  ibodp::ProtectionDomain pd_;
  std::unique_ptr<ibodp::LoopbackRcPair> pair_;
  ibodp::Mapping local_;
  // The msync event's backing file, or -1.
  ibodp::UniqueFd remote_fd_;
  ibodp::Mapping remote_;
  ibodp::MemoryRegion local_mr_;
  ibodp::MemoryRegion remote_mr_;
  std::vector<ibv_sge> sges_;
  std::vector<ibv_send_wr> wrs_;
  std::vector<ibv_recv_wr> recvs_;
  std::vector<ibv_sge> recv_sges_;
  // The slots of the MR under test an op touches, for Prefetch().
  std::vector<ibv_sge> prefetch_sges_;
  std::vector<ibv_wc> wcs_;
};

}  // namespace perftest

#endif  // PERFTEST_WORKLOAD_H_
