// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// A MAP_SHARED file page written by the device and cleaned by writeback
// (msync) must be written back again after the next device write: the
// clean write-protects it (MMU_NOTIFY_PROTECTION_PAGE from folio_mkclean),
// and the device's next write must fault and dirty it again.
//
// Needs a filesystem with writeback: $IBODP_WRITEBACK_DIR (the lab guest
// mounts ext4 on a virtio-blk disk there).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "ibodp/caps.h"
#include "ibodp/device.h"
#include "ibodp/error.h"
#include "ibodp/loopback.h"
#include "ibodp/mapping.h"
#include "ibodp/movers.h"
#include "ibodp/pattern.h"
#include "ibodp/verbs.h"
#include "ibodp/work.h"
#include "odp_fixture.h"
#include "proc_knob.h"

namespace ibodp {
namespace {

constexpr size_t kPages = 4;
constexpr std::chrono::milliseconds kTimeout{10000};

class Writeback : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* dir = std::getenv("IBODP_WRITEBACK_DIR");
    if (dir == nullptr) {
      GTEST_SKIP() << "IBODP_WRITEBACK_DIR is not set: point it at a "
                      "directory on a filesystem with writeback (ext4, xfs; "
                      "not tmpfs)";
    }
    dev_ = std::make_unique<Device>(guest::DeviceName());
    try {
      RequireOdp(QueryOdpCaps(*dev_), Transport::kRc, IBV_ODP_SUPPORT_WRITE,
                 dev_->name());
    } catch (const Unsupported& e) {
      GTEST_SKIP() << e.what();
    }
    path_ = std::string(dir) + "/ibodp-writeback-" + std::to_string(getpid());
    fd_ = open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(fd_, 0) << path_ << ": " << std::strerror(errno);
    ASSERT_EQ(ftruncate(fd_, static_cast<off_t>(Bytes())), 0);
    file_ = std::make_unique<Mapping>(nullptr, Bytes(), PROT_READ | PROT_WRITE,
                                      MAP_SHARED, fd_, 0);
    FillPattern(file_->bytes(), 1);
    ASSERT_EQ(msync(file_->data(), Bytes(), MS_SYNC), 0);
    local_ = std::make_unique<Mapping>(Mapping::Anonymous(Bytes()));
    pd_ = AllocPd(*dev_);
    pair_ =
        std::make_unique<LoopbackRcPair>(*dev_, pd_.get(), LoopbackOptions{});
    local_mr_ = RegisterMr(pd_.get(), local_->data(), Bytes(), kFullAccess,
                           Registration::kPinned);
    file_mr_ = RegisterMr(pd_.get(), file_->data(), Bytes(), kFullAccess,
                          Registration::kOdp);
  }

  void TearDown() override {
    file_mr_.reset();
    file_.reset();
    if (fd_ >= 0) {
      close(fd_);
      unlink(path_.c_str());
    }
  }

  static size_t Bytes() { return kPages * PageSize(); }

  void DeviceWrite(uint64_t seed) {
    FillPattern(local_->bytes(), seed);
    const ibv_sge sge{reinterpret_cast<uint64_t>(local_->data()),
                      static_cast<uint32_t>(Bytes()), local_mr_->lkey};
    RdmaSync(pair_->a(), pair_->cq(), IBV_WR_RDMA_WRITE, sge,
             {reinterpret_cast<uint64_t>(file_->data()), file_mr_->rkey},
             kTimeout);
  }

  // The file's bytes on disk, read around the page cache with O_DIRECT.
  std::optional<size_t> DiskMismatch(uint64_t seed) {
    const int fd = open(path_.c_str(), O_RDONLY | O_DIRECT);
    EXPECT_GE(fd, 0) << std::strerror(errno);
    Mapping buf = Mapping::Anonymous(Bytes());
    const ssize_t n = pread(fd, buf.data(), Bytes(), 0);
    close(fd);
    EXPECT_EQ(n, static_cast<ssize_t>(Bytes())) << std::strerror(errno);
    return FirstMismatch(buf.bytes(), seed);
  }

  // Pages of the file mapping that are dirty or under writeback.
  size_t DirtyPages() const {
    size_t dirty = 0;
    for (size_t p = 0; p < kPages; ++p) {
      const uint64_t flags = KernelPageFlags(file_->data() + p * PageSize());
      dirty += (flags & (kPageFlagDirty | kPageFlagWriteback)) != 0 ? 1 : 0;
    }
    return dirty;
  }

  std::unique_ptr<Device> dev_;
  std::string path_;
  int fd_ = -1;
  std::unique_ptr<Mapping> file_;
  std::unique_ptr<Mapping> local_;
  ProtectionDomain pd_;
  std::unique_ptr<LoopbackRcPair> pair_;
  MemoryRegion local_mr_;
  MemoryRegion file_mr_;
};

TEST_F(Writeback, DeviceWriteAfterMsyncIsWrittenBackAgain) {
  DeviceWrite(2);
  ASSERT_EQ(msync(file_->data(), Bytes(), MS_SYNC), 0);
  const auto first = DiskMismatch(2);
  EXPECT_FALSE(first.has_value())
      << "first device write not on disk after msync, byte " << *first;

  DeviceWrite(3);
  ASSERT_EQ(msync(file_->data(), Bytes(), MS_SYNC), 0);
  const auto second = DiskMismatch(3);
  EXPECT_FALSE(second.has_value())
      << "device write after a writeback clean was not written back: the "
         "page was not dirtied again, byte "
      << *second;
}

TEST_F(Writeback, DeviceWriteAfterFsyncIsWrittenBackAgain) {
  DeviceWrite(4);
  ASSERT_EQ(fsync(fd_), 0);
  DeviceWrite(5);
  ASSERT_EQ(fsync(fd_), 0);
  const auto bad = DiskMismatch(5);
  EXPECT_FALSE(bad.has_value())
      << "device write after fsync not written back, byte " << *bad;
}

// The flusher, not a sync call, writes the pages back: the device's second
// write, after the flusher's clean write-protected the pages, must reach
// the disk too. Periodic writeback is off while the device writes, so that
// the pages are seen dirty; then expiry is made short and the flusher
// woken. The test waits for the page cache to call the pages clean
// (/proc/kpageflags) before it reads the disk: an O_DIRECT read would
// write dirty pages back itself.
TEST_F(Writeback, FlusherWritesBackEachDeviceWrite) {
  const guest::ProcKnob expire("/proc/sys/vm/dirty_expire_centisecs", "1");
  const guest::ProcKnob period("/proc/sys/vm/dirty_writeback_centisecs", "0");
  for (const uint64_t seed : {6, 7}) {
    period.Set("0");
    DeviceWrite(seed);
    ASSERT_EQ(DirtyPages(), kPages)
        << "the device's write did not dirty every page it wrote";
    period.Set("10");  // wakes the flusher (dirty_writeback_centisecs_handler)
    const auto deadline = std::chrono::steady_clock::now() + kTimeout;
    size_t dirty = DirtyPages();
    while (dirty > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      dirty = DirtyPages();
    }
    ASSERT_EQ(dirty, 0U) << "the flusher left pages dirty for "
                         << kTimeout.count() << " ms";
    const auto bad = DiskMismatch(seed);
    EXPECT_FALSE(bad.has_value())
        << "the flusher cleaned the pages but device write " << seed
        << " is not on disk, byte " << *bad;
  }
}

// After sync, with the MR and the mapping gone and the page cache dropped,
// reading the file returns what the device wrote.
TEST_F(Writeback, SyncThenDropCachesLeavesTheDeviceBytesInTheFile) {
  DeviceWrite(8);
  sync();
  file_mr_.reset();
  file_.reset();
  std::ofstream("/proc/sys/vm/drop_caches") << "1\n";
  Mapping buf = Mapping::Anonymous(Bytes());
  ASSERT_EQ(pread(fd_, buf.data(), Bytes(), 0), static_cast<ssize_t>(Bytes()))
      << std::strerror(errno);
  const auto bad = FirstMismatch(buf.bytes(), 8);
  EXPECT_FALSE(bad.has_value())
      << "the file read back after sync and drop_caches differs from the "
         "device's write at byte "
      << *bad;
}

}  // namespace
}  // namespace ibodp
