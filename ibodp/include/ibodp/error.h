// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// Errors thrown by the ibodp library. The library never exits the process:
// every failure is an ibodp::Error whose message names the cause and, where
// one is known, the fix.
#ifndef IBODP_ERROR_H_
#define IBODP_ERROR_H_

#include <stdexcept>
#include <string>

namespace ibodp {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Thrown when the device lacks a capability the caller asked for. Tests turn
// it into a skip with the message as the reason.
class Unsupported : public Error {
 public:
  using Error::Error;
};

// Builds "<what>: <strerror(err)> (errno <err>)".
std::string ErrnoMessage(const std::string& what, int err);

// Throws Error(ErrnoMessage(what, err)).
[[noreturn]] void ThrowErrno(const std::string& what, int err);

}  // namespace ibodp

#endif  // IBODP_ERROR_H_
