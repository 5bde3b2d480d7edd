// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "ibodp/resolve.h"

#include <sys/socket.h>

#include "ibodp/error.h"

namespace ibodp {

AddrInfo Resolve(const std::string& host, uint16_t port,
                 const std::string& what) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const int rc =
      getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
  if (rc != 0) {
    throw Error("cannot resolve " + what + ": " + gai_strerror(rc) +
                " (an IPv6 link-local address needs its interface: "
                "fe80::1%eth0)");
  }
  return AddrInfo(found);
}

}  // namespace ibodp
