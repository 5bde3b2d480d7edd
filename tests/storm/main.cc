// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// ibodp_storm: RDMA READ, WRITE and fetch-and-add with data verification
// on one ODP MR while another thread applies memory events to the same
// pages in a seeded random order. Exit status 0 when every check held,
// 1 on a mismatch, an error completion or too short a run, 2 when it could
// not start (no device, no ODP, bad flags).
#include <gflags/gflags.h>
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "event_thread.h"
#include "file_zone.h"
#include "ibodp/caps.h"
#include "ibodp/device.h"
#include "ibodp/error.h"
#include "ibodp/mapping.h"
#include "ibodp/verbs.h"
#include "shared.h"
#include "slot.h"
#include "summary.h"
#include "worker.h"

DEFINE_string(device, "",
              "RDMA device (default: $IBODP_DEVICE, else the "
              "first one)");
DEFINE_uint64(seed, 0, "random seed (0: from the clock; printed either way)");
DEFINE_uint64(seconds, 20, "how long the storm runs");
DEFINE_bool(soak, false, "run for 8 hours (a night) instead of --seconds");
DEFINE_uint32(workers, 2, "threads posting RDMA operations");
DEFINE_uint32(write_pages, 64,
              "pages of the write zone after its huge pages (the target of "
              "munmap-remap and mremap too)");
DEFINE_uint32(huge_pages, 512,
              "pages at the start of the write zone that transparent huge "
              "pages back: a multiple of 2 MiB's worth (512 of 4 KiB), or 0");
DEFINE_uint32(ro_pages, 16, "pages of the read-only zone");
DEFINE_uint32(file_pages, 16,
              "pages of the file zone: a MAP_SHARED file in --file_dir, "
              "slots like the write zone's and the target of writeback (0: "
              "none, and leave the writeback event out)");
DEFINE_string(file_dir, "",
              "directory on a filesystem with writeback (ext4, xfs) for the "
              "file zone (default: $IBODP_WRITEBACK_DIR)");
DEFINE_string(events, "",
              "comma-separated storm events (default: all of "
              "soft-dirty,mprotect-ro,uffd-wp,fork,fork-alive,"
              "madvise-dontneed,munmap-remap,mremap,pageout,migrate,"
              "thp-collapse,thp-split,compact,ksm,writeback)");
DEFINE_uint64(timeout_ms, 10000, "completion timeout per operation");
DEFINE_string(summary_json, "",
              "also write the result as JSON to this file (for the lab)");

namespace {

constexpr uint64_t kSoakSeconds = uint64_t{8} * 3600;

std::vector<std::string> SplitEvents(const std::string& text) {
  if (text.empty()) {
    return storm::StormEventNames();
  }
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    out.push_back(item);
  }
  return out;
}

void CheckFlags() {
  if (FLAGS_workers == 0) {
    throw ibodp::Error("--workers must be at least 1");
  }
  if (FLAGS_write_pages + FLAGS_huge_pages < FLAGS_workers) {
    throw ibodp::Error(
        "--write_pages " + std::to_string(FLAGS_write_pages) +
        " plus --huge_pages " + std::to_string(FLAGS_huge_pages) +
        " is fewer than --workers " + std::to_string(FLAGS_workers) +
        ": every worker needs a slot of its own");
  }
  const size_t per_huge = storm::Layout::kHugeBytes / ibodp::PageSize();
  if (FLAGS_huge_pages % per_huge != 0) {
    throw ibodp::Error("--huge_pages " + std::to_string(FLAGS_huge_pages) +
                       " is not a multiple of " + std::to_string(per_huge) +
                       " (the base pages in one 2 MiB huge page)");
  }
  if (FLAGS_seconds == 0 && !FLAGS_soak) {
    throw ibodp::Error("--seconds must be at least 1");
  }
  if (FLAGS_timeout_ms == 0) {
    throw ibodp::Error("--timeout_ms must be at least 1");
  }
}

// --file_dir, else $IBODP_WRITEBACK_DIR; an error when the file zone has
// pages and neither names a directory.
std::string FileDir() {
  if (!FLAGS_file_dir.empty() || FLAGS_file_pages == 0) {
    return FLAGS_file_dir;
  }
  const char* env = std::getenv("IBODP_WRITEBACK_DIR");
  if (env == nullptr || *env == '\0') {
    throw ibodp::Error(
        "--file_pages " + std::to_string(FLAGS_file_pages) +
        " needs a directory on a filesystem with writeback (ext4, xfs): give "
        "--file_dir or set $IBODP_WRITEBACK_DIR, or give --file_pages 0 and "
        "--events without writeback");
  }
  return env;
}

struct Totals {
  storm::WorkerStats ops;
  uint64_t events = 0;
};

Totals Sum(const std::vector<std::unique_ptr<storm::Worker>>& workers,
           const storm::EventThread& events) {
  Totals t;
  for (const auto& w : workers) {
    const storm::WorkerStats& s = w->stats();
    t.ops.reads += s.reads;
    t.ops.writes += s.writes;
    t.ops.atomics += s.atomics;
    t.ops.ro_reads += s.ro_reads;
    t.ops.file_writes += s.file_writes;
    t.ops.verified_bytes += s.verified_bytes;
    t.ops.overlapped += s.overlapped;
    t.ops.torn_reads += s.torn_reads;
  }
  for (const auto& [name, n] : events.counts()) {
    t.events += n;
  }
  return t;
}

// Fails a run that proves little: an op kind or an event never ran.
void CheckCoverage(const Totals& t, const storm::EventThread& events,
                   const std::vector<std::string>& wanted,
                   storm::Shared& shared) {
  const std::pair<const char*, uint64_t> kinds[] = {
      {"RDMA READ", t.ops.reads},
      {"RDMA WRITE", t.ops.writes},
      {"fetch-and-add", t.ops.atomics},
      {"read-only READ", FLAGS_ro_pages > 0 ? t.ops.ro_reads : 1},
      {"RDMA WRITE into the file zone",
       FLAGS_file_pages > 0 ? t.ops.file_writes : 1}};
  for (const auto& [name, n] : kinds) {
    if (n == 0) {
      shared.Fail(storm::Failure::kCoverage,
                  std::string("no ") + name +
                      " completed: the run was too short; raise --seconds");
    }
  }
  if (std::find(wanted.begin(), wanted.end(), "thp-collapse") != wanted.end() &&
      events.huge_pages_made() == 0) {
    shared.Fail(
        storm::Failure::kCoverage,
        "thp-collapse never made a huge page: every MADV_COLLAPSE failed "
        "for a busy page or no free huge page; raise --seconds");
  }
  for (const auto& e : wanted) {
    const auto it = events.counts().find(e);
    if (it == events.counts().end() || it->second == 0) {
      shared.Fail(storm::Failure::kCoverage,
                  "event " + e +
                      " was never applied: the run was too short; raise "
                      "--seconds");
    }
  }
}

int Run() {
  CheckFlags();
  if (!FLAGS_summary_json.empty()) {
    // Fail now, not after the storm, when the file cannot be written.
    storm::WriteJson(FLAGS_summary_json, nlohmann::json::object());
  }
  const uint64_t seed =
      FLAGS_seed != 0
          ? FLAGS_seed
          : static_cast<uint64_t>(
                std::chrono::system_clock::now().time_since_epoch().count());
  const uint64_t seconds = FLAGS_soak ? kSoakSeconds : FLAGS_seconds;
  const std::vector<std::string> wanted = SplitEvents(FLAGS_events);
  storm::Layout layout;
  layout.page = ibodp::PageSize();
  layout.write_pages = FLAGS_write_pages + FLAGS_huge_pages;
  layout.huge_pages = FLAGS_huge_pages;
  layout.ro_pages = FLAGS_ro_pages;
  layout.file_pages = FLAGS_file_pages;
  const std::string file_dir = FileDir();
  const ibodp::Mapping region = ibodp::Mapping::AnonymousAligned(
      layout.Bytes(), storm::Layout::kHugeBytes);
  layout.base = region.data();
  std::unique_ptr<storm::FileZone> file_zone;
  if (layout.file_pages > 0) {
    file_zone = std::make_unique<storm::FileZone>(file_dir, layout);
  }
  // The device after the memory: a bad --file_dir is reported as such on
  // a machine without one.
  std::string device = FLAGS_device;
  if (device.empty() && std::getenv("IBODP_DEVICE") != nullptr) {
    device = std::getenv("IBODP_DEVICE");
  }
  const ibodp::Device dev(device);
  ibodp::RequireOdp(
      ibodp::QueryOdpCaps(dev), ibodp::Transport::kRc,
      IBV_ODP_SUPPORT_READ | IBV_ODP_SUPPORT_WRITE | IBV_ODP_SUPPORT_ATOMIC,
      dev.name());
  const ibodp::ProtectionDomain pd = ibodp::AllocPd(dev);
  if (layout.huge_pages > 0 &&
      madvise(layout.base, layout.huge_pages * layout.page, MADV_HUGEPAGE) !=
          0) {
    throw ibodp::Unsupported(ibodp::ErrnoMessage(
        "madvise(MADV_HUGEPAGE) on the huge pages of the write zone (needs "
        "CONFIG_TRANSPARENT_HUGEPAGE; or run with --huge_pages 0 and "
        "without the thp-* events)",
        errno));
  }
  // Fault the huge zone in now, by the CPU: it starts as huge pages, and
  // its mapping gets the anon_vma without which MADV_COLLAPSE is EINVAL
  // (until the workers' first faults there, which may come later than
  // the first thp-collapse).
  for (size_t p = 0; p < layout.huge_pages; ++p) {
    static_cast<volatile uint8_t*>(layout.Slot(p))[0] = 0;
  }
  for (size_t p = 0; p < layout.ro_pages; ++p) {
    for (size_t i = 0; i < layout.page; ++i) {
      layout.ReadOnly(p)[i] = storm::ReadOnlyByte(p, i);
    }
  }
  const ibodp::MemoryRegion mr =
      ibodp::RegisterMr(pd.get(), region.data(), region.size(),
                        ibodp::kFullAccess, ibodp::Registration::kOdp);
  storm::Shared shared(layout);
  std::vector<std::unique_ptr<storm::Worker>> workers;
  for (uint32_t i = 0; i < FLAGS_workers; ++i) {
    workers.push_back(std::make_unique<storm::Worker>(
        dev, pd.get(), mr.get(), shared, static_cast<int>(i),
        static_cast<int>(FLAGS_workers), seed + 1 + i,
        std::chrono::milliseconds(FLAGS_timeout_ms)));
  }
  storm::EventThread events(shared, seed, wanted);
  std::cout << "storm: seed " << seed << " (rerun with --seed=" << seed << "), "
            << seconds << " s, " << FLAGS_workers << " workers, "
            << layout.write_pages << " write pages (" << layout.huge_pages
            << " of them in huge pages) + " << layout.ro_pages
            << " read-only pages + " << layout.file_pages << " file pages in "
            << (file_dir.empty() ? "(none)" : file_dir) << " on " << dev.name()
            << "\n"
            << std::flush;

  std::vector<std::thread> threads;
  threads.reserve(workers.size() + 1);
  for (auto& w : workers) {
    threads.emplace_back([&w] { w->Run(); });
  }
  threads.emplace_back([&events] { events.Run(); });
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::seconds(seconds);
  auto next_report = start + std::chrono::seconds(5);
  while (!shared.stop().load() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (std::chrono::steady_clock::now() >= next_report) {
      next_report += std::chrono::seconds(5);
      std::cout << "storm: "
                << std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::steady_clock::now() - start)
                       .count()
                << " s, " << shared.failures() << " failures\n"
                << std::flush;
    }
  }
  shared.stop().store(true);
  for (auto& t : threads) {
    t.join();
  }
  const Totals t = Sum(workers, events);
  CheckCoverage(t, events, wanted, shared);
  if (file_zone) {
    for (const std::string& m : file_zone->DiskMismatches()) {
      shared.Fail(storm::Failure::kLostWrite, m);
    }
  }
  std::cout << "storm: seed " << seed << ": " << t.ops.reads << " READs, "
            << t.ops.writes << " WRITEs, " << t.ops.atomics
            << " fetch-and-adds, " << t.ops.ro_reads << " read-only READs; "
            << t.ops.verified_bytes << " bytes verified; " << t.ops.overlapped
            << " ops overlapped a page reset (" << t.ops.torn_reads
            << " CPU checks read across it); " << events.huge_pages_made()
            << " huge pages made by thp-collapse; " << t.events << " events (";
  bool first = true;
  for (const auto& [name, n] : events.counts()) {
    std::cout << (first ? "" : ", ") << name << " " << n;
    first = false;
  }
  std::cout << ")\n";
  const uint64_t failures = shared.failures();
  if (!FLAGS_summary_json.empty()) {
    const storm::RunSummary run{
        seed,  seconds,         FLAGS_workers,           dev.name(),
        t.ops, events.counts(), events.huge_pages_made()};
    storm::WriteJson(FLAGS_summary_json, storm::SummaryJson(run, shared));
  }
  std::cout << "storm: " << (failures == 0 ? "PASS" : "FAIL") << ", "
            << failures << " failures\n"
            << std::flush;
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "RDMA ops with data verification under a storm of memory events.\n"
      "  ibodp_storm --seconds 20 [--seed N] [--soak]");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  try {
    return Run();
  } catch (const ibodp::Error& e) {
    std::cerr << "storm: " << e.what() << "\n";
    return 2;
  }
}
