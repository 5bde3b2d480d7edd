// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "slot.h"

#include <algorithm>
#include <cstring>
#include <sstream>

namespace storm {
namespace {

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t Checksum(uint64_t slot, uint64_t seq,
                  std::span<const uint8_t> payload) {
  uint64_t h = 0xcbf29ce484222325ULL ^ SplitMix(slot) ^ SplitMix(~seq);
  for (const uint8_t b : payload) {
    h = (h ^ b) * 0x100000001b3ULL;
  }
  return h == 0 ? 1 : h;  // 0 marks a reset page
}

uint64_t Load(std::span<const uint8_t> bytes, size_t offset) {
  uint64_t v = 0;
  std::memcpy(&v, bytes.data() + offset, sizeof(v));
  return v;
}

bool AllZero(std::span<const uint8_t> bytes) {
  return std::all_of(bytes.begin(), bytes.end(),
                     [](uint8_t b) { return b == 0; });
}

// Bytes at the start where the two records agree.
size_t CommonPrefix(std::span<const uint8_t> written,
                    std::span<const uint8_t> seen) {
  const auto a = written.first(kRecordBytes);
  const auto b = seen.first(kRecordBytes);
  return static_cast<size_t>(
      std::mismatch(a.begin(), a.end(), b.begin()).first - a.begin());
}

}  // namespace

void EncodeRecord(uint64_t slot, uint64_t seq, std::span<uint8_t> record) {
  const std::span<uint8_t> payload = record.subspan(kHeaderBytes);
  uint64_t state = SplitMix(slot * 0x100000001ULL + seq);
  for (size_t i = 0; i < payload.size(); ++i) {
    if (i % 8 == 0) {
      state = SplitMix(state);
    }
    payload[i] = static_cast<uint8_t>(state >> (8 * (i % 8)));
  }
  const uint64_t sum = Checksum(slot, seq, payload);
  std::memcpy(record.data(), &seq, sizeof(seq));
  std::memcpy(record.data() + 8, &sum, sizeof(sum));
}

SlotState DecodeRecord(uint64_t slot, std::span<const uint8_t> record,
                       uint64_t* seq) {
  const auto rec = record.first(kRecordBytes);
  if (AllZero(rec)) {
    return SlotState::kReset;
  }
  const uint64_t s = Load(rec, 0);
  if (s == 0 || Load(rec, 8) != Checksum(slot, s, rec.subspan(kHeaderBytes))) {
    return SlotState::kCorrupt;
  }
  *seq = s;
  return SlotState::kValid;
}

bool WriteThenReset(std::span<const uint8_t> written,
                    std::span<const uint8_t> seen) {
  const size_t k = CommonPrefix(written, seen);
  const auto rest = seen.subspan(k, kRecordBytes - k);
  return k > 0 && k < kRecordBytes && AllZero(rest);
}

std::string CompareToWrite(std::span<const uint8_t> written,
                           std::span<const uint8_t> seen) {
  const size_t k = CommonPrefix(written, seen);
  const auto rest = seen.subspan(k, kRecordBytes - k);
  const auto zeros = std::count(rest.begin(), rest.end(), uint8_t{0});
  return "the first " + std::to_string(k) + " bytes match the write, " +
         std::to_string(zeros) + " of the " + std::to_string(rest.size()) +
         " after them are zero";
}

uint8_t ReadOnlyByte(uint64_t page, size_t i) {
  return static_cast<uint8_t>(SplitMix(page * 4096 + i / 8) >> (8 * (i % 8)));
}

std::string Describe(uint64_t slot, std::span<const uint8_t> record) {
  uint64_t seq = 0;
  switch (DecodeRecord(slot, record, &seq)) {
    case SlotState::kValid:
      return "valid seq " + std::to_string(seq);
    case SlotState::kReset:
      return "reset (zeros)";
    case SlotState::kCorrupt:
      break;
  }
  std::ostringstream out;
  out << "corrupt (seq field " << Load(record, 0) << ", checksum field 0x"
      << std::hex << Load(record, 8) << ")";
  return out.str();
}

}  // namespace storm
