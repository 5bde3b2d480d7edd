// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// RAII owners for verbs objects. Destroy in reverse order of creation:
// QPs and AHs, then MRs and CQs, then the PD, then the Device. Declare members
// in creation order and C++ does the rest.
#ifndef IBODP_VERBS_H_
#define IBODP_VERBS_H_

#include <infiniband/verbs.h>

#include <cstddef>
#include <memory>

#include "ibodp/device.h"

namespace ibodp {

// The RNR timer an RC responder of this library advertises in its RNR
// NAKs (IBTA encoding 12: 0.64 ms), on loopback pairs and rdma_cm
// connections alike, so that a retry costs the same in both.
inline constexpr uint8_t kMinRnrTimer = 12;

struct PdDeleter {
  void operator()(ibv_pd* pd) const;
};
struct CqDeleter {
  void operator()(ibv_cq* cq) const;
};
struct QpDeleter {
  void operator()(ibv_qp* qp) const;
};
struct MrDeleter {
  void operator()(ibv_mr* mr) const;
};
struct AhDeleter {
  void operator()(ibv_ah* ah) const;
};

using ProtectionDomain = std::unique_ptr<ibv_pd, PdDeleter>;
using CompletionQueue = std::unique_ptr<ibv_cq, CqDeleter>;
using QueuePair = std::unique_ptr<ibv_qp, QpDeleter>;
using MemoryRegion = std::unique_ptr<ibv_mr, MrDeleter>;
using AddressHandle = std::unique_ptr<ibv_ah, AhDeleter>;

ProtectionDomain AllocPd(const Device& dev);
CompletionQueue CreateCq(const Device& dev, int depth);

enum class Registration { kPinned, kOdp };

// Registers [addr, addr + length) with `access` (IBV_ACCESS_* bits);
// kOdp adds IBV_ACCESS_ON_DEMAND. The error names the range, the access
// flags and, for ODP, the likely cause.
MemoryRegion RegisterMr(ibv_pd* pd, void* addr, size_t length, int access,
                        Registration how);

// Local and remote read, write and atomic access.
constexpr int kFullAccess = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ |
                            IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_ATOMIC;

}  // namespace ibodp

#endif  // IBODP_VERBS_H_
