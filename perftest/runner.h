// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// Runs one scenario: setup, warm-up, then each repetition's measured ops
// with the memory event applied every `period` ops, counters read around
// each repetition.
#ifndef PERFTEST_RUNNER_H_
#define PERFTEST_RUNNER_H_

#include <chrono>

#include "ibodp/device.h"
#include "report.h"
#include "scenario.h"
#include "sources.h"

namespace perftest {

// Throws ibodp::Unsupported when the device cannot run the scenario and
// ibodp::Error on any other failure; repetitions measured before a failure
// are lost with it (the caller records the error in the scenario's result).
ScenarioResult RunScenario(const ibodp::Device& dev, const Scenario& scenario,
                           CounterSources& sources,
                           std::chrono::milliseconds timeout);

}  // namespace perftest

#endif  // PERFTEST_RUNNER_H_
