// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// A storm worker: its own loopback RC pair and pinned buffer, RDMA READ,
// WRITE and fetch-and-add on the slots it owns (in the write and file
// zones) and READs of the read-only zone, each checked against what the
// CPU sees.
#ifndef TESTS_STORM_WORKER_H_
#define TESTS_STORM_WORKER_H_

#include <infiniband/verbs.h>

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "ibodp/device.h"
#include "ibodp/loopback.h"
#include "ibodp/mapping.h"
#include "ibodp/verbs.h"
#include "shared.h"

namespace storm {

struct WorkerStats {
  uint64_t reads = 0;
  uint64_t writes = 0;
  uint64_t atomics = 0;
  uint64_t ro_reads = 0;
  // Of the WRITEs, those into the file zone.
  uint64_t file_writes = 0;
  // Bytes compared against an expected value.
  uint64_t verified_bytes = 0;
  // Checks that were relaxed because an event overlapped the op.
  uint64_t overlapped = 0;
  // Of those, WRITEs whose CPU check read the start of the written record
  // and then zeros: the page was replaced while the CPU read it.
  uint64_t torn_reads = 0;
};

class Worker {
 public:
  // Owns the slots i with i % workers == id. Throws ibodp::Error
  // when a verbs object cannot be created.
  Worker(const ibodp::Device& dev, ibv_pd* pd, ibv_mr* odp_mr, Shared& shared,
         int id, int workers, uint64_t seed, std::chrono::milliseconds timeout);

  // Runs ops until shared.stop(); a mismatch or an error completion is
  // recorded with Shared::Fail (the latter also stops the run: the QP is
  // in the error state).
  void Run();
  const WorkerStats& stats() const { return stats_; }

 private:
  void Read(size_t slot);
  void Write(size_t slot);
  void FetchAdd(size_t slot);
  void ReadOnly(size_t page);
  // Posts one work request on the pair and waits for its completion;
  // false (with the failure recorded) on an error completion or timeout.
  bool Post(ibv_wr_opcode opcode, uint64_t remote, uint32_t length,
            const std::string& what);
  void Fail(Failure kind, const std::string& what);

  Shared& shared_;
  ibv_mr* odp_mr_;
  int id_;
  std::vector<size_t> slots_;
  std::mt19937_64 rng_;
  std::chrono::milliseconds timeout_;
  ibodp::LoopbackRcPair pair_;
  ibodp::Mapping local_;
  ibodp::MemoryRegion local_mr_;
  std::vector<uint64_t> next_seq_;
  WorkerStats stats_;
};

}  // namespace storm

#endif  // TESTS_STORM_WORKER_H_
