// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// Memory semantics of an ODP MR across memory events, on any kernel: what
// the device reads and writes after soft-dirty clearing, mprotect, fork and
// munmap must be what the CPU would see. The pristine kernel passes them by
// dropping every page; the patched one must pass them while keeping pages.
//
// One scenario per test. The "remote" range is an ODP MR that QP a reads
// and writes through QP b; the local side is pinned, so every ODP fault
// counted belongs to the remote range.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "ibodp/caps.h"
#include "ibodp/device.h"
#include "ibodp/error.h"
#include "ibodp/loopback.h"
#include "ibodp/mapping.h"
#include "ibodp/pattern.h"
#include "ibodp/softdirty.h"
#include "ibodp/verbs.h"
#include "ibodp/work.h"
#include "odp_fixture.h"

namespace ibodp {
namespace {

using OdpSemantics = guest::OdpFixture;

TEST_F(OdpSemantics, SoftDirtyClearThenReadReturnsSameBytes) {
  ClearSoftDirty();
  ASSERT_EQ(Read(0, Bytes()).status, IBV_WC_SUCCESS);
  ExpectLocal(0, Bytes(), kRemoteSeed);
}

TEST_F(OdpSemantics, SoftDirtyClearThenWriteMakesWrittenPagesSoftDirty) {
  ClearSoftDirty();
  for (size_t p = 0; p < kPages; ++p) {
    ASSERT_FALSE(IsSoftDirty(remote_->data() + p * PageSize()))
        << "page " << p << " is soft-dirty right after clear_refs";
  }
  const size_t written = 4;
  FillPattern(local_->bytes().subspan(0, written * PageSize()), 2);
  ASSERT_EQ(Write(0, written * PageSize()).status, IBV_WC_SUCCESS);
  for (size_t p = 0; p < kPages; ++p) {
    EXPECT_EQ(IsSoftDirty(remote_->data() + p * PageSize()), p < written)
        << "page " << p << (p < written ? " was" : " was not")
        << " written by the device";
  }
  EXPECT_FALSE(
      FirstMismatch(remote_->bytes().subspan(0, written * PageSize()), 2)
          .has_value());
}

TEST_F(OdpSemantics, MprotectReadOnlyAllowsReadRefusesWrite) {
  ASSERT_EQ(mprotect(remote_->data(), Bytes(), PROT_READ), 0);
  ASSERT_EQ(Read(0, Bytes()).status, IBV_WC_SUCCESS);
  ExpectLocal(0, Bytes(), kRemoteSeed);
  FillPattern(local_->bytes(), 9);
  EXPECT_EQ(Write(0, PageSize()).status, IBV_WC_REM_ACCESS_ERR);
  EXPECT_FALSE(FirstMismatch(remote_->bytes(), kRemoteSeed).has_value())
      << "a refused RDMA WRITE changed read-only memory";
  ASSERT_EQ(mprotect(remote_->data(), Bytes(), PROT_READ | PROT_WRITE), 0);
}

TEST_F(OdpSemantics, MprotectNoneRefusesRead) {
  ASSERT_EQ(mprotect(remote_->data(), Bytes(), PROT_NONE), 0);
  EXPECT_EQ(Read(0, PageSize()).status, IBV_WC_REM_ACCESS_ERR);
  ASSERT_EQ(mprotect(remote_->data(), Bytes(), PROT_READ | PROT_WRITE), 0);
}

TEST_F(OdpSemantics, MprotectNoneRefusesWrite) {
  ASSERT_EQ(mprotect(remote_->data(), Bytes(), PROT_NONE), 0);
  FillPattern(local_->bytes(), 9);
  EXPECT_EQ(Write(0, PageSize()).status, IBV_WC_REM_ACCESS_ERR);
  ASSERT_EQ(mprotect(remote_->data(), Bytes(), PROT_READ | PROT_WRITE), 0);
  EXPECT_FALSE(FirstMismatch(remote_->bytes(), kRemoteSeed).has_value());
}

TEST_F(OdpSemantics, ForkThenParentWriteIsNotVisibleInChild) {
  int to_child[2];
  int from_child[2];
  ASSERT_EQ(pipe(to_child), 0);
  ASSERT_EQ(pipe(from_child), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0) << std::strerror(errno);
  if (pid == 0) {
    // Child: wait until the parent's RDMA WRITE completed, then report
    // whether its own copy still holds the pre-fork bytes.
    char go = 0;
    const bool got = read(to_child[0], &go, 1) == 1;
    const char same =
        got && !FirstMismatch(remote_->bytes(), kRemoteSeed).has_value() ? 1
                                                                         : 0;
    const bool sent = write(from_child[1], &same, 1) == 1;
    _exit(sent ? 0 : 2);
  }
  FillPattern(local_->bytes(), 5);
  const ibv_wc wc = Write(0, Bytes());
  const char go = 1;
  ASSERT_EQ(write(to_child[1], &go, 1), 1);
  char same = 0;
  ASSERT_EQ(read(from_child[0], &same, 1), 1);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  for (int fd : {to_child[0], to_child[1], from_child[0], from_child[1]}) {
    close(fd);
  }
  ASSERT_EQ(wc.status, IBV_WC_SUCCESS);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(same, 1) << "the child saw the parent's RDMA WRITE";
  EXPECT_FALSE(FirstMismatch(remote_->bytes(), 5).has_value())
      << "the parent does not see its own RDMA WRITE";
}

TEST_F(OdpSemantics, MunmapAndNewMappingThenReadSeesNewBytes) {
  uint8_t* addr = remote_->data();
  ASSERT_EQ(munmap(addr, Bytes()), 0);
  remote_->Release();
  void* p = mmap(addr, Bytes(), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  ASSERT_EQ(p, static_cast<void*>(addr)) << std::strerror(errno);
  *remote_ = Mapping::Adopt(addr, Bytes());
  FillPattern(remote_->bytes(), 11);
  ASSERT_EQ(Read(0, Bytes()).status, IBV_WC_SUCCESS);
  ExpectLocal(0, Bytes(), 11);
}

TEST_F(OdpSemantics, MadviseDontneedThenReadSeesZeros) {
  ASSERT_EQ(madvise(remote_->data(), Bytes(), MADV_DONTNEED), 0);
  FillPattern(local_->bytes(), 3);
  ASSERT_EQ(Read(0, Bytes()).status, IBV_WC_SUCCESS);
  for (size_t i = 0; i < Bytes(); ++i) {
    ASSERT_EQ(local_->data()[i], 0) << "byte " << i;
  }
}

}  // namespace
}  // namespace ibodp
