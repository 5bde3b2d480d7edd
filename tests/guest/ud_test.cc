// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// UD SEND/RECV with both buffers in ODP MRs, on a one-process loopback UD
// pair. Skips with the reason on a device without ODP SEND and RECV on UD.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>

#include "ibodp/caps.h"
#include "ibodp/device.h"
#include "ibodp/error.h"
#include "ibodp/loopback.h"
#include "ibodp/mapping.h"
#include "ibodp/pattern.h"
#include "ibodp/softdirty.h"
#include "ibodp/verbs.h"
#include "ibodp/work.h"
#include "odp_fixture.h"

namespace ibodp {
namespace {

constexpr std::chrono::milliseconds kTimeout{10000};
constexpr uint64_t kSendWrId = 1;
constexpr uint64_t kRecvWrId = 2;

class OdpUd : public ::testing::Test {
 protected:
  void SetUp() override {
    dev_ = std::make_unique<Device>(guest::DeviceName());
    try {
      RequireOdp(QueryOdpCaps(*dev_), Transport::kUd,
                 IBV_ODP_SUPPORT_SEND | IBV_ODP_SUPPORT_RECV, dev_->name());
    } catch (const Unsupported& e) {
      GTEST_SKIP() << e.what();
    }
    pd_ = AllocPd(*dev_);
    pair_ =
        std::make_unique<LoopbackUdPair>(*dev_, pd_.get(), LoopbackOptions{});
    payload_ = std::min<size_t>(pair_->max_payload(), PageSize());
    send_ = std::make_unique<Mapping>(Mapping::Anonymous(PageSize()));
    recv_ = std::make_unique<Mapping>(Mapping::Anonymous(2 * PageSize()));
    send_mr_ = RegisterMr(pd_.get(), send_->data(), PageSize(),
                          IBV_ACCESS_LOCAL_WRITE, Registration::kOdp);
    recv_mr_ = RegisterMr(pd_.get(), recv_->data(), 2 * PageSize(),
                          IBV_ACCESS_LOCAL_WRITE, Registration::kOdp);
  }

  // The payload lands right after the GRH, at the start of recv_'s second
  // page, so that a receive writes to exactly that page's payload bytes.
  uint8_t* RecvBase() const {
    return recv_->data() + PageSize() - LoopbackUdPair::kGrhBytes;
  }
  uint8_t* Payload() const { return recv_->data() + PageSize(); }

  // One datagram of payload_ bytes from send_ into recv_; returns the
  // receive completion after requiring the send's success.
  ibv_wc SendOne() {
    PostRecv(pair_->b(),
             {reinterpret_cast<uint64_t>(RecvBase()),
              static_cast<uint32_t>(payload_ + LoopbackUdPair::kGrhBytes),
              recv_mr_->lkey},
             kRecvWrId);
    PostUdSend(pair_->a(), pair_->ah(), pair_->b()->qp_num, pair_->qkey(),
               {reinterpret_cast<uint64_t>(send_->data()),
                static_cast<uint32_t>(payload_), send_mr_->lkey},
               kSendWrId);
    ibv_wc recv = {};
    for (int i = 0; i < 2; ++i) {
      const ibv_wc wc = PollOne(pair_->cq(), kTimeout);
      if (wc.wr_id == kSendWrId) {
        RequireSuccess(wc, "UD SEND");
      } else {
        recv = wc;
      }
    }
    return recv;
  }

  void ExpectDelivered(uint64_t seed) {
    const ibv_wc wc = SendOne();
    ASSERT_EQ(wc.status, IBV_WC_SUCCESS) << ibv_wc_status_str(wc.status);
    EXPECT_EQ(wc.byte_len, payload_ + LoopbackUdPair::kGrhBytes);
    EXPECT_EQ(wc.src_qp, pair_->a()->qp_num);
    const auto bad = FirstMismatch({Payload(), payload_}, seed);
    EXPECT_FALSE(bad.has_value())
        << "received byte " << bad.value_or(0) << " differs from what was sent";
  }

  // Creation order; destroyed in reverse (MRs, pair, PD, device).
  std::unique_ptr<Device> dev_;
  ProtectionDomain pd_;
  std::unique_ptr<LoopbackUdPair> pair_;
  size_t payload_ = 0;
  std::unique_ptr<Mapping> send_;
  std::unique_ptr<Mapping> recv_;
  MemoryRegion send_mr_;
  MemoryRegion recv_mr_;
};

TEST_F(OdpUd, SendFromOdpMrArrivesInOdpRecvBuffer) {
  FillPattern({send_->data(), payload_}, 11);
  ExpectDelivered(11);
}

// The send buffer's pages are replaced (MADV_DONTNEED, then new bytes from
// the CPU): the device must send the new bytes, not the old page's.
TEST_F(OdpUd, SendAfterDontneedCarriesTheNewBytes) {
  FillPattern({send_->data(), payload_}, 12);
  ExpectDelivered(12);
  ASSERT_EQ(madvise(send_->data(), PageSize(), MADV_DONTNEED), 0);
  FillPattern({send_->data(), payload_}, 13);
  ExpectDelivered(13);
}

// After a soft-dirty clear the receive buffer is write-protected: the
// device's write of the datagram must fault and make the page soft-dirty
// again, on a kernel that keeps pages as on one that drops them.
TEST_F(OdpUd, ReceiveAfterSoftDirtyClearMarksThePageDirty) {
  FillPattern({send_->data(), payload_}, 14);
  ExpectDelivered(14);
  ClearSoftDirty();
  ASSERT_FALSE(IsSoftDirty(Payload()));
  FillPattern({send_->data(), payload_}, 15);
  ExpectDelivered(15);
  EXPECT_TRUE(IsSoftDirty(Payload()))
      << "the device wrote a received datagram through a page table entry "
         "that a soft-dirty clear had write-protected";
}

}  // namespace
}  // namespace ibodp
