// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// ODP on large and unusual memory: a 1 GiB MR, THP- and hugetlbfs-backed
// ranges, MRs that start and end mid-page, two MRs over the same pages,
// and a process that exits with its MRs still registered. Each test moves
// data with the device and checks every byte with the CPU.
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <span>
#include <string>

#include "ibodp/movers.h"
#include "ibodp/softdirty.h"
#include "odp_fixture.h"

namespace ibodp::guest {
namespace {

constexpr std::chrono::milliseconds kChildTimeout{10000};
constexpr size_t kHuge = size_t{2} << 20;

class MemoryTest : public LoopbackFixture {
 protected:
  static constexpr size_t kLocalBytes = 4 * kHuge;

  void SetUp() override {
    LoopbackFixture::SetUp();
    if (IsSkipped()) {
      return;
    }
    local_ = std::make_unique<Mapping>(Mapping::Anonymous(kLocalBytes));
    local_mr_ = RegisterMr(pd_.get(), local_->data(), kLocalBytes, kFullAccess,
                           Registration::kPinned);
  }

  // One RDMA operation between the local buffer at `local_offset` and
  // `remote` under `rkey` (see RdmaOp).
  ibv_wc Op(ibv_wr_opcode opcode, size_t local_offset, const void* remote,
            uint32_t rkey, size_t length) {
    const ibv_sge sge{reinterpret_cast<uint64_t>(local_->data() + local_offset),
                      static_cast<uint32_t>(length), local_mr_->lkey};
    return RdmaOp(opcode, sge, {reinterpret_cast<uint64_t>(remote), rkey}, 1);
  }

  // Device WRITE of a pattern to `remote`, the CPU checks it there; CPU
  // writes another pattern, a device READ brings it back.
  void RoundTrip(uint8_t* remote, uint32_t rkey, size_t length, uint64_t seed) {
    const std::span<uint8_t> src = local_->bytes().first(length);
    FillPattern(src, seed);
    ASSERT_EQ(Op(IBV_WR_RDMA_WRITE, 0, remote, rkey, length).status,
              IBV_WC_SUCCESS);
    const auto bad = FirstMismatch({remote, length}, seed);
    ASSERT_FALSE(bad.has_value())
        << "the CPU sees the device's write wrong at byte " << *bad;
    FillPattern({remote, length}, seed + 1);
    std::fill(src.begin(), src.end(), 0);
    ASSERT_EQ(Op(IBV_WR_RDMA_READ, 0, remote, rkey, length).status,
              IBV_WC_SUCCESS);
    const auto bad_read = FirstMismatch(src, seed + 1);
    ASSERT_FALSE(bad_read.has_value())
        << "the device read the CPU's bytes wrong at byte " << *bad_read;
  }

  std::unique_ptr<Mapping> local_;
  MemoryRegion local_mr_;
};

std::string ReadFirstLine(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  return f ? line : "(unreadable)";
}

TEST_F(MemoryTest, OneGibMrFirstMiddleAndLastPage) {
  const size_t size = size_t{1} << 30;
  Mapping big(nullptr, size, PROT_READ | PROT_WRITE,
              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  const MemoryRegion mr =
      RegisterMr(pd_.get(), big.data(), size, kFullAccess, Registration::kOdp);
  const size_t page = PageSize();
  for (const size_t off : {size_t{0}, size / 2 - page, size - 4 * page}) {
    SCOPED_TRACE("offset " + std::to_string(off));
    RoundTrip(big.data() + off, mr->rkey, 4 * page, off + 7);
  }
}

TEST_F(MemoryTest, TransparentHugePageAcrossThePmdBoundary) {
  Mapping area(nullptr, 3 * kHuge, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  const uintptr_t start = reinterpret_cast<uintptr_t>(area.data());
  uint8_t* aligned =
      area.data() + (((start + kHuge - 1) & ~(kHuge - 1)) - start);
  ASSERT_EQ(madvise(aligned, 2 * kHuge, MADV_HUGEPAGE), 0);
  std::fill(aligned, aligned + 2 * kHuge, 1);
  if (SmapsKb(aligned, "AnonHugePages") == 0) {
    GTEST_SKIP() << "the kernel backed the MADV_HUGEPAGE range with small "
                    "pages (transparent_hugepage/enabled: "
                 << ReadFirstLine("/sys/kernel/mm/transparent_hugepage/enabled")
                 << ")";
  }
  const MemoryRegion mr = RegisterMr(pd_.get(), aligned, 2 * kHuge, kFullAccess,
                                     Registration::kOdp);
  // 64 KiB straddling the boundary of the two huge pages.
  constexpr size_t kHalf = size_t{32} * 1024;
  RoundTrip(aligned + kHuge - kHalf, mr->rkey, 2 * kHalf, 11);
  RoundTrip(aligned, mr->rkey, kHuge, 12);
  // Splitting the huge page (a CLEAR for the MR) keeps the bytes.
  ASSERT_EQ(madvise(aligned + kHuge, PageSize(), MADV_DONTNEED), 0);
  RoundTrip(aligned + kHuge - PageSize(), mr->rkey, 2 * PageSize(), 13);
}

TEST_F(MemoryTest, HugetlbfsPages) {
  {
    std::ofstream nr("/proc/sys/vm/nr_hugepages");
    nr << 4;
  }
  void* p = mmap(nullptr, 2 * kHuge, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
  if (p == MAP_FAILED) {
    GTEST_SKIP() << "mmap(MAP_HUGETLB, 4 MiB) failed: " << strerror(errno)
                 << " (vm.nr_hugepages = "
                 << ReadFirstLine("/proc/sys/vm/nr_hugepages")
                 << "; needs CONFIG_HUGETLBFS and root to reserve pages)";
  }
  Mapping area = Mapping::Adopt(p, 2 * kHuge);
  const MemoryRegion mr = RegisterMr(pd_.get(), area.data(), 2 * kHuge,
                                     kFullAccess, Registration::kOdp);
  RoundTrip(area.data() + kHuge - 8192, mr->rkey, 16384, 21);
  RoundTrip(area.data(), mr->rkey, 2 * kHuge, 22);
  EXPECT_GT(SmapsKb(area.data(), "Private_Hugetlb"), 0u)
      << "the range was not backed by hugetlbfs pages";
}

TEST_F(MemoryTest, MrStartingAndEndingMidPage) {
  const size_t page = PageSize();
  const Mapping area = Mapping::Anonymous(4 * page);
  uint8_t* start = area.data() + 100;
  const size_t length = 2 * page + 200;  // ends at page 2 offset 300
  const MemoryRegion mr =
      RegisterMr(pd_.get(), start, length, kFullAccess, Registration::kOdp);
  RoundTrip(start, mr->rkey, length, 31);
  RoundTrip(start + length - 64, mr->rkey, 64, 32);
  // One byte before the MR and one past its end are outside it.
  EXPECT_EQ(Op(IBV_WR_RDMA_READ, 0, start - 1, mr->rkey, 8).status,
            IBV_WC_REM_ACCESS_ERR);
  EXPECT_EQ(Op(IBV_WR_RDMA_READ, 0, start + length - 4, mr->rkey, 8).status,
            IBV_WC_REM_ACCESS_ERR);
}

TEST_F(MemoryTest, TwoMrsOverTheSamePages) {
  const size_t bytes = 8 * PageSize();
  const Mapping area = Mapping::Anonymous(bytes);
  const MemoryRegion one = RegisterMr(pd_.get(), area.data(), bytes,
                                      kFullAccess, Registration::kOdp);
  const MemoryRegion two = RegisterMr(pd_.get(), area.data(), bytes,
                                      kFullAccess, Registration::kOdp);
  const std::span<uint8_t> buf = local_->bytes().first(bytes);
  FillPattern(buf, 41);
  ASSERT_EQ(Op(IBV_WR_RDMA_WRITE, 0, area.data(), one->rkey, bytes).status,
            IBV_WC_SUCCESS);
  std::fill(buf.begin(), buf.end(), 0);
  ASSERT_EQ(Op(IBV_WR_RDMA_READ, 0, area.data(), two->rkey, bytes).status,
            IBV_WC_SUCCESS);
  EXPECT_FALSE(FirstMismatch(buf, 41).has_value());
  // Both MRs drop the pages on MADV_DONTNEED: each reads zeros after it.
  ASSERT_EQ(madvise(area.data(), bytes, MADV_DONTNEED), 0);
  for (const ibv_mr* mr : {one.get(), two.get()}) {
    std::fill(buf.begin(), buf.end(), 0xee);
    ASSERT_EQ(Op(IBV_WR_RDMA_READ, 0, area.data(), mr->rkey, bytes).status,
              IBV_WC_SUCCESS);
    EXPECT_TRUE(
        std::all_of(buf.begin(), buf.end(), [](uint8_t b) { return b == 0; }))
        << "MR " << mr->rkey << " read stale bytes after MADV_DONTNEED";
  }
  // A write through one after a soft-dirty clear is seen through the
  // other and marks the page soft-dirty.
  ClearSoftDirty();
  FillPattern(buf, 42);
  ASSERT_EQ(Op(IBV_WR_RDMA_WRITE, 0, area.data(), two->rkey, bytes).status,
            IBV_WC_SUCCESS);
  EXPECT_TRUE(IsSoftDirty(area.data()));
  std::fill(buf.begin(), buf.end(), 0);
  ASSERT_EQ(Op(IBV_WR_RDMA_READ, 0, area.data(), one->rkey, bytes).status,
            IBV_WC_SUCCESS);
  EXPECT_FALSE(FirstMismatch(buf, 42).has_value());
}

// A child registers ODP and pinned MRs, moves data, and exits (or is
// killed) without deregistering anything: the kernel cleans up, and the
// parent's device keeps working.
void ChildWithMrs(bool killed) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(ready[0]);
    try {
      const Device dev(DeviceName());
      const ProtectionDomain pd = AllocPd(dev);
      const LoopbackRcPair pair(dev, pd.get(), LoopbackOptions{});
      const Mapping local = Mapping::Anonymous(16 * PageSize());
      const Mapping remote = Mapping::Anonymous(16 * PageSize());
      // Released on purpose: the process exits with them registered.
      ibv_mr* lmr = RegisterMr(pd.get(), local.data(), local.size(),
                               kFullAccess, Registration::kPinned)
                        .release();
      ibv_mr* rmr = RegisterMr(pd.get(), remote.data(), remote.size(),
                               kFullAccess, Registration::kOdp)
                        .release();
      const ibv_sge sge{reinterpret_cast<uint64_t>(local.data()),
                        static_cast<uint32_t>(local.size()), lmr->lkey};
      RdmaSync(pair.a(), pair.cq(), IBV_WR_RDMA_WRITE, sge,
               {reinterpret_cast<uint64_t>(remote.data()), rmr->rkey},
               kChildTimeout);
      if (killed) {
        const char one = 1;
        (void)!write(ready[1], &one, 1);
        pause();
      }
      // Exit here, with the device, PD, QPs and MRs all still alive.
      _exit(0);
    } catch (const Error&) {
      _exit(2);
    }
  }
  close(ready[1]);
  if (killed) {
    // Killed once its MRs are registered and used.
    char byte = 0;
    EXPECT_EQ(read(ready[0], &byte, 1), 1) << "the child did not get ready";
    kill(pid, SIGKILL);
  }
  close(ready[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  if (killed) {
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "wait status " << status;
  } else {
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "the child failed to set up or to write (wait status " << status
        << ")";
  }
}

TEST_F(MemoryTest, ProcessExitsWithMrsRegistered) {
  ChildWithMrs(/*killed=*/false);
  ChildWithMrs(/*killed=*/true);
  const Mapping area = Mapping::Anonymous(4 * PageSize());
  const MemoryRegion mr = RegisterMr(pd_.get(), area.data(), area.size(),
                                     kFullAccess, Registration::kOdp);
  RoundTrip(area.data(), mr->rkey, area.size(), 51);
}

}  // namespace
}  // namespace ibodp::guest
