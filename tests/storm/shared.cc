// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "shared.h"

#include <iostream>

namespace storm {

void Shared::Fail(const std::string& what) {
  const std::lock_guard<std::mutex> lock(mu_);
  ++failures_;
  if (log_.size() < kMaxLogged) {
    log_.push_back(what);
    std::cerr << "storm: FAIL " << what << "\n" << std::flush;
  }
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
