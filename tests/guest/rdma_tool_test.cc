// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// The per-MR ODP statistics that 'rdma stat show mr' prints (iproute2),
// as mlx5 has them and rxe with the ibodp counter patch: the warmed MR
// shows its faults, and a soft-dirty clear shows up as the pages it kept
// (IBODP_EXPECT_KEEP=1) or dropped (0). A kernel without the counters
// skips under IBODP_EXPECT_KEEP=0 and fails under 1.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "ibodp/softdirty.h"
#include "odp_fixture.h"

namespace ibodp {
namespace {

using nlohmann::json;

// stdout of `command` parsed as JSON; fails the test on a bad exit status.
json RdmaJson(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "popen " << command;
    return json::array();
  }
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) {
    out.append(buf.data(), n);
  }
  const int status = pclose(pipe);
  EXPECT_EQ(status, 0) << command << " printed: " << out;
  return json::parse(out, nullptr, /*allow_exceptions=*/false);
}

class RdmaStatMr : public guest::OdpFixture {
 protected:
  void SetUp() override {
    IBODP_REQUIRE(keeps_ = guest::RequireExpectKeep());
    if (access("/usr/bin/rdma", X_OK) != 0 && access("/sbin/rdma", X_OK) != 0) {
      GTEST_SKIP() << "no rdma tool (Debian package iproute2)";
    }
    guest::OdpFixture::SetUp();
  }

  // This process's entry of the remote MR in 'rdma stat show mr'.
  json RemoteMrStats() {
    std::ostringstream rkey;
    rkey << std::hex << remote_mr_->rkey;
    int64_t mrn = -1;
    for (const auto& mr : RdmaJson("rdma -j res show mr")) {
      if (mr.value("rkey", "") == rkey.str() &&
          mr.value("pid", -1) == getpid()) {
        mrn = mr.value("mrn", -1);
      }
    }
    EXPECT_GE(mrn, 0) << "no MR with rkey " << rkey.str() << " of pid "
                      << getpid() << " in 'rdma res show mr'";
    for (const auto& stat : RdmaJson("rdma -j stat show mr")) {
      if (stat.value("mrn", -2) == mrn) {
        return stat;
      }
    }
    ADD_FAILURE() << "mrn " << mrn << " missing in 'rdma stat show mr'";
    return json::object();
  }

  bool keeps_ = false;
};

TEST_F(RdmaStatMr, ShowsFaultsAndWhatSoftDirtyKept) {
  const json warm = RemoteMrStats();
  if (!warm.contains("page_faults")) {
    if (keeps_) {
      FAIL() << "the patched kernel must show ODP counters per MR: " << warm;
    }
    GTEST_SKIP() << "no ODP counters in 'rdma stat show mr' for rxe: the "
                    "kernel lacks the ibodp rxe counter patch";
  }
  // The fixture's warm-up WRITE faulted every page once; its READ none.
  EXPECT_EQ(warm.value("page_faults", 0), kPages) << warm;
  ClearSoftDirty();
  ASSERT_EQ(Read(0, Bytes()).status, IBV_WC_SUCCESS);
  const json after = RemoteMrStats();
  // Valid pages: the clear finds all kPages mapped, and keeps them
  // read-only or drops them.
  const uint64_t kept = keeps_ ? kPages : 0;
  const auto delta = [&](const char* name) {
    return after.value(name, uint64_t{0}) - warm.value(name, uint64_t{0});
  };
  EXPECT_EQ(delta("page_write_protections"), kept) << warm << after;
  EXPECT_EQ(delta("page_invalidations"), kPages - kept) << warm << after;
  EXPECT_EQ(delta("page_invalidations_handled"), 1u) << warm << after;
  EXPECT_EQ(after.value("page_faults", 0), 2 * kPages - kept) << after;
}

}  // namespace
}  // namespace ibodp
