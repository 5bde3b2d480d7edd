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

TEST(StormSlotTest, AWriteWithAResetUnderTheReadIsAPrefixThenZeros) {
  const Record written = Encoded(50, 763);
  Record seen{};
  std::copy(written.begin(), written.begin() + 100, seen.begin());
  EXPECT_TRUE(WriteThenReset(written, seen));
  EXPECT_EQ(CompareToWrite(written, seen),
            "the first 100 bytes match the write, 156 of the 156 after them "
            "are zero");
}

TEST(StormSlotTest, WriteThenResetRejectsEverythingElse) {
  const Record written = Encoded(50, 763);
  EXPECT_FALSE(WriteThenReset(written, written)) << "the whole write";
  EXPECT_FALSE(WriteThenReset(written, Record{})) << "a reset page";
  Record zeros_then_write{};
  std::copy(written.begin() + 100, written.end(),
            zeros_then_write.begin() + 100);
  EXPECT_FALSE(WriteThenReset(written, zeros_then_write));
  Record junk_after_prefix{};
  std::copy(written.begin(), written.begin() + 100, junk_after_prefix.begin());
  junk_after_prefix[200] = 1;
  EXPECT_FALSE(WriteThenReset(written, junk_after_prefix));
  const Record older = Encoded(50, 762);
  EXPECT_FALSE(WriteThenReset(written, older)) << "a lost write";
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
