// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "ibodp/caps.h"

#include <array>
#include <string>
#include <utility>

#include "ibodp/error.h"

namespace ibodp {
namespace {

constexpr std::array<std::pair<uint32_t, const char*>, 6> kOpNames = {{
    {IBV_ODP_SUPPORT_SEND, "SEND"},
    {IBV_ODP_SUPPORT_RECV, "RECV"},
    {IBV_ODP_SUPPORT_WRITE, "WRITE"},
    {IBV_ODP_SUPPORT_READ, "READ"},
    {IBV_ODP_SUPPORT_ATOMIC, "ATOMIC"},
    {IBV_ODP_SUPPORT_SRQ_RECV, "SRQ_RECV"},
}};

}  // namespace

std::string TransportName(Transport t) {
  switch (t) {
    case Transport::kRc:
      return "RC";
    case Transport::kUc:
      return "UC";
    case Transport::kUd:
      return "UD";
    case Transport::kXrc:
      return "XRC";
  }
  return "?";
}

uint32_t OdpCaps::For(Transport t) const {
  switch (t) {
    case Transport::kRc:
      return rc;
    case Transport::kUc:
      return uc;
    case Transport::kUd:
      return ud;
    case Transport::kXrc:
      return xrc;
  }
  return 0;
}

OdpCaps OdpCapsFromAttr(const ibv_device_attr_ex& attr) {
  OdpCaps caps;
  caps.odp = (attr.odp_caps.general_caps & IBV_ODP_SUPPORT) != 0;
  caps.implicit_odp =
      (attr.odp_caps.general_caps & IBV_ODP_SUPPORT_IMPLICIT) != 0;
  caps.rc = attr.odp_caps.per_transport_caps.rc_odp_caps;
  caps.uc = attr.odp_caps.per_transport_caps.uc_odp_caps;
  caps.ud = attr.odp_caps.per_transport_caps.ud_odp_caps;
  caps.xrc = attr.xrc_odp_caps;
  return caps;
}

OdpCaps QueryOdpCaps(const Device& dev) {
  ibv_device_attr_ex attr = {};
  const int rc = ibv_query_device_ex(dev.context(), nullptr, &attr);
  if (rc != 0) {
    ThrowErrno("ibv_query_device_ex(" + dev.name() + ")", rc);
  }
  return OdpCapsFromAttr(attr);
}

std::string OdpOpNames(uint32_t ops) {
  std::string out;
  for (const auto& [bit, name] : kOpNames) {
    if ((ops & bit) != 0) {
      out += (out.empty() ? "" : " ") + std::string(name);
    }
  }
  return out.empty() ? "none" : out;
}

std::string DescribeOdpCaps(const OdpCaps& caps) {
  std::string out = std::string("ODP ") + (caps.odp ? "yes" : "no") +
                    ", implicit " + (caps.implicit_odp ? "yes" : "no");
  for (Transport t :
       {Transport::kRc, Transport::kUc, Transport::kUd, Transport::kXrc}) {
    out += "; " + TransportName(t) + ": " + OdpOpNames(caps.For(t));
  }
  return out;
}

void RequireOdp(const OdpCaps& caps, Transport t, uint32_t ops,
                const std::string& device_name) {
  if (!caps.odp) {
    throw Unsupported("device " + device_name +
                      " has no On-Demand Paging support (IBV_ODP_SUPPORT is "
                      "clear); use a kernel with CONFIG_INFINIBAND_ON_DEMAND_"
                      "PAGING and a driver that implements ODP (mlx5, rxe)");
  }
  const uint32_t missing = ops & ~caps.For(t);
  if (missing != 0) {
    throw Unsupported("device " + device_name + " has no ODP support for " +
                      TransportName(t) + " " + OdpOpNames(missing) + "; its " +
                      TransportName(t) +
                      " ODP caps are: " + OdpOpNames(caps.For(t)));
  }
}

}  // namespace ibodp
