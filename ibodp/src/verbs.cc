// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "ibodp/verbs.h"

#include <glog/logging.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "ibodp/error.h"

namespace ibodp {
namespace {

// Destructors cannot throw: a failed destroy is logged, with its errno.
void LogDestroyFailure(const char* what, int rc) {
  if (rc != 0) {
    LOG(ERROR) << what << " failed: " << std::strerror(rc) << " (errno " << rc
               << "); an object created from it is probably still alive";
  }
}

std::string Hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

void PdDeleter::operator()(ibv_pd* pd) const {
  LogDestroyFailure("ibv_dealloc_pd", ibv_dealloc_pd(pd));
}
void CqDeleter::operator()(ibv_cq* cq) const {
  LogDestroyFailure("ibv_destroy_cq", ibv_destroy_cq(cq));
}
void QpDeleter::operator()(ibv_qp* qp) const {
  LogDestroyFailure("ibv_destroy_qp", ibv_destroy_qp(qp));
}
void MrDeleter::operator()(ibv_mr* mr) const {
  LogDestroyFailure("ibv_dereg_mr", ibv_dereg_mr(mr));
}

void AhDeleter::operator()(ibv_ah* ah) const {
  LogDestroyFailure("ibv_destroy_ah", ibv_destroy_ah(ah));
}

ProtectionDomain AllocPd(const Device& dev) {
  ProtectionDomain pd(ibv_alloc_pd(dev.context()));
  if (!pd) {
    ThrowErrno("ibv_alloc_pd(" + dev.name() + ")", errno);
  }
  return pd;
}

CompletionQueue CreateCq(const Device& dev, int depth) {
  CompletionQueue cq(ibv_create_cq(dev.context(), depth, nullptr, nullptr, 0));
  if (!cq) {
    ThrowErrno("ibv_create_cq(" + dev.name() + ", depth " +
                   std::to_string(depth) + ")",
               errno);
  }
  return cq;
}

MemoryRegion RegisterMr(ibv_pd* pd, void* addr, size_t length, int access,
                        Registration how) {
  if (how == Registration::kOdp) {
    access |= IBV_ACCESS_ON_DEMAND;
  }
  MemoryRegion mr(ibv_reg_mr(pd, addr, length, access));
  if (!mr) {
    const int err = errno;
    std::string what = std::string("ibv_reg_mr(") +
                       (how == Registration::kOdp ? "ODP" : "pinned") +
                       ", addr " + Hex(reinterpret_cast<uintptr_t>(addr)) +
                       ", length " + std::to_string(length) + ", access " +
                       Hex(static_cast<uint64_t>(access)) + ")";
    if (how == Registration::kOdp && (err == EINVAL || err == EOPNOTSUPP)) {
      what +=
          " (does the device support ODP for this access? check "
          "`ibv_devinfo -v` for ODP_SUPPORT)";
    } else if (how == Registration::kPinned && err == ENOMEM) {
      what += " (pinning needs RLIMIT_MEMLOCK >= length: `ulimit -l`)";
    }
    ThrowErrno(what, err);
  }
  return mr;
}

}  // namespace ibodp
