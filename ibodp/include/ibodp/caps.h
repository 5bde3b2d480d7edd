// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// On-Demand Paging capability probing from ibv_query_device_ex().
#ifndef IBODP_CAPS_H_
#define IBODP_CAPS_H_

#include <infiniband/verbs.h>

#include <cstdint>
#include <string>

#include "ibodp/device.h"

namespace ibodp {

enum class Transport { kRc, kUc, kUd, kXrc };

std::string TransportName(Transport t);

// Per-transport bits are the IBV_ODP_SUPPORT_{SEND,RECV,WRITE,READ,ATOMIC,
// SRQ_RECV} values of enum ibv_odp_transport_cap_bits.
struct OdpCaps {
  bool odp = false;           // IBV_ODP_SUPPORT
  bool implicit_odp = false;  // IBV_ODP_SUPPORT_IMPLICIT
  uint32_t rc = 0;
  uint32_t uc = 0;
  uint32_t ud = 0;
  uint32_t xrc = 0;

  uint32_t For(Transport t) const;
};

// Pure: reads the ODP fields of an already-queried attribute block.
OdpCaps OdpCapsFromAttr(const ibv_device_attr_ex& attr);

// Queries the device. Throws Error if the query itself fails.
OdpCaps QueryOdpCaps(const Device& dev);

// "SEND RECV WRITE" for a per-transport bit mask, "none" for 0.
std::string OdpOpNames(uint32_t ops);

// One line: "ODP yes, implicit no; RC: SEND RECV ...; UC: none; ...".
std::string DescribeOdpCaps(const OdpCaps& caps);

// Throws Unsupported naming the device, the transport and each missing
// operation unless the device has general ODP and every bit of `ops` on `t`.
void RequireOdp(const OdpCaps& caps, Transport t, uint32_t ops,
                const std::string& device_name);

}  // namespace ibodp

#endif  // IBODP_CAPS_H_
