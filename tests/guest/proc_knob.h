// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// A kernel knob (/proc/sys, or debugfs) that a test sets and that goes back to
// its old value when the test ends.
#ifndef IBODP_TESTS_GUEST_PROC_KNOB_H_
#define IBODP_TESTS_GUEST_PROC_KNOB_H_

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <utility>

namespace ibodp::guest {

class ProcKnob {
 public:
  ProcKnob(std::string path, const std::string& value)
      : path_(std::move(path)) {
    std::ifstream in(path_);
    std::getline(in, old_);
    Set(value);
  }
  ProcKnob(const ProcKnob&) = delete;
  ProcKnob& operator=(const ProcKnob&) = delete;
  ~ProcKnob() { Set(old_); }

  void Set(const std::string& value) const {
    std::ofstream out(path_);
    out << value << "\n";
    out.flush();
    EXPECT_TRUE(out.good()) << "cannot write " << value << " to " << path_;
  }

 private:
  std::string path_;
  std::string old_;
};

}  // namespace ibodp::guest

#endif  // IBODP_TESTS_GUEST_PROC_KNOB_H_
