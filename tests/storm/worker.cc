// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "worker.h"

#include <array>
#include <cstring>
#include <span>

#include "ibodp/error.h"
#include "ibodp/softdirty.h"
#include "ibodp/work.h"
#include "slot.h"

namespace storm {
namespace {

// Offsets in the worker's pinned buffer.
constexpr size_t kRecordAt = 0;
constexpr size_t kAtomicAt = 2048;

uint64_t LoadCounter(const uint8_t* slot) {
  return reinterpret_cast<const volatile uint64_t*>(slot + kCounterOffset)[0];
}

std::array<uint8_t, kRecordBytes> CpuView(const uint8_t* addr) {
  std::array<uint8_t, kRecordBytes> out{};
  const volatile uint8_t* p = addr;
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = p[i];
  }
  return out;
}

}  // namespace

Worker::Worker(const ibodp::Device& dev, ibv_pd* pd, ibv_mr* odp_mr,
               Shared& shared, int id, int workers, uint64_t seed,
               std::chrono::milliseconds timeout)
    : shared_(shared),
      odp_mr_(odp_mr),
      id_(id),
      rng_(seed),
      timeout_(timeout),
      pair_(dev, pd, ibodp::LoopbackOptions{}),
      local_(ibodp::Mapping::Anonymous(4096)),
      local_mr_(ibodp::RegisterMr(pd, local_.data(), local_.size(),
                                  ibodp::kFullAccess,
                                  ibodp::Registration::kPinned)) {
  for (size_t i = 0; i < shared.layout().Slots(); ++i) {
    if (static_cast<int>(i % static_cast<size_t>(workers)) == id) {
      slots_.push_back(i);
    }
  }
  if (slots_.empty()) {
    throw ibodp::Error("storm worker " + std::to_string(id) +
                       " owns no slot: give at least as many write pages as "
                       "workers");
  }
  next_seq_.assign(shared.layout().Slots(), 0);
}

void Worker::Run() {
  std::uniform_int_distribution<int> op(0, 99);
  std::uniform_int_distribution<size_t> slot(0, slots_.size() - 1);
  std::uniform_int_distribution<size_t> ro(
      0, shared_.layout().ro_pages == 0 ? 0 : shared_.layout().ro_pages - 1);
  while (!shared_.stop().load(std::memory_order_relaxed)) {
    const int o = op(rng_);
    if (o < 35) {
      Read(slots_[slot(rng_)]);
    } else if (o < 70) {
      Write(slots_[slot(rng_)]);
    } else if (o < 85 || shared_.layout().ro_pages == 0) {
      FetchAdd(slots_[slot(rng_)]);
    } else {
      ReadOnly(ro(rng_));
    }
  }
}

void Worker::Fail(Failure kind, const std::string& what) {
  shared_.Fail(kind, "worker " + std::to_string(id_) + ": " + what);
}

bool Worker::Post(ibv_wr_opcode opcode, uint64_t remote, uint32_t length,
                  const std::string& what) {
  const size_t at =
      opcode == IBV_WR_ATOMIC_FETCH_AND_ADD ? kAtomicAt : kRecordAt;
  ibv_sge sge = {reinterpret_cast<uint64_t>(local_.data() + at), length,
                 local_mr_->lkey};
  try {
    if (opcode == IBV_WR_ATOMIC_FETCH_AND_ADD) {
      ibodp::PostFetchAdd(pair_.a(), sge, {remote, odp_mr_->rkey}, 1, 1);
    } else {
      ibodp::PostRdma(pair_.a(), opcode, sge, {remote, odp_mr_->rkey}, 1);
    }
    const ibv_wc wc = ibodp::PollOne(pair_.cq(), timeout_);
    if (wc.status != IBV_WC_SUCCESS) {
      Fail(Failure::kErrorCompletion, "unexpected completion error on " + what +
                                          ": " + ibv_wc_status_str(wc.status) +
                                          " (vendor error " +
                                          std::to_string(wc.vendor_err) + ")");
      shared_.stop().store(true);
      return false;
    }
  } catch (const ibodp::Error& e) {
    Fail(Failure::kErrorCompletion, what + ": " + e.what());
    shared_.stop().store(true);
    return false;
  }
  return true;
}

void Worker::Read(size_t slot) {
  uint8_t* addr = shared_.layout().Slot(slot);
  const uint64_t g0 = shared_.reset().Read();
  const std::string what = "RDMA READ of slot " + std::to_string(slot);
  if (!Post(IBV_WR_RDMA_READ, reinterpret_cast<uint64_t>(addr), kRecordBytes,
            what)) {
    return;
  }
  const auto cpu = CpuView(addr);
  const uint64_t g1 = shared_.reset().Read();
  ++stats_.reads;
  const std::span<const uint8_t> dev(local_.data() + kRecordAt, kRecordBytes);
  uint64_t seq = 0;
  if (DecodeRecord(slot, dev, &seq) == SlotState::kCorrupt) {
    Fail(Failure::kCorruptRead,
         what + ": the device read " + Describe(slot, dev));
    return;
  }
  stats_.verified_bytes += kRecordBytes;
  if (!Generation::Quiet(g0, g1)) {
    ++stats_.overlapped;
    return;
  }
  if (std::memcmp(dev.data(), cpu.data(), kRecordBytes) != 0) {
    Fail(Failure::kStaleRead, what + ": stale read: the device read " +
                                  Describe(slot, dev) + ", the CPU sees " +
                                  Describe(slot, cpu) +
                                  " and no event replaced the page meanwhile");
  }
}

void Worker::Write(size_t slot) {
  uint8_t* addr = shared_.layout().Slot(slot);
  const uint64_t seq = ++next_seq_[slot];
  const std::span<uint8_t> rec(local_.data() + kRecordAt, kRecordBytes);
  EncodeRecord(slot, seq, rec);
  const uint64_t g0 = shared_.reset().Read();
  const uint64_t s0 = shared_.soft_dirty().Read();
  const std::string what = "RDMA WRITE of seq " + std::to_string(seq) +
                           " to slot " + std::to_string(slot);
  if (!Post(IBV_WR_RDMA_WRITE, reinterpret_cast<uint64_t>(addr), kRecordBytes,
            what)) {
    return;
  }
  const auto cpu = CpuView(addr);
  const bool dirty = ibodp::IsSoftDirty(addr);
  const uint64_t g1 = shared_.reset().Read();
  const uint64_t s1 = shared_.soft_dirty().Read();
  ++stats_.writes;
  stats_.file_writes += shared_.layout().IsFileSlot(slot) ? 1 : 0;
  stats_.verified_bytes += kRecordBytes;
  const bool same = std::memcmp(cpu.data(), rec.data(), kRecordBytes) == 0;
  if (!Generation::Quiet(g0, g1)) {
    ++stats_.overlapped;
    // The device wrote into the page before or after the event replaced
    // it; the CPU's read of it may also straddle the replacement.
    uint64_t got = 0;
    const bool torn = !same && WriteThenReset(rec, cpu);
    stats_.torn_reads += torn ? 1 : 0;
    if (!same && !torn && DecodeRecord(slot, cpu, &got) != SlotState::kReset) {
      Fail(Failure::kWrongBytes,
           what + ": the CPU sees " + Describe(slot, cpu) + " (" +
               CompareToWrite(rec, cpu) +
               "), neither the write, nor a reset page, nor the write with a "
               "reset under the CPU's read");
    }
    return;
  }
  if (!same) {
    Fail(Failure::kLostWrite, what + ": lost write: the CPU sees " +
                                  Describe(slot, cpu) + " (" +
                                  CompareToWrite(rec, cpu) +
                                  ") and no event replaced the page meanwhile");
  }
  if (Generation::Quiet(s0, s1) && !dirty) {
    Fail(Failure::kNotSoftDirty,
         what +
             ": the page is not soft-dirty after the device wrote it: "
             "the write went through a mapping that a soft-dirty clear should "
             "have made read-only");
  }
}

void Worker::FetchAdd(size_t slot) {
  uint8_t* addr = shared_.layout().Slot(slot);
  const uint64_t g0 = shared_.reset().Read();
  const uint64_t s0 = shared_.soft_dirty().Read();
  const uint64_t before = LoadCounter(addr);
  const std::string what = "fetch-and-add on slot " + std::to_string(slot);
  if (!Post(IBV_WR_ATOMIC_FETCH_AND_ADD,
            reinterpret_cast<uint64_t>(addr + kCounterOffset), 8, what)) {
    return;
  }
  uint64_t old = 0;
  std::memcpy(&old, local_.data() + kAtomicAt, sizeof(old));
  const uint64_t after = LoadCounter(addr);
  const bool dirty = ibodp::IsSoftDirty(addr);
  const uint64_t g1 = shared_.reset().Read();
  const uint64_t s1 = shared_.soft_dirty().Read();
  ++stats_.atomics;
  stats_.verified_bytes += 16;
  const std::string seen = ": the CPU saw " + std::to_string(before) +
                           " before and " + std::to_string(after) +
                           " after, the device returned " + std::to_string(old);
  if (!Generation::Quiet(g0, g1)) {
    ++stats_.overlapped;
    if ((old != before && old != 0) || (after != old + 1 && after != 0)) {
      Fail(Failure::kWrongAtomic, what + seen + ", which no reset explains");
    }
    return;
  }
  if (old != before || after != old + 1) {
    Fail(Failure::kWrongAtomic,
         what + seen + " and no event replaced the page meanwhile");
  }
  if (Generation::Quiet(s0, s1) && !dirty) {
    Fail(Failure::kNotSoftDirty,
         what + ": the page is not soft-dirty after the device updated it");
  }
}

void Worker::ReadOnly(size_t page) {
  std::uniform_int_distribution<size_t> off_dist(
      0, (shared_.layout().page - kRecordBytes) / 8);
  const size_t off = off_dist(rng_) * 8;
  uint8_t* addr = shared_.layout().ReadOnly(page) + off;
  const std::string what = "RDMA READ of read-only page " +
                           std::to_string(page) + " at " + std::to_string(off);
  if (!Post(IBV_WR_RDMA_READ, reinterpret_cast<uint64_t>(addr), kRecordBytes,
            what)) {
    return;
  }
  ++stats_.ro_reads;
  stats_.verified_bytes += kRecordBytes;
  const uint8_t* dev = local_.data() + kRecordAt;
  for (size_t i = 0; i < kRecordBytes; ++i) {
    if (dev[i] != ReadOnlyByte(page, off + i)) {
      Fail(Failure::kReadOnlyBytes,
           what + ": byte " + std::to_string(off + i) + " is " +
               std::to_string(dev[i]) + ", expected " +
               std::to_string(ReadOnlyByte(page, off + i)));
      return;
    }
  }
}

}  // namespace storm
