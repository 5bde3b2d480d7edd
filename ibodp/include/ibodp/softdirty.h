// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// Soft-dirty tracking of this process (CONFIG_MEM_SOFT_DIRTY): clearing it
// as CRIU does, and reading a page's bit from /proc/self/pagemap.
#ifndef IBODP_SOFTDIRTY_H_
#define IBODP_SOFTDIRTY_H_

#include <cstdint>

namespace ibodp {

// Bit 55 of a pagemap entry (Documentation/admin-guide/mm/pagemap.rst).
inline constexpr uint64_t kPagemapSoftDirty = 1ULL << 55;

// Writes "4" to /proc/self/clear_refs: every PTE of the process loses its
// soft-dirty bit and write access (MMU_NOTIFY_SOFT_DIRTY). Throws Error.
void ClearSoftDirty();

// The pagemap entry of the page holding `addr`. Throws Error.
uint64_t PagemapEntry(const void* addr);

bool IsSoftDirty(const void* addr);

}  // namespace ibodp

#endif  // IBODP_SOFTDIRTY_H_
