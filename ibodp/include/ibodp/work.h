// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// Posting work requests and polling completions from one thread.
#ifndef IBODP_WORK_H_
#define IBODP_WORK_H_

#include <infiniband/verbs.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace ibodp {

struct RemoteBuffer {
  uint64_t addr = 0;
  uint32_t rkey = 0;
};

// Posts one signaled RDMA READ or WRITE of `local` to or from `remote`.
void PostRdma(ibv_qp* qp, ibv_wr_opcode opcode, const ibv_sge& local,
              const RemoteBuffer& remote, uint64_t wr_id);

// Posts a signaled 8-byte ATOMIC_FETCH_AND_ADD of `add` to remote.addr
// (8-byte aligned); the old value lands in `local` (8 bytes). Throws Error
// naming the post on failure.
void PostFetchAdd(ibv_qp* qp, const ibv_sge& local, const RemoteBuffer& remote,
                  uint64_t add, uint64_t wr_id);

// Posts one receive of `local` (for UD, the first 40 bytes take the GRH).
void PostRecv(ibv_qp* qp, const ibv_sge& local, uint64_t wr_id);

// Posts one signaled UD SEND of `local` through `ah` to QP `remote_qpn`.
void PostUdSend(ibv_qp* qp, ibv_ah* ah, uint32_t remote_qpn, uint32_t qkey,
                const ibv_sge& local, uint64_t wr_id);

// Busy-polls `cq` until one completion arrives. Returns it whatever its
// status; throws Error on a poll failure or after `timeout`.
ibv_wc PollOne(ibv_cq* cq, std::chrono::milliseconds timeout);

// Throws Error("<what>: completion status <name> (<n>), vendor error ...")
// unless `wc` succeeded. Allocates nothing when it did, so that polling
// loops may call it per completion.
void RequireSuccess(const ibv_wc& wc, std::string_view what);

// Posts, waits and requires success: one synchronous RDMA operation.
void RdmaSync(ibv_qp* qp, ibv_cq* cq, ibv_wr_opcode opcode,
              const ibv_sge& local, const RemoteBuffer& remote,
              std::chrono::milliseconds timeout);

std::string OpcodeName(ibv_wr_opcode opcode);

}  // namespace ibodp

#endif  // IBODP_WORK_H_
