// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "workload.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string>

#include "background.h"
#include "ibodp/caps.h"
#include "ibodp/error.h"
#include "ibodp/prefetch.h"
#include "ibodp/work.h"

namespace perftest {
namespace {

// The ODP transport capability an op needs on the responder side.
uint32_t RequiredOdpCaps(Op op) {
  switch (op) {
    case Op::kRead:
      return IBV_ODP_SUPPORT_READ;
    case Op::kWrite:
      return IBV_ODP_SUPPORT_WRITE;
    case Op::kSend:
      return IBV_ODP_SUPPORT_SEND | IBV_ODP_SUPPORT_RECV;
    case Op::kFetchAdd:
      return IBV_ODP_SUPPORT_ATOMIC;
  }
  return 0;
}

// A MAP_SHARED file for the msync event (it needs pages with a backing
// file to clean); anonymous private memory for every other event.
ibodp::UniqueFd OpenBackingFile(uint64_t size) {
  const char* dir = std::getenv("IBODP_WRITEBACK_DIR");
  std::string path =
      std::string(dir != nullptr ? dir : "/tmp") + "/perftest-msync-XXXXXX";
  ibodp::UniqueFd fd(mkstemp(path.data()));
  if (fd.get() < 0) {
    const int err = errno;
    ibodp::ThrowErrno("mkstemp " + path, err);
  }
  unlink(path.c_str());
  // Allocated now, so that a filesystem too small for the MR is an error
  // here rather than a SIGBUS when the mapping is first written.
  if (const int err = posix_fallocate(fd.get(), 0, static_cast<off_t>(size));
      err != 0) {
    ibodp::ThrowErrno("msync event: allocating the " + FormatBytes(size) +
                          " MAP_SHARED backing file " + path +
                          " ($IBODP_WRITEBACK_DIR or /tmp; it needs room for "
                          "the whole MR)",
                      err);
  }
  return fd;
}

// The file's page cache may hold PMD-sized folios (ext4 has large folios),
// which the kernel then maps with one PMD. The msync event's rewrite of a
// clean PMD mapping splits it (a CLEAR of the whole 2 MiB, which drops
// every page) before writeback write-protects the pages, so the event
// would no longer be the write-protect-only one it states. Base pages
// only: MADV_NOHUGEPAGE makes do_set_pmd() refuse the PMD. A kernel
// without THP has no PMD mappings of files, and refuses the advice.
void MapWithBasePagesOnly(const ibodp::Mapping& m) {
  if (madvise(m.data(), m.size(), MADV_NOHUGEPAGE) != 0) {
    const int err = errno;
    if (err != EINVAL) {
      ibodp::ThrowErrno("madvise(MADV_NOHUGEPAGE) of the MR", err);
    }
  }
}

}  // namespace

Workload::Workload(const ibodp::Device& dev, const Scenario& scenario,
                   std::chrono::milliseconds timeout)
    : scenario_(scenario),
      timeout_(timeout),
      local_(ibodp::Mapping::Anonymous(1)),
      remote_(ibodp::Mapping::Anonymous(1)) {
  const uint64_t page = ibodp::PageSize();
  stride_ = (scenario.msg_size + page - 1) / page * page;
  slots_ = scenario.mr_size / stride_;
  if (slots_ < scenario.pages) {
    throw ibodp::Error(scenario.Name() + ": " + std::to_string(scenario.pages) +
                       " slots of " + FormatBytes(stride_) +
                       " do not fit the MR of " +
                       FormatBytes(scenario.mr_size));
  }
  ibodp::RequireOdp(ibodp::QueryOdpCaps(dev), ibodp::Transport::kRc,
                    RequiredOdpCaps(scenario.op), dev.name());
  pd_ = ibodp::AllocPd(dev);
  ibodp::LoopbackOptions opts;
  opts.max_send_wr = static_cast<uint32_t>(scenario.pages);
  opts.max_recv_wr = static_cast<uint32_t>(scenario.pages);
  opts.max_rd_atomic = 16;
  pair_ = std::make_unique<ibodp::LoopbackRcPair>(dev, pd_.get(), opts);
  local_ = ibodp::Mapping::Anonymous(scenario.pages * stride_);
  const std::unique_ptr<ibodp::MemoryEvent> event =
      ibodp::MakeEvent(scenario.event);
  const std::unique_ptr<Background> background =
      MakeBackground(scenario.background);
  if (event->NeedsFile() || (background && background->NeedsFile())) {
    remote_fd_ = OpenBackingFile(scenario.mr_size);
    remote_ = ibodp::Mapping(nullptr, scenario.mr_size, PROT_READ | PROT_WRITE,
                             MAP_SHARED, remote_fd_.get(), 0);
    MapWithBasePagesOnly(remote_);
  } else if (event->NeedsHugePages()) {
    remote_ = ibodp::Mapping::AnonymousHuge(scenario.mr_size);
  } else if (background && background->NeedsHugeAlignment()) {
    // The MR at the start of a mapping of whole 2 MiB huge pages, in base
    // pages, for the background to collapse. Where the MR is smaller, a
    // collapse covers it and the rest of the buffer, as for an MR that is
    // part of a larger one.
    remote_ = ibodp::Mapping::AnonymousAligned(
        ibodp::RoundUpToHugePages(scenario.mr_size), ibodp::kHugePageBytes);
    MapWithBasePagesOnly(remote_);
  } else {
    remote_ = ibodp::Mapping::Anonymous(scenario.mr_size);
  }
  std::fill(remote_.bytes().begin(), remote_.bytes().end(), 0x5a);
  local_mr_ =
      ibodp::RegisterMr(pd_.get(), local_.data(), local_.size(),
                        ibodp::kFullAccess, ibodp::Registration::kPinned);
  const auto registration = scenario.registration == Registration::kPinned
                                ? ibodp::Registration::kPinned
                                : ibodp::Registration::kOdp;
  const auto before = std::chrono::steady_clock::now();
  remote_mr_ = ibodp::RegisterMr(pd_.get(), remote_.data(), scenario.mr_size,
                                 ibodp::kFullAccess, registration);
  registration_time_ = std::chrono::steady_clock::now() - before;
  BuildRequests();
}

ibodp::EventTarget Workload::Target() const {
  return {remote_.data(), scenario_.mr_size, remote_fd_.get()};
}

uint64_t Workload::BytesPerOp() const {
  return scenario_.pages * scenario_.msg_size;
}

uint64_t Workload::OpsToCoverMr() const {
  return (slots_ + scenario_.pages - 1) / scenario_.pages;
}

void Workload::BuildRequests() {
  const uint64_t pages = scenario_.pages;
  sges_.resize(pages);
  wrs_.resize(pages);
  recvs_.resize(pages);
  recv_sges_.resize(pages);
  wcs_.resize(2 * pages);
  for (uint64_t i = 0; i < pages; ++i) {
    sges_[i] = {reinterpret_cast<uint64_t>(local_.data()) + i * stride_,
                static_cast<uint32_t>(scenario_.msg_size), local_mr_->lkey};
    ibv_send_wr& wr = wrs_[i];
    wr = {};
    wr.wr_id = i;
    wr.sg_list = &sges_[i];
    wr.num_sge = 1;
    wr.send_flags = IBV_SEND_SIGNALED;
    wr.next = i + 1 < pages ? &wrs_[i + 1] : nullptr;
    switch (scenario_.op) {
      case Op::kRead:
        wr.opcode = IBV_WR_RDMA_READ;
        wr.wr.rdma.rkey = remote_mr_->rkey;
        break;
      case Op::kWrite:
        wr.opcode = IBV_WR_RDMA_WRITE;
        wr.wr.rdma.rkey = remote_mr_->rkey;
        break;
      case Op::kSend:
        wr.opcode = IBV_WR_SEND;
        break;
      case Op::kFetchAdd:
        wr.opcode = IBV_WR_ATOMIC_FETCH_AND_ADD;
        wr.wr.atomic.rkey = remote_mr_->rkey;
        wr.wr.atomic.compare_add = 1;
        break;
    }
    recv_sges_[i] = {0, static_cast<uint32_t>(scenario_.msg_size),
                     remote_mr_->lkey};
    recvs_[i] = {};
    recvs_[i].wr_id = i;
    recvs_[i].sg_list = &recv_sges_[i];
    recvs_[i].num_sge = 1;
    recvs_[i].next = i + 1 < pages ? &recvs_[i + 1] : nullptr;
  }
  prefetch_sges_.assign(
      pages,
      ibv_sge{0, static_cast<uint32_t>(scenario_.msg_size), remote_mr_->lkey});
}

void Workload::Retarget(uint64_t first_slot) {
  const auto remote_base = reinterpret_cast<uint64_t>(remote_.data());
  uint64_t slot = first_slot;
  for (uint64_t i = 0; i < scenario_.pages; ++i) {
    const uint64_t addr = remote_base + slot * stride_;
    switch (scenario_.op) {
      case Op::kRead:
      case Op::kWrite:
        wrs_[i].wr.rdma.remote_addr = addr;
        break;
      case Op::kFetchAdd:
        wrs_[i].wr.atomic.remote_addr = addr;
        break;
      case Op::kSend:
        recv_sges_[i].addr = addr;
        break;
    }
    prefetch_sges_[i].addr = addr;
    if (++slot == slots_) {
      slot = 0;
    }
  }
}

void Workload::PostRecvs() {
  ibv_recv_wr* bad = nullptr;
  const int rc = ibv_post_recv(pair_->b(), recvs_.data(), &bad);
  if (rc != 0) {
    ibodp::ThrowErrno("ibv_post_recv", rc);
  }
}

void Workload::PostSends() {
  ibv_send_wr* bad = nullptr;
  const int rc = ibv_post_send(pair_->a(), wrs_.data(), &bad);
  if (rc != 0) {
    ibodp::ThrowErrno("ibv_post_send of " + std::to_string(scenario_.pages) +
                          " " + std::string(OpName(scenario_.op)) + " WRs",
                      rc);
  }
}

void Workload::Poll(int expected, Clock::time_point start) {
  int done = 0;
  uint32_t empty = 0;
  while (done < expected) {
    const int n = ibv_poll_cq(pair_->cq(), expected - done, wcs_.data() + done);
    if (n < 0) {
      throw ibodp::Error("ibv_poll_cq failed (" + std::to_string(n) + ")");
    }
    for (int i = done; i < done + n; ++i) {
      ibodp::RequireSuccess(wcs_[i], OpName(scenario_.op));
    }
    done += n;
    // The clock is read once per kEmptyPollsPerClockRead empty polls, so
    // that the timeout costs the polling loop next to nothing.
    if (n == 0 && ++empty % kEmptyPollsPerClockRead == 0 &&
        Clock::now() - start > timeout_) {
      throw ibodp::Error(scenario_.Name() + ": " + std::to_string(done) +
                         " of " + std::to_string(expected) +
                         " completions after " +
                         std::to_string(timeout_.count()) +
                         " ms (timeout; raise --timeout_ms)");
    }
  }
}

void Workload::Prefetch() {
  // READ only needs the pages readable; every other op writes them.
  ibodp::PrefetchSges(pd_.get(), prefetch_sges_,
                      scenario_.op == Op::kRead ? ibodp::PrefetchAccess::kRead
                                                : ibodp::PrefetchAccess::kWrite,
                      /*wait=*/true);
}

std::chrono::nanoseconds Workload::RunOp(uint64_t index, bool since_event) {
  Retarget((index * scenario_.pages) % slots_);
  const bool send = scenario_.op == Op::kSend;
  if (send) {
    PostRecvs();
  }
  const Clock::time_point start = Clock::now();
  if (since_event && scenario_.registration == Registration::kOdpPrefetch) {
    Prefetch();
  }
  PostSends();
  Poll(static_cast<int>(scenario_.pages * (send ? 2 : 1)), start);
  return Clock::now() - start;
}

}  // namespace perftest
