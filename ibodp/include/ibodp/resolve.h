// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// A host and port to a socket address, for rdma_cm's active side and for
// the TCP connections next to it.
#ifndef IBODP_RESOLVE_H_
#define IBODP_RESOLVE_H_

#include <netdb.h>

#include <cstdint>
#include <memory>
#include <string>

namespace ibodp {

struct AddrInfoDeleter {
  void operator()(addrinfo* ai) const { freeaddrinfo(ai); }
};
using AddrInfo = std::unique_ptr<addrinfo, AddrInfoDeleter>;

// The first stream address of `host` (an address or a name; an IPv6
// link-local address carries its interface: fe80::1%eth0) and `port`.
// Throws Error("cannot resolve <what>: ...") naming that form.
AddrInfo Resolve(const std::string& host, uint16_t port,
                 const std::string& what);

}  // namespace ibodp

#endif  // IBODP_RESOLVE_H_
