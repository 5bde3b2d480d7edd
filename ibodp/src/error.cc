// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "ibodp/error.h"

#include <cstring>
#include <string>

namespace ibodp {

std::string ErrnoMessage(const std::string& what, int err) {
  return what + ": " + std::strerror(err) + " (errno " + std::to_string(err) +
         ")";
}

void ThrowErrno(const std::string& what, int err) {
  throw Error(ErrnoMessage(what, err));
}

}  // namespace ibodp
