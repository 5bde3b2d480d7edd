// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "ibodp/pattern.h"

#include <gtest/gtest.h>

#include <vector>

namespace ibodp {
namespace {

TEST(Pattern, FillThenVerify) {
  std::vector<uint8_t> buf(10000);
  FillPattern(buf, 3);
  EXPECT_FALSE(FirstMismatch(buf, 3).has_value());
}

TEST(Pattern, FindsFirstCorruptByte) {
  std::vector<uint8_t> buf(4096);
  FillPattern(buf, 3);
  buf[1234] ^= 1;
  buf[2000] ^= 1;
  ASSERT_TRUE(FirstMismatch(buf, 3).has_value());
  EXPECT_EQ(*FirstMismatch(buf, 3), 1234u);
}

TEST(Pattern, SeedsDiffer) {
  std::vector<uint8_t> buf(64);
  FillPattern(buf, 1);
  EXPECT_TRUE(FirstMismatch(buf, 2).has_value());
}

TEST(Pattern, ShiftedDataDoesNotMatch) {
  std::vector<uint8_t> buf(4096 + 8);
  FillPattern(buf, 5);
  std::vector<uint8_t> shifted(buf.begin() + 8, buf.end());
  EXPECT_TRUE(FirstMismatch(shifted, 5).has_value());
}

TEST(Pattern, ZeroPageDoesNotMatch) {
  std::vector<uint8_t> zeros(4096, 0);
  EXPECT_TRUE(FirstMismatch(zeros, 0).has_value());
}

}  // namespace
}  // namespace ibodp
