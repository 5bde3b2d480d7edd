// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "ibodp/work.h"

#include <string>
#include <string_view>

#include "ibodp/error.h"

namespace ibodp {

namespace {

// A signaled send work request with one SGE; the caller fills in the
// opcode's own fields.
ibv_send_wr SignaledWr(ibv_sge* sge, ibv_wr_opcode opcode, uint64_t wr_id) {
  ibv_send_wr wr = {};
  wr.wr_id = wr_id;
  wr.sg_list = sge;
  wr.num_sge = 1;
  wr.opcode = opcode;
  wr.send_flags = IBV_SEND_SIGNALED;
  return wr;
}

// Posts wr; `what` names it in the error, built only on failure.
template <typename What>
void PostSend(ibv_qp* qp, ibv_send_wr& wr, What what) {
  ibv_send_wr* bad = nullptr;
  const int rc = ibv_post_send(qp, &wr, &bad);
  if (rc != 0) {
    ThrowErrno("ibv_post_send(" + what() + ")", rc);
  }
}

}  // namespace

void PostRdma(ibv_qp* qp, ibv_wr_opcode opcode, const ibv_sge& local,
              const RemoteBuffer& remote, uint64_t wr_id) {
  ibv_sge sge = local;
  ibv_send_wr wr = SignaledWr(&sge, opcode, wr_id);
  wr.wr.rdma.remote_addr = remote.addr;
  wr.wr.rdma.rkey = remote.rkey;
  PostSend(qp, wr, [&] {
    return OpcodeName(opcode) + ", " + std::to_string(local.length) + " bytes";
  });
}

void PostFetchAdd(ibv_qp* qp, const ibv_sge& local, const RemoteBuffer& remote,
                  uint64_t add, uint64_t wr_id) {
  ibv_sge sge = local;
  ibv_send_wr wr = SignaledWr(&sge, IBV_WR_ATOMIC_FETCH_AND_ADD, wr_id);
  wr.wr.atomic.remote_addr = remote.addr;
  wr.wr.atomic.compare_add = add;
  wr.wr.atomic.rkey = remote.rkey;
  PostSend(qp, wr, [] { return std::string("ATOMIC_FETCH_AND_ADD"); });
}

void PostRecv(ibv_qp* qp, const ibv_sge& local, uint64_t wr_id) {
  ibv_sge sge = local;
  ibv_recv_wr wr = {};
  wr.wr_id = wr_id;
  wr.sg_list = &sge;
  wr.num_sge = 1;
  ibv_recv_wr* bad = nullptr;
  const int rc = ibv_post_recv(qp, &wr, &bad);
  if (rc != 0) {
    ThrowErrno("ibv_post_recv(QP " + std::to_string(qp->qp_num) + ", " +
                   std::to_string(local.length) + " bytes)",
               rc);
  }
}

void PostUdSend(ibv_qp* qp, ibv_ah* ah, uint32_t remote_qpn, uint32_t qkey,
                const ibv_sge& local, uint64_t wr_id) {
  ibv_sge sge = local;
  ibv_send_wr wr = SignaledWr(&sge, IBV_WR_SEND, wr_id);
  wr.wr.ud.ah = ah;
  wr.wr.ud.remote_qpn = remote_qpn;
  wr.wr.ud.remote_qkey = qkey;
  PostSend(qp, wr, [&] {
    return "UD SEND to QP " + std::to_string(remote_qpn) + ", " +
           std::to_string(local.length) + " bytes";
  });
}

ibv_wc PollOne(ibv_cq* cq, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  ibv_wc wc = {};
  for (;;) {
    const int n = ibv_poll_cq(cq, 1, &wc);
    if (n < 0) {
      throw Error("ibv_poll_cq failed with " + std::to_string(n));
    }
    if (n == 1) {
      return wc;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      throw Error("no completion within " + std::to_string(timeout.count()) +
                  " ms: the device or its kernel driver stopped progressing");
    }
  }
}

void RequireSuccess(const ibv_wc& wc, std::string_view what) {
  if (wc.status != IBV_WC_SUCCESS) {
    throw Error(std::string(what) + ": completion status " +
                ibv_wc_status_str(wc.status) + " (" +
                std::to_string(wc.status) + "), vendor error " +
                std::to_string(wc.vendor_err));
  }
}

void RdmaSync(ibv_qp* qp, ibv_cq* cq, ibv_wr_opcode opcode,
              const ibv_sge& local, const RemoteBuffer& remote,
              std::chrono::milliseconds timeout) {
  PostRdma(qp, opcode, local, remote, /*wr_id=*/1);
  RequireSuccess(PollOne(cq, timeout), OpcodeName(opcode));
}

std::string OpcodeName(ibv_wr_opcode opcode) {
  switch (opcode) {
    case IBV_WR_RDMA_READ:
      return "RDMA READ";
    case IBV_WR_RDMA_WRITE:
      return "RDMA WRITE";
    case IBV_WR_SEND:
      return "SEND";
    case IBV_WR_ATOMIC_FETCH_AND_ADD:
      return "ATOMIC FETCH_AND_ADD";
    case IBV_WR_ATOMIC_CMP_AND_SWP:
      return "ATOMIC CMP_AND_SWP";
    default:
      return "opcode " + std::to_string(opcode);
  }
}

}  // namespace ibodp
