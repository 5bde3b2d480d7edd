// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// The benchmark matrix of perftest: the flag parsers that read its axes, the
// expansion of a MatrixSpec into Scenarios, and the presets.
//
// A Scenario is one point of the matrix: one RDMA operation of one message
// size on an MR of one size registered one way, touching a number of pages
// per operation, with one memory event applied to the MR every `period`
// operations.
#ifndef PERFTEST_SCENARIO_H_
#define PERFTEST_SCENARIO_H_

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace perftest {

enum class Op { kRead, kWrite, kSend, kFetchAdd };

// How the MR the operations target is registered: ODP, or what its users
// would do instead.
enum class Registration {
  // IBV_ACCESS_ON_DEMAND: the device faults in what is not mapped.
  kOdp,
  // A pinned MR: every page pinned and mapped at registration, never
  // faulted (the floor; the report gives what registering cost).
  kPinned,
  // ODP, and after each event every op that touches slots the event
  // invalidated first calls ibv_advise_mr(PREFETCH, FLUSH) on them. The
  // prefetch is inside that op's latency: it is what the user pays instead
  // of the device's faults.
  kOdpPrefetch,
};

// The perftest flags behind each MatrixSpec field; error messages name them.
inline constexpr std::string_view kFlagOps = "--ops";
inline constexpr std::string_view kFlagMsgSizes = "--msg-sizes";
inline constexpr std::string_view kFlagMrSizes = "--mr-sizes";
inline constexpr std::string_view kFlagPages = "--pages";
inline constexpr std::string_view kFlagEvents = "--events";
inline constexpr std::string_view kFlagPeriods = "--periods";
inline constexpr std::string_view kFlagRegistrations = "--registration";
inline constexpr std::string_view kFlagBackgrounds = "--backgrounds";
inline constexpr std::string_view kFlagSeconds = "--seconds";
inline constexpr std::string_view kFlagIterations = "--iterations";
inline constexpr std::string_view kFlagRepetitions = "--repetitions";
inline constexpr std::string_view kFlagPoints = "--points";

// A background scenario's ops are at most this many per second of its
// window (the latencies' buffer is sized by it before the window starts).
inline constexpr uint64_t kMaxBackgroundOpsPerSecond = 200000;

// Atomics are 8 bytes: a fetch-add scenario always has this message size.
inline constexpr uint64_t kAtomicSize = 8;

// "read", "write", "send", "fetch-add".
std::string_view OpName(Op op);
// The inverse of OpName(); throws ibodp::Error naming the known operations.
Op OpFromName(std::string_view name);
// "odp", "pinned", "odp-prefetch".
std::string_view RegistrationName(Registration registration);
// The inverse of RegistrationName(); throws ibodp::Error naming the known
// registrations.
Registration RegistrationFromName(std::string_view name);

struct Scenario {
  Op op = Op::kRead;
  uint64_t msg_size = 0;
  uint64_t mr_size = 0;
  // Distinct pages of the MR the operations touch per op.
  uint64_t pages = 1;
  // An ibodp::EventNames() name; "none" applies no event.
  std::string event = "none";
  // The event is applied once every `period` operations (>= 1).
  uint64_t period = 1;
  Registration registration = Registration::kOdp;
  // A perftest/background.h name: the kernel acts on the MR by itself for
  // `seconds` seconds while the ops run, and no event is applied ("none":
  // an event scenario). `ops` is then the most ops the window may hold.
  std::string background = "none";
  uint64_t seconds = 0;
  // Measured operations per repetition, and unmeasured ones before them.
  uint64_t ops = 0;
  uint64_t warmup_ops = 0;
  uint64_t repetitions = 0;

  // A stable id of the matrix point, e.g.
  // "read/msg=4096/mr=1048576/pages=16/event=soft-dirty/period=1", with
  // "/reg=pinned" or "/reg=odp-prefetch" after it for a registration other
  // than plain ODP, and "/background=writeback/seconds=10" before that for
  // a background scenario. It leaves out ops, warmup_ops and repetitions, which
  // are not axes.
  std::string Name() const;

  bool operator==(const Scenario&) const = default;
};

// The axes of a matrix and the settings every scenario shares.
struct MatrixSpec {
  std::vector<Op> ops;
  std::vector<uint64_t> msg_sizes;
  std::vector<uint64_t> mr_sizes;
  std::vector<uint64_t> pages;
  std::vector<std::string> events;
  std::vector<uint64_t> periods;
  std::vector<Registration> registrations = {Registration::kOdp};
  // "none" gives the event scenarios; each other background adds one
  // scenario per point and registration that can run it: `seconds` of ops
  // with no event (event none, period 1).
  std::vector<std::string> backgrounds = {"none"};
  uint64_t seconds = 10;
  // Single points added after the product (--points), each as its name
  // gives it: a scenario the axes would only reach with many others.
  std::vector<Scenario> points;
  uint64_t ops_per_repetition = 0;
  uint64_t warmup_ops = 0;
  uint64_t repetitions = 0;
  uint64_t page_size = 4096;
  // No MR may be larger than this; the caller sets it from MemAvailable
  // and names the source in `memory_limit_source` for the error message.
  uint64_t memory_limit_bytes = std::numeric_limits<uint64_t>::max();
  std::string memory_limit_source = "MemAvailable";
};

// Expands `spec` into its cartesian product, in this order (the first axis
// varies slowest): ops, msg_sizes, mr_sizes, pages, then events, periods
// and registrations, then the backgrounds other than "none" (one per
// registration that can run it), each
// axis in the order the spec lists it; then spec.points that the product
// does not hold already, with the spec's ops, warm-up and repetitions
// (a point that cannot run is an error: it was asked for by name). Fetch-add
// ignores msg_sizes: it gets one scenario per remaining point, with msg_size
// kAtomicSize.
//
// A point whose message or pages do not fit its MR is left out when the
// other MR sizes give the value a point that fits; the reason for each one
// left out is appended to `skipped` (when not null). Throws ibodp::Error,
// naming the flags and the fix, when the spec is impossible as a whole:
// an empty axis, zero ops or repetitions, an MR above the memory limit, a
// message size or page count that fits none of the MR sizes, a page size
// that is not a power of two.
std::vector<Scenario> ExpandMatrix(const MatrixSpec& spec,
                                   std::vector<std::string>* skipped = nullptr);

// Flag parsers. Each takes the flag's name (for the error message) and its
// comma-separated value, keeps the listed order, and throws ibodp::Error
// naming the flag, the bad value and what is allowed. Empty items and
// duplicates are rejected.

// Positive byte sizes: "64,4K,1M,1G". The suffixes are binary: K or KiB
// (1024), M or MiB, G or GiB, T or TiB; a B alone means bytes. Rejects 0,
// negative numbers, garbage and values that overflow 64 bits.
std::vector<uint64_t> ParseSizeList(std::string_view flag,
                                    std::string_view text);
// Positive decimal integers: "1,10,100".
std::vector<uint64_t> ParseCountList(std::string_view flag,
                                     std::string_view text);
// Operation names: "read,write,send,fetch-add".
std::vector<Op> ParseOps(std::string_view flag, std::string_view text);
// Background names out of `known` (usually BackgroundNames()).
std::vector<std::string> ParseBackgrounds(
    std::string_view flag, std::string_view text,
    const std::vector<std::string>& known);
// Registration names: "odp,pinned,odp-prefetch".
std::vector<Registration> ParseRegistrations(std::string_view flag,
                                             std::string_view text);
// Event names out of `known` (usually ibodp::EventNames()).
std::vector<std::string> ParseEvents(std::string_view flag,
                                     std::string_view text,
                                     const std::vector<std::string>& known);

// Scenarios by their Name(), as perftest --dry_run prints them:
// "write/msg=1048576/mr=67108864/pages=1/event=madvise-dontneed/period=1",
// comma-separated; ops, warmup_ops and repetitions are left 0.
std::vector<Scenario> ParsePoints(std::string_view flag, std::string_view text);

// "64 B", "4 KiB", "1 GiB"; "1.5 KiB" when no binary unit divides it.
std::string FormatBytes(uint64_t bytes);

// Presets (memory_limit_bytes unlimited: the caller sets it). Five
// repetitions are one more than an exact Mann-Whitney U test needs to
// reach p < 0.05 at all, so `odplab compare` can judge every scenario.
//
// QuickPreset: a smoke run of a few minutes in the TCG guest. read; msg
//   4 KiB; MR 1 MiB; pages 16; events none, soft-dirty, mprotect-ro, fork,
//   madvise-dontneed, munmap-remap; period 1; registrations odp, pinned,
//   odp-prefetch; 100 ops, 10 warm-up ops, 5 repetitions; and 10 seconds
//   of READs on ODP under writeback and under KSM each. 20 scenarios.
// DefaultPreset: what `odplab run` measures per kernel (about 40 minutes
//   in the TCG guest on 2 cores). read, write, send, fetch-add; msg 4 KiB; MR
//   1, 8 and 64 MiB; pages 16; every PresetEvents() event; period 1; ODP
//   only; 100 ops, 10 warm-up ops, 5 repetitions. 156 scenarios.
// FullPreset: the whole matrix. msg 64 B, 4 KiB, 64 KiB, 1 MiB; MR 4 KiB,
//   1 MiB, 64 MiB, 1 GiB; pages 1, 16; every PresetEvents() event;
//   periods 1, 10, 100;
//   500 ops, 50 warm-up ops, 10 repetitions. Its 4 KiB MR leaves out the
//   points whose message or pages do not fit it.
// Every event but those that need huge pages (too slow per op for a
// preset's matrix; see scenario.cc).
std::vector<std::string> PresetEvents();
MatrixSpec QuickPreset();
MatrixSpec DefaultPreset();
MatrixSpec FullPreset();

}  // namespace perftest

#endif  // PERFTEST_SCENARIO_H_
