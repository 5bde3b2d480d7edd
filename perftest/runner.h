// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// Runs scenarios: setup, warm-up, then a repetition's measured ops with
// the memory event applied every `period` ops, counters read around each
// repetition. RunScenario measures all repetitions of one scenario back to
// back; RunRepetition measures one on a fresh setup, so that a caller can
// interleave the repetitions of many scenarios in time.
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

// Repetition number `index` of `scenario` on its own setup and warm-up.
// Throws as RunScenario does.
RepetitionResult RunRepetition(const ibodp::Device& dev,
                               const Scenario& scenario, uint64_t index,
                               CounterSources& sources,
                               std::chrono::milliseconds timeout);

}  // namespace perftest

#endif  // PERFTEST_RUNNER_H_
