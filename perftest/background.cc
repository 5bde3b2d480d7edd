// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "background.h"

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>
#include <utility>

#include "ibodp/error.h"

namespace perftest {
namespace {

// A /proc/sys knob set for the background's lifetime and given its old
// value back after.
class Knob {
 public:
  Knob(std::string path, const std::string& value) : path_(std::move(path)) {
    std::ifstream in(path_);
    if (!std::getline(in, old_)) {
      throw ibodp::Error("cannot read " + path_ +
                         ": the writeback background needs /proc/sys/vm");
    }
    Set(value);
  }
  Knob(const Knob&) = delete;
  Knob& operator=(const Knob&) = delete;
  ~Knob() {
    std::ofstream out(path_);
    out << old_ << "\n";
    out.flush();
    if (!out) {
      std::cerr << "perftest: could not give " << path_ << " back its value "
                << old_ << "\n";
    }
  }

  void Set(const std::string& value) const {
    std::ofstream out(path_);
    out << value << "\n";
    out.flush();
    if (!out) {
      throw ibodp::Error("cannot write " + value + " to " + path_ +
                         ": the writeback background sets the kernel's "
                         "writeback timing, which needs root");
    }
  }

 private:
  std::string path_;
  std::string old_;
};

// Writeback of a MAP_SHARED file MR (ext4 in the lab). A thread of perftest
// plays the application: every kDirtyEvery it stores into each page of the
// MR, which dirties it. The kernel's flusher writes a page back once it
// has been dirty for kExpire and write-protects it as it cleans it
// (folio_mkclean(): MMU_NOTIFY_PROTECTION_PAGE). perftest's ops read the
// MR: on a kernel that drops ODP pages on every event each writeback makes
// the device fault again; one that keeps them read-only does not (a device
// WRITE would fault for write access on either).
class Writeback final : public Background {
 public:
  static constexpr auto kDirtyEvery = std::chrono::milliseconds(100);
  // dirty_expire_centisecs and dirty_writeback_centisecs while it runs:
  // a page goes back to disk within a second of being dirtied.
  static constexpr const char* kExpireCentisecs = "50";
  static constexpr const char* kPeriodCentisecs = "50";

  std::string_view Name() const override { return "writeback"; }
  bool NeedsFile() const override { return true; }

  void Start(const ibodp::EventTarget& target) override {
    expire_.emplace("/proc/sys/vm/dirty_expire_centisecs", kExpireCentisecs);
    period_.emplace("/proc/sys/vm/dirty_writeback_centisecs", kPeriodCentisecs);
    thread_ = std::jthread(
        [this, target](const std::stop_token& stop) { Dirty(stop, target); });
  }

  void Stop() override { Halt(); }

  ~Writeback() override {
    try {
      Halt();
    } catch (const std::exception& e) {
      std::cerr << "perftest: stopping the writeback background: " << e.what()
                << "\n";
    }
  }

 private:
  void Halt() {
    thread_.request_stop();
    if (thread_.joinable()) {
      thread_.join();
    }
    // No periodic flusher until the knobs go back: the pages dirtied last
    // stay dirty while the counters are read.
    if (period_) {
      period_->Set("0");
    }
  }

  void Dirty(const std::stop_token& stop, ibodp::EventTarget target) {
    const auto page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    auto* bytes = static_cast<volatile uint8_t*>(target.addr);
    std::mutex mutex;
    std::condition_variable_any wake;
    std::unique_lock lock(mutex);
    while (!stop.stop_requested()) {
      for (size_t off = 0; off < target.length; off += page) {
        bytes[off] = static_cast<uint8_t>(bytes[off] + 1);
      }
      wake.wait_for(lock, stop, kDirtyEvery, [] { return false; });
    }
  }

  std::optional<Knob> expire_;
  std::optional<Knob> period_;
  std::jthread thread_;
};

}  // namespace

std::vector<std::string> BackgroundNames() { return {"none", "writeback"}; }

std::unique_ptr<Background> MakeBackground(std::string_view name) {
  if (name == "none") {
    return nullptr;
  }
  if (name == "writeback") {
    return std::make_unique<Writeback>();
  }
  std::string known;
  for (const std::string& n : BackgroundNames()) {
    known += (known.empty() ? "" : ", ") + n;
  }
  throw ibodp::Error("unknown background '" + std::string(name) +
                     "'; known backgrounds: " + known);
}

}  // namespace perftest
