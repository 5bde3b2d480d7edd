// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "ibodp/pattern.h"

namespace ibodp {

uint8_t PatternByte(uint64_t seed, size_t offset) {
  // splitmix64 of (seed, 8-byte word index), then the byte within the word.
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL * ((offset / 8) + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return static_cast<uint8_t>(z >> (8 * (offset % 8)));
}

void FillPattern(std::span<uint8_t> buf, uint64_t seed) {
  for (size_t i = 0; i < buf.size(); ++i) {
    buf[i] = PatternByte(seed, i);
  }
}

std::optional<size_t> FirstMismatch(std::span<const uint8_t> buf,
                                    uint64_t seed) {
  for (size_t i = 0; i < buf.size(); ++i) {
    if (buf[i] != PatternByte(seed, i)) {
      return i;
    }
  }
  return std::nullopt;
}

}  // namespace ibodp
