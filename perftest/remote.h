// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// Two nodes, as perftest's own users run it: perftest --server holds the
// MR under test (the responder), applies the memory events and the
// background activity to it and counts faults on its own kernel;
// perftest --client (the requester) posts the ops over an RC connection
// that rdma_cm sets up, and measures their latency. The two talk over a
// control connection (control.h) between the ops, never during one.
//
// Per scenario setup the client sends "setup" with the scenario; the
// server answers, then accepts the client's rdma_cm connection and
// registers its MR on that connection's PD; "mr" returns the MR's
// address and rkey. SEND ops ask the server to post their RECVs ("recv")
// before the op's clock starts. odp-prefetch is not offered: its prefetch
// would run in the server, outside the requester's latency.
//
// What differs from the loopback Workload: a SEND op ends at the
// requester's completion (the responder's ACK), where loopback also waits
// for the RECV's completion in the same process; a background's window
// (wall_ns) also holds the control requests between its ops (a SEND's
// "recv", a sample's "peek").
#ifndef PERFTEST_REMOTE_H_
#define PERFTEST_REMOTE_H_

#include <infiniband/verbs.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench.h"
#include "control.h"
#include "ibodp/cm.h"
#include "ibodp/device.h"
#include "ibodp/hwcounters.h"
#include "ibodp/mapping.h"
#include "ibodp/verbs.h"
#include "ops.h"
#include "report.h"
#include "scenario.h"
#include "sources.h"

namespace perftest {

// The private data of the connect request of set-up number `token` (the
// server's reply to "setup" gives it): its 8 bytes, little-endian. The
// server rejects a request with another, left over from a set-up that its
// client gave up on.
inline std::array<uint8_t, 8> TokenBytes(uint64_t token) {
  std::array<uint8_t, 8> bytes{};
  for (size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<uint8_t>(token >> (8 * i));
  }
  return bytes;
}

// How long a control request may take: an event on a large MR, or the
// set-up's fill of one, under TCG.
inline constexpr std::chrono::seconds kControlTimeout{300};

// The requester's counters of its own device, next to the server's: the
// retransmissions and RNR retries the responder's faults cost
// (hw_counters of rxe: completer_retry_err, rcvd_rnr_err, ...).
inline constexpr const char* kRequesterSource = "requester_hw_counters";

// perftest --client's side of one scenario.
class RemoteBench : public Bench {
 public:
  // Sets the scenario up in the server behind `control` and connects to it
  // through rdma_cm at `host`. Throws ibodp::Unsupported where the server
  // cannot run it, ibodp::Error for any other failure.
  RemoteBench(ControlChannel& control, const std::string& host,
              const ibodp::CmOptions& cm, const Scenario& scenario,
              std::chrono::milliseconds timeout);

  std::chrono::nanoseconds RunOp(uint64_t index, bool since_event) override;
  uint64_t OpsToCoverMr() const override { return layout_.OpsToCover(); }
  std::chrono::nanoseconds RegistrationTime() const override {
    return registration_time_;
  }
  std::chrono::nanoseconds ApplyEvent() override;
  bool PrepareBackground() override;
  void StartBackground() override;
  void StopBackground() override;
  void BeginCounting() override;
  std::vector<Counters> EndCounting() override;
  ibodp::CounterValues PeekCounters() override;

 private:
  nlohmann::json Call(const nlohmann::json& request);

  Scenario scenario_;
  SlotLayout layout_;
  ControlChannel& control_;
  std::chrono::milliseconds timeout_;
  std::chrono::nanoseconds registration_time_{0};
  uint64_t remote_addr_ = 0;
  // Declared in creation order: teardown runs in reverse.
  std::unique_ptr<ibodp::CmConnection> conn_;
  ibodp::Mapping local_;
  ibodp::MemoryRegion local_mr_;
  std::unique_ptr<SendChain> sends_;
  std::vector<ibv_wc> wcs_;
  std::unique_ptr<ibodp::HwCounters> requester_;
  std::string requester_reason_;
  ibodp::CounterValues requester_before_;
};

}  // namespace perftest

#endif  // PERFTEST_REMOTE_H_
