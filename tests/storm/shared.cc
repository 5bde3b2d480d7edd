// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "shared.h"

#include <iostream>
#include <string>

namespace storm {

const char* FailureName(Failure kind) {
  switch (kind) {
    case Failure::kErrorCompletion:
      return "error-completion";
    case Failure::kCorruptRead:
      return "corrupt-read";
    case Failure::kStaleRead:
      return "stale-read";
    case Failure::kWrongBytes:
      return "wrong-bytes";
    case Failure::kLostWrite:
      return "lost-write";
    case Failure::kWrongAtomic:
      return "wrong-atomic";
    case Failure::kNotSoftDirty:
      return "not-soft-dirty";
    case Failure::kReadOnlyBytes:
      return "read-only-bytes";
    case Failure::kForkChild:
      return "fork-child";
    case Failure::kEventError:
      return "event-error";
    case Failure::kCoverage:
      return "coverage";
  }
  return "unknown";
}

void Shared::Fail(Failure kind, const std::string& what) {
  const std::lock_guard<std::mutex> lock(mu_);
  ++failures_;
  ++by_kind_.at(static_cast<size_t>(kind));
  if (log_.size() < kMaxLogged) {
    log_.push_back(std::string(FailureName(kind)) + ": " + what);
    std::cerr << "storm: FAIL " << log_.back() << "\n" << std::flush;
  }
}

std::array<uint64_t, kFailureKinds> Shared::failures_by_kind() const {
  const std::lock_guard<std::mutex> lock(mu_);
  return by_kind_;
}

uint64_t Shared::failures() const {
  const std::lock_guard<std::mutex> lock(mu_);
  return failures_;
}

std::vector<std::string> Shared::failure_log() const {
  const std::lock_guard<std::mutex> lock(mu_);
  return log_;
}

}  // namespace storm
