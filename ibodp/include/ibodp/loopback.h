// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// Two RC queue pairs of one process connected to each other through the
// device's own GID: no sockets, no second process, one polling thread.
#ifndef IBODP_LOOPBACK_H_
#define IBODP_LOOPBACK_H_

#include <infiniband/verbs.h>

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

}  // namespace ibodp

#endif  // IBODP_LOOPBACK_H_
