// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "ibodp/caps.h"

#include <gtest/gtest.h>

#include <string>

#include "ibodp/error.h"

namespace ibodp {
namespace {

ibv_device_attr_ex RxeLikeAttr() {
  ibv_device_attr_ex attr = {};
  attr.odp_caps.general_caps = IBV_ODP_SUPPORT;
  attr.odp_caps.per_transport_caps.rc_odp_caps =
      IBV_ODP_SUPPORT_SEND | IBV_ODP_SUPPORT_RECV | IBV_ODP_SUPPORT_WRITE |
      IBV_ODP_SUPPORT_READ | IBV_ODP_SUPPORT_ATOMIC | IBV_ODP_SUPPORT_SRQ_RECV;
  attr.odp_caps.per_transport_caps.ud_odp_caps =
      IBV_ODP_SUPPORT_SEND | IBV_ODP_SUPPORT_RECV;
  return attr;
}

TEST(OdpCaps, ReadsEveryField) {
  ibv_device_attr_ex attr = RxeLikeAttr();
  attr.odp_caps.general_caps |= IBV_ODP_SUPPORT_IMPLICIT;
  attr.odp_caps.per_transport_caps.uc_odp_caps = IBV_ODP_SUPPORT_WRITE;
  attr.xrc_odp_caps = IBV_ODP_SUPPORT_SRQ_RECV;
  const OdpCaps caps = OdpCapsFromAttr(attr);
  EXPECT_TRUE(caps.odp);
  EXPECT_TRUE(caps.implicit_odp);
  EXPECT_EQ(caps.For(Transport::kRc), 0x3fu);
  EXPECT_EQ(caps.For(Transport::kUc),
            static_cast<uint32_t>(IBV_ODP_SUPPORT_WRITE));
  EXPECT_EQ(caps.For(Transport::kUd),
            static_cast<uint32_t>(IBV_ODP_SUPPORT_SEND | IBV_ODP_SUPPORT_RECV));
  EXPECT_EQ(caps.For(Transport::kXrc),
            static_cast<uint32_t>(IBV_ODP_SUPPORT_SRQ_RECV));
}

TEST(OdpCaps, NoOdpWhenGeneralBitClear) {
  ibv_device_attr_ex attr = RxeLikeAttr();
  attr.odp_caps.general_caps = 0;
  EXPECT_FALSE(OdpCapsFromAttr(attr).odp);
}

TEST(OdpCaps, Describe) {
  EXPECT_EQ(DescribeOdpCaps(OdpCapsFromAttr(RxeLikeAttr())),
            "ODP yes, implicit no; RC: SEND RECV WRITE READ ATOMIC SRQ_RECV; "
            "UC: none; UD: SEND RECV; XRC: none");
}

TEST(OdpCaps, RequirePassesWhenPresent) {
  EXPECT_NO_THROW(RequireOdp(OdpCapsFromAttr(RxeLikeAttr()), Transport::kRc,
                             IBV_ODP_SUPPORT_READ | IBV_ODP_SUPPORT_WRITE,
                             "rxe0"));
}

TEST(OdpCaps, RequireNamesMissingOperations) {
  try {
    RequireOdp(OdpCapsFromAttr(RxeLikeAttr()), Transport::kUd,
               IBV_ODP_SUPPORT_SEND | IBV_ODP_SUPPORT_WRITE, "rxe0");
    FAIL() << "RequireOdp accepted UD WRITE";
  } catch (const Unsupported& e) {
    EXPECT_EQ(std::string(e.what()),
              "device rxe0 has no ODP support for UD WRITE; its UD ODP caps "
              "are: SEND RECV");
  }
}

TEST(OdpCaps, RequireNamesMissingGeneralSupport) {
  ibv_device_attr_ex attr = RxeLikeAttr();
  attr.odp_caps.general_caps = 0;
  try {
    RequireOdp(OdpCapsFromAttr(attr), Transport::kRc, IBV_ODP_SUPPORT_READ,
               "mlx4_0");
    FAIL() << "RequireOdp accepted a device without ODP";
  } catch (const Unsupported& e) {
    EXPECT_NE(std::string(e.what()).find("mlx4_0 has no On-Demand Paging"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace ibodp
