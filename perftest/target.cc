// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "target.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "background.h"
#include "ibodp/error.h"

namespace perftest {
namespace {

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

TargetMr::TargetMr(ibv_pd* pd, const Scenario& scenario)
    : size_(scenario.mr_size),
      mapping_(ibodp::Mapping::Anonymous(1)),
      event_(ibodp::MakeEvent(scenario.event)),
      background_name_(scenario.background) {
  // What the background needs of the mapping; the window's own comes in
  // PrepareBackground().
  const std::unique_ptr<Background> background =
      MakeBackground(scenario.background);
  if (event_->NeedsFile() || (background && background->NeedsFile())) {
    fd_ = OpenBackingFile(size_);
    mapping_ = ibodp::Mapping(nullptr, size_, PROT_READ | PROT_WRITE,
                              MAP_SHARED, fd_.get(), 0);
    MapWithBasePagesOnly(mapping_);
  } else if (event_->NeedsHugePages()) {
    mapping_ = ibodp::Mapping::AnonymousHuge(size_);
  } else if (background && background->NeedsHugeAlignment()) {
    // The MR at the start of a mapping of whole 2 MiB huge pages, in base
    // pages, for the background to collapse. Where the MR is smaller, a
    // collapse covers it and the rest of the buffer, as for an MR that is
    // part of a larger one.
    mapping_ = ibodp::Mapping::AnonymousAligned(
        ibodp::RoundUpToHugePages(size_), ibodp::kHugePageBytes);
    MapWithBasePagesOnly(mapping_);
  } else {
    mapping_ = ibodp::Mapping::Anonymous(size_);
  }
  std::fill(mapping_.bytes().begin(), mapping_.bytes().end(), 0x5a);
  const auto registration = scenario.registration == Registration::kPinned
                                ? ibodp::Registration::kPinned
                                : ibodp::Registration::kOdp;
  const auto before = std::chrono::steady_clock::now();
  mr_ = ibodp::RegisterMr(pd, mapping_.data(), size_, ibodp::kFullAccess,
                          registration);
  registration_time_ = std::chrono::steady_clock::now() - before;
}

ibodp::EventTarget TargetMr::Target() const {
  return {mapping_.data(), size_, fd_.get()};
}

std::chrono::nanoseconds TargetMr::ApplyEvent() {
  return event_->Apply(Target());
}

bool TargetMr::PrepareBackground() {
  background_ = MakeBackground(background_name_);
  if (!background_) {
    throw ibodp::Error("prepare: the scenario has no background");
  }
  return background_->Prepare(Target());
}

Background& TargetMr::Prepared(std::string_view step) {
  if (!background_) {
    throw ibodp::Error(std::string(step) +
                       " of the background before its prepare");
  }
  return *background_;
}

void TargetMr::StartBackground() { Prepared("start").Start(Target()); }

void TargetMr::StopBackground() {
  Prepared("stop").Stop();
  background_.reset();
}

}  // namespace perftest
