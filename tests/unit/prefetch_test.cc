// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "ibodp/prefetch.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

namespace ibodp {
namespace {

// A buffer the fake MRs point into; nothing is read or written.
uint8_t* Base() {
  static std::vector<uint8_t> buffer(0x20000);
  return buffer.data();
}

ibv_mr MrAt(size_t offset, size_t length) {
  ibv_mr mr = {};
  mr.addr = Base() + offset;
  mr.length = length;
  mr.lkey = 0x42;
  return mr;
}

std::string Hex(size_t offset) {
  std::ostringstream s;
  s << "0x" << std::hex << reinterpret_cast<uintptr_t>(Base() + offset);
  return s.str();
}

TEST(PrefetchRange, InsideTheMrIsFine) {
  const ibv_mr mr = MrAt(0x10000, 0x4000);
  EXPECT_EQ(PrefetchRangeProblem(mr, Base() + 0x10000, 0x4000), "");
  EXPECT_EQ(PrefetchRangeProblem(mr, Base() + 0x13fff, 1), "");
}

TEST(PrefetchRange, ZeroBytesNamesTheFix) {
  EXPECT_NE(PrefetchRangeProblem(MrAt(0x10000, 0x4000), Base() + 0x10000, 0)
                .find("at least one byte"),
            std::string::npos);
}

TEST(PrefetchRange, OutsideNamesBothRanges) {
  const ibv_mr mr = MrAt(0x10000, 0x4000);
  const std::string why = PrefetchRangeProblem(mr, Base() + 0x11000, 0x4000);
  EXPECT_NE(why.find("[" + Hex(0x11000) + ", " + Hex(0x15000) + ")"),
            std::string::npos)
      << why;
  EXPECT_NE(why.find("[" + Hex(0x10000) + ", " + Hex(0x14000) + ")"),
            std::string::npos)
      << why;
  EXPECT_NE(PrefetchRangeProblem(mr, Base() + 0xf000, 0x100), "");
  EXPECT_NE(PrefetchRangeProblem(mr, Base() + 0x14000, 1), "");
}

TEST(PrefetchRange, MoreThanOneSgeCanCarry) {
  const ibv_mr mr = MrAt(0, 1ULL << 33);
  EXPECT_NE(PrefetchRangeProblem(mr, Base(), 1ULL << 32).find("one SGE"),
            std::string::npos);
}

}  // namespace
}  // namespace ibodp
