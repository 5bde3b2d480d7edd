// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// Queue pairs of one process connected to each other through the device's
// own GID: no sockets, no second process, one polling thread. RC for RDMA
// READ, WRITE, atomics and SEND; UD for datagram SEND.
#ifndef IBODP_LOOPBACK_H_
#define IBODP_LOOPBACK_H_

#include <infiniband/verbs.h>

#include <cstddef>
#include <cstdint>

#include "ibodp/device.h"
#include "ibodp/verbs.h"

namespace ibodp {

struct LoopbackOptions {
  uint8_t port_num = 1;
  int gid_index = 0;
  uint32_t max_send_wr = 64;
  uint32_t max_recv_wr = 64;
  uint8_t max_rd_atomic = 1;
  // Retry counts for RC; 7 means "retry forever" for rnr_retry.
  uint8_t retry_cnt = 7;
  uint8_t rnr_retry = 7;
  uint8_t timeout = 14;
};

class LoopbackRcPair {
 public:
  // Creates one CQ shared by both QPs and connects a <-> b. Throws Error
  // naming the transition and the port state when a step fails.
  LoopbackRcPair(const Device& dev, ibv_pd* pd, const LoopbackOptions& opts);

  ibv_qp* a() const { return a_.get(); }
  ibv_qp* b() const { return b_.get(); }
  ibv_cq* cq() const { return cq_.get(); }
  const PortInfo& port() const { return port_; }

 private:
  PortInfo port_;
  // Declared in creation order: the QPs are destroyed before their CQ.
  CompletionQueue cq_;
  QueuePair a_;
  QueuePair b_;
};

// Two UD queue pairs of one process and an address handle to the device's
// own GID: a datagram sent from a() with ah() to b()'s QP number and
// qkey() arrives at b(). Receive buffers need kGrhBytes in front of the
// payload for the GRH the device writes there.
class LoopbackUdPair {
 public:
  static constexpr uint32_t kQkey = 0x11111111;
  static constexpr size_t kGrhBytes = 40;

  // Throws Error naming the step (QP creation, each transition, the AH)
  // when one fails; Unsupported is the caller's check (RequireOdp on
  // Transport::kUd) before building the pair.
  LoopbackUdPair(const Device& dev, ibv_pd* pd, const LoopbackOptions& opts);

  ibv_qp* a() const { return a_.get(); }
  ibv_qp* b() const { return b_.get(); }
  ibv_cq* cq() const { return cq_.get(); }
  ibv_ah* ah() const { return ah_.get(); }
  uint32_t qkey() const { return kQkey; }
  // The largest UD payload: the port's active MTU in bytes.
  uint32_t max_payload() const { return max_payload_; }

 private:
  PortInfo port_;
  uint32_t max_payload_ = 0;
  // Declared in creation order: AH and QPs are destroyed before the CQ.
  CompletionQueue cq_;
  QueuePair a_;
  QueuePair b_;
  AddressHandle ah_;
};

}  // namespace ibodp

#endif  // IBODP_LOOPBACK_H_
