// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// An ODP fault that runs out of its retry budget (bug (d) of "Memory that
// moves", base-patches/0004 to 0006). ib_umem_odp_map_dma_and_lock() gives
// hmm_range_fault_unlocked_timeout() HMM_RANGE_DEFAULT_TIMEOUT (1 s), and
// the budget starts before the fault waits for the mmap lock: a fault that
// waits longer than that for the lock, or for invalidations of the MR to
// end, returns -EBUSY. rxe's responder then failed the legal request with
// a remote access error, which moves the requester's QP to the error
// state. The storm hit it on a loaded guest.
//
// Here the wait is made on purpose. A thread on CPU 1 keeps calling
// mprotect() on other memory, so that it holds the mmap lock for writing
// most of the time; a SCHED_FIFO thread then takes CPU 1 for kStall (with
// the fair server off, nothing else runs there), and the mprotect() thread
// stops, usually with the lock held. An RDMA WRITE into a page that the MR
// has just dropped then faults in rxe's worker, which the unbound
// workqueue mask keeps on CPU 0, and the fault waits for the lock past its
// budget. The same for an RDMA READ and a fetch-and-add, whose responders
// keep a resource per request that the retry must find as it was. Each
// must complete with the right bytes, and the responder must have asked
// the requester to retry (an RNR NAK): a round without one did not stall
// the fault (the thread stopped outside mprotect()), and the test tries
// again, up to kMaxRounds.
#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "ibodp/error.h"
#include "ibodp/hwcounters.h"
#include "odp_fixture.h"
#include "proc_knob.h"

namespace ibodp {
namespace {

using Clock = std::chrono::steady_clock;

// rxe's count of RNR NAKs that its responders sent.
constexpr const char* kRnrNaksSent = "send_rnr_err";
constexpr const char* kWorkqueueMask = "/sys/devices/virtual/workqueue/cpumask";
constexpr const char* kFairServer =
    "/sys/kernel/debug/sched/fair_server/cpu1/runtime";

// Pins the calling thread to `cpu`; returns 0 or the error number.
int PinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

class FaultBudget : public guest::LoopbackFixture {
 protected:
  static constexpr std::chrono::milliseconds kStall{1800};
  static constexpr uint64_t kMaxRounds = 10;
  static constexpr size_t kLockHolderBytes = size_t{64} << 20;
  static constexpr std::chrono::seconds kCompletionTimeout{60};

  void SetUp() override {
    LoopbackFixture::SetUp();
    if (IsSkipped()) {
      return;
    }
    if (std::thread::hardware_concurrency() < 2) {
      GTEST_SKIP() << "needs two CPUs: one for rxe's worker, one to stall";
    }
    try {
      counters_ = std::make_unique<HwCounters>(dev_->name(),
                                               LoopbackOptions{}.port_num);
      counters_->Require({kRnrNaksSent},
                         "to tell that a fault ran out of its retry budget");
    } catch (const Unsupported& e) {
      GTEST_SKIP() << e.what();
    }
    region_ = std::make_unique<Mapping>(Mapping::Anonymous(2 * PageSize()));
    local_ = std::make_unique<Mapping>(Mapping::Anonymous(2 * PageSize()));
    holder_ = std::make_unique<Mapping>(Mapping::Anonymous(kLockHolderBytes));
    // Base pages, so that each mprotect() walks many PTEs with the lock.
    ASSERT_EQ(madvise(holder_->data(), holder_->size(), MADV_NOHUGEPAGE), 0);
    std::memset(holder_->data(), 1, holder_->size());
    mr_ = RegisterMr(pd_.get(), region_->data(), region_->size(), kFullAccess,
                     Registration::kOdp);
    local_mr_ = RegisterMr(pd_.get(), local_->data(), local_->size(),
                           kFullAccess, Registration::kPinned);
    span_ = guest::OnePacketBytes(pair_->port());
  }

  // Waits for one completion, sleeping between polls.
  ibv_wc Wait() {
    const auto deadline = Clock::now() + kCompletionTimeout;
    ibv_wc wc{};
    while (ibv_poll_cq(pair_->cq(), 1, &wc) == 0) {
      if (Clock::now() > deadline) {
        throw Error("no completion within " +
                    std::to_string(kCompletionTimeout.count()) + " s");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return wc;
  }

  std::unique_ptr<HwCounters> counters_;
  std::unique_ptr<Mapping> region_;
  std::unique_ptr<Mapping> local_;
  std::unique_ptr<Mapping> holder_;
  MemoryRegion mr_;
  MemoryRegion local_mr_;
  size_t span_ = 0;
};

// What one round posts and how it checks the result. The "across" ops
// move two pages, of which only the second has left the MR: the fault,
// and the RNR NAK, come in the middle of the message (a later packet of a
// WRITE, a later response of a READ). They need base-patches/0001 (on
// vanilla the copy bug garbles them whether or not the fault stalls), so
// only the one-packet ops reproduce the bug on vanilla.
enum class BudgetOp {
  kWrite,
  kRead,
  kFetchAdd,
  kWriteAcrossPages,
  kReadAcrossPages
};

std::string BudgetOpName(const ::testing::TestParamInfo<BudgetOp>& info) {
  switch (info.param) {
    case BudgetOp::kWrite:
      return "Write";
    case BudgetOp::kRead:
      return "Read";
    case BudgetOp::kFetchAdd:
      return "FetchAdd";
    case BudgetOp::kWriteAcrossPages:
      return "WriteAcrossPages";
    case BudgetOp::kReadAcrossPages:
      return "ReadAcrossPages";
  }
  return "Unknown";
}

class FaultBudgetOp : public FaultBudget,
                      public ::testing::WithParamInterface<BudgetOp> {
 protected:
  bool Across() const {
    return GetParam() == BudgetOp::kWriteAcrossPages ||
           GetParam() == BudgetOp::kReadAcrossPages;
  }
  bool Writes() const {
    return GetParam() == BudgetOp::kWrite ||
           GetParam() == BudgetOp::kWriteAcrossPages;
  }
  // Bytes the op moves: one packet, or two whole pages.
  size_t Bytes() const {
    return GetParam() == BudgetOp::kFetchAdd ? sizeof(uint64_t)
           : Across()                        ? 2 * PageSize()
                                             : span_;
  }
  // The page that leaves the MR before the op.
  uint8_t* Dropped() const {
    return region_->data() + (Across() ? PageSize() : 0);
  }

  // The page leaves the MR, so that the op faults; the CPU gives the
  // target (or the local buffer, for a WRITE) this round's bytes. For the
  // ops across pages, a first op puts the first page in the MR.
  void Prepare(uint64_t round) {
    ASSERT_EQ(madvise(Dropped(), PageSize(), MADV_DONTNEED), 0);
    if (GetParam() == BudgetOp::kFetchAdd) {
      std::memcpy(region_->data(), &round, sizeof(round));
      std::memset(local_->data(), 0, sizeof(uint64_t));
      return;
    }
    if (Writes()) {
      FillPattern(local_->bytes().first(Bytes()), round);
    } else {
      FillPattern(region_->bytes().first(Bytes()), round);
    }
    if (Across()) {
      const ibv_sge first{reinterpret_cast<uint64_t>(local_->data()),
                          static_cast<uint32_t>(span_), local_mr_->lkey};
      const ibv_wc wc = RdmaOp(
          Writes() ? IBV_WR_RDMA_WRITE : IBV_WR_RDMA_READ, first,
          {reinterpret_cast<uint64_t>(region_->data()), mr_->rkey}, round);
      ASSERT_EQ(wc.status, IBV_WC_SUCCESS)
          << "the op that puts the first page in the MR";
    }
    if (!Writes()) {
      std::memset(local_->data(), 0, Bytes());
    }
  }

  void Post(uint64_t round) {
    const RemoteBuffer target{reinterpret_cast<uint64_t>(region_->data()),
                              mr_->rkey};
    const ibv_sge sge{reinterpret_cast<uint64_t>(local_->data()),
                      static_cast<uint32_t>(Bytes()), local_mr_->lkey};
    if (GetParam() == BudgetOp::kFetchAdd) {
      PostFetchAdd(pair_->a(), sge, target, 1, round);
    } else {
      PostRdma(pair_->a(), Writes() ? IBV_WR_RDMA_WRITE : IBV_WR_RDMA_READ, sge,
               target, round);
    }
  }

  // "" when the op did what it should, else what is wrong.
  std::string Check(uint64_t round) const {
    if (GetParam() == BudgetOp::kFetchAdd) {
      uint64_t old = 0;
      uint64_t now = 0;
      std::memcpy(&old, local_->data(), sizeof(old));
      std::memcpy(&now, region_->data(), sizeof(now));
      if (old != round || now != round + 1) {
        return "the fetch-and-add returned " + std::to_string(old) +
               " and left " + std::to_string(now) + ", not " +
               std::to_string(round) + " and " + std::to_string(round + 1);
      }
      return "";
    }
    const auto& got = Writes() ? *region_ : *local_;
    if (const auto bad = FirstMismatch(got.bytes().first(Bytes()), round)) {
      return std::string(Writes() ? "the MR's pages do not hold the WRITE's"
                                  : "the READ did not return the pages'") +
             " bytes, from byte " + std::to_string(*bad);
    }
    return "";
  }
};

TEST_P(FaultBudgetOp, AFaultThatOutlivesItsRetryBudgetIsRetriedNotFailed) {
  // rxe's worker (an unbound workqueue) and this thread on CPU 0; nothing
  // but the SCHED_FIFO thread runs on CPU 1 while it spins.
  const guest::ProcKnob workqueue_mask(kWorkqueueMask, "1");
  const guest::ProcKnob fair_server(kFairServer, "0");
  ASSERT_EQ(PinTo(0), 0) << "cannot pin the test to CPU 0";

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> mprotects{0};
  std::atomic<int> holder_errno{0};
  std::thread holder([&] {
    if (const int rc = PinTo(1); rc != 0) {
      holder_errno = rc;
      return;
    }
    while (!stop.load(std::memory_order_relaxed)) {
      for (const int prot : {PROT_READ, PROT_READ | PROT_WRITE}) {
        if (mprotect(holder_->data(), holder_->size(), prot) != 0) {
          holder_errno = errno;
          return;
        }
      }
      mprotects.fetch_add(1, std::memory_order_relaxed);
    }
  });

  const CounterValues before = counters_->Read();
  uint64_t rnr_naks = 0;
  uint64_t round = 0;
  int stalled_rounds = 0;
  std::string failure;
  double seconds = 0;
  int spinner_error = 0;
  while (round < kMaxRounds && rnr_naks == 0 && failure.empty() &&
         holder_errno == 0 && spinner_error == 0) {
    ++round;
    Prepare(round);
    if (HasFatalFailure()) {
      break;
    }
    std::atomic<int> spinner_errno{0};
    std::thread spinner([&] {
      if (const int rc = PinTo(1); rc != 0) {
        spinner_errno = rc;
        return;
      }
      const sched_param fifo{1};
      const int rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &fifo);
      if (rc != 0) {
        spinner_errno = rc;
        return;
      }
      const auto until = Clock::now() + kStall;
      while (Clock::now() < until) {
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const uint64_t m0 = mprotects.load();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stalled_rounds += mprotects.load() == m0 ? 1 : 0;
    const auto start = Clock::now();
    Post(round);
    try {
      const ibv_wc wc = Wait();
      failure = wc.status != IBV_WC_SUCCESS ? ibv_wc_status_str(wc.status)
                                            : Check(round);
    } catch (const Error& e) {
      failure = e.what();
    }
    seconds = std::chrono::duration<double>(Clock::now() - start).count();
    spinner.join();
    spinner_error = spinner_errno.load();
    rnr_naks = ValueOf(CounterDelta(before, counters_->Read()), kRnrNaksSent);
  }
  // Every thread joins before an assertion can end the test.
  stop = true;
  holder.join();
  ASSERT_EQ(spinner_error, 0)
      << "the SCHED_FIFO thread could not start on CPU 1 (needs "
         "CAP_SYS_NICE)";
  ASSERT_EQ(holder_errno.load(), 0) << "the mprotect() thread failed";
  ASSERT_EQ(failure, "")
      << "round " << round << ": the op, whose fault waited for the "
      << "mmap lock while a stalled mprotect() held it, ended after " << seconds
      << " s with: " << failure
      << ". A fault that runs out of its retry budget must make the "
         "requester retry, not fail a legal request";
  EXPECT_GE(rnr_naks, 1U)
      << kMaxRounds << " rounds and no fault ran out of its retry budget "
      << "(no RNR NAK; " << mprotects.load() << " mprotect() pairs, "
      << stalled_rounds
      << " rounds in which they stopped): the stalled thread never held the "
         "mmap lock, and the test did not try the case";
}

INSTANTIATE_TEST_SUITE_P(Ops, FaultBudgetOp,
                         ::testing::Values(BudgetOp::kWrite, BudgetOp::kRead,
                                           BudgetOp::kFetchAdd,
                                           BudgetOp::kWriteAcrossPages,
                                           BudgetOp::kReadAcrossPages),
                         BudgetOpName);

}  // namespace
}  // namespace ibodp
