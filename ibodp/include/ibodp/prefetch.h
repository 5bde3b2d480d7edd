// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// ODP prefetch through ibv_advise_mr(): the device maps a range of an ODP
// MR before it is used, so that the first access does not fault.
#ifndef IBODP_PREFETCH_H_
#define IBODP_PREFETCH_H_

#include <infiniband/verbs.h>

#include <cstddef>
#include <span>
#include <string>

namespace ibodp {

enum class PrefetchAccess {
  kRead,   // IBV_ADVISE_MR_ADVICE_PREFETCH: mapped for reading
  kWrite,  // IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE: mapped writable
};

// Empty when [addr, addr + length) lies inside `mr` and fits one SGE;
// otherwise why not ("range ... ends past the MR's end ...").
std::string PrefetchRangeProblem(const ibv_mr& mr, const void* addr,
                                 size_t length);

// Prefetches [addr, addr + length) of the ODP MR `mr`. With `wait`, returns
// once the pages are mapped (IBV_ADVISE_MR_FLAG_FLUSH); without, the
// device may still be working. Where the userspace provider has no
// advise_mr (rxe before rdma-core 59), the kernel's uverbs ADVISE_MR
// command is called directly, as the provider would. Throws Unsupported
// when the kernel driver has no advise_mr, and Error for a bad range or a
// failed call (EFAULT when part of the range cannot be mapped).
void PrefetchMr(const ibv_mr& mr, const void* addr, size_t length,
                PrefetchAccess access, bool wait);

// Prefetches every range of `sges` (each inside the ODP MR of its lkey, in
// `pd`) with one ibv_advise_mr() call, with PrefetchMr's fallback and
// errors. It does not check the ranges and allocates nothing unless it
// throws: a measured path can call it.
void PrefetchSges(ibv_pd* pd, std::span<ibv_sge> sges, PrefetchAccess access,
                  bool wait);

}  // namespace ibodp

#endif  // IBODP_PREFETCH_H_
