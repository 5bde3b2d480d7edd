// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// perftest: ODP page-fault rate and latency per memory event. Runs a
// matrix of scenarios on one device, prints a table while it runs and
// writes one JSON report (rewritten after every scenario, so that an
// interrupted run leaves the finished part readable).
#include <gflags/gflags.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "background.h"
#include "context.h"
#include "control.h"
#include "ibodp/caps.h"
#include "ibodp/device.h"
#include "ibodp/error.h"
#include "ibodp/events.h"
#include "ibodp/mapping.h"
#include "remote.h"
#include "report.h"
#include "scenario.h"
#include "schedule.h"
#include "server.h"
#include "sources.h"
#include "workload.h"

DEFINE_string(device, "", "RDMA device (default: the first one)");
DEFINE_string(preset, "quick",
              "quick, default or full: the matrix to start "
              "from; the axis flags below replace its axes");
DEFINE_string(ops, "", "operations: read,write,send,fetch-add");
DEFINE_string(msg_sizes, "", "message sizes, e.g. 64,4K,1M");
DEFINE_string(mr_sizes, "", "ODP MR sizes, e.g. 4K,1M,1G");
DEFINE_string(pages, "", "page-aligned slots each op touches, e.g. 1,16");
DEFINE_string(events, "", "memory events (see --list_events)");
DEFINE_string(periods, "", "apply the event every N ops, e.g. 1,10");
DEFINE_string(backgrounds, "",
              "none (the event scenarios) and kernel activities to run "
              "--seconds of ops under, with no event: writeback, ksm, "
              "numa-balancing, khugepaged, memcg-reclaim");
DEFINE_string(points, "",
              "single scenarios to add to the matrix, by the names that "
              "--dry_run prints, e.g. write/msg=1048576/mr=67108864/pages=1/"
              "event=madvise-dontneed/period=1");
DEFINE_uint64(seconds, 0,
              "length of a background scenario's window (0: preset)");
DEFINE_string(registration, "",
              "how the MR under test is registered: odp (the device faults), "
              "pinned (a non-ODP MR: the floor), odp-prefetch (ODP with "
              "ibv_advise_mr of the op's pages after each event, timed with "
              "the op); e.g. odp,pinned,odp-prefetch");
DEFINE_uint64(iterations, 0, "measured ops per repetition (0: preset)");
DEFINE_uint64(warmup, 0,
              "warm-up ops at least (0: preset); warm-up also "
              "covers every page of the MR");
DEFINE_uint64(repetitions, 0, "repetitions per scenario (0: preset)");
DEFINE_string(counters, "auto",
              "fault counters: auto, hw, trace, profiler, none");
DEFINE_uint64(timeout_ms, 10000, "completion timeout per op");
DEFINE_string(output, "",
              "JSON report path (default: perftest.json in $IBODP_OUT, the "
              "odplab guest's results share, or else here)");
DEFINE_string(kernel_config_hash, "", "for the report's context");
DEFINE_string(patch_series, "", "for the context: name=sha256,...");
DEFINE_string(context, "", "extra context: key=value,...");
DEFINE_int32(cpu, -1,
             "pin perftest to this CPU, -1 for no pinning (default: "
             "$IBODP_BENCH_CPU, which odplab's guest sets to the CPU it keeps "
             "free of rxe's work, else -1)");
DEFINE_bool(interleave, true,
            "measure repetition r of every scenario, in a shuffled order, "
            "before repetition r+1 of any (each on a fresh setup), so that a "
            "drift of the machine spreads over all scenarios; false: each "
            "scenario's repetitions back to back on one setup");
DEFINE_uint64(seed, 1, "seed of the interleaved order");
DEFINE_bool(server, false,
            "be the responder of two nodes: hold the MR under test, apply "
            "the events and backgrounds, count faults, for the scenarios "
            "that perftest --client sends; the matrix flags are the "
            "client's");
DEFINE_string(client, "",
              "be the requester of two nodes: run the matrix against "
              "perftest --server at this address (fe80::1%eth0), and write "
              "the report with the server's counters");
DEFINE_uint32(control_port, 18516,
              "TCP port of the two nodes' control connection");
DEFINE_uint32(cm_port, 18515, "rdma_cm port of the two nodes' data QP");
DEFINE_uint32(ack_timeout, 0,
              "with --client: the data QP's local ACK timeout, 4.096 us * "
              "2^N before a request is sent again, 1 to 31; 0 keeps "
              "rdma_cm's (0.54 s over RoCE)");
DEFINE_bool(list_events, false, "print the memory events and exit");
DEFINE_bool(json, false,
            "with --list_events or --dry_run: print JSON (each event's "
            "facts as the report states them; the scenario names) instead "
            "of text");
DEFINE_bool(dry_run, false,
            "check every flag, print the scenarios and exit without opening "
            "a device");

namespace {

using perftest::MatrixSpec;

MatrixSpec SpecFromFlags() {
  MatrixSpec spec =
      FLAGS_preset == "quick"     ? perftest::QuickPreset()
      : FLAGS_preset == "default" ? perftest::DefaultPreset()
      : FLAGS_preset == "full"
          ? perftest::FullPreset()
          : throw ibodp::Error("--preset: unknown preset '" + FLAGS_preset +
                               "'; use quick, default or full");
  if (!FLAGS_ops.empty()) {
    spec.ops = perftest::ParseOps("--ops", FLAGS_ops);
  }
  if (!FLAGS_msg_sizes.empty()) {
    spec.msg_sizes = perftest::ParseSizeList("--msg-sizes", FLAGS_msg_sizes);
  }
  if (!FLAGS_mr_sizes.empty()) {
    spec.mr_sizes = perftest::ParseSizeList("--mr-sizes", FLAGS_mr_sizes);
  }
  if (!FLAGS_pages.empty()) {
    spec.pages = perftest::ParseCountList("--pages", FLAGS_pages);
  }
  if (!FLAGS_events.empty()) {
    spec.events =
        perftest::ParseEvents("--events", FLAGS_events, ibodp::EventNames());
  }
  if (!FLAGS_backgrounds.empty()) {
    spec.backgrounds = perftest::ParseBackgrounds(perftest::kFlagBackgrounds,
                                                  FLAGS_backgrounds,
                                                  perftest::BackgroundNames());
  }
  if (!FLAGS_points.empty()) {
    spec.points = perftest::ParsePoints(perftest::kFlagPoints, FLAGS_points);
  }
  if (FLAGS_seconds != 0) {
    spec.seconds = FLAGS_seconds;
  }
  if (!FLAGS_registration.empty()) {
    spec.registrations = perftest::ParseRegistrations(
        perftest::kFlagRegistrations, FLAGS_registration);
  }
  if (!FLAGS_periods.empty()) {
    spec.periods = perftest::ParseCountList("--periods", FLAGS_periods);
  }
  if (FLAGS_iterations != 0) {
    spec.ops_per_repetition = FLAGS_iterations;
  }
  if (FLAGS_warmup != 0) {
    spec.warmup_ops = FLAGS_warmup;
  }
  if (FLAGS_repetitions != 0) {
    spec.repetitions = FLAGS_repetitions;
  }
  spec.page_size = ibodp::PageSize();
  spec.memory_limit_bytes = perftest::MemAvailableBytes();
  return spec;
}

uint16_t PortFlag(const char* name, uint32_t value) {
  if (value == 0 || value > 65535) {
    throw ibodp::Error(std::string("--") + name + " " + std::to_string(value) +
                       ": give a port from 1 to 65535");
  }
  return static_cast<uint16_t>(value);
}

ibodp::CmOptions CmOptionsFromFlags() {
  ibodp::CmOptions cm;
  cm.port = PortFlag("cm_port", FLAGS_cm_port);
  cm.timeout = std::chrono::milliseconds(FLAGS_timeout_ms);
  if (FLAGS_ack_timeout > 31) {
    throw ibodp::Error("--ack_timeout " + std::to_string(FLAGS_ack_timeout) +
                       ": the IB timeout is a 5-bit exponent, 1 to 31 "
                       "(0: rdma_cm's)");
  }
  cm.ack_timeout = static_cast<uint8_t>(FLAGS_ack_timeout);
  return cm;
}

// The flags that are not matrix axes, checked before any device is opened
// so that a typo costs no set-up.
void CheckOtherFlags() {
  perftest::CounterModeFromName(FLAGS_counters);
  if (FLAGS_timeout_ms == 0) {
    throw ibodp::Error(
        "--timeout_ms: 0 would fail every op; give the completion timeout "
        "in milliseconds (default 10000)");
  }
  if (FLAGS_server && !FLAGS_client.empty()) {
    throw ibodp::Error(
        "--server and --client: give one (the server "
        "takes no matrix; the client runs it)");
  }
  if (FLAGS_client.empty() &&
      !gflags::GetCommandLineFlagInfoOrDie("ack_timeout").is_default) {
    throw ibodp::Error(
        "--ack_timeout is the requester's: give it with --client");
  }
  PortFlag("control_port", FLAGS_control_port);
  CmOptionsFromFlags();
  if (FLAGS_server) {
    return;  // The client writes the report.
  }
  const std::filesystem::path out(FLAGS_output);
  const std::filesystem::path dir =
      out.has_parent_path() ? out.parent_path() : std::filesystem::path(".");
  if (!std::filesystem::is_directory(dir)) {
    throw ibodp::Error("--output " + FLAGS_output + ": directory " +
                       dir.string() + " does not exist; create it first");
  }
  if (access(dir.c_str(), W_OK) != 0) {
    throw ibodp::Error("--output " + FLAGS_output + ": directory " +
                       dir.string() + " is not writable by this user");
  }
}

// The CPU of --cpu or $IBODP_BENCH_CPU, or -1 for none.
int PinCpu() {
  if (!gflags::GetCommandLineFlagInfoOrDie("cpu").is_default) {
    if (FLAGS_cpu < -1) {
      throw ibodp::Error("--cpu " + std::to_string(FLAGS_cpu) +
                         ": give a CPU number, or -1 for no pinning");
    }
    return FLAGS_cpu;
  }
  const char* env = std::getenv("IBODP_BENCH_CPU");
  if (env == nullptr || *env == '\0') {
    return -1;
  }
  const std::string_view text(env);
  int cpu = -1;
  const auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), cpu);
  if (ec != std::errc() || end != text.data() + text.size() || cpu < -1) {
    throw ibodp::Error(std::string("$IBODP_BENCH_CPU '") + env +
                       "' is not a CPU number (or -1 for no pinning)");
  }
  return cpu;
}

// Pins the process to `cpu` (setup, before any verbs object exists).
void PinTo(int cpu) {
  if (cpu < 0) {
    return;
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  if (cpu >= CPU_SETSIZE) {
    throw ibodp::Error("--cpu " + std::to_string(cpu) + " is beyond " +
                       std::to_string(CPU_SETSIZE) + " CPUs");
  }
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0) {
    const int err = errno;
    ibodp::ThrowErrno("--cpu " + std::to_string(cpu) +
                          ": cannot pin to it (is it online? see "
                          "/sys/devices/system/cpu/online)",
                      err);
  }
}

// --list_events: each event with its expected notifier event, as text or
// as JSON with every fact the report states of it.
void ListEvents(bool as_json) {
  nlohmann::json events = nlohmann::json::array();
  for (const auto& name : ibodp::EventNames()) {
    if (as_json) {
      nlohmann::json event = perftest::EventFactsJson(name);
      event["name"] = name;
      events.push_back(std::move(event));
    } else {
      std::cout << name << " (" << ibodp::MakeEvent(name)->NotifierEvent()
                << ")\n";
    }
  }
  if (as_json) {
    std::cout << events.dump(1) << "\n";
  }
}

// perftest --server: answers one client until it says bye.
int RunServer(const ibodp::Device& dev, const perftest::Context& context) {
  perftest::CounterSources sources(
      dev.name(), perftest::CounterModeFromName(FLAGS_counters));
  perftest::ServerOptions opts;
  opts.control_port = PortFlag("control_port", FLAGS_control_port);
  opts.cm = CmOptionsFromFlags();
  perftest::Serve(dev, opts, sources, context);
  return 0;
}

// The report's context takes the server's kernel facts under "server.".
void AddServerContext(const nlohmann::json& hello, perftest::Context& context) {
  const perftest::Context server =
      perftest::ContextFromJson(hello.at("context"), "hello.context");
  context.extra["nodes"] = "2";
  context.extra["server"] = FLAGS_client;
  // The exponent N of 4.096 us * 2^N, or rdma_cm's (17 over RoCE).
  context.extra["ack_timeout"] =
      FLAGS_ack_timeout == 0 ? "rdma_cm's" : std::to_string(FLAGS_ack_timeout);
  context.extra["server.host"] = server.host;
  context.extra["server.kernel_release"] = server.kernel_release;
  context.extra["server.device"] = server.device;
  if (server.kernel_release != context.kernel_release) {
    std::cerr << "perftest: warning: the server runs " << server.kernel_release
              << ", this client " << context.kernel_release
              << "; the faults counted are the server's\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "ODP page-fault rate and latency per memory event.\n"
      "  perftest --device rxe0 --preset quick --output report.json");
  // gflags removes the flags it parses from argv; the report's context
  // records the command line as given.
  std::vector<char*> given(argv, argv + argc);
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  if (FLAGS_output.empty()) {
    const char* out = std::getenv("IBODP_OUT");
    FLAGS_output = out != nullptr ? std::string(out) + "/perftest.json"
                                  : std::string("perftest.json");
  }
  try {
    if (FLAGS_list_events) {
      ListEvents(FLAGS_json);
      return 0;
    }
    std::vector<std::string> left_out;
    const std::vector<perftest::Scenario> all =
        perftest::ExpandMatrix(SpecFromFlags(), &left_out);
    CheckOtherFlags();
    const int cpu = PinCpu();
    const auto patch_series =
        perftest::ParseKeyValues("--patch-series", FLAGS_patch_series);
    const auto extra = perftest::ParseKeyValues("--context", FLAGS_context);
    // Every flag is good: say what the matrix leaves out, and why (the
    // client's matrix; the server runs what it is sent).
    if (!FLAGS_server) {
      for (const std::string& why : left_out) {
        std::cerr << "perftest: left out " << why << "\n";
      }
    }
    if (FLAGS_dry_run) {
      nlohmann::json names = nlohmann::json::array();
      for (const auto& s : all) {
        if (FLAGS_json) {
          names.push_back(s.Name());
        } else {
          std::cout << s.Name() << "\n";
        }
      }
      if (FLAGS_json) {
        std::cout << nlohmann::json{{"scenarios", std::move(names)}}.dump(1)
                  << "\n";
      } else {
        std::cout << all.size() << " scenarios\n";
      }
      return 0;
    }
    PinTo(cpu);
    const ibodp::Device dev(FLAGS_device);
    // The client's own MR is pinned: ODP is the server's to have.
    if (FLAGS_client.empty()) {
      ibodp::RequireOdp(ibodp::QueryOdpCaps(dev), ibodp::Transport::kRc,
                        IBV_ODP_SUPPORT_READ, dev.name());
    }
    perftest::Report report;
    report.context = perftest::BuildContext(
        dev.name(), static_cast<int>(given.size()), given.data());
    report.context.kernel_config_hash = FLAGS_kernel_config_hash;
    report.context.patch_series = patch_series;
    // --context wins over what the environment said (IBODP_CONTEXT_*).
    for (const auto& [key, value] : extra) {
      report.context.extra.insert_or_assign(key, value);
    }
    if (perftest::IsTickClocksource(report.context.extra["clocksource"])) {
      std::cerr << "perftest: warning: the clocksource is "
                << report.context.extra["clocksource"]
                << ", so every latency is a multiple of the scheduler tick; "
                   "boot with a TSC or HPET clocksource for latencies\n";
    }
    if (FLAGS_server) {
      return RunServer(dev, report.context);
    }
    const perftest::ScheduleOptions schedule{.interleave = FLAGS_interleave,
                                             .seed = FLAGS_seed,
                                             .output = FLAGS_output};
    report.context.extra["schedule"] = perftest::DescribeSchedule(schedule);
    const auto timeout = std::chrono::milliseconds(FLAGS_timeout_ms);
    int failed = 0;
    if (FLAGS_client.empty()) {
      perftest::CounterSources sources(
          dev.name(), perftest::CounterModeFromName(FLAGS_counters));
      failed = perftest::RunAll(
          [&](const perftest::Scenario& s) {
            return std::make_unique<perftest::Workload>(dev, s, sources,
                                                        timeout);
          },
          all, schedule, report);
    } else {
      const ibodp::CmOptions cm = CmOptionsFromFlags();
      perftest::ControlChannel control = perftest::ControlChannel::Connect(
          FLAGS_client, PortFlag("control_port", FLAGS_control_port),
          perftest::kControlTimeout);
      AddServerContext(
          control.Call({{"cmd", "hello"}}, perftest::kControlTimeout),
          report.context);
      failed = perftest::RunAll(
          [&](const perftest::Scenario& s) {
            return std::make_unique<perftest::RemoteBench>(
                control, FLAGS_client, cm, s, timeout);
          },
          all, schedule, report);
      control.Call({{"cmd", "bye"}}, perftest::kControlTimeout);
    }
    std::cerr << "perftest: report " << FLAGS_output << "; " << failed << " of "
              << all.size() << " scenarios failed\n";
    return failed == 0 ? 0 : 1;
  } catch (const ibodp::Error& e) {
    std::cerr << "perftest: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    // nlohmann::json's, say: a bug here, not bad input.
    std::cerr << "perftest: internal error: " << e.what() << "\n";
    return 1;
  }
}
