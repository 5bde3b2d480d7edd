// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// Each memory event against what the kernel itself sends: a kprobe on
// __mmu_notifier_invalidate_range_start() records the notifier event and
// flags of every invalidation this process causes while the event runs,
// and the test holds ibodp::MemoryEvent's NotifierEvent() and
// WriteProtectOnly() to them. This is the independent check of the
// classification that perftest writes into its reports and the lab's
// fault-count checks read.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "ibodp/caps.h"
#include "ibodp/device.h"
#include "ibodp/error.h"
#include "ibodp/events.h"
#include "ibodp/mapping.h"
#include "ibodp/pattern.h"
#include "ibodp/verbs.h"
#include "odp_fixture.h"

namespace ibodp::guest {
namespace {

namespace fs = std::filesystem;

constexpr const char* kTracefs = "/sys/kernel/tracing";
constexpr const char* kInstance = "/sys/kernel/tracing/instances/ibodp_nt";
constexpr const char* kProbe = "ibodp_nt/range_start";

// enum mmu_notifier_event in 7.3's include/linux/mmu_notifier.h, in order.
constexpr const char* kKernelEvents[] = {
    "MMU_NOTIFY_UNMAP",          "MMU_NOTIFY_CLEAR",
    "MMU_NOTIFY_PROTECTION_VMA", "MMU_NOTIFY_PROTECTION_PAGE",
    "MMU_NOTIFY_SOFT_DIRTY",     "MMU_NOTIFY_RELEASE",
    "MMU_NOTIFY_MIGRATE",        "MMU_NOTIFY_EXCLUSIVE"};
// MMU_NOTIFIER_RANGE_READABLE, which kernel-patches/ 0001 adds: mm says a
// protection change leaves the range readable.
constexpr uint32_t kRangeReadable = 1U << 1;

// struct mmu_notifier_range in 7.3: mm, start, end, then the unsigned
// flags and the enum event.
constexpr const char* kProbeDefinition =
    "p:ibodp_nt/range_start __mmu_notifier_invalidate_range_start "
    "start=+8(%di):x64 end=+16(%di):x64 flags=+24(%di):u32 "
    "event=+28(%di):u32";

struct Invalidation {
  uint64_t start = 0;
  uint64_t end = 0;
  uint32_t flags = 0;
  uint32_t event = 0;

  std::string EventName() const {
    return event < std::size(kKernelEvents) ? kKernelEvents[event]
                                            : "event " + std::to_string(event);
  }
  // The kernel's own word: an invalidation after which every page stays
  // mapped and readable (what kernel-patches/ 0002 keeps pages on).
  bool WriteProtectOnly() const {
    const std::string name = EventName();
    return name == "MMU_NOTIFY_SOFT_DIRTY" ||
           name == "MMU_NOTIFY_PROTECTION_PAGE" ||
           (name == "MMU_NOTIFY_PROTECTION_VMA" &&
            (flags & kRangeReadable) != 0);
  }
};

void WriteFile(const std::string& path, const std::string& text,
               bool append = false) {
  std::ofstream out(path, append ? std::ios::app : std::ios::trunc);
  out << text << "\n";
  out.flush();
  if (!out.good()) {
    throw Error("cannot write '" + text + "' to " + path);
  }
}

// The kprobe and a trace instance of its own, removed again when done.
class InvalidationRecorder {
 public:
  InvalidationRecorder() {
    if (!fs::exists(std::string(kTracefs) + "/kprobe_events")) {
      throw Unsupported(std::string("no ") + kTracefs +
                        "/kprobe_events: the kernel needs "
                        "CONFIG_KPROBE_EVENTS and tracefs mounted");
    }
    Remove();
    WriteFile(std::string(kTracefs) + "/kprobe_events", kProbeDefinition, true);
    fs::create_directory(kInstance);
    const std::string event_dir = std::string(kInstance) + "/events/" + kProbe;
    WriteFile(event_dir + "/filter",
              "common_pid == " + std::to_string(getpid()));
    WriteFile(event_dir + "/enable", "1");
  }
  InvalidationRecorder(const InvalidationRecorder&) = delete;
  InvalidationRecorder& operator=(const InvalidationRecorder&) = delete;
  ~InvalidationRecorder() { Remove(); }

  void Clear() const { WriteFile(std::string(kInstance) + "/trace", ""); }

  // The recorded invalidations that overlap [addr, addr + length).
  std::vector<Invalidation> Overlapping(const void* addr, size_t length) const {
    const auto lo = reinterpret_cast<uint64_t>(addr);
    const uint64_t hi = lo + length;
    std::ifstream in(std::string(kInstance) + "/trace");
    std::vector<Invalidation> found;
    for (std::string line; std::getline(in, line);) {
      const size_t at = line.find(" start=0x");
      if (line.starts_with("#") || at == std::string::npos) {
        continue;
      }
      Invalidation inv;
      if (std::sscanf(line.c_str() + at,
                      " start=0x%" SCNx64 " end=0x%" SCNx64 " flags=%" SCNu32
                      " event=%" SCNu32,
                      &inv.start, &inv.end, &inv.flags, &inv.event) != 4) {
        throw Error("cannot parse the kprobe's trace line: " + line);
      }
      if (inv.start < hi && inv.end > lo) {
        found.push_back(inv);
      }
    }
    return found;
  }

 private:
  static void Remove() {
    const std::string event_dir = std::string(kInstance) + "/events/" + kProbe;
    if (fs::exists(event_dir + "/enable")) {
      std::ofstream(event_dir + "/enable") << "0\n";
    }
    std::error_code ignored;
    fs::remove(kInstance, ignored);
    std::ofstream(std::string(kTracefs) + "/kprobe_events", std::ios::app)
        << "-:" << kProbe << "\n";
  }
};

std::string Describe(const std::vector<Invalidation>& seen) {
  std::ostringstream out;
  for (const Invalidation& inv : seen) {
    out << "\n  " << inv.EventName() << " flags 0x" << std::hex << inv.flags
        << " [0x" << inv.start << ", 0x" << inv.end << ")" << std::dec;
  }
  return seen.empty() ? std::string(" none") : out.str();
}

// An ODP MR over the event's range gives the process an mmu notifier, so
// that every invalidation of its mm reaches
// __mmu_notifier_invalidate_range_start().
class NotifierEventTest : public ::testing::TestWithParam<std::string> {
 protected:
  static constexpr size_t kPages = 16;

  void SetUp() override {
    dev_ = std::make_unique<Device>(DeviceName());
    try {
      RequireOdp(QueryOdpCaps(*dev_), Transport::kRc, IBV_ODP_SUPPORT_READ,
                 dev_->name());
      recorder_ = std::make_unique<InvalidationRecorder>();
    } catch (const Unsupported& e) {
      GTEST_SKIP() << e.what();
    }
    const size_t length = kPages * PageSize();
    if (GetParam() == "msync") {
      // Writeback needs a disk filesystem: tmpfs has none to clean.
      const char* dir = std::getenv("IBODP_WRITEBACK_DIR");
      ASSERT_NE(dir, nullptr)
          << "IBODP_WRITEBACK_DIR is not set: point it at a directory on a "
             "disk filesystem (the lab guest mounts an ext4 image)";
      std::string path = std::string(dir) + "/notifier-msync-XXXXXX";
      const int fd = mkstemp(path.data());
      ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
      unlink(path.c_str());
      file_ = fdopen(fd, "r+");
      ASSERT_NE(file_, nullptr);
      ASSERT_EQ(ftruncate(fileno(file_), static_cast<off_t>(length)), 0);
      range_ =
          std::make_unique<Mapping>(nullptr, length, PROT_READ | PROT_WRITE,
                                    MAP_SHARED, fileno(file_), 0);
    } else {
      range_ = std::make_unique<Mapping>(Mapping::Anonymous(length));
    }
    FillPattern(range_->bytes(), 3);
    pd_ = AllocPd(*dev_);
    mr_ = RegisterMr(pd_.get(), range_->data(), length, kFullAccess,
                     Registration::kOdp);
  }

  void TearDown() override {
    mr_.reset();
    range_.reset();
    if (file_ != nullptr) {
      std::fclose(file_);
    }
  }

  // The invalidations one Apply() of the event causes on the range.
  std::vector<Invalidation> Seen() {
    const auto event = MakeEvent(GetParam());
    const EventTarget target = {range_->data(), range_->size(),
                                file_ != nullptr ? fileno(file_) : -1};
    recorder_->Clear();
    try {
      event->Apply(target);
    } catch (const Unsupported& e) {
      skipped_ = e.what();
      return {};
    }
    return recorder_->Overlapping(range_->data(), range_->size());
  }

  std::unique_ptr<Device> dev_;
  std::unique_ptr<InvalidationRecorder> recorder_;
  std::FILE* file_ = nullptr;
  std::unique_ptr<Mapping> range_;
  ProtectionDomain pd_;
  MemoryRegion mr_;
  std::string skipped_;
};

TEST_P(NotifierEventTest, KernelSendsTheStatedEvent) {
  const auto seen = Seen();
  if (!skipped_.empty()) {
    GTEST_SKIP() << skipped_;
  }
  const std::string stated(MakeEvent(GetParam())->NotifierEvent());
  if (stated == "none") {
    EXPECT_TRUE(seen.empty())
        << GetParam() << ": the kernel sent" << Describe(seen);
    return;
  }
  ASSERT_FALSE(seen.empty())
      << GetParam() << " caused no invalidation of its range; stated "
      << stated;
  for (const Invalidation& inv : seen) {
    EXPECT_EQ(inv.EventName(), stated)
        << GetParam() << ": the kernel sent" << Describe(seen);
  }
}

TEST_P(NotifierEventTest, WriteProtectOnlyIsWhatMmSays) {
  const std::optional<bool> keep = ExpectKeep();
  if (!keep) {
    GTEST_SKIP() << kExpectKeepUnset;
  }
  if (!*keep) {
    GTEST_SKIP() << "this kernel's mm does not say whether a protection "
                    "change keeps the range readable "
                    "(MMU_NOTIFIER_RANGE_READABLE is kernel-patches/ 0001)";
  }
  const auto seen = Seen();
  if (!skipped_.empty()) {
    GTEST_SKIP() << skipped_;
  }
  bool all = true;
  for (const Invalidation& inv : seen) {
    all = all && inv.WriteProtectOnly();
  }
  EXPECT_EQ(MakeEvent(GetParam())->WriteProtectOnly(), all)
      << GetParam() << ": the kernel sent" << Describe(seen);
}

INSTANTIATE_TEST_SUITE_P(All, NotifierEventTest,
                         ::testing::ValuesIn(EventNames()),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& c : s) {
                             c = c == '-' ? '_' : c;
                           }
                           return s;
                         });

}  // namespace
}  // namespace ibodp::guest
