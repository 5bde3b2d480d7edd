// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// The storm test's page format: what a worker accepts and rejects.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>

#include "slot.h"

namespace storm {
namespace {

using Record = std::array<uint8_t, kRecordBytes>;

Record Encoded(uint64_t slot, uint64_t seq) {
  Record r{};
  EncodeRecord(slot, seq, r);
  return r;
}

TEST(StormSlotTest, RoundTrip) {
  uint64_t seq = 0;
  EXPECT_EQ(DecodeRecord(7, Encoded(7, 42), &seq), SlotState::kValid);
  EXPECT_EQ(seq, 42u);
  EXPECT_EQ(Describe(7, Encoded(7, 42)), "valid seq 42");
}

TEST(StormSlotTest, ZerosAreAResetPage) {
  const Record zeros{};
  uint64_t seq = 0;
  EXPECT_EQ(DecodeRecord(3, zeros, &seq), SlotState::kReset);
}

TEST(StormSlotTest, AnotherSlotsRecordIsCorrupt) {
  uint64_t seq = 0;
  EXPECT_EQ(DecodeRecord(8, Encoded(7, 42), &seq), SlotState::kCorrupt);
}

TEST(StormSlotTest, EveryFlippedByteIsCaught) {
  for (size_t i = 0; i < kRecordBytes; ++i) {
    Record r = Encoded(5, 9);
    r[i] ^= 0x10;
    uint64_t seq = 0;
    EXPECT_EQ(DecodeRecord(5, r, &seq), SlotState::kCorrupt) << "byte " << i;
  }
}

TEST(StormSlotTest, ATornRecordOfTwoWritesIsCorrupt) {
  Record r = Encoded(5, 9);
  const Record newer = Encoded(5, 10);
  std::copy(newer.begin() + kRecordBytes / 2, newer.end(),
            r.begin() + kRecordBytes / 2);
  uint64_t seq = 0;
  EXPECT_EQ(DecodeRecord(5, r, &seq), SlotState::kCorrupt);
}

TEST(StormSlotTest, SequencesDifferInPayload) {
  EXPECT_NE(Encoded(1, 1), Encoded(1, 2));
  EXPECT_NE(Encoded(1, 1), Encoded(2, 1));
}

TEST(StormSlotTest, ReadOnlyPatternDependsOnPageAndOffset) {
  EXPECT_NE(ReadOnlyByte(0, 0) == ReadOnlyByte(1, 0) &&
                ReadOnlyByte(0, 1) == ReadOnlyByte(1, 1) &&
                ReadOnlyByte(0, 2) == ReadOnlyByte(1, 2),
            true);
}

}  // namespace
}  // namespace storm
