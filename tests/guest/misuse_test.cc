// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// Verbs objects used in the wrong order: each gives an error (a return
// code or an error completion), never a crash or a silent success.
#include <sys/mman.h>

#include <cerrno>

#include "odp_fixture.h"

namespace ibodp::guest {
namespace {

class MisuseTest : public LoopbackFixture {
 protected:
  void SetUp() override {
    LoopbackFixture::SetUp();
    if (IsSkipped()) {
      return;
    }
    local_ = std::make_unique<Mapping>(Mapping::Anonymous(4 * PageSize()));
    local_mr_ = RegisterMr(pd_.get(), local_->data(), local_->size(),
                           kFullAccess, Registration::kPinned);
  }

  ibv_wc Read(uint32_t lkey, const void* remote, uint32_t rkey) {
    const ibv_sge sge{reinterpret_cast<uint64_t>(local_->data()), 64, lkey};
    return RdmaOp(IBV_WR_RDMA_READ, sge,
                  {reinterpret_cast<uint64_t>(remote), rkey}, 1);
  }

  std::unique_ptr<Mapping> local_;
  MemoryRegion local_mr_;
};

TEST_F(MisuseTest, DeallocPdWithAnMrRegisteredIsBusy) {
  ibv_pd* pd = ibv_alloc_pd(dev_->context());
  ASSERT_NE(pd, nullptr);
  const Mapping area = Mapping::Anonymous(PageSize());
  ibv_mr* mr = ibv_reg_mr(pd, area.data(), area.size(),
                          kFullAccess | IBV_ACCESS_ON_DEMAND);
  ASSERT_NE(mr, nullptr);
  EXPECT_EQ(ibv_dealloc_pd(pd), EBUSY);
  EXPECT_EQ(ibv_dereg_mr(mr), 0);
  EXPECT_EQ(ibv_dealloc_pd(pd), 0);
}

TEST_F(MisuseTest, DestroyCqWithQpsAttachedIsBusy) {
  EXPECT_EQ(ibv_destroy_cq(pair_->cq()), EBUSY);
  // The pair still works.
  const Mapping area = Mapping::Anonymous(PageSize());
  const MemoryRegion mr = RegisterMr(pd_.get(), area.data(), area.size(),
                                     kFullAccess, Registration::kOdp);
  EXPECT_EQ(Read(local_mr_->lkey, area.data(), mr->rkey).status,
            IBV_WC_SUCCESS);
}

TEST_F(MisuseTest, RkeyOfADeregisteredOdpMrIsARemoteAccessError) {
  const Mapping area = Mapping::Anonymous(PageSize());
  MemoryRegion mr = RegisterMr(pd_.get(), area.data(), area.size(), kFullAccess,
                               Registration::kOdp);
  const uint32_t rkey = mr->rkey;
  ASSERT_EQ(Read(local_mr_->lkey, area.data(), rkey).status, IBV_WC_SUCCESS);
  mr.reset();
  EXPECT_EQ(Read(local_mr_->lkey, area.data(), rkey).status,
            IBV_WC_REM_ACCESS_ERR);
}

TEST_F(MisuseTest, LkeyOfADeregisteredMrIsALocalProtectionError) {
  const Mapping area = Mapping::Anonymous(PageSize());
  const MemoryRegion remote = RegisterMr(pd_.get(), area.data(), area.size(),
                                         kFullAccess, Registration::kOdp);
  const uint32_t lkey = local_mr_->lkey;
  local_mr_.reset();
  const ibv_wc wc = Read(lkey, area.data(), remote->rkey);
  EXPECT_NE(wc.status, IBV_WC_SUCCESS);
  EXPECT_EQ(wc.status, IBV_WC_LOC_PROT_ERR) << ibv_wc_status_str(wc.status);
}

TEST_F(MisuseTest, OdpMrWhoseMemoryWasUnmappedGivesARemoteAccessError) {
  const size_t bytes = 4 * PageSize();
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  const MemoryRegion mr =
      RegisterMr(pd_.get(), p, bytes, kFullAccess, Registration::kOdp);
  ASSERT_EQ(Read(local_mr_->lkey, p, mr->rkey).status, IBV_WC_SUCCESS);
  ASSERT_EQ(munmap(p, bytes), 0);
  EXPECT_EQ(Read(local_mr_->lkey, p, mr->rkey).status, IBV_WC_REM_ACCESS_ERR);
}

TEST_F(MisuseTest, ZeroLengthOdpMrIsRejected) {
  const Mapping area = Mapping::Anonymous(PageSize());
  errno = 0;
  ibv_mr* mr =
      ibv_reg_mr(pd_.get(), area.data(), 0, kFullAccess | IBV_ACCESS_ON_DEMAND);
  if (mr != nullptr) {
    ibv_dereg_mr(mr);
  }
  EXPECT_EQ(mr, nullptr);
  EXPECT_EQ(errno, EINVAL);
}

TEST_F(MisuseTest, PostingOnAQpInResetFails) {
  ibv_qp_init_attr attr = {};
  attr.send_cq = pair_->cq();
  attr.recv_cq = pair_->cq();
  attr.qp_type = IBV_QPT_RC;
  attr.cap.max_send_wr = 1;
  attr.cap.max_recv_wr = 1;
  attr.cap.max_send_sge = 1;
  attr.cap.max_recv_sge = 1;
  const QueuePair qp(ibv_create_qp(pd_.get(), &attr));
  ASSERT_NE(qp.get(), nullptr);
  ibv_sge sge{reinterpret_cast<uint64_t>(local_->data()), 64, local_mr_->lkey};
  ibv_send_wr wr = {};
  wr.sg_list = &sge;
  wr.num_sge = 1;
  wr.opcode = IBV_WR_RDMA_READ;
  wr.send_flags = IBV_SEND_SIGNALED;
  ibv_send_wr* bad = nullptr;
  EXPECT_NE(ibv_post_send(qp.get(), &wr, &bad), 0)
      << "a post on a QP in RESET was accepted";
}

}  // namespace
}  // namespace ibodp::guest
