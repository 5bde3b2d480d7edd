// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "context.h"

#include <dlfcn.h>
#include <sched.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>

#include "ibodp/error.h"

extern char** environ;  // POSIX: the process environment

namespace perftest {
namespace {

// The value after "key:" on the first line of `file` that starts with key.
std::string FieldOf(const std::string& file, const std::string& key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        const auto start = line.find_first_not_of(" \t", colon + 1);
        return start == std::string::npos ? "" : line.substr(start);
      }
    }
  }
  return "";
}

// The first line of `file`, or "unknown".
std::string FirstLine(const std::string& file) {
  std::ifstream in(file);
  std::string line;
  return std::getline(in, line) && !line.empty() ? line : "unknown";
}

// The CPUs this thread may run on, as a list like "0,1".
std::string AffinityList() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) {
    return "unknown";
  }
  std::string out;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) {
      out += (out.empty() ? "" : ",") + std::to_string(cpu);
    }
  }
  return out;
}

// The shared object that defines `symbol` in this process: which
// libibverbs (and so which rdma-core) the run loaded. "unknown" if none.
std::string LoadedFrom(const char* symbol) {
  void* addr = dlsym(RTLD_DEFAULT, symbol);
  Dl_info info{};
  if (addr == nullptr || dladdr(addr, &info) == 0 ||
      info.dli_fname == nullptr) {
    return "unknown";
  }
  std::error_code ec;
  const auto path = std::filesystem::canonical(info.dli_fname, ec);
  return ec ? std::string(info.dli_fname) : path.string();
}

}  // namespace

bool IsTickClocksource(const std::string& name) {
  return name == "jiffies" || name == "refined-jiffies";
}

std::map<std::string, std::string> ParseKeyValues(std::string_view flag,
                                                  std::string_view text) {
  std::map<std::string, std::string> out;
  std::istringstream items{std::string(text)};
  std::string item;
  while (std::getline(items, item, ',')) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw ibodp::Error(std::string(flag) + ": '" + item +
                         "' is not KEY=VALUE (e.g. " + std::string(flag) +
                         "=name=value,other=value)");
    }
    out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return out;
}

std::map<std::string, std::string> ContextFromEnvironment(
    const char* const* envp) {
  constexpr std::string_view kPrefix = "IBODP_CONTEXT_";
  std::map<std::string, std::string> out;
  for (const char* const* e = envp; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const auto eq = entry.find('=');
    if (!entry.starts_with(kPrefix) || eq == std::string_view::npos ||
        eq == kPrefix.size()) {
      continue;
    }
    std::string key(entry.substr(kPrefix.size(), eq - kPrefix.size()));
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) {
      return static_cast<char>(std::tolower(c));
    });
    out[key] = std::string(entry.substr(eq + 1));
  }
  return out;
}

Context BuildContext(const std::string& device, int argc, char** argv) {
  Context ctx;
  ctx.date = FormatIsoUtc(std::chrono::system_clock::now());
  std::array<char, 256> host{};
  if (gethostname(host.data(), host.size() - 1) == 0) {
    ctx.host = host.data();
  }
  utsname uts{};
  if (uname(&uts) == 0) {
    ctx.kernel_release = uts.release;
  }
  ctx.cpu_model = FieldOf("/proc/cpuinfo", "model name");
  ctx.extra["clocksource"] = FirstLine(
      "/sys/devices/system/clocksource/clocksource0/current_clocksource");
  ctx.extra["online_cpus"] = FirstLine("/sys/devices/system/cpu/online");
  ctx.extra["cpu_affinity"] = AffinityList();
  ctx.extra["libibverbs"] = LoadedFrom("ibv_get_device_list");
  ctx.extra.merge(ContextFromEnvironment(environ));
  ctx.device = device;
  for (int i = 0; i < argc; ++i) {
    ctx.command_line += (i > 0 ? " " : "") + std::string(argv[i]);
  }
  return ctx;
}

uint64_t MemAvailableBytes() {
  const std::string value = FieldOf("/proc/meminfo", "MemAvailable");
  uint64_t kib = 0;
  std::istringstream in(value);
  if (!(in >> kib)) {
    throw ibodp::Error("cannot read MemAvailable from /proc/meminfo");
  }
  return kib * 1024;
}

}  // namespace perftest
