// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// ibodp::CmConnection: rdma_cm connects the RDMA device to itself through
// its netdev's IPv6 link-local address (the passive side in a thread, the
// active side in the test), and an RDMA WRITE and READ over the connection
// reach the ODP MR whose address and rkey the passive side's reply
// carried.
#include "ibodp/cm.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ibodp/error.h"
#include "ibodp/mapping.h"
#include "ibodp/verbs.h"
#include "ibodp/work.h"
#include "odp_fixture.h"

namespace ibodp::guest {
namespace {

constexpr std::chrono::milliseconds kTimeout{10000};
constexpr std::array<uint8_t, 5> kHello = {'h', 'e', 'l', 'l', 'o'};

// The netdev of the device's port 1 ("dummy0"), from its GID table.
std::string Netdev(const std::string& device) {
  const std::string path =
      "/sys/class/infiniband/" + device + "/ports/1/gid_attrs/ndevs/0";
  std::ifstream in(path);
  std::string name;
  if (!std::getline(in, name) || name.empty()) {
    throw Unsupported("no netdev in " + path +
                      ": rdma_cm needs a RoCE device with an IP address");
  }
  return name;
}

// The netdev's IPv6 link-local address with its scope: "fe80::1%dummy0".
std::string LinkLocal(const std::string& netdev) {
  ifaddrs* all = nullptr;
  if (getifaddrs(&all) != 0) {
    ThrowErrno("getifaddrs", errno);
  }
  const std::unique_ptr<ifaddrs, decltype(&freeifaddrs)> owner(all,
                                                               freeifaddrs);
  for (const ifaddrs* a = all; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET6 ||
        netdev != a->ifa_name) {
      continue;
    }
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a->ifa_addr);
    if (IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr)) {
      char text[INET6_ADDRSTRLEN] = {};
      inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
      return std::string(text) + "%" + netdev;
    }
  }
  throw Unsupported(netdev + " has no IPv6 link-local address");
}

class CmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string device = DeviceName().empty() ? "rxe0" : DeviceName();
    IBODP_REQUIRE(peer_ = LinkLocal(Netdev(device)));
  }

  CmOptions Options(uint16_t port) const {
    CmOptions opts;
    opts.port = port;
    opts.timeout = kTimeout;
    return opts;
  }

  std::string peer_;
};

// perftest --server's set-ups: a connect request left over from one its
// client gave up on is rejected, and the listener goes on to take the one
// it waits for.
TEST_F(CmTest, ListenerRejectsARequestThatIsNotTheOneItWaitsFor) {
  const CmOptions opts = Options(18604);
  CmListener listener(opts.port);
  constexpr std::array<uint8_t, 1> kWanted = {1};
  constexpr std::array<uint8_t, 1> kStale = {2};
  auto passive = std::async(std::launch::async,
                            [&] { return listener.Accept(opts, {}, kWanted); });
  EXPECT_THROW(CmConnection::Connect(peer_, opts, kStale), Error);
  const std::unique_ptr<CmConnection> active =
      CmConnection::Connect(peer_, opts, kWanted);
  ASSERT_EQ(passive.wait_for(kTimeout), std::future_status::ready)
      << "the listener did not take the request it waits for";
  const std::unique_ptr<CmConnection> server = passive.get();
  ASSERT_FALSE(server->peer_data().empty());
  EXPECT_EQ(server->peer_data()[0], 1);
}

TEST_F(CmTest, ConnectsToItselfAndMovesDataToAnOdpMr) {
  const CmOptions opts = Options(18601);
  Mapping remote = Mapping::Anonymous(2 * PageSize());
  std::memset(remote.data(), 0, remote.size());
  // The passive side in a thread; the active side retries until the
  // listener is up.
  auto passive = std::async(std::launch::async,
                            [&opts] { return CmConnection::Accept(opts, {}); });
  std::unique_ptr<CmConnection> active;
  for (int attempt = 0; !active; ++attempt) {
    try {
      active = CmConnection::Connect(peer_, opts, kHello);
    } catch (const Error& e) {
      ASSERT_LT(attempt, 20) << e.what();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  const std::unique_ptr<CmConnection> server = passive.get();
  // The request's private data reached the passive side, padded with
  // zeros to what the CM message carries; the reply's did too.
  const std::vector<uint8_t>& got = server->peer_data();
  ASSERT_GE(got.size(), kHello.size());
  EXPECT_TRUE(std::equal(kHello.begin(), kHello.end(), got.begin()));
  EXPECT_TRUE(std::all_of(got.begin() + kHello.size(), got.end(),
                          [](uint8_t b) { return b == 0; }));
  EXPECT_TRUE(std::all_of(active->peer_data().begin(),
                          active->peer_data().end(),
                          [](uint8_t b) { return b == 0; }));
  EXPECT_EQ(active->device_name(), server->device_name());
  // The passive side's MR, on the PD of the device rdma_cm chose.

  const MemoryRegion mr = RegisterMr(server->pd(), remote.data(), remote.size(),
                                     kFullAccess, Registration::kOdp);
  Mapping local = Mapping::Anonymous(PageSize());
  const MemoryRegion local_mr =
      RegisterMr(active->pd(), local.data(), local.size(), kFullAccess,
                 Registration::kPinned);
  const RemoteBuffer target{reinterpret_cast<uint64_t>(remote.data()),
                            mr->rkey};
  const ibv_sge sge{reinterpret_cast<uint64_t>(local.data()), 64,
                    local_mr->lkey};
  std::memset(local.data(), 0xa5, 64);
  RdmaSync(active->qp(), active->cq(), IBV_WR_RDMA_WRITE, sge, target,
           kTimeout);
  EXPECT_EQ(remote.bytes()[0], 0xa5);
  EXPECT_EQ(remote.bytes()[63], 0xa5);
  remote.bytes()[1] = 0x3c;
  std::memset(local.data(), 0, 64);
  RdmaSync(active->qp(), active->cq(), IBV_WR_RDMA_READ, sge, target, kTimeout);
  EXPECT_EQ(local.data()[1], 0x3c);
}

TEST_F(CmTest, AConnectThatNobodyAcceptsNamesThePeerAndTheEvent) {
  try {
    CmConnection::Connect(peer_, Options(18602), {});
    FAIL() << "connected to a port nobody listens on";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("connecting to " + peer_ + " port 18602"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("RDMA_CM_EVENT_REJECTED"), std::string::npos) << what;
  }
}

TEST_F(CmTest, PrivateDataBeyondWhatRoceCarriesIsRefused) {
  const std::vector<uint8_t> big(kCmPrivateDataBytes + 1);
  try {
    CmConnection::Connect(peer_, Options(18603), big);
    FAIL() << "57 bytes of private data were accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("carries at most 56"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace ibodp::guest
