// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// First in-guest check of the lab: the device is up, reports ODP, and an
// ODP MR carries RDMA WRITE and RDMA READ between two QPs of one process
// with the bytes intact. The device is $IBODP_DEVICE, or the first one.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "ibodp/caps.h"
#include "ibodp/device.h"
#include "ibodp/error.h"
#include "ibodp/loopback.h"
#include "ibodp/mapping.h"
#include "ibodp/pattern.h"
#include "ibodp/verbs.h"
#include "ibodp/work.h"
#include "odp_fixture.h"

namespace ibodp {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kTimeout{10000};

using guest::DeviceName;

TEST(Smoke, PortIsActive) {
  Device dev(DeviceName());
  const PortInfo port = QueryPort(dev, 1);
  EXPECT_EQ(port.state, IBV_PORT_ACTIVE)
      << dev.name() << " port 1 is " << PortStateName(port.state);
  EXPECT_FALSE(IsZeroGid(QueryGid(dev, 1, 0))) << dev.name() << " has no GID 0";
}

TEST(Smoke, ReportsOdpForRcReadWrite) {
  Device dev(DeviceName());
  const OdpCaps caps = QueryOdpCaps(dev);
  RecordProperty("odp_caps", DescribeOdpCaps(caps));
  EXPECT_TRUE(caps.odp) << DescribeOdpCaps(caps);
  EXPECT_EQ(caps.rc & (IBV_ODP_SUPPORT_READ | IBV_ODP_SUPPORT_WRITE),
            static_cast<uint32_t>(IBV_ODP_SUPPORT_READ | IBV_ODP_SUPPORT_WRITE))
      << DescribeOdpCaps(caps);
}

class OdpLoopback : public guest::LoopbackFixture {
 protected:
  ibv_sge Sge(const Mapping& m, const MemoryRegion& mr, size_t offset,
              size_t length) {
    return ibv_sge{reinterpret_cast<uint64_t>(m.data() + offset),
                   static_cast<uint32_t>(length), mr->lkey};
  }

  RemoteBuffer Remote(const Mapping& m, const MemoryRegion& mr, size_t offset) {
    return RemoteBuffer{reinterpret_cast<uint64_t>(m.data() + offset),
                        mr->rkey};
  }
};

TEST_F(OdpLoopback, WriteThenReadKeepsBytes) {
  const size_t len = kPages * PageSize();
  Mapping src = Mapping::Anonymous(len);
  Mapping target = Mapping::Anonymous(len);
  Mapping back = Mapping::Anonymous(len);
  FillPattern(src.bytes(), 1);
  // The target is never touched by the CPU before the device writes it, so
  // the first RDMA WRITE must fault its pages in through ODP.
  MemoryRegion src_mr =
      RegisterMr(pd_.get(), src.data(), len, kFullAccess, Registration::kOdp);
  MemoryRegion target_mr = RegisterMr(pd_.get(), target.data(), len,
                                      kFullAccess, Registration::kOdp);
  MemoryRegion back_mr =
      RegisterMr(pd_.get(), back.data(), len, kFullAccess, Registration::kOdp);

  RdmaSync(pair_->a(), pair_->cq(), IBV_WR_RDMA_WRITE, Sge(src, src_mr, 0, len),
           Remote(target, target_mr, 0), kTimeout);
  std::optional<size_t> bad = FirstMismatch(target.bytes(), 1);
  EXPECT_FALSE(bad.has_value()) << "RDMA WRITE target differs at byte " << *bad;

  RdmaSync(pair_->b(), pair_->cq(), IBV_WR_RDMA_READ,
           Sge(back, back_mr, 0, len), Remote(target, target_mr, 0), kTimeout);
  bad = FirstMismatch(back.bytes(), 1);
  EXPECT_FALSE(bad.has_value()) << "RDMA READ result differs at byte " << *bad;
}

TEST_F(OdpLoopback, UnalignedReadAcrossPageBoundary) {
  const size_t len = kPages * PageSize();
  Mapping remote = Mapping::Anonymous(len);
  Mapping local = Mapping::Anonymous(len);
  FillPattern(remote.bytes(), 7);
  MemoryRegion remote_mr = RegisterMr(pd_.get(), remote.data(), len,
                                      kFullAccess, Registration::kOdp);
  MemoryRegion local_mr =
      RegisterMr(pd_.get(), local.data(), len, kFullAccess, Registration::kOdp);
  // 3 pages + 100 bytes starting 50 bytes before a page boundary.
  const size_t offset = PageSize() - 50;
  const size_t n = 3 * PageSize() + 100;
  RdmaSync(pair_->a(), pair_->cq(), IBV_WR_RDMA_READ,
           Sge(local, local_mr, offset, n), Remote(remote, remote_mr, offset),
           kTimeout);
  EXPECT_EQ(std::memcmp(local.data() + offset, remote.data() + offset, n), 0);
  EXPECT_EQ(local.data()[offset - 1], 0) << "READ wrote before its buffer";
  EXPECT_EQ(local.data()[offset + n], 0) << "READ wrote past its buffer";
}

}  // namespace
}  // namespace ibodp
