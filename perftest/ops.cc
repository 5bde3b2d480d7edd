// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "ops.h"

#include <string>

#include "ibodp/error.h"
#include "ibodp/mapping.h"
#include "ibodp/prefetch.h"
#include "ibodp/work.h"

namespace perftest {

SlotLayout::SlotLayout(const Scenario& scenario) : pages_(scenario.pages) {
  const uint64_t page = ibodp::PageSize();
  stride_ = (scenario.msg_size + page - 1) / page * page;
  slots_ = scenario.mr_size / stride_;
  if (slots_ < pages_) {
    throw ibodp::Error(scenario.Name() + ": " + std::to_string(pages_) +
                       " slots of " + FormatBytes(stride_) +
                       " do not fit the MR of " +
                       FormatBytes(scenario.mr_size));
  }
}

uint64_t SlotLayout::FirstSlot(uint64_t index) const {
  return (index * pages_) % slots_;
}

uint64_t SlotLayout::OpsToCover() const {
  return (slots_ + pages_ - 1) / pages_;
}

uint64_t SlotLayout::Address(uint64_t base, uint64_t first_slot,
                             uint64_t i) const {
  return base + ((first_slot + i) % slots_) * stride_;
}

SendChain::SendChain(const Scenario& scenario, const SlotLayout& layout,
                     uint64_t local_addr, uint32_t local_lkey,
                     uint32_t remote_rkey)
    : scenario_(scenario),
      layout_(layout),
      sges_(scenario.pages),
      wrs_(scenario.pages) {
  const uint64_t pages = scenario.pages;
  for (uint64_t i = 0; i < pages; ++i) {
    sges_[i] = {local_addr + i * layout.stride(),
                static_cast<uint32_t>(scenario.msg_size), local_lkey};
    ibv_send_wr& wr = wrs_[i];
    wr = {};
    wr.wr_id = i;
    wr.sg_list = &sges_[i];
    wr.num_sge = 1;
    wr.send_flags = IBV_SEND_SIGNALED;
    wr.next = i + 1 < pages ? &wrs_[i + 1] : nullptr;
    switch (scenario.op) {
      case Op::kRead:
        wr.opcode = IBV_WR_RDMA_READ;
        wr.wr.rdma.rkey = remote_rkey;
        break;
      case Op::kWrite:
        wr.opcode = IBV_WR_RDMA_WRITE;
        wr.wr.rdma.rkey = remote_rkey;
        break;
      case Op::kSend:
        wr.opcode = IBV_WR_SEND;
        break;
      case Op::kFetchAdd:
        wr.opcode = IBV_WR_ATOMIC_FETCH_AND_ADD;
        wr.wr.atomic.rkey = remote_rkey;
        wr.wr.atomic.compare_add = 1;
        break;
    }
  }
}

void SendChain::Retarget(uint64_t remote_base, uint64_t first_slot) {
  for (uint64_t i = 0; i < scenario_.pages; ++i) {
    const uint64_t addr = layout_.Address(remote_base, first_slot, i);
    switch (scenario_.op) {
      case Op::kRead:
      case Op::kWrite:
        wrs_[i].wr.rdma.remote_addr = addr;
        break;
      case Op::kFetchAdd:
        wrs_[i].wr.atomic.remote_addr = addr;
        break;
      case Op::kSend:
        break;
    }
  }
}

void SendChain::Post(ibv_qp* qp) {
  ibv_send_wr* bad = nullptr;
  const int rc = ibv_post_send(qp, wrs_.data(), &bad);
  if (rc != 0) {
    ibodp::ThrowErrno("ibv_post_send of " + std::to_string(scenario_.pages) +
                          " " + std::string(OpName(scenario_.op)) + " WRs",
                      rc);
  }
}

SlotChain::SlotChain(const Scenario& scenario, const SlotLayout& layout,
                     uint32_t mr_lkey)
    : scenario_(scenario),
      layout_(layout),
      sges_(scenario.pages,
            ibv_sge{0, static_cast<uint32_t>(scenario.msg_size), mr_lkey}),
      recvs_(scenario.pages) {
  const uint64_t pages = scenario.pages;
  for (uint64_t i = 0; i < pages; ++i) {
    recvs_[i] = {};
    recvs_[i].wr_id = i;
    recvs_[i].sg_list = &sges_[i];
    recvs_[i].num_sge = 1;
    recvs_[i].next = i + 1 < pages ? &recvs_[i + 1] : nullptr;
  }
}

void SlotChain::Retarget(uint64_t mr_base, uint64_t first_slot) {
  for (uint64_t i = 0; i < scenario_.pages; ++i) {
    sges_[i].addr = layout_.Address(mr_base, first_slot, i);
  }
}

void SlotChain::PostRecvs(ibv_qp* qp) {
  ibv_recv_wr* bad = nullptr;
  const int rc = ibv_post_recv(qp, recvs_.data(), &bad);
  if (rc != 0) {
    ibodp::ThrowErrno("ibv_post_recv of " + std::to_string(scenario_.pages) +
                          " RECVs on the MR under test",
                      rc);
  }
}

void SlotChain::Prefetch(ibv_pd* pd) {
  ibodp::PrefetchSges(pd, sges_,
                      scenario_.op == Op::kRead ? ibodp::PrefetchAccess::kRead
                                                : ibodp::PrefetchAccess::kWrite,
                      /*wait=*/true);
}

void PollCompletions(ibv_cq* cq, std::vector<ibv_wc>& wcs, int expected,
                     std::chrono::steady_clock::time_point start,
                     std::chrono::milliseconds timeout,
                     const Scenario& scenario) {
  // The clock is read once per this many empty polls, so that the timeout
  // costs the polling loop next to nothing.
  constexpr uint32_t kEmptyPollsPerClockRead = 1024;
  int done = 0;
  uint32_t empty = 0;
  while (done < expected) {
    const int n = ibv_poll_cq(cq, expected - done, wcs.data() + done);
    if (n < 0) {
      throw ibodp::Error("ibv_poll_cq failed (" + std::to_string(n) + ")");
    }
    for (int i = done; i < done + n; ++i) {
      ibodp::RequireSuccess(wcs[i], OpName(scenario.op));
    }
    done += n;
    if (n == 0 && ++empty % kEmptyPollsPerClockRead == 0 &&
        std::chrono::steady_clock::now() - start > timeout) {
      throw ibodp::Error(scenario.Name() + ": " + std::to_string(done) +
                         " of " + std::to_string(expected) +
                         " completions after " +
                         std::to_string(timeout.count()) +
                         " ms (timeout; raise --timeout_ms)");
    }
  }
}

}  // namespace perftest
