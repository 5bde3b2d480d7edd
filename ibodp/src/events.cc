// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "ibodp/events.h"

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ibodp/error.h"
#include "ibodp/mapping.h"
#include "ibodp/movers.h"
#include "ibodp/softdirty.h"
#include "ibodp/unique_fd.h"
#include "uapi/pagemap_scan.h"

namespace ibodp {
namespace {

using Clock = std::chrono::steady_clock;

std::chrono::nanoseconds Timed(const std::function<void()>& fn) {
  const auto t0 = Clock::now();
  fn();
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() -
                                                              t0);
}

void Check(int rc, const std::string& what) {
  if (rc != 0) {
    ThrowErrno(what, errno);
  }
}

// A generator defined by its properties and one function.
class SimpleEvent : public MemoryEvent {
 public:
  SimpleEvent(std::string name, std::string notifier, bool wp_only,
              bool preserves, std::function<void(const EventTarget&)> apply)
      : name_(std::move(name)),
        notifier_(std::move(notifier)),
        wp_only_(wp_only),
        preserves_(preserves),
        apply_(std::move(apply)) {}

  std::string_view Name() const override { return name_; }
  std::string_view NotifierEvent() const override { return notifier_; }
  bool WriteProtectOnly() const override { return wp_only_; }
  bool PreservesContents() const override { return preserves_; }
  std::chrono::nanoseconds Apply(const EventTarget& t) override {
    return Timed([&] { apply_(t); });
  }

 private:
  std::string name_;
  std::string notifier_;
  bool wp_only_;
  bool preserves_;
  std::function<void(const EventTarget&)> apply_;
};

// A SimpleEvent on a MAP_SHARED file mapping.
class FileEvent : public SimpleEvent {
 public:
  using SimpleEvent::SimpleEvent;
  bool NeedsFile() const override { return true; }
  bool ActsOnPinnedPages() const override { return false; }
};

void MprotectAndBack(const EventTarget& t, int prot) {
  Check(mprotect(t.addr, t.length, prot), "mprotect");
  Check(mprotect(t.addr, t.length, PROT_READ | PROT_WRITE),
        "mprotect back to PROT_READ|PROT_WRITE");
}

pid_t Fork() {
  const pid_t pid = fork();
  if (pid < 0) {
    ThrowErrno("fork", errno);
  }
  return pid;
}

void Reap(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      ThrowErrno("waitpid", errno);
    }
  }
}

// fork(): the child exits at once, the parent reaps it.
void ForkExit(const EventTarget& /*t*/) {
  const pid_t pid = Fork();
  if (pid == 0) {
    _exit(0);
  }
  Reap(pid);
}

// fork() whose child stays alive, sharing the pages copy-on-write, until
// the next Apply() or the end of the generator.
class ForkAlive : public MemoryEvent {
 public:
  ForkAlive() = default;
  ForkAlive(const ForkAlive&) = delete;
  ForkAlive& operator=(const ForkAlive&) = delete;
  ~ForkAlive() override { Stop(); }
  std::string_view Name() const override { return "fork-alive"; }
  std::string_view NotifierEvent() const override {
    return "MMU_NOTIFY_PROTECTION_PAGE";
  }
  bool WriteProtectOnly() const override { return true; }
  std::chrono::nanoseconds Apply(const EventTarget& /*t*/) override {
    Stop();
    return Timed([this] {
      child_ = Fork();
      if (child_ == 0) {
        pause();
        _exit(0);
      }
    });
  }

 private:
  void Stop() {
    if (child_ > 0) {
      kill(child_, SIGKILL);
      int status = 0;
      waitpid(child_, &status, 0);
      child_ = 0;
    }
  }
  pid_t child_ = 0;
};

void MunmapRemap(const EventTarget& t) {
  Check(munmap(t.addr, t.length), "munmap");
  void* p = mmap(t.addr, t.length, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  if (p != t.addr) {
    ThrowErrno("mmap(MAP_FIXED) at the unmapped address", errno);
  }
}

// Moves the range away with mremap() and back to its address: two UNMAP
// invalidations, contents preserved.
void MremapAway(const EventTarget& t) {
  void* scratch = mmap(nullptr, t.length, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (scratch == MAP_FAILED) {
    ThrowErrno("mmap scratch range for mremap", errno);
  }
  void* moved = mremap(t.addr, t.length, t.length,
                       MREMAP_MAYMOVE | MREMAP_FIXED, scratch);
  if (moved != scratch) {
    const int err = errno;
    munmap(scratch, t.length);
    ThrowErrno("mremap away", err);
  }
  void* back =
      mremap(moved, t.length, t.length, MREMAP_MAYMOVE | MREMAP_FIXED, t.addr);
  if (back != t.addr) {
    ThrowErrno("mremap back", errno);
  }
}

// A userfaultfd with `features`, opened on first use, with one range
// registered for write-protect faults; the range stays registered while
// the fd lives.
class WpUserfaultfd {
 public:
  WpUserfaultfd(uint64_t features, std::string features_name)
      : features_(features), features_name_(std::move(features_name)) {}

  // The fd, with t's range registered.
  int Register(const EventTarget& t) {
    if (fd_.get() >= 0 && registered_addr_ == t.addr) {
      return fd_.get();
    }
    if (fd_.get() < 0) {
      fd_ = UniqueFd(static_cast<int>(syscall(
          SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY)));
      if (fd_.get() < 0) {
        ThrowErrno(
            "userfaultfd (needs CONFIG_USERFAULTFD; vm.unprivileged_"
            "userfaultfd=1 or root)",
            errno);
      }
      uffdio_api api = {};
      api.api = UFFD_API;
      api.features = features_;
      Check(ioctl(fd_.get(), UFFDIO_API, &api),
            "UFFDIO_API with " + features_name_);
    }
    uffdio_register reg = {};
    reg.range.start = reinterpret_cast<uintptr_t>(t.addr);
    reg.range.len = t.length;
    reg.mode = UFFDIO_REGISTER_MODE_WP;
    Check(ioctl(fd_.get(), UFFDIO_REGISTER, &reg),
          "UFFDIO_REGISTER with UFFDIO_REGISTER_MODE_WP");
    registered_addr_ = t.addr;
    return fd_.get();
  }

 private:
  uint64_t features_;
  std::string features_name_;
  UniqueFd fd_;
  uint8_t* registered_addr_ = nullptr;
};

// userfaultfd write-protect then unprotect.
class UffdWp : public MemoryEvent {
 public:
  std::string_view Name() const override { return "uffd-wp"; }
  std::string_view NotifierEvent() const override {
    return "MMU_NOTIFY_PROTECTION_VMA";
  }
  bool WriteProtectOnly() const override { return true; }
  std::chrono::nanoseconds Apply(const EventTarget& t) override {
    const int fd = uffd_.Register(t);
    return Timed([&] {
      Protect(fd, t, UFFDIO_WRITEPROTECT_MODE_WP);
      Protect(fd, t, 0);
    });
  }

 private:
  static void Protect(int fd, const EventTarget& t, uint64_t mode) {
    uffdio_writeprotect wp = {};
    wp.range.start = reinterpret_cast<uintptr_t>(t.addr);
    wp.range.len = t.length;
    wp.mode = mode;
    Check(ioctl(fd, UFFDIO_WRITEPROTECT, &wp),
          mode != 0 ? "UFFDIO_WRITEPROTECT" : "UFFDIO_WRITEPROTECT (resolve)");
  }
  WpUserfaultfd uffd_{UFFD_FEATURE_PAGEFAULT_FLAG_WP,
                      "UFFD_FEATURE_PAGEFAULT_FLAG_WP"};
};

// CRIU's and Wine's way of tracking writes since Linux 6.7: the range is
// registered for asynchronous userfaultfd write protection, and each scan
// write-protects the pages written since the last one (PAGEMAP_SCAN with
// PM_SCAN_WP_MATCHING), one PROTECTION_VMA invalidation of the range
// whether or not a page was written. The event does not write the pages
// itself: a CPU write to a write-protected huge PMD under asynchronous
// uffd-wp splits it (do_huge_pmd_wp_page()), an MMU_NOTIFY_CLEAR of its
// own, so the event would no longer be write-protect only on THP-backed
// memory (perftest's 2 MiB MRs are).
class PagemapWp : public MemoryEvent {
 public:
  std::string_view Name() const override { return "pagemap-wp"; }
  std::string_view NotifierEvent() const override {
    return "MMU_NOTIFY_PROTECTION_VMA";
  }
  bool WriteProtectOnly() const override { return true; }
  std::chrono::nanoseconds Apply(const EventTarget& t) override {
    uffd_.Register(t);
    if (pagemap_.get() < 0) {
      pagemap_ = UniqueFd(open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
      if (pagemap_.get() < 0) {
        ThrowErrno("opening /proc/self/pagemap", errno);
      }
    }
    return Timed([&] {
      pm_scan_arg arg = {};
      arg.size = sizeof(arg);
      arg.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;
      arg.start = reinterpret_cast<uintptr_t>(t.addr);
      arg.end = arg.start + t.length;
      arg.category_mask = PAGE_IS_WRITTEN;
      arg.return_mask = PAGE_IS_WRITTEN;
      Check(ioctl(pagemap_.get(), PAGEMAP_SCAN, &arg),
            "PAGEMAP_SCAN with PM_SCAN_WP_MATCHING (needs Linux 6.7)");
    });
  }

 private:
  WpUserfaultfd uffd_{UFFD_FEATURE_PAGEFAULT_FLAG_WP | UFFD_FEATURE_WP_ASYNC,
                      "UFFD_FEATURE_WP_ASYNC (needs Linux 6.7)"};
  UniqueFd pagemap_;
};

// An application that writes its file mapping and syncs it: one byte of
// every page is rewritten with its own value, so every page is dirty, then
// msync(MS_SYNC) writes them back, and writeback write-protects each page
// (folio_mkclean()'s PROTECTION_PAGE). Without the rewrite, every msync
// after the first would find clean pages and invalidate nothing.
void Msync(const EventTarget& t) {
  if (t.fd < 0) {
    throw Error(
        "msync event needs a MAP_SHARED file-backed range (EventTarget.fd)");
  }
  const size_t page = PageSize();
  for (size_t off = 0; off < t.length; off += page) {
    volatile uint8_t* byte = t.addr + off;
    *byte = *byte;
  }
  Check(msync(t.addr, t.length, MS_SYNC), "msync(MS_SYNC)");
}

// MADV_PAGEOUT: the range's pages go to swap (reclaim's CLEAR from
// try_to_unmap_one()), and come back on the next access. Without swap the
// kernel would keep anonymous pages and invalidate nothing.
class PageOutEvent : public MemoryEvent {
 public:
  std::string_view Name() const override { return "pageout"; }
  std::string_view NotifierEvent() const override { return "MMU_NOTIFY_CLEAR"; }
  bool WriteProtectOnly() const override { return false; }
  bool ActsOnPinnedPages() const override { return false; }
  std::chrono::nanoseconds Apply(const EventTarget& t) override {
    if (!swap_checked_) {
      RequireSwap();
      swap_checked_ = true;
    }
    return Timed([&] { PageOut({t.addr, t.length}); });
  }

 private:
  bool swap_checked_ = false;
};

// move_pages() of the range to another NUMA node, a different one each
// time (try_to_migrate_one()'s CLEAR).
class Migrate : public MemoryEvent {
 public:
  std::string_view Name() const override { return "migrate"; }
  std::string_view NotifierEvent() const override { return "MMU_NOTIFY_CLEAR"; }
  bool WriteProtectOnly() const override { return false; }
  bool ActsOnPinnedPages() const override { return false; }
  std::chrono::nanoseconds Apply(const EventTarget& t) override {
    if (nodes_.empty()) {
      nodes_ = RequireNumaNodes();
    }
    next_ = (next_ + 1) % nodes_.size();
    return Timed([&] { MovePages({t.addr, t.length}, nodes_[next_]); });
  }

 private:
  std::vector<int> nodes_;
  size_t next_ = 0;
};

// The THP movers. Each first puts the range into the state its event
// undoes (untimed, though it invalidates too: the device's pages are gone
// either way, and the faults after the event are those of the pair), then
// times the event's system calls alone and checks that the range changed
// state. Both send CLEAR: collapse from khugepaged.c's
// collapse_huge_page(), split from rmap.c's try_to_migrate_one() as the
// debugfs split unmaps each folio; the bytes stay.

// Bytes of the range that 2 MiB huge pages map (smaps' AnonHugePages of
// its mapping, which Mapping::AnonymousHuge makes its own).
size_t HugeBytes(const EventTarget& t) {
  return SmapsKb(t.addr, "AnonHugePages") * 1024;
}

std::string HugeState(const EventTarget& t) {
  return std::to_string(HugeBytes(t) >> 10) + " of " +
         std::to_string(t.length >> 10) + " kB in huge pages";
}

// Runs `step` (timed) until done() or kAttempts: MADV_COLLAPSE and the
// debugfs split each skip a folio that is busy at the moment (an extra
// reference, a lock held) and say nothing.
template <typename Step, typename Done>
std::chrono::nanoseconds Retry(const EventTarget& t, const char* what,
                               Step&& step, Done&& done) {
  constexpr int kAttempts = 20;
  std::chrono::nanoseconds took{0};
  for (int i = 0; i < kAttempts; ++i) {
    took += Timed(step);
    if (done()) {
      return took;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  throw Error(std::string(what) + " did not finish in " +
              std::to_string(kAttempts) + " attempts: " + HugeState(t) +
              " (for a collapse: free memory too fragmented for huge pages, "
              "MADV_NOHUGEPAGE or PR_SET_THP_DISABLE)");
}

std::chrono::nanoseconds CollapseAll(const EventTarget& t) {
  return Retry(
      t, "MADV_COLLAPSE",
      [&] {
        TryCollapseHugePage({t.addr, t.length});
      },
      [&] { return HugeBytes(t) == t.length; });
}

std::chrono::nanoseconds SplitAll(const EventTarget& t) {
  return Retry(
      t, "the split_huge_pages split",
      [&] {
        SplitHugePages({t.addr, t.length});
      },
      [&] { return HugeBytes(t) == 0; });
}

class ThpEvent : public MemoryEvent {
 public:
  explicit ThpEvent(bool split) : split_(split) {}
  std::string_view Name() const override {
    return split_ ? "thp-split" : "thp-collapse";
  }
  std::string_view NotifierEvent() const override { return "MMU_NOTIFY_CLEAR"; }
  bool WriteProtectOnly() const override { return false; }
  bool NeedsHugePages() const override { return true; }
  bool SlowPerOp() const override { return true; }
  bool ActsOnPinnedPages() const override { return false; }
  std::chrono::nanoseconds Apply(const EventTarget& t) override {
    const auto addr = reinterpret_cast<uintptr_t>(t.addr);
    if (t.length == 0 || addr % kHugePageBytes != 0 ||
        t.length % kHugePageBytes != 0) {
      throw Error(std::string(Name()) +
                  " needs a range of whole 2 MiB huge pages "
                  "(Mapping::AnonymousHuge), not " +
                  std::to_string(t.length) + " bytes at " +
                  std::to_string(addr));
    }
    if (split_) {
      if (HugeBytes(t) != t.length) {
        CollapseAll(t);
      }
      return SplitAll(t);
    }
    if (HugeBytes(t) != 0) {
      SplitAll(t);
    }
    return CollapseAll(t);
  }

 private:
  bool split_;
};

// ksmd merges every page of the range with its copy in a twin (KSM's
// write_protect_page() and replace_page(): CLEAR), and the range's pages
// become shared read-only KSM pages; the bytes stay. Untimed first:
// MADV_UNMERGEABLE gives the pages that the previous application merged
// back to the process, and the twin takes the range's current bytes.
class KsmEvent : public MemoryEvent {
 public:
  std::string_view Name() const override { return "ksm"; }
  std::string_view NotifierEvent() const override { return "MMU_NOTIFY_CLEAR"; }
  bool WriteProtectOnly() const override { return false; }
  bool SlowPerOp() const override { return true; }
  bool ActsOnPinnedPages() const override { return false; }
  std::chrono::nanoseconds Apply(const EventTarget& t) override {
    Check(madvise(t.addr, t.length, MADV_UNMERGEABLE),
          "madvise(MADV_UNMERGEABLE) (needs CONFIG_KSM)");
    if (!twin_ || twin_->size() != t.length) {
      twin_ = std::make_unique<Mapping>(Mapping::Anonymous(t.length));
    }
    std::memcpy(twin_->data(), t.addr, t.length);
    Check(madvise(twin_->data(), twin_->size(), MADV_MERGEABLE),
          "madvise(MADV_MERGEABLE) of the twin");
    Check(madvise(t.addr, t.length, MADV_MERGEABLE),
          "madvise(MADV_MERGEABLE) (needs CONFIG_KSM)");
    return Timed([&] { KsmMerge({t.addr, t.length}, kTimeout); });
  }

 private:
  static constexpr std::chrono::milliseconds kTimeout{10000};
  std::unique_ptr<Mapping> twin_;
};

}  // namespace

std::vector<std::string> EventNames() {
  return {"none",    "soft-dirty", "mprotect-ro",      "mprotect-none",
          "fork",    "fork-alive", "madvise-dontneed", "munmap-remap",
          "mremap",  "uffd-wp",    "pagemap-wp",       "msync",
          "pageout", "migrate",    "thp-collapse",     "thp-split",
          "ksm"};
}

std::unique_ptr<MemoryEvent> MakeEvent(std::string_view name) {
  if (name == "none") {
    return std::make_unique<SimpleEvent>("none", "none", true, true,
                                         [](const EventTarget&) {});
  }
  if (name == "soft-dirty") {
    return std::make_unique<SimpleEvent>(
        "soft-dirty", "MMU_NOTIFY_SOFT_DIRTY", true, true,
        [](const EventTarget&) { ClearSoftDirty(); });
  }
  if (name == "mprotect-ro") {
    return std::make_unique<SimpleEvent>(
        "mprotect-ro", "MMU_NOTIFY_PROTECTION_VMA", true, true,
        [](const EventTarget& t) { MprotectAndBack(t, PROT_READ); });
  }
  if (name == "mprotect-none") {
    return std::make_unique<SimpleEvent>(
        "mprotect-none", "MMU_NOTIFY_PROTECTION_VMA", false, true,
        [](const EventTarget& t) { MprotectAndBack(t, PROT_NONE); });
  }
  if (name == "fork") {
    return std::make_unique<SimpleEvent>("fork", "MMU_NOTIFY_PROTECTION_PAGE",
                                         true, true, ForkExit);
  }
  if (name == "fork-alive") {
    return std::make_unique<ForkAlive>();
  }
  if (name == "madvise-dontneed") {
    return std::make_unique<SimpleEvent>(
        "madvise-dontneed", "MMU_NOTIFY_CLEAR", false, false,
        [](const EventTarget& t) {
          Check(madvise(t.addr, t.length, MADV_DONTNEED), "madvise(DONTNEED)");
        });
  }
  if (name == "munmap-remap") {
    return std::make_unique<SimpleEvent>("munmap-remap", "MMU_NOTIFY_UNMAP",
                                         false, false, MunmapRemap);
  }
  if (name == "mremap") {
    return std::make_unique<SimpleEvent>("mremap", "MMU_NOTIFY_UNMAP", false,
                                         true, MremapAway);
  }
  if (name == "uffd-wp") {
    return std::make_unique<UffdWp>();
  }
  if (name == "pagemap-wp") {
    return std::make_unique<PagemapWp>();
  }
  if (name == "msync") {
    return std::make_unique<FileEvent>("msync", "MMU_NOTIFY_PROTECTION_PAGE",
                                       true, true, Msync);
  }
  if (name == "pageout") {
    return std::make_unique<PageOutEvent>();
  }
  if (name == "migrate") {
    return std::make_unique<Migrate>();
  }
  if (name == "thp-collapse" || name == "thp-split") {
    return std::make_unique<ThpEvent>(name == "thp-split");
  }
  if (name == "ksm") {
    return std::make_unique<KsmEvent>();
  }
  std::string known;
  for (const auto& n : EventNames()) {
    known += (known.empty() ? "" : ", ") + n;
  }
  throw Error("unknown event '" + std::string(name) +
              "'; known events: " + known);
}

std::vector<std::string> AnonymousEventNames() {
  std::vector<std::string> names = EventNames();
  std::erase_if(names,
                [](const std::string& n) { return MakeEvent(n)->NeedsFile(); });
  return names;
}

std::string EventIdentifier(std::string_view name) {
  std::string s(name);
  std::replace(s.begin(), s.end(), '-', '_');
  return s;
}

}  // namespace ibodp
