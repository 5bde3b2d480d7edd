// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// Opening an RDMA device and querying its ports.
#ifndef IBODP_DEVICE_H_
#define IBODP_DEVICE_H_

#include <infiniband/verbs.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ibodp {

// Names of the RDMA devices libibverbs can see, in its order.
std::vector<std::string> ListDevices();

struct ContextDeleter {
  void operator()(ibv_context* ctx) const;
};

// An open device. Everything created from it must be destroyed first; the
// RAII types in verbs.h hold their parent alive by construction order.
class Device {
 public:
  // Opens `name`, or the first device when `name` is empty. Throws Error
  // naming the devices that exist when `name` is not among them.
  explicit Device(const std::string& name);

  ibv_context* context() const { return ctx_.get(); }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::unique_ptr<ibv_context, ContextDeleter> ctx_;
};

struct PortInfo {
  uint8_t port_num = 1;
  ibv_port_state state = IBV_PORT_NOP;
  ibv_mtu active_mtu = IBV_MTU_256;
  uint8_t link_layer = IBV_LINK_LAYER_UNSPECIFIED;
  uint16_t lid = 0;
};

PortInfo QueryPort(const Device& dev, uint8_t port_num);

// Throws Error("port N of DEV is STATE, needs ACTIVE ...") unless ACTIVE.
void RequireActivePort(const Device& dev, const PortInfo& port);

// "active", "down", ... as ibv_port_state_str() spells them.
std::string PortStateName(ibv_port_state state);

ibv_gid QueryGid(const Device& dev, uint8_t port_num, int gid_index);

// "fe80:0000:...": the 8 groups of a GID.
std::string FormatGid(const ibv_gid& gid);

bool IsZeroGid(const ibv_gid& gid);

}  // namespace ibodp

#endif  // IBODP_DEVICE_H_
