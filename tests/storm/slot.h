// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// The storm test's page format. Every page of the write zone is one slot
// owned by one worker. A device WRITE stores a header (sequence number and
// a checksum over the slot index, the sequence and the payload) and a
// payload derived from both; the last 8 bytes of the page are the counter
// the fetch-and-add ops update. A page that an event replaced reads as
// all zeros ("reset"); anything else that does not check out is corrupt.
#ifndef TESTS_STORM_SLOT_H_
#define TESTS_STORM_SLOT_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace storm {

inline constexpr size_t kHeaderBytes = 16;
// Bytes a WRITE or READ moves: header plus payload.
inline constexpr size_t kRecordBytes = 256;
inline constexpr size_t kCounterOffset = 4096 - 8;

enum class SlotState { kValid, kReset, kCorrupt };

// Fills record[0, kRecordBytes) for `slot` and sequence `seq` (>= 1).
void EncodeRecord(uint64_t slot, uint64_t seq, std::span<uint8_t> record);

// Classifies record[0, kRecordBytes) as read from `slot`; sets *seq for a
// valid record. A valid record of another slot is corrupt.
SlotState DecodeRecord(uint64_t slot, std::span<const uint8_t> record,
                       uint64_t* seq);

// Whether `seen` is what a CPU read ascending through a page reads when an
// event replaces the page by a zero page while it reads: the first k
// bytes of `written` and zeros after them, for some 0 < k < kRecordBytes.
bool WriteThenReset(std::span<const uint8_t> written,
                    std::span<const uint8_t> seen);

// Where `seen` departs from `written`: "the first 120 bytes match the
// write, 100 of the 136 after them are zero".
std::string CompareToWrite(std::span<const uint8_t> written,
                           std::span<const uint8_t> seen);

// The read-only zone's fixed contents: byte i of page p.
uint8_t ReadOnlyByte(uint64_t page, size_t i);

// "valid seq 12", "reset", "corrupt (checksum 0x.. != 0x..)".
std::string Describe(uint64_t slot, std::span<const uint8_t> record);

}  // namespace storm

#endif  // TESTS_STORM_SLOT_H_
