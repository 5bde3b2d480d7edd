// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// A file descriptor closed when it goes out of scope.
#ifndef IBODP_UNIQUE_FD_H_
#define IBODP_UNIQUE_FD_H_

#include <utility>

namespace ibodp {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

}  // namespace ibodp

#endif  // IBODP_UNIQUE_FD_H_
