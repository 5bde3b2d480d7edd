// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// Deterministic byte patterns for data-integrity checks.
#ifndef IBODP_PATTERN_H_
#define IBODP_PATTERN_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace ibodp {

// The byte at `offset` of the pattern selected by `seed`. Depends on both,
// so shifted or stale data does not match by accident.
uint8_t PatternByte(uint64_t seed, size_t offset);

void FillPattern(std::span<uint8_t> buf, uint64_t seed);

// Offset of the first byte that differs from the pattern, if any.
std::optional<size_t> FirstMismatch(std::span<const uint8_t> buf,
                                    uint64_t seed);

}  // namespace ibodp

#endif  // IBODP_PATTERN_H_
