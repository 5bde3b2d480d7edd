// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "ibodp/loopback.h"

#include <cerrno>
#include <string>

#include "ibodp/error.h"

namespace ibodp {
namespace {

constexpr uint32_t kInitialPsn = 0x1234;

constexpr const char* QpTypeName(ibv_qp_type type) {
  return type == IBV_QPT_UD ? "UD" : "RC";
}

QueuePair CreateQp(const Device& dev, ibv_pd* pd, ibv_cq* cq, ibv_qp_type type,
                   const LoopbackOptions& opts) {
  ibv_qp_init_attr init = {};
  init.send_cq = cq;
  init.recv_cq = cq;
  init.qp_type = type;
  init.sq_sig_all = 0;
  init.cap.max_send_wr = opts.max_send_wr;
  init.cap.max_recv_wr = opts.max_recv_wr;
  init.cap.max_send_sge = 1;
  init.cap.max_recv_sge = 1;
  QueuePair qp(ibv_create_qp(pd, &init));
  if (!qp) {
    ThrowErrno("ibv_create_qp(" + dev.name() + ", " + QpTypeName(type) +
                   ", send_wr " + std::to_string(opts.max_send_wr) + ")",
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
  attr.min_rnr_timer = kMinRnrTimer;
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

// UD: INIT with the qkey, RTR, RTS; no peer, the AH addresses each send.
void ActivateUd(ibv_qp* qp, const LoopbackOptions& opts, uint32_t qkey) {
  ibv_qp_attr attr = {};
  attr.qp_state = IBV_QPS_INIT;
  attr.pkey_index = 0;
  attr.port_num = opts.port_num;
  attr.qkey = qkey;
  Modify(qp, &attr,
         IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_QKEY, "INIT");
  attr = {};
  attr.qp_state = IBV_QPS_RTR;
  Modify(qp, &attr, IBV_QP_STATE, "RTR");
  attr = {};
  attr.qp_state = IBV_QPS_RTS;
  attr.sq_psn = kInitialPsn;
  Modify(qp, &attr, IBV_QP_STATE | IBV_QP_SQ_PSN, "RTS");
}

ibv_gid RequireGid(const Device& dev, const LoopbackOptions& opts) {
  const ibv_gid gid = QueryGid(dev, opts.port_num, opts.gid_index);
  if (IsZeroGid(gid)) {
    throw Error("GID " + std::to_string(opts.gid_index) + " of " + dev.name() +
                " port " + std::to_string(opts.port_num) +
                " is empty: the netdev has no address yet (for RoCE, wait "
                "for its IPv6 link-local address) or pick another GID index");
  }
  return gid;
}

int CqDepth(const LoopbackOptions& opts) {
  return static_cast<int>(2 * (opts.max_send_wr + opts.max_recv_wr));
}

uint32_t MtuBytes(ibv_mtu mtu) { return 128U << static_cast<unsigned>(mtu); }

}  // namespace

LoopbackRcPair::LoopbackRcPair(const Device& dev, ibv_pd* pd,
                               const LoopbackOptions& opts)
    : port_(QueryPort(dev, opts.port_num)) {
  RequireActivePort(dev, port_);
  const ibv_gid gid = RequireGid(dev, opts);
  cq_ = CreateCq(dev, CqDepth(opts));
  a_ = CreateQp(dev, pd, cq_.get(), IBV_QPT_RC, opts);
  b_ = CreateQp(dev, pd, cq_.get(), IBV_QPT_RC, opts);
  Connect(a_.get(), b_->qp_num, gid, port_.active_mtu, opts);
  Connect(b_.get(), a_->qp_num, gid, port_.active_mtu, opts);
}

LoopbackUdPair::LoopbackUdPair(const Device& dev, ibv_pd* pd,
                               const LoopbackOptions& opts)
    : port_(QueryPort(dev, opts.port_num)),
      max_payload_(MtuBytes(port_.active_mtu)) {
  RequireActivePort(dev, port_);
  const ibv_gid gid = RequireGid(dev, opts);
  cq_ = CreateCq(dev, CqDepth(opts));
  a_ = CreateQp(dev, pd, cq_.get(), IBV_QPT_UD, opts);
  b_ = CreateQp(dev, pd, cq_.get(), IBV_QPT_UD, opts);
  ActivateUd(a_.get(), opts, kQkey);
  ActivateUd(b_.get(), opts, kQkey);
  ibv_ah_attr ah = {};
  ah.is_global = 1;
  ah.grh.dgid = gid;
  ah.grh.sgid_index = static_cast<uint8_t>(opts.gid_index);
  ah.grh.hop_limit = 1;
  ah.port_num = opts.port_num;
  ah_.reset(ibv_create_ah(pd, &ah));
  if (!ah_) {
    ThrowErrno("ibv_create_ah(" + dev.name() + " port " +
                   std::to_string(opts.port_num) + " GID index " +
                   std::to_string(opts.gid_index) + ")",
               errno);
  }
}

}  // namespace ibodp
