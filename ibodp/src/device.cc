// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "ibodp/device.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include "ibodp/error.h"

namespace ibodp {
namespace {

struct DeviceListDeleter {
  void operator()(ibv_device** list) const { ibv_free_device_list(list); }
};
using DeviceList = std::unique_ptr<ibv_device*, DeviceListDeleter>;

DeviceList GetDeviceList(int* count) {
  DeviceList list(ibv_get_device_list(count));
  if (!list) {
    throw Error(
        ErrnoMessage("no RDMA device found: ibv_get_device_list failed",
                     errno) +
        "; the kernel needs CONFIG_INFINIBAND_USER_ACCESS (ib_uverbs) and an "
        "RDMA driver: load mlx5_ib, add Soft-RoCE with `rdma link add rxe0 "
        "type rxe netdev IFACE`, or run in the lab guest with `./odplab vm "
        "run`");
  }
  return list;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    out += (out.empty() ? "" : ", ") + n;
  }
  return out;
}

}  // namespace

void ContextDeleter::operator()(ibv_context* ctx) const {
  ibv_close_device(ctx);
}

std::vector<std::string> ListDevices() {
  int count = 0;
  DeviceList list = GetDeviceList(&count);
  std::vector<std::string> names;
  names.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    names.emplace_back(ibv_get_device_name(list.get()[i]));
  }
  return names;
}

Device::Device(const std::string& name) {
  int count = 0;
  DeviceList list = GetDeviceList(&count);
  if (count == 0) {
    throw Error(
        "no RDMA device found: libibverbs lists none. Load a driver (mlx5_ib), "
        "or add Soft-RoCE with `rdma link add rxe0 type rxe netdev IFACE`, or "
        "run inside the lab guest with `./odplab vm run`");
  }
  ibv_device* found = nullptr;
  std::vector<std::string> names;
  names.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    ibv_device* d = list.get()[i];
    names.emplace_back(ibv_get_device_name(d));
    if (!found && (name.empty() || name == names.back())) {
      found = d;
    }
  }
  if (!found) {
    throw Error("RDMA device '" + name +
                "' not found; devices present: " + JoinNames(names));
  }
  name_ = ibv_get_device_name(found);
  ctx_.reset(ibv_open_device(found));
  if (!ctx_) {
    ThrowErrno("ibv_open_device(" + name_ + ")", errno);
  }
}

PortInfo QueryPort(const Device& dev, uint8_t port_num) {
  ibv_port_attr attr = {};
  const int rc = ibv_query_port(dev.context(), port_num, &attr);
  if (rc != 0) {
    ThrowErrno("ibv_query_port(" + dev.name() + ", port " +
                   std::to_string(port_num) + ")",
               rc);
  }
  PortInfo info;
  info.port_num = port_num;
  info.state = attr.state;
  info.active_mtu = attr.active_mtu;
  info.link_layer = attr.link_layer;
  info.lid = attr.lid;
  return info;
}

void RequireActivePort(const Device& dev, const PortInfo& port) {
  if (port.state != IBV_PORT_ACTIVE) {
    throw Error("port " + std::to_string(port.port_num) + " of " + dev.name() +
                " is " + PortStateName(port.state) +
                ", needs ACTIVE: bring its netdev up (`ip link set IFACE up`) "
                "or check the cable and subnet manager");
  }
}

std::string PortStateName(ibv_port_state state) {
  return ibv_port_state_str(state);
}

ibv_gid QueryGid(const Device& dev, uint8_t port_num, int gid_index) {
  ibv_gid gid = {};
  const int rc = ibv_query_gid(dev.context(), port_num, gid_index, &gid);
  if (rc != 0) {
    ThrowErrno("ibv_query_gid(" + dev.name() + ", port " +
                   std::to_string(port_num) + ", index " +
                   std::to_string(gid_index) + ")",
               errno != 0 ? errno : rc);
  }
  return gid;
}

std::string FormatGid(const ibv_gid& gid) {
  std::string out;
  for (int i = 0; i < 16; i += 2) {
    std::array<char, 6> group = {};
    std::snprintf(group.data(), group.size(), "%s%02x%02x", i ? ":" : "",
                  gid.raw[i], gid.raw[i + 1]);
    out += group.data();
  }
  return out;
}

bool IsZeroGid(const ibv_gid& gid) {
  return std::all_of(std::begin(gid.raw), std::end(gid.raw),
                     [](uint8_t b) { return b == 0; });
}

}  // namespace ibodp
