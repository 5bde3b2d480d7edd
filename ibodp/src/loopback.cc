// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "ibodp/loopback.h"

#include <cerrno>
#include <string>

#include "ibodp/error.h"

namespace ibodp {
namespace {

constexpr uint32_t kInitialPsn = 0x1234;

QueuePair CreateRcQp(const Device& dev, ibv_pd* pd, ibv_cq* cq,
                     const LoopbackOptions& opts) {
  ibv_qp_init_attr init = {};
  init.send_cq = cq;
  init.recv_cq = cq;
  init.qp_type = IBV_QPT_RC;
  init.sq_sig_all = 0;
  init.cap.max_send_wr = opts.max_send_wr;
  init.cap.max_recv_wr = opts.max_recv_wr;
  init.cap.max_send_sge = 1;
  init.cap.max_recv_sge = 1;
  QueuePair qp(ibv_create_qp(pd, &init));
  if (!qp) {
    ThrowErrno("ibv_create_qp(" + dev.name() + ", RC, send_wr " +
                   std::to_string(opts.max_send_wr) + ")",
               errno);
  }
  return qp;
}

void Modify(ibv_qp* qp, ibv_qp_attr* attr, int mask, const char* step) {
  const int rc = ibv_modify_qp(qp, attr, mask);
  if (rc != 0) {
    ThrowErrno(std::string("ibv_modify_qp(QP ") + std::to_string(qp->qp_num) +
                   " to " + step + ")",
               rc);
  }
}

void Connect(ibv_qp* qp, uint32_t dest_qp_num, const ibv_gid& gid, ibv_mtu mtu,
             const LoopbackOptions& opts) {
  ibv_qp_attr attr = {};
  attr.qp_state = IBV_QPS_INIT;
  attr.pkey_index = 0;
  attr.port_num = opts.port_num;
  attr.qp_access_flags = IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE |
                         IBV_ACCESS_REMOTE_ATOMIC;
  Modify(qp, &attr,
         IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS,
         "INIT");

  attr = {};
  attr.qp_state = IBV_QPS_RTR;
  attr.path_mtu = mtu;
  attr.dest_qp_num = dest_qp_num;
  attr.rq_psn = kInitialPsn;
  attr.max_dest_rd_atomic = opts.max_rd_atomic;
  attr.min_rnr_timer = 12;
  attr.ah_attr.is_global = 1;
  attr.ah_attr.grh.dgid = gid;
  attr.ah_attr.grh.sgid_index = static_cast<uint8_t>(opts.gid_index);
  attr.ah_attr.grh.hop_limit = 1;
  attr.ah_attr.port_num = opts.port_num;
  Modify(qp, &attr,
         IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
             IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER,
         "RTR");

  attr = {};
  attr.qp_state = IBV_QPS_RTS;
  attr.timeout = opts.timeout;
  attr.retry_cnt = opts.retry_cnt;
  attr.rnr_retry = opts.rnr_retry;
  attr.sq_psn = kInitialPsn;
  attr.max_rd_atomic = opts.max_rd_atomic;
  Modify(qp, &attr,
         IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
             IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC,
         "RTS");
}

}  // namespace

LoopbackRcPair::LoopbackRcPair(const Device& dev, ibv_pd* pd,
                               const LoopbackOptions& opts)
    : port_(QueryPort(dev, opts.port_num)) {
  RequireActivePort(dev, port_);
  const ibv_gid gid = QueryGid(dev, opts.port_num, opts.gid_index);
  if (IsZeroGid(gid)) {
    throw Error("GID " + std::to_string(opts.gid_index) + " of " + dev.name() +
                " port " + std::to_string(opts.port_num) +
                " is empty: the netdev has no address yet (for RoCE, wait "
                "for its IPv6 link-local address) or pick another GID index");
  }
  const int depth = static_cast<int>(2 * (opts.max_send_wr + opts.max_recv_wr));
  cq_ = CreateCq(dev, depth);
  a_ = CreateRcQp(dev, pd, cq_.get(), opts);
  b_ = CreateRcQp(dev, pd, cq_.get(), opts);
  Connect(a_.get(), b_->qp_num, gid, port_.active_mtu, opts);
  Connect(b_.get(), a_->qp_num, gid, port_.active_mtu, opts);
}

}  // namespace ibodp
