// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// perftest --server: the responder of two nodes (remote.h has the
// protocol). It holds each scenario's MR under test, applies its events
// and background, and reads the fault counters of its own kernel.
#ifndef PERFTEST_SERVER_H_
#define PERFTEST_SERVER_H_

#include <chrono>
#include <cstdint>

#include "ibodp/cm.h"
#include "ibodp/device.h"
#include "report.h"
#include "sources.h"

namespace perftest {

struct ServerOptions {
  uint16_t control_port = 18516;
  ibodp::CmOptions cm;
  // How long to wait for the client to connect.
  std::chrono::milliseconds wait{600000};
};

// Serves one client's scenarios on `dev` until the client says "bye" or
// closes the control connection. The first request ("hello") gets
// `context`. Throws ibodp::Error when the session breaks; an error in a
// scenario goes back to the client in the reply instead.
void Serve(const ibodp::Device& dev, const ServerOptions& opts,
           CounterSources& sources, const Context& context);

}  // namespace perftest

#endif  // PERFTEST_SERVER_H_
