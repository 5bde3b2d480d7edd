// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "ibodp/odptrace.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "file_io.h"
#include "ibodp/error.h"

namespace ibodp {
namespace {

// Per-CPU ring buffer of our instance: a few thousand records per
// measurement fit many times over.
constexpr const char* kBufferSizeKb = "4096";

using Fields = std::map<std::string, std::string, std::less<>>;

// What follows `tag`, found at `at` of `line`.
std::string_view Rest(const std::string& line, size_t at,
                      const std::string& tag) {
  const std::string_view view = line;
  return view.substr(at + tag.size());
}

// "key=value key=value ..." after the event name.
Fields SplitFields(std::string_view text) {
  Fields fields;
  std::istringstream tokens{std::string(text)};
  std::string token;
  while (tokens >> token) {
    const size_t eq = token.find('=');
    if (eq != std::string::npos) {
      fields[token.substr(0, eq)] = token.substr(eq + 1);
    }
  }
  return fields;
}

class LineFields {
 public:
  LineFields(std::string line, Fields fields)
      : line_(std::move(line)), fields_(std::move(fields)) {}

  const std::string& Text(std::string_view key) const {
    const auto it = fields_.find(key);
    if (it == fields_.end()) {
      throw Error("ib_umem_odp trace line without " + std::string(key) +
                  "=: " + line_);
    }
    return it->second;
  }
  // Decimal, or hexadecimal with 0x.
  uint64_t Unsigned(std::string_view key) const {
    return Number<uint64_t>(key, [](const std::string& t, size_t* used) {
      return std::stoull(t, used, 0);
    });
  }
  int64_t Signed(std::string_view key) const {
    return Number<int64_t>(key, [](const std::string& t, size_t* used) {
      return std::stoll(t, used, 10);
    });
  }
  bool Bool(std::string_view key) const {
    const uint64_t v = Unsigned(key);
    if (v > 1) {
      throw Error("ib_umem_odp trace field " + std::string(key) +
                  " is not 0 or 1: " + line_);
    }
    return v == 1;
  }

 private:
  // The whole field parsed by `parse` (std::stoull or std::stoll).
  template <typename T, typename Parse>
  T Number(std::string_view key, Parse parse) const {
    const std::string& text = Text(key);
    try {
      size_t used = 0;
      const T value = parse(text, &used);
      if (used == text.size()) {
        return value;
      }
    } catch (const std::logic_error&) {
    }
    throw Error("ib_umem_odp trace field " + std::string(key) + "=" + text +
                " is not a number: " + line_);
  }

  std::string line_;
  Fields fields_;
};

// "# entries-in-buffer/entries-written: 5/7   #P:2": throws when events
// were overwritten before they could be read.
void CheckNothingLost(const std::string& line) {
  constexpr std::string_view kHeader = "# entries-in-buffer/entries-written:";
  if (!line.starts_with(kHeader)) {
    return;
  }
  std::istringstream in(line.substr(kHeader.size()));
  uint64_t in_buffer = 0;
  uint64_t written = 0;
  char slash = 0;
  if (!(in >> in_buffer >> slash >> written) || slash != '/') {
    throw Error("cannot read the trace header: " + line);
  }
  if (in_buffer < written) {
    throw Error("the trace ring buffer lost " +
                std::to_string(written - in_buffer) + " of " +
                std::to_string(written) +
                " events: read it more often or make buffer_size_kb larger");
  }
}

void Add(OdpInvalidationTotals& t, const OdpInvalidateRecord& r) {
  ++t.calls;
  t.valid += r.valid;
  t.kept += r.kept;
  t.dropped += r.dropped;
  t.write_protect_calls += r.action == kOdpActionWriteProtect ? 1 : 0;
}

}  // namespace

OdpTraceRecords ParseOdpTrace(const std::string& text) {
  const std::string fault_tag = std::string(" ") + kOdpTraceFault + ": ";
  const std::string inval_tag = std::string(" ") + kOdpTraceInvalidate + ": ";
  OdpTraceRecords records;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with("#")) {
      CheckNothingLost(line);
      continue;
    }
    if (const size_t at = line.find(fault_tag); at != std::string::npos) {
      const LineFields f(line, SplitFields(Rest(line, at, fault_tag)));
      records.faults.push_back({.start = f.Unsigned("start"),
                                .end = f.Unsigned("end"),
                                .pages = f.Unsigned("pages"),
                                .write = f.Bool("write"),
                                .fault = f.Bool("fault"),
                                .retries = f.Unsigned("retries"),
                                .ret = f.Signed("ret")});
    } else if (const size_t at2 = line.find(inval_tag);
               at2 != std::string::npos) {
      const LineFields f(line, SplitFields(Rest(line, at2, inval_tag)));
      OdpInvalidateRecord r{.start = f.Unsigned("start"),
                            .end = f.Unsigned("end"),
                            .pages = f.Unsigned("pages"),
                            .event = f.Text("event"),
                            .flags = f.Unsigned("flags"),
                            .action = f.Text("action"),
                            .valid = f.Unsigned("valid"),
                            .kept = f.Unsigned("kept"),
                            .dropped = f.Unsigned("dropped")};
      if (r.action != kOdpActionWriteProtect && r.action != kOdpActionDrop) {
        throw Error("ib_umem_odp trace: unknown action " + r.action + ": " +
                    line);
      }
      records.invalidations.push_back(std::move(r));
    }
  }
  return records;
}

OdpTraceTotals Summarize(const OdpTraceRecords& records) {
  OdpTraceTotals t;
  for (const OdpFaultRecord& f : records.faults) {
    if (!f.fault) {
      ++t.snapshot_calls;
      continue;
    }
    ++t.fault_calls;
    if (f.ret < 0) {
      ++t.fault_errors;
    } else {
      t.fault_pages += static_cast<uint64_t>(f.ret);
    }
  }
  for (const OdpInvalidateRecord& r : records.invalidations) {
    Add(t.invalidations, r);
    Add(t.by_event[r.event], r);
  }
  return t;
}

OdpTrace::OdpTrace(const std::filesystem::path& tracefs) {
  if (geteuid() != 0) {
    throw Unsupported(
        "the ib_umem_odp tracepoints need root (tracefs is root-only); run "
        "as root or in the lab guest");
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(tracefs / "instances", ec)) {
    throw Unsupported("no tracefs at " + tracefs.string() +
                      ": mount -t tracefs tracefs " + tracefs.string() +
                      " (kernel needs CONFIG_FTRACE)");
  }
  if (!std::filesystem::is_directory(tracefs / "events" / kOdpTraceSystem,
                                     ec)) {
    throw Unsupported("the kernel has no " + std::string(kOdpTraceSystem) +
                      " tracepoints (" +
                      (tracefs / "events" / kOdpTraceSystem).string() +
                      " is missing): kernel-patches/ 0008 adds them");
  }
  static std::atomic<unsigned> serial{0};
  dir_ = tracefs / "instances" /
         ("ibodp-" + std::to_string(getpid()) + "-" +
          std::to_string(serial.fetch_add(1)));
  if (mkdir(dir_.c_str(), 0700) != 0) {
    ThrowErrno("creating the tracefs instance " + dir_.string(), errno);
  }
  try {
    Write("buffer_size_kb", kBufferSizeKb);
    Write(std::string("events/") + kOdpTraceSystem + "/enable", "1");
    Clear();
  } catch (...) {
    rmdir(dir_.c_str());
    throw;
  }
}

OdpTrace::~OdpTrace() {
  // Best effort: an instance left behind costs its buffer until reboot.
  try {
    Write(std::string("events/") + kOdpTraceSystem + "/enable", "0");
  } catch (const Error&) {
  }
  rmdir(dir_.c_str());
}

void OdpTrace::Write(const std::string& file, const std::string& value) const {
  WriteFile(dir_ / file, value, WriteMode::kTruncate);
}

void OdpTrace::Clear() const { Write("trace", ""); }

OdpTraceRecords OdpTrace::Read() const {
  return ParseOdpTrace(ReadFile(dir_ / "trace"));
}

}  // namespace ibodp
