// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "ibodp/device.h"

#include <gtest/gtest.h>

#include <string>

#include "ibodp/error.h"

namespace ibodp {
namespace {

TEST(Device, UnknownNameIsAClearError) {
  const std::string name = "no-such-rdma-device";
  try {
    Device dev(name);
    FAIL() << "opened " << dev.name();
  } catch (const Error& e) {
    const std::string msg = e.what();
    // Either no device at all (the lab host) or a list of what exists.
    const bool none = msg.find("no RDMA device found") != std::string::npos;
    const bool named =
        msg.find("'" + name + "' not found") != std::string::npos;
    EXPECT_TRUE(none || named) << msg;
  }
}

TEST(Device, FormatGid) {
  ibv_gid gid = {};
  gid.raw[0] = 0xfe;
  gid.raw[1] = 0x80;
  gid.raw[15] = 0x01;
  EXPECT_EQ(FormatGid(gid), "fe80:0000:0000:0000:0000:0000:0000:0001");
  EXPECT_FALSE(IsZeroGid(gid));
  EXPECT_TRUE(IsZeroGid(ibv_gid{}));
}

TEST(Device, PortStateName) {
  EXPECT_EQ(PortStateName(IBV_PORT_ACTIVE), "active");
  EXPECT_EQ(PortStateName(IBV_PORT_DOWN), "down");
}

}  // namespace
}  // namespace ibodp
