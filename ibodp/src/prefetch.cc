// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "ibodp/prefetch.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <sstream>

#include "ibodp/error.h"

namespace ibodp {

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
  const auto advice = access == PrefetchAccess::kWrite
                          ? IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE
                          : IBV_ADVISE_MR_ADVICE_PREFETCH;
  const uint32_t flags = wait ? IBV_ADVISE_MR_FLAG_FLUSH : 0;
  const int rc = ibv_advise_mr(mr.pd, advice, flags, &sge, 1);
  const std::string what =
      std::string("ibv_advise_mr(") + ibv_get_device_name(mr.context->device) +
      ", " +
      (access == PrefetchAccess::kWrite ? "PREFETCH_WRITE" : "PREFETCH") +
      ", " + std::to_string(length) + " bytes)";
  if (rc == EOPNOTSUPP || rc == ENOSYS) {
    throw Unsupported(
        what + ": the userspace provider does not implement advise_mr (" +
        std::strerror(rc) + ", errno " + std::to_string(rc) +
        "); ODP prefetch needs it in the libibverbs provider as well as in "
        "the kernel driver (for rxe: rdma-core 59 or later)");
  }
  if (rc != 0) {
    ThrowErrno(what, rc);
  }
}

}  // namespace ibodp
