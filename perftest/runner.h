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

#include <cstdint>

#include "bench.h"
#include "report.h"
#include "scenario.h"

namespace perftest {

// Throws ibodp::Unsupported when the device cannot run the scenario and
// ibodp::Error on any other failure; repetitions measured before a failure
// are lost with it (the caller records the error in the scenario's result).
ScenarioResult RunScenario(const BenchFactory& setup, const Scenario& scenario);

// Repetition number `index` of `scenario` on its own setup and warm-up.
// Throws as RunScenario does.
RepetitionResult RunRepetition(const BenchFactory& setup,
                               const Scenario& scenario, uint64_t index);

}  // namespace perftest

#endif  // PERFTEST_RUNNER_H_
