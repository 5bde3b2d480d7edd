// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// The control connection between perftest --client and perftest --server:
// one TCP connection over which the client sends requests and the server
// answers each, one JSON object per line. The data path is the RC
// connection that rdma_cm sets up; this one only says what to do when
// (set a scenario up, apply its event, read the counters). Each request
// carries a sequence number ("seq") that its reply echoes; a reply with
// "error" is rethrown at the client: ibodp::Unsupported when it has
// "unsupported": true, ibodp::Error otherwise. A request that got no
// reply in time leaves the connection out of step: every later Call()
// fails at once rather than read the late reply as its own.
#ifndef PERFTEST_CONTROL_H_
#define PERFTEST_CONTROL_H_

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "ibodp/error.h"
#include "ibodp/unique_fd.h"

namespace perftest {

class ControlChannel {
 public:
  // A wait without a time limit (the server's for its next request: the
  // client's end of the connection ends it).
  static constexpr std::chrono::milliseconds kForever{-1};

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
  // Receive(), or a null json when the peer closed the connection
  // cleanly between two messages (the server's end of a session).
  nlohmann::json ReceiveOrEnd(std::chrono::milliseconds timeout);
  // Sends `request` with the next sequence number and returns its reply;
  // rethrows a reply's error. Throws ibodp::Error when the connection is
  // out of step.
  nlohmann::json Call(nlohmann::json request,
                      std::chrono::milliseconds timeout);

  const std::string& peer() const { return peer_; }

 private:
  ControlChannel(ibodp::UniqueFd fd, std::string peer);

  ibodp::UniqueFd fd_;
  std::string peer_;
  // Bytes received after the last complete line.
  std::string pending_;
  uint64_t next_seq_ = 1;
  // Why the connection is out of step, or empty.
  std::string broken_;
};

// The reply to `request`: its "seq" and `body`.
nlohmann::json Reply(const nlohmann::json& request, nlohmann::json body);

// The reply to `request` that carries `what` as an error; `unsupported`
// when the device cannot run it (the client records a skip).
nlohmann::json ErrorReply(const nlohmann::json& request,
                          const std::string& what, bool unsupported);

// reply[key] as a T; throws ibodp::Error naming the key when the reply
// lacks it or has another type.
template <typename T>
T ReplyField(const nlohmann::json& reply, const char* key) {
  try {
    return reply.at(key).get<T>();
  } catch (const nlohmann::json::exception& e) {
    throw ibodp::Error(std::string("perftest --server's reply has no good '") +
                       key + "' (" + e.what() + "): " + reply.dump());
  }
}

}  // namespace perftest

#endif  // PERFTEST_CONTROL_H_
