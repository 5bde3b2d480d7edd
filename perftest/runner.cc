// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "runner.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "sources.h"

namespace perftest {
namespace {

// The summary of a repetition's measured ops: `busy` is their time, `wall`
// the window's, from the first op to the last completion.
void Finish(RepetitionResult& rep, std::vector<double> latencies,
            std::chrono::nanoseconds busy, std::chrono::nanoseconds wall,
            const Bench& bench, const Scenario& s) {
  rep.ops = latencies.size();
  rep.elapsed_ns = static_cast<double>(busy.count());
  rep.wall_ns = static_cast<double>(wall.count());
  rep.latency = Summarize(std::move(latencies));
  rep.registration_ns = static_cast<double>(bench.RegistrationTime().count());
  if (const auto faults = CounterSources::Faults(rep.counters)) {
    rep.faults_per_op =
        static_cast<double>(*faults) / static_cast<double>(rep.ops);
  }
  const double seconds = rep.elapsed_ns / 1e9;
  rep.ops_per_sec = static_cast<double>(rep.ops) / seconds;
  rep.bytes_per_sec =
      static_cast<double>(rep.ops * s.pages * s.msg_size) / seconds;
}

// Measures ops first_op .. first_op + s.ops - 1.
RepetitionResult MeasureEvents(Bench& bench, const Scenario& s,
                               uint64_t first_op) {
  RepetitionResult rep;
  std::vector<double> latencies(s.ops);
  std::chrono::nanoseconds event_time{0};
  std::chrono::nanoseconds busy{0};
  const bool has_event = s.event != "none";
  // Ops after an event touch slots the event invalidated until they have
  // gone once round the MR.
  const uint64_t cover = bench.OpsToCoverMr();
  bench.BeginCounting();
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < s.ops; ++i) {
    if (has_event && i % s.period == 0) {
      event_time += bench.ApplyEvent();
      ++rep.events;
    }
    const bool since_event = has_event && i % s.period < cover;
    const std::chrono::nanoseconds latency =
        bench.RunOp(first_op + i, since_event);
    busy += latency;
    latencies[i] = static_cast<double>(latency.count());
  }
  const auto wall = std::chrono::steady_clock::now() - start;
  rep.counters = bench.EndCounting();
  rep.event_time_ns_total = static_cast<double>(event_time.count());
  Finish(rep, std::move(latencies), busy, wall, bench, s);
  return rep;
}

// How often a background scenario samples its counters: between two ops,
// outside every op's latency.
constexpr std::chrono::seconds kTimelineStep{1};

// Ops from first_op on for s.seconds while the background acts on the MR
// (at most s.ops of them), with a timeline of the primary counter source.
RepetitionResult MeasureBackground(Bench& bench, const Scenario& s,
                                   uint64_t first_op) {
  RepetitionResult rep;
  std::vector<double> latencies(s.ops);
  std::chrono::nanoseconds busy{0};
  const auto window = std::chrono::seconds(s.seconds);
  if (bench.PrepareBackground()) {
    for (uint64_t i = 0; i < bench.OpsToCoverMr(); ++i) {
      bench.RunOp(i, /*since_event=*/false);
    }
  }
  bench.BeginCounting();
  bench.StartBackground();
  const auto start = std::chrono::steady_clock::now();
  const auto sample = [&](std::chrono::nanoseconds at, uint64_t ops) {
    rep.timeline.push_back(
        {static_cast<double>(at.count()), ops, bench.PeekCounters()});
  };
  std::chrono::nanoseconds next_sample = kTimelineStep;
  uint64_t done = 0;
  for (auto now = start; done < s.ops && now - start < window;
       now = std::chrono::steady_clock::now()) {
    if (now - start >= next_sample) {
      sample(now - start, done);
      next_sample = now - start + kTimelineStep;
    }
    const std::chrono::nanoseconds latency =
        bench.RunOp(first_op + done, /*since_event=*/false);
    busy += latency;
    latencies[done++] = static_cast<double>(latency.count());
  }
  const auto wall = std::chrono::steady_clock::now() - start;
  sample(wall, done);
  bench.StopBackground();
  rep.counters = bench.EndCounting();
  latencies.resize(done);
  Finish(rep, std::move(latencies), busy, wall, bench, s);
  return rep;
}

RepetitionResult MeasureRepetition(Bench& bench, const Scenario& s,
                                   uint64_t first_op) {
  if (s.background != "none") {
    return MeasureBackground(bench, s, first_op);
  }
  return MeasureEvents(bench, s, first_op);
}

// Warm-up maps every page of the MR, so that a scenario without events
// measures no first-touch faults. Returns the number of warm-up ops.
uint64_t WarmUp(Bench& bench, const Scenario& scenario) {
  const uint64_t warmup = std::max(scenario.warmup_ops, bench.OpsToCoverMr());
  for (uint64_t i = 0; i < warmup; ++i) {
    bench.RunOp(i, /*since_event=*/false);
  }
  return warmup;
}

}  // namespace

ScenarioResult RunScenario(const BenchFactory& setup,
                           const Scenario& scenario) {
  ScenarioResult result;
  result.scenario = scenario;
  const std::unique_ptr<Bench> bench = setup(scenario);
  const uint64_t warmup = WarmUp(*bench, scenario);
  for (uint64_t r = 0; r < scenario.repetitions; ++r) {
    result.repetitions.push_back(
        MeasureRepetition(*bench, scenario, warmup + r * scenario.ops));
  }
  result.aggregates = Aggregate(result.repetitions);
  return result;
}

RepetitionResult RunRepetition(const BenchFactory& setup,
                               const Scenario& scenario, uint64_t index) {
  const std::unique_ptr<Bench> bench = setup(scenario);
  const uint64_t warmup = WarmUp(*bench, scenario);
  return MeasureRepetition(*bench, scenario, warmup + index * scenario.ops);
}

}  // namespace perftest
