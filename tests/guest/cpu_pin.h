// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// CPU-side helpers of the guest tests that make the kernel move or hint
// pages: pin the thread to one CPU, touch every page from the CPU.
#ifndef IBODP_TESTS_GUEST_CPU_PIN_H_
#define IBODP_TESTS_GUEST_CPU_PIN_H_

#include <gtest/gtest.h>
#include <sched.h>

#include <cstdint>
#include <span>

#include "ibodp/mapping.h"

namespace ibodp::guest {

// Reads one byte of every page of `range` from the CPU: swaps the pages
// in without dirtying them, and takes the hinting fault of a PROT_NONE one.
inline void CpuReadEveryPage(std::span<const uint8_t> range) {
  for (size_t off = 0; off < range.size(); off += PageSize()) {
    // A volatile read is never optimised away.
    static_cast<void>(
        *static_cast<const volatile uint8_t*>(range.data() + off));
  }
}

// Runs the calling thread on one CPU for the object's lifetime.
class PinnedToCpu {
 public:
  explicit PinnedToCpu(int cpu) {
    EXPECT_EQ(sched_getaffinity(0, sizeof(old_), &old_), 0);
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    EXPECT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
  }
  PinnedToCpu(const PinnedToCpu&) = delete;
  PinnedToCpu& operator=(const PinnedToCpu&) = delete;
  ~PinnedToCpu() { sched_setaffinity(0, sizeof(old_), &old_); }

 private:
  cpu_set_t old_{};
};

}  // namespace ibodp::guest

#endif  // IBODP_TESTS_GUEST_CPU_PIN_H_
