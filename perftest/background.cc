// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "background.h"

#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>
#include <utility>
#include <vector>

#include "ibodp/error.h"
#include "ibodp/mapping.h"
#include "ibodp/movers.h"

namespace perftest {
namespace {

// A /proc/sys or /sys knob set for the background's lifetime and given its
// old value back after. `user` names who sets it, for the errors.
class Knob {
 public:
  Knob(std::string path, const std::string& value, std::string user)
      : path_(std::move(path)), user_(std::move(user)) {
    std::ifstream in(path_);
    if (!std::getline(in, old_)) {
      throw ibodp::Error("cannot read " + path_ + ": " + user_ +
                         " needs it (is the kernel built with it?)");
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
      throw ibodp::Error("cannot write " + value + " to " + path_ + ": " +
                         user_ + " sets it, which needs root");
    }
  }

 private:
  std::string path_;
  std::string user_;
  std::string old_;
};

// A thread of perftest that plays the application: every `every` it calls
// touch(), until stopped.
class Toucher {
 public:
  Toucher(std::chrono::milliseconds every, std::function<void()> touch)
      : thread_([every, touch = std::move(touch)](const std::stop_token& stop) {
          std::mutex mutex;
          std::condition_variable_any wake;
          std::unique_lock lock(mutex);
          while (!stop.stop_requested()) {
            touch();
            wake.wait_for(lock, stop, every, [] { return false; });
          }
        }) {}

 private:
  std::jthread thread_;
};

// The application's store into the first byte of every page of `target`.
void StoreIntoEveryPage(const ibodp::EventTarget& target, uint8_t value) {
  const auto page = static_cast<size_t>(getpagesize());
  auto* bytes = static_cast<volatile uint8_t*>(target.addr);
  for (size_t off = 0; off < target.length; off += page) {
    bytes[off] = value;
  }
}

// madvise(advice) of `range`; the error says who asked (`what`).
void Advise(const ibodp::EventTarget& range, int advice,
            const std::string& what) {
  if (madvise(range.addr, range.length, advice) != 0) {
    ibodp::ThrowErrno(what, errno);
  }
}

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
    expire_.emplace("/proc/sys/vm/dirty_expire_centisecs", kExpireCentisecs,
                    kUser);
    period_.emplace("/proc/sys/vm/dirty_writeback_centisecs", kPeriodCentisecs,
                    kUser);
    writer_.emplace(kDirtyEvery, [target, byte = uint8_t{0}]() mutable {
      StoreIntoEveryPage(target, ++byte);
    });
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
  static constexpr const char* kUser = "the writeback background";

  void Halt() {
    writer_.reset();
    // No periodic flusher until the knobs go back: the pages dirtied last
    // stay dirty while the counters are read.
    if (period_) {
      period_->Set("0");
    }
  }

  std::optional<Knob> expire_;
  std::optional<Knob> period_;
  std::optional<Toucher> writer_;
};

// KSM merging an anonymous MR. perftest fills the MR with one byte, so its
// pages are identical and ksmd merges them into one KSM page: it
// write-protects each page and replaces all but the first by the KSM page,
// both with MMU_NOTIFY_CLEAR, so the device's next access faults on any
// kernel. A thread of perftest plays the application: every kWriteEvery
// it stores one new byte into every page, which breaks each merged page's
// copy-on-write (another CLEAR) and leaves the pages identical again for
// ksmd's next pass. ksmd skips pages pinned for DMA (write_protect_page()
// finds more references than mappings), so a pinned MR sees none of it.
class Ksm final : public Background {
 public:
  static constexpr auto kWriteEvery = std::chrono::milliseconds(500);
  static constexpr const char* kKsm = "/sys/kernel/mm/ksm/";
  static constexpr const char* kUser = "the ksm background";

  std::string_view Name() const override { return "ksm"; }
  bool ActsOnPinnedPages() const override { return false; }

  void Start(const ibodp::EventTarget& target) override {
    target_ = target;
    Advise(MADV_MERGEABLE, "MADV_MERGEABLE");
    // A pass over every mergeable page each 20 ms.
    const auto pages = target.length / static_cast<size_t>(getpagesize());
    scan_.emplace(std::string(kKsm) + "pages_to_scan",
                  std::to_string(pages + 64), kUser);
    sleep_.emplace(std::string(kKsm) + "sleep_millisecs", "20", kUser);
    run_.emplace(std::string(kKsm) + "run", "1", kUser);
    writer_.emplace(kWriteEvery, [target, byte = uint8_t{0}]() mutable {
      StoreIntoEveryPage(target, ++byte);
    });
  }

  // ksmd stops; the merged pages stay merged until the destructor unmerges
  // them, after the counters are read.
  void Stop() override {
    writer_.reset();
    if (run_) {
      run_->Set("0");
    }
  }

  ~Ksm() override {
    writer_.reset();
    if (target_.addr != nullptr &&
        madvise(target_.addr, target_.length, MADV_UNMERGEABLE) != 0) {
      std::cerr << "perftest: MADV_UNMERGEABLE of the MR: "
                << std::strerror(errno) << "\n";
    }
  }

 private:
  void Advise(int advice, const char* name) const {
    perftest::Advise(
        target_, advice,
        std::string(kUser) + ": madvise(" + name + ") of the MR (CONFIG_KSM?)");
  }

  ibodp::EventTarget target_{};
  std::optional<Knob> scan_;
  std::optional<Knob> sleep_;
  std::optional<Knob> run_;
  std::optional<Toucher> writer_;
};

// NUMA balancing of an anonymous MR whose pages start on the far node.
// Prepare() moves them to a node that is not the one perftest runs on
// (the lab guest's two nodes are numa=fake=2, with the CPUs on the first).
// For the window, balancing is on with a scan period of 100 ms: a scan
// that reaches the MR (task_numa_work() -> change_prot_numa()) makes its
// PTEs PROT_NONE and sends MMU_NOTIFY_PROTECTION_VMA over the range
// (change_pud_range()). The scanning thread is perftest's, which polls and
// never touches the MR from the CPU, so vma_is_accessed() lets the MR in
// only now and then: about one hint a second was measured, not ten. A
// thread of perftest plays the application: every kReadEvery it loads a
// byte of every page, which takes the hinting faults that migrate the
// pages to its node (try_to_migrate_one(): MMU_NOTIFY_CLEAR). A kernel
// that drops ODP pages on every event makes the device fault after each
// hint; one that keeps them read-only across hints (kernel-patches/
// 0009-0010) only after a migration. Balancing leaves pages pinned for DMA
// alone (folio_maybe_dma_pinned()).
class NumaBalancing final : public Background {
 public:
  static constexpr auto kReadEvery = std::chrono::milliseconds(100);
  static constexpr const char* kScanMs = "100";
  static constexpr const char* kKnobs =
      "/sys/kernel/debug/sched/numa_balancing/";
  static constexpr const char* kUser = "the numa-balancing background";
  static constexpr const char* kBalancing = "/proc/sys/kernel/numa_balancing";

  std::string_view Name() const override { return "numa-balancing"; }
  bool ActsOnPinnedPages() const override { return false; }

  bool Prepare(const ibodp::EventTarget& target) override {
    const std::vector<int> nodes = ibodp::RequireNumaNodes();
    for (const char* path : {kBalancing, kKnobs}) {
      if (!std::filesystem::exists(path)) {
        throw ibodp::Unsupported(std::string("no ") + path +
                                 ": NUMA balancing needs "
                                 "CONFIG_NUMA_BALANCING and debugfs mounted");
      }
    }
    unsigned cpu = 0;
    unsigned node = 0;
    if (getcpu(&cpu, &node) != 0) {
      ibodp::ThrowErrno(std::string(kUser) + ": getcpu", errno);
    }
    const int far = static_cast<int>(node) == nodes[0] ? nodes[1] : nodes[0];
    ibodp::MovePages({static_cast<uint8_t*>(target.addr), target.length}, far);
    return true;
  }

  void Start(const ibodp::EventTarget& target) override {
    const std::string knobs = kKnobs;
    min_.emplace(knobs + "scan_period_min_ms", kScanMs, kUser);
    max_.emplace(knobs + "scan_period_max_ms", kScanMs, kUser);
    delay_.emplace(knobs + "scan_delay_ms", "0", kUser);
    on_.emplace(kBalancing, "1", kUser);
    reader_.emplace(kReadEvery, [target] { LoadFromEveryPage(target); });
  }

  void Stop() override {
    reader_.reset();
    if (on_) {
      on_->Set("0");
    }
  }

 private:
  static void LoadFromEveryPage(const ibodp::EventTarget& target) {
    const auto page = static_cast<size_t>(getpagesize());
    const auto* bytes = static_cast<const volatile uint8_t*>(target.addr);
    uint8_t sum = 0;
    for (size_t off = 0; off < target.length; off += page) {
      sum = static_cast<uint8_t>(sum + bytes[off]);
    }
    (void)sum;
  }

  std::optional<Knob> min_;
  std::optional<Knob> max_;
  std::optional<Knob> delay_;
  std::optional<Knob> on_;
  std::optional<Toucher> reader_;
};

// khugepaged collapsing an anonymous MR at the start of a mapping of whole
// 2 MiB huge pages that is mapped in base pages (NeedsHugeAlignment()).
// Prepare() marks the mapping MADV_HUGEPAGE, which puts the process on
// khugepaged's list; for the window khugepaged scans every 100 ms
// (scan_sleep_millisecs, restored after, which also wakes it where the lab
// keeps it asleep). Each collapse (collapse_huge_page()) copies 512 pages
// into a new huge page and sends MMU_NOTIFY_CLEAR over the 2 MiB, so the
// device re-faults every page of the MR in it on any kernel: what a
// collapse costs an ODP user, not what the series saves. Nothing splits
// the huge pages again in the window, so the activity is one collapse of
// each. khugepaged does not collapse pages pinned for DMA (their refcount
// is not what it expects: SCAN_PAGE_COUNT).
class Khugepaged final : public Background {
 public:
  static constexpr const char* kKnobs =
      "/sys/kernel/mm/transparent_hugepage/khugepaged/";
  static constexpr const char* kUser = "the khugepaged background";

  std::string_view Name() const override { return "khugepaged"; }
  bool NeedsHugeAlignment() const override { return true; }
  bool ActsOnPinnedPages() const override { return false; }

  // Base pages in every repetition (with --nointerleave one mapping
  // serves them all, and the last window collapsed it): the range is
  // discarded and written again while MADV_NOHUGEPAGE keeps faults to base
  // pages, then MADV_HUGEPAGE lets khugepaged in. The advice covers the
  // whole huge pages that the MR starts (NeedsHugeAlignment()): over the
  // MR alone it would split the mapping at the MR's end.
  bool Prepare(const ibodp::EventTarget& target) override {
    if (!std::filesystem::exists(kKnobs)) {
      throw ibodp::Unsupported(
          std::string("no ") + kKnobs +
          ": khugepaged needs CONFIG_TRANSPARENT_HUGEPAGE");
    }
    range_ = {target.addr, ibodp::RoundUpToHugePages(target.length), -1};
    Advise(MADV_NOHUGEPAGE, "MADV_NOHUGEPAGE");
    Advise(MADV_DONTNEED, "MADV_DONTNEED");
    StoreIntoEveryPage(range_, 1);
    Advise(MADV_HUGEPAGE, "MADV_HUGEPAGE");
    return true;
  }

  // A scan every 100 ms, and after a failed huge page allocation a retry
  // as soon (alloc_sleep_millisecs is 60 s by default).
  void Start(const ibodp::EventTarget& /*target*/) override {
    const std::string knobs = kKnobs;
    alloc_sleep_.emplace(knobs + "alloc_sleep_millisecs", "100", kUser);
    sleep_.emplace(knobs + "scan_sleep_millisecs", "100", kUser);
  }

  // A window in which khugepaged did not collapse the range measured
  // nothing of what it names: an error, not a row of zeros.
  void Stop() override {
    const uint64_t huge_kb = ibodp::SmapsKb(range_.addr, "AnonHugePages");
    sleep_.reset();
    alloc_sleep_.reset();
    if (huge_kb * 1024 < range_.length) {
      throw ibodp::Error(std::string(kUser) + ": khugepaged collapsed " +
                         std::to_string(huge_kb) + " kB of the " +
                         std::to_string(range_.length >> 10) +
                         " kB the MR starts within the window; a longer "
                         "--seconds gives it more scans");
    }
  }

 private:
  void Advise(int advice, const char* name) const {
    perftest::Advise(range_, advice,
                     std::string(kUser) + ": madvise(" + name + ")");
  }

  ibodp::EventTarget range_{};
  std::optional<Knob> alloc_sleep_;
  std::optional<Knob> sleep_;
};

// Reclaim under a memory cgroup's limit. Prepare() moves perftest into a
// cgroup of its own and charges the MR's pages to it: it discards them
// (MADV_DONTNEED) and the CPU writes them again, which no op minds, since
// no op checks the MR's bytes. For the window memory.high sits kHeadroom
// above what the group holds, and a thread of perftest plays a second
// application in the group: every kWriteEvery it stores into every page
// of a kHogBytes buffer of its own, more than the room it has. The kernel
// reclaims the group in that thread as it returns to user space
// (mem_cgroup_handle_over_high(); kswapd reclaims for a node's
// watermarks, not for a cgroup's limit) and swaps out the pages that have
// not been accessed lately, the MR's among them: a device's reads do not
// mark a page accessed. Each swap-out unmaps the page (try_to_unmap_one():
// MMU_NOTIFY_CLEAR), so the device re-faults it from swap on any kernel:
// what reclaim costs ODP, not what the series saves. Reclaim cannot swap
// out pages pinned for DMA, so a pinned MR has no memcg-reclaim scenario.
// Needs swap (the lab guest swaps to a disk) and the memory controller.
class MemcgReclaim final : public Background {
 public:
  static constexpr auto kWriteEvery = std::chrono::milliseconds(100);
  static constexpr size_t kHeadroom = size_t{2} << 20;
  static constexpr size_t kHogBytes = size_t{8} << 20;

  std::string_view Name() const override { return "memcg-reclaim"; }
  bool ActsOnPinnedPages() const override { return false; }

  bool Prepare(const ibodp::EventTarget& target) override {
    ibodp::RequireSwap();
    cgroup_.emplace();
    Advise(target, MADV_DONTNEED,
           std::string(kUser) + ": madvise(MADV_DONTNEED)");
    StoreIntoEveryPage(target, 1);
    return true;
  }

  void Start(const ibodp::EventTarget& /*target*/) override {
    cgroup_->SetHigh(cgroup_->Current() + kHeadroom);
    hog_.emplace(ibodp::Mapping::Anonymous(kHogBytes));
    const ibodp::EventTarget hog{hog_->data(), hog_->size(), -1};
    writer_.emplace(kWriteEvery, [hog, byte = uint8_t{0}]() mutable {
      StoreIntoEveryPage(hog, ++byte);
    });
  }

  void Stop() override {
    writer_.reset();
    if (cgroup_) {
      cgroup_->SetHigh(std::nullopt);
    }
  }

 private:
  static constexpr const char* kUser = "the memcg-reclaim background";

  // Destroyed in reverse: the writer stops before its buffer goes, and
  // both before perftest leaves the group.
  std::optional<ibodp::MemoryCgroup> cgroup_;
  std::optional<ibodp::Mapping> hog_;
  std::optional<Toucher> writer_;
};

}  // namespace

std::vector<std::string> BackgroundNames() {
  return {"none",           "writeback",  "ksm",
          "numa-balancing", "khugepaged", "memcg-reclaim"};
}

std::unique_ptr<Background> MakeBackground(std::string_view name) {
  if (name == "none") {
    return nullptr;
  }
  if (name == "writeback") {
    return std::make_unique<Writeback>();
  }
  if (name == "ksm") {
    return std::make_unique<Ksm>();
  }
  if (name == "numa-balancing") {
    return std::make_unique<NumaBalancing>();
  }
  if (name == "khugepaged") {
    return std::make_unique<Khugepaged>();
  }
  if (name == "memcg-reclaim") {
    return std::make_unique<MemcgReclaim>();
  }
  std::string known;
  for (const std::string& n : BackgroundNames()) {
    known += (known.empty() ? "" : ", ") + n;
  }
  throw ibodp::Error("unknown background '" + std::string(name) +
                     "'; known backgrounds: " + known);
}

}  // namespace perftest
