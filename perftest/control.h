// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// The control connection between perftest --client and perftest --server:
// one TCP connection over which the client sends requests and the server
// answers each, one JSON object per line. The data path is the RC
// connection that rdma_cm sets up; this one only says what to do when
// (set a scenario up, apply its event, read the counters). A reply with
// "error" is rethrown at the client: ibodp::Unsupported when it has
// "unsupported": true, ibodp::Error otherwise.
#ifndef PERFTEST_CONTROL_H_
#define PERFTEST_CONTROL_H_

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "ibodp/unique_fd.h"

namespace perftest {

class ControlChannel {
 public:
  // Server: waits up to `timeout` for one client on TCP `port` of every
  // address (IPv6, and IPv4 mapped). Throws ibodp::Error naming the step.
  static ControlChannel Accept(uint16_t port,
                               std::chrono::milliseconds timeout);
  // Client: connects to `host` (an IPv6 link-local address carries its
  // interface: fe80::1%eth0) on TCP `port`, trying again while the server
  // is not listening yet, for up to `timeout`.
  static ControlChannel Connect(const std::string& host, uint16_t port,
                                std::chrono::milliseconds timeout);

  // Sends one message. Throws ibodp::Error when the peer has gone.
  void Send(const nlohmann::json& message);
  // The next message, waiting up to `timeout`; throws ibodp::Error on a
  // timeout, a closed connection or a line that is not a JSON object.
  nlohmann::json Receive(std::chrono::milliseconds timeout);
  // Receive(), or nullopt-like null when the peer closed the connection
  // cleanly between two messages (the server's end of a session).
  nlohmann::json ReceiveOrEnd(std::chrono::milliseconds timeout);
  // Sends `request` and returns the reply; rethrows a reply's error.
  nlohmann::json Call(const nlohmann::json& request,
                      std::chrono::milliseconds timeout);

  const std::string& peer() const { return peer_; }

 private:
  ControlChannel(ibodp::UniqueFd fd, std::string peer);

  ibodp::UniqueFd fd_;
  std::string peer_;
  // Bytes received after the last complete line.
  std::string pending_;
};

// The reply that carries `what` as an error; `unsupported` when the
// device cannot run the request (the client records a skip).
nlohmann::json ErrorReply(const std::string& what, bool unsupported);

}  // namespace perftest

#endif  // PERFTEST_CONTROL_H_
