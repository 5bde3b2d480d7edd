// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "workload.h"

#include "ibodp/caps.h"
#include "ibodp/error.h"

namespace perftest {

uint32_t RequiredOdpCaps(Op op) {
  switch (op) {
    case Op::kRead:
      return IBV_ODP_SUPPORT_READ;
    case Op::kWrite:
      return IBV_ODP_SUPPORT_WRITE;
    case Op::kSend:
      return IBV_ODP_SUPPORT_SEND | IBV_ODP_SUPPORT_RECV;
    case Op::kFetchAdd:
      return IBV_ODP_SUPPORT_ATOMIC;
  }
  return 0;
}

Workload::Workload(const ibodp::Device& dev, const Scenario& scenario,
                   CounterSources& sources, std::chrono::milliseconds timeout)
    : scenario_(scenario),
      layout_(scenario_),
      sources_(sources),
      timeout_(timeout),
      local_(ibodp::Mapping::Anonymous(1)) {
  ibodp::RequireOdp(ibodp::QueryOdpCaps(dev), ibodp::Transport::kRc,
                    RequiredOdpCaps(scenario.op), dev.name());
  pd_ = ibodp::AllocPd(dev);
  ibodp::LoopbackOptions opts;
  opts.max_send_wr = static_cast<uint32_t>(scenario.pages);
  opts.max_recv_wr = static_cast<uint32_t>(scenario.pages);
  opts.max_rd_atomic = 16;
  pair_ = std::make_unique<ibodp::LoopbackRcPair>(dev, pd_.get(), opts);
  local_ = ibodp::Mapping::Anonymous(scenario.pages * layout_.stride());
  local_mr_ =
      ibodp::RegisterMr(pd_.get(), local_.data(), local_.size(),
                        ibodp::kFullAccess, ibodp::Registration::kPinned);
  target_ = std::make_unique<TargetMr>(pd_.get(), scenario_);
  sends_ = std::make_unique<SendChain>(
      scenario_, layout_, reinterpret_cast<uint64_t>(local_.data()),
      local_mr_->lkey, target_->rkey());
  slots_ = std::make_unique<SlotChain>(scenario_, layout_, target_->lkey());
  wcs_.resize(2 * scenario.pages);
}

std::chrono::nanoseconds Workload::RunOp(uint64_t index, bool since_event) {
  const uint64_t first_slot = layout_.FirstSlot(index);
  sends_->Retarget(target_->addr(), first_slot);
  slots_->Retarget(target_->addr(), first_slot);
  const bool send = scenario_.op == Op::kSend;
  if (send) {
    slots_->PostRecvs(pair_->b());
  }
  const auto start = std::chrono::steady_clock::now();
  if (since_event && scenario_.registration == Registration::kOdpPrefetch) {
    slots_->Prefetch(pd_.get());
  }
  sends_->Post(pair_->a());
  PollCompletions(pair_->cq(), wcs_,
                  static_cast<int>(scenario_.pages * (send ? 2 : 1)), start,
                  timeout_, scenario_);
  return std::chrono::steady_clock::now() - start;
}

}  // namespace perftest
