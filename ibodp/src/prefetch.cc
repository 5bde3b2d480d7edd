// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "ibodp/prefetch.h"

#include <dlfcn.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <sstream>

#include "ibodp/error.h"

namespace ibodp {
namespace {

// libibverbs' uverbs ADVISE_MR command: the call that each provider's
// advise_mr makes. It is libibverbs' interface to its providers
// (infiniband/driver.h, which Debian does not install), exported under the
// providers' private symbol version, which each rdma-core release renames
// (IBVERBS_PRIVATE_34 in 44, _65 in 65). Linking it would tie a binary to
// one release's libibverbs, so it is looked up at run time, once.
using CmdAdviseMr = int (*)(ibv_pd*, ibv_advise_mr_advice, uint32_t, ibv_sge*,
                            uint32_t);

CmdAdviseMr FindCmdAdviseMr() {
  static const auto fn =
      reinterpret_cast<CmdAdviseMr>(dlsym(RTLD_DEFAULT, "ibv_cmd_advise_mr"));
  return fn;
}

}  // namespace

std::string PrefetchRangeProblem(const ibv_mr& mr, const void* addr,
                                 size_t length) {
  const auto begin = reinterpret_cast<uintptr_t>(addr);
  const auto mr_begin = reinterpret_cast<uintptr_t>(mr.addr);
  const uintptr_t mr_end = mr_begin + mr.length;
  std::ostringstream why;
  if (length == 0) {
    why << "prefetch of 0 bytes: give a length of at least one byte";
  } else if (length > std::numeric_limits<uint32_t>::max()) {
    why << "prefetch of " << length << " bytes does not fit one SGE (at most "
        << std::numeric_limits<uint32_t>::max() << "): split the range";
  } else if (begin < mr_begin || begin >= mr_end || length > mr_end - begin) {
    why << "range [0x" << std::hex << begin << ", 0x" << begin + length
        << ") is not inside MR lkey 0x" << mr.lkey << " [0x" << mr_begin
        << ", 0x" << mr_end << ")";
  }
  return why.str();
}

void PrefetchMr(const ibv_mr& mr, const void* addr, size_t length,
                PrefetchAccess access, bool wait) {
  const std::string problem = PrefetchRangeProblem(mr, addr, length);
  if (!problem.empty()) {
    throw Error(problem);
  }
  ibv_sge sge{reinterpret_cast<uint64_t>(addr), static_cast<uint32_t>(length),
              mr.lkey};
  PrefetchSges(mr.pd, std::span<ibv_sge>(&sge, 1), access, wait);
}

void PrefetchSges(ibv_pd* pd, std::span<ibv_sge> sges, PrefetchAccess access,
                  bool wait) {
  const auto advice = access == PrefetchAccess::kWrite
                          ? IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE
                          : IBV_ADVISE_MR_ADVICE_PREFETCH;
  const uint32_t flags = wait ? IBV_ADVISE_MR_FLAG_FLUSH : 0;
  const auto count = static_cast<uint32_t>(sges.size());
  int rc = ibv_advise_mr(pd, advice, flags, sges.data(), count);
  bool asked_kernel = false;
  if (rc == EOPNOTSUPP || rc == ENOSYS) {
    // The provider has no advise_mr (rxe before rdma-core 59): ask the
    // kernel directly, as the provider would.
    if (const CmdAdviseMr cmd = FindCmdAdviseMr(); cmd != nullptr) {
      rc = cmd(pd, advice, flags, sges.data(), count);
      asked_kernel = true;
    }
  }
  if (rc == 0) {
    return;
  }
  uint64_t bytes = 0;
  for (const ibv_sge& sge : sges) {
    bytes += sge.length;
  }
  const std::string what =
      std::string("ibv_advise_mr(") + ibv_get_device_name(pd->context->device) +
      ", " +
      (access == PrefetchAccess::kWrite ? "PREFETCH_WRITE" : "PREFETCH") +
      ", " + std::to_string(count) + " SGEs, " + std::to_string(bytes) +
      " bytes)";
  if ((rc == EOPNOTSUPP || rc == ENOSYS) && !asked_kernel) {
    throw Unsupported(what +
                      ": the userspace provider has no advise_mr and this "
                      "libibverbs exports no ibv_cmd_advise_mr (" +
                      std::strerror(rc) +
                      "); use rdma-core 59 or later, whose rxe provider "
                      "prefetches");
  }
  if (rc == EOPNOTSUPP || rc == ENOSYS) {
    throw Unsupported(what +
                      ": the kernel driver does not implement "
                      "advise_mr (" +
                      std::strerror(rc) + ", errno " + std::to_string(rc) +
                      "); ODP prefetch needs rxe of Linux 6.16 or later, or "
                      "mlx5");
  }
  ThrowErrno(what, rc);
}

}  // namespace ibodp
