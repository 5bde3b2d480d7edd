// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// The context block of a report: what ran where. What perftest cannot see
// itself (the kernel config hash, the patch series) the caller passes in;
// odplab does.
#ifndef PERFTEST_CONTEXT_H_
#define PERFTEST_CONTEXT_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "report.h"

namespace perftest {

// "a=1,b=2" -> {{"a","1"},{"b","2"}}; throws ibodp::Error naming `flag`
// for an item without '=' or an empty key.
std::map<std::string, std::string> ParseKeyValues(std::string_view flag,
                                                  std::string_view text);

// Fills date, host, kernel release, CPU model, device and command line,
// and in `extra` what bounds the timings: "clocksource" (a jiffies clock
// quantises every latency to the tick), "online_cpus" and "cpu_affinity"
// (the CPUs perftest may run on), plus ContextFromEnvironment(environ)
// for the keys perftest does not set itself.
Context BuildContext(const std::string& device, int argc, char** argv);

// Every IBODP_CONTEXT_<KEY>=value of the NULL-terminated environment
// `envp`, as {"<key>" in lower case, value}: what the caller knows and
// perftest cannot see, e.g. odplab's "accelerator" and "qemu_cpu" in a guest.
std::map<std::string, std::string> ContextFromEnvironment(
    const char* const* envp);

// True for a clocksource whose resolution is the scheduler tick.
bool IsTickClocksource(const std::string& name);

// MemAvailable from /proc/meminfo in bytes; throws ibodp::Error when it
// cannot be read.
uint64_t MemAvailableBytes();

}  // namespace perftest

#endif  // PERFTEST_CONTEXT_H_
