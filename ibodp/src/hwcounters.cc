// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "ibodp/hwcounters.h"

#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>

#include "ibodp/error.h"

namespace ibodp {
namespace {

uint64_t ReadNumber(const std::filesystem::path& file) {
  std::ifstream in(file);
  uint64_t value = 0;
  if (!(in >> value)) {
    throw Error("cannot read a number from " + file.string());
  }
  return value;
}

}  // namespace

HwCounters::HwCounters(const std::string& device, uint8_t port,
                       const std::filesystem::path& sysfs)
    : device_(device),
      dir_(sysfs / device / "ports" / std::to_string(port) / "hw_counters") {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir_, ec)) {
    throw Unsupported(device + " port " + std::to_string(port) +
                      " has no hw_counters (" + dir_.string() + " is missing)");
  }
  if (Has("lifespan")) {
    lifespan_ = std::chrono::milliseconds(ReadNumber(dir_ / "lifespan"));
  }
}

bool HwCounters::Has(const std::string& name) const {
  std::error_code ec;
  return std::filesystem::is_regular_file(dir_ / name, ec);
}

void HwCounters::Require(const std::vector<std::string>& names,
                         const std::string& why) const {
  // The first few missing names, then how many more.
  constexpr size_t kListed = 3;
  std::ostringstream missing;
  size_t count = 0;
  for (const auto& name : names) {
    if (!Has(name) && ++count <= kListed) {
      missing << (count > 1 ? ", " : "") << name;
    }
  }
  if (count > kListed) {
    missing << " and " << count - kListed << " more";
  }
  if (count > 0) {
    throw Unsupported(device_ + " has no " + missing.str() + " in " +
                      dir_.string() + ": " + why);
  }
}

CounterValues HwCounters::Read() const {
  // CONFIG_HZ is 100 at the lowest: a jiffy is at most 10 ms. Two of
  // them, so that a late tick in a VM does not leave the cache in place.
  constexpr std::chrono::milliseconds kTwoLongestJiffies{20};
  std::this_thread::sleep_for(lifespan_ + kTwoLongestJiffies);
  CounterValues values;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    if (entry.is_regular_file() && entry.path().filename() != "lifespan") {
      values[entry.path().filename().string()] = ReadNumber(entry.path());
    }
  }
  return values;
}

CounterValues CounterDelta(const CounterValues& before,
                           const CounterValues& after) {
  CounterValues delta;
  for (const auto& [name, value] : after) {
    const auto it = before.find(name);
    if (it == before.end()) {
      continue;
    }
    if (value < it->second) {
      throw Error("counter " + name + " went backwards from " +
                  std::to_string(it->second) + " to " + std::to_string(value));
    }
    delta[name] = value - it->second;
  }
  return delta;
}

uint64_t ValueOf(const CounterValues& values, const std::string& name) {
  const auto it = values.find(name);
  if (it == values.end()) {
    throw Error("no counter " + name + " among the values read");
  }
  return it->second;
}

}  // namespace ibodp
