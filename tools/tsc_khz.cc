// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// Prints this machine's TSC frequency in kHz, measured against
// std::chrono::steady_clock (CLOCK_MONOTONIC) over 200 ms. QEMU's TCG hands the
// host TSC to its vCPUs; odplab passes the value as the guest's tsc_early_khz,
// so that the guest keeps the TSC as its clocksource instead of falling back to
// 4 ms jiffies when its PIT calibration fails on a busy host.
#include <x86intrin.h>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <thread>

int main() {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  const uint64_t c0 = __rdtsc();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const uint64_t c1 = __rdtsc();
  const auto t1 = Clock::now();
  const double ns = std::chrono::duration<double, std::nano>(t1 - t0).count();
  if (ns <= 0 || c1 <= c0) {
    std::cerr << "tsc_khz: the TSC or the clock did not advance\n";
    return 1;
  }
  std::cout << static_cast<uint64_t>(static_cast<double>(c1 - c0) / ns * 1e6)
            << "\n";
  return 0;
}
