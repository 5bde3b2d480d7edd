// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// The work requests of a scenario's op, built once at setup so that an op
// only retargets them (no allocation on the fast path). An op posts
// `pages` work requests of msg_size bytes, one per slot: slots are page-
// aligned, round_up(msg_size, page) bytes apart in the MR under test, and
// successive ops move on through the MR, wrapping at its end. READ reads
// from the MR, WRITE and SEND (into RECVs posted on it) write to it,
// fetch-add updates 8 bytes of it. The requester's side is pinned memory.
#ifndef PERFTEST_OPS_H_
#define PERFTEST_OPS_H_

#include <infiniband/verbs.h>

#include <chrono>
#include <cstdint>
#include <vector>

#include "scenario.h"

namespace perftest {

// Where the ops' slots lie in the MR under test.
class SlotLayout {
 public:
  // Throws ibodp::Error when `pages` slots do not fit the MR.
  explicit SlotLayout(const Scenario& scenario);

  uint64_t stride() const { return stride_; }
  // The slot op number `index` starts at.
  uint64_t FirstSlot(uint64_t index) const;
  // Ops that touch every slot of the MR once: the least warm-up that
  // leaves no page of the MR unmapped.
  uint64_t OpsToCover() const;
  // The address of the i-th slot of an op that starts at first_slot, in
  // an MR at `base`.
  uint64_t Address(uint64_t base, uint64_t first_slot, uint64_t i) const;

 private:
  uint64_t pages_ = 0;
  uint64_t stride_ = 0;
  uint64_t slots_ = 0;
};

// The requester's chain: `pages` signaled WRs of the scenario's op from
// or to the local buffer (pages * stride bytes at local_addr, local_lkey).
class SendChain {
 public:
  SendChain(const Scenario& scenario, const SlotLayout& layout,
            uint64_t local_addr, uint32_t local_lkey, uint32_t remote_rkey);
  SendChain(const SendChain&) = delete;
  SendChain& operator=(const SendChain&) = delete;

  // Points READ, WRITE and fetch-add at the op's slots of the MR at
  // `remote_base`; SEND has no remote address (the RECVs choose).
  void Retarget(uint64_t remote_base, uint64_t first_slot);
  // Throws ibodp::Error naming the op when ibv_post_send fails.
  void Post(ibv_qp* qp);

 private:
  const Scenario& scenario_;
  const SlotLayout& layout_;
  std::vector<ibv_sge> sges_;
  std::vector<ibv_send_wr> wrs_;
};

// The responder's side of an op on the MR under test: the RECVs of SEND
// and the ranges ibv_advise_mr prefetches, both the op's slots.
class SlotChain {
 public:
  SlotChain(const Scenario& scenario, const SlotLayout& layout,
            uint32_t mr_lkey);
  SlotChain(const SlotChain&) = delete;
  SlotChain& operator=(const SlotChain&) = delete;

  void Retarget(uint64_t mr_base, uint64_t first_slot);
  // Posts a RECV into each slot; throws ibodp::Error when that fails.
  void PostRecvs(ibv_qp* qp);
  // ibv_advise_mr of the slots (READ: readable; other ops: writable),
  // waiting until they are mapped.
  void Prefetch(ibv_pd* pd);

 private:
  const Scenario& scenario_;
  const SlotLayout& layout_;
  std::vector<ibv_sge> sges_;
  std::vector<ibv_recv_wr> recvs_;
};

// Polls `cq` until `expected` completions have arrived in `wcs` (sized
// for them); throws ibodp::Error on a failed completion or once the op
// has run longer than `timeout` since `start`.
void PollCompletions(ibv_cq* cq, std::vector<ibv_wc>& wcs, int expected,
                     std::chrono::steady_clock::time_point start,
                     std::chrono::milliseconds timeout,
                     const Scenario& scenario);

}  // namespace perftest

#endif  // PERFTEST_OPS_H_
