// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "ibodp/movers.h"

#include <fcntl.h>
#include <numa.h>
#include <numaif.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "file_io.h"
#include "ibodp/error.h"
#include "ibodp/mapping.h"
#include "ibodp/softdirty.h"

namespace ibodp {
namespace {

// Linux 6.1's value (include/uapi/asm-generic/mman-common.h); bookworm's
// glibc 2.36 headers predate it.
#ifdef MADV_COLLAPSE
constexpr int kMadvCollapse = MADV_COLLAPSE;
#else
constexpr int kMadvCollapse = 25;
#endif

std::vector<void*> PageAddresses(std::span<const uint8_t> range) {
  std::vector<void*> pages;
  for (size_t off = 0; off < range.size(); off += PageSize()) {
    // move_pages() takes void**, although a query writes no page.
    pages.push_back(const_cast<uint8_t*>(range.data() + off));  // NOLINT
  }
  return pages;
}

std::string Hex(const void* addr) {
  std::ostringstream s;
  s << "0x" << std::hex << reinterpret_cast<uintptr_t>(addr);
  return s.str();
}

// MADV_COLLAPSE of `range`: 0, or the errno of a transient failure
// (EAGAIN: a page was busy; ENOMEM or EBUSY: no huge page could be
// allocated or charged). Throws on the others.
int Collapse(std::span<uint8_t> range) {
  if (madvise(range.data(), range.size(), kMadvCollapse) == 0) {
    return 0;
  }
  const int err = errno;
  if (err == EAGAIN || err == ENOMEM || err == EBUSY) {
    return err;
  }
  if (err == EINVAL) {
    throw Unsupported(
        "madvise(MADV_COLLAPSE) is EINVAL: the kernel lacks "
        "CONFIG_TRANSPARENT_HUGEPAGE, the range is not 2 MiB aligned inside "
        "one mapping, or the mapping may not have huge pages (its VmFlags: " +
        SmapsField(range.data(), "VmFlags") + ")");
  }
  ThrowErrno("madvise(MADV_COLLAPSE)", err);
}

}  // namespace

PageCounts CountPages(std::span<const uint8_t> range) {
  PageCounts counts;
  for (size_t off = 0; off < range.size(); off += PageSize()) {
    const uint64_t entry = PagemapEntry(range.data() + off);
    counts.present += (entry & kPagemapPresent) != 0 ? 1 : 0;
    counts.swapped += (entry & kPagemapSwapped) != 0 ? 1 : 0;
  }
  return counts;
}

uint64_t KernelPageFlags(const void* addr) {
  const uint64_t entry = PagemapEntry(addr);
  if ((entry & kPagemapPresent) == 0) {
    return 0;
  }
  const uint64_t pfn = entry & kPagemapPfnMask;
  if (pfn == 0) {
    throw Unsupported(
        "/proc/self/pagemap shows no PFNs: reading page flags needs "
        "CAP_SYS_ADMIN (run as root, as the lab guest does)");
  }
  const int fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    ThrowErrno("open /proc/kpageflags (needs CONFIG_PROC_PAGE_MONITOR)", errno);
  }
  uint64_t flags = 0;
  const ssize_t n =
      pread(fd, &flags, sizeof(flags), static_cast<off_t>(pfn * sizeof(flags)));
  const int err = errno;
  close(fd);
  if (n != static_cast<ssize_t>(sizeof(flags))) {
    ThrowErrno("read /proc/kpageflags", n < 0 ? err : EIO);
  }
  return flags;
}

std::string SmapsField(const void* addr, const std::string& field) {
  std::ifstream smaps("/proc/self/smaps");
  const auto a = reinterpret_cast<uintptr_t>(addr);
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    uintptr_t lo = 0;
    uintptr_t hi = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> lo >> dash >> hi && dash == '-') {
      inside = a >= lo && a < hi;
      continue;
    }
    if (inside && line.rfind(field + ":", 0) == 0) {
      const size_t start = line.find_first_not_of(' ', field.size() + 1);
      return start == std::string::npos ? "" : line.substr(start);
    }
  }
  return "";
}

uint64_t SmapsKb(const void* addr, const std::string& field) {
  const std::string value = SmapsField(addr, field);
  return value.empty() ? 0 : std::stoull(value);
}

void RequireSwap() {
  std::ifstream swaps("/proc/swaps");
  std::string header;
  std::string device;
  if (!swaps || !std::getline(swaps, header) || !(swaps >> device)) {
    throw Unsupported(
        "no swap device is on (/proc/swaps lists none): the lab guest "
        "swaps to a virtio-blk disk; elsewhere run swapon first");
  }
}

void PageOut(std::span<uint8_t> range) {
  if (madvise(range.data(), range.size(), MADV_PAGEOUT) != 0) {
    ThrowErrno("madvise(MADV_PAGEOUT)", errno);
  }
}

std::vector<int> RequireNumaNodes() {
  if (numa_available() < 0) {
    throw Unsupported("the kernel has no NUMA support (numa_available < 0)");
  }
  std::vector<int> nodes;
  for (int n = 0; n <= numa_max_node(); ++n) {
    if (numa_bitmask_isbitset(numa_all_nodes_ptr, n) != 0) {
      nodes.push_back(n);
    }
  }
  if (nodes.size() < 2) {
    throw Unsupported(
        "fewer than 2 NUMA nodes have memory: the lab guest boots with "
        "numa=fake=2 (CONFIG_NUMA_EMU)");
  }
  return nodes;
}

std::vector<int> NodesOf(std::span<const uint8_t> range) {
  std::vector<void*> pages = PageAddresses(range);
  std::vector<int> status(pages.size(), 0);
  if (move_pages(0, pages.size(), pages.data(), nullptr, status.data(), 0) !=
      0) {
    ThrowErrno("move_pages (query)", errno);
  }
  return status;
}

size_t MovePagesTo(std::span<uint8_t> range, int node) {
  std::vector<void*> pages = PageAddresses(range);
  std::vector<int> nodes(pages.size(), node);
  std::vector<int> status(pages.size(), 0);
  const auto left = move_pages(0, pages.size(), pages.data(), nodes.data(),
                               status.data(), MPOL_MF_MOVE);
  if (left < 0) {
    ThrowErrno("move_pages to node " + std::to_string(node), errno);
  }
  return static_cast<size_t>(std::count(status.begin(), status.end(), node));
}

void MovePages(std::span<uint8_t> range, int node) {
  const size_t moved = MovePagesTo(range, node);
  if (moved * PageSize() < range.size()) {
    const std::vector<int> where = NodesOf(range);
    for (size_t i = 0; i < where.size(); ++i) {
      if (where[i] != node) {
        throw Error("move_pages left page " + std::to_string(i) + " of " +
                    std::to_string(where.size()) + " with status " +
                    std::to_string(where[i]) + ", not on node " +
                    std::to_string(node));
      }
    }
  }
}

void MigrateProcessPages(int from, int to) {
  bitmask* old_nodes = numa_allocate_nodemask();
  bitmask* new_nodes = numa_allocate_nodemask();
  numa_bitmask_setbit(old_nodes, from);
  numa_bitmask_setbit(new_nodes, to);
  const int left = numa_migrate_pages(0, old_nodes, new_nodes);
  const int err = errno;
  numa_bitmask_free(old_nodes);
  numa_bitmask_free(new_nodes);
  if (left < 0) {
    ThrowErrno("migrate_pages from node " + std::to_string(from) + " to " +
                   std::to_string(to),
               err);
  }
}

bool TryCollapseHugePage(std::span<uint8_t> range) {
  return Collapse(range) == 0;
}

void CollapseHugePage(std::span<uint8_t> range) {
  const int err = Collapse(range);
  if (err != 0) {
    ThrowErrno("madvise(MADV_COLLAPSE)", err);
  }
}

void SplitHugePages(std::span<uint8_t> range) {
  const std::string path = "/sys/kernel/debug/split_huge_pages";
  if (access(path.c_str(), W_OK) != 0) {
    throw Unsupported(path +
                      " is not writable: it needs debugfs mounted, root and "
                      "CONFIG_TRANSPARENT_HUGEPAGE");
  }
  WriteFile(path, std::to_string(getpid()) + "," + Hex(range.data()) + "," +
                      Hex(range.data() + range.size()));
}

void CompactMemory() {
  const std::string path = "/proc/sys/vm/compact_memory";
  if (access(path.c_str(), W_OK) != 0) {
    throw Unsupported(path +
                      " is not writable: it needs CONFIG_COMPACTION and root");
  }
  WriteFile(path, "1");
}

namespace {

// ksmd's knobs, set fast for one merge and put back as they were.
class KsmdKnobs {
 public:
  explicit KsmdKnobs(std::string dir) : dir_(std::move(dir)) {
    for (const char* knob : kKnobs) {
      std::string v = ReadFile(dir_ + knob);
      while (!v.empty() && v.back() == '\n') {
        v.pop_back();
      }
      saved_.emplace_back(knob, v);
    }
    WriteFile(dir_ + "pages_to_scan", "10000");
    WriteFile(dir_ + "sleep_millisecs", "1");
    WriteFile(dir_ + "run", "1");
  }
  KsmdKnobs(const KsmdKnobs&) = delete;
  KsmdKnobs& operator=(const KsmdKnobs&) = delete;
  ~KsmdKnobs() {
    for (const auto& [knob, value] : saved_) {
      try {
        WriteFile(dir_ + knob, value);
      } catch (const Error&) {  // NOLINT(bugprone-empty-catch)
        // A destructor cannot throw; the knob keeps the merge's value.
      }
    }
  }

 private:
  static constexpr const char* kKnobs[] = {"run", "pages_to_scan",
                                           "sleep_millisecs"};
  std::string dir_;
  std::vector<std::pair<std::string, std::string>> saved_;
};

}  // namespace

void KsmMerge(std::span<uint8_t> range, std::chrono::milliseconds timeout) {
  const std::string ksm = "/sys/kernel/mm/ksm/";
  if (access((ksm + "run").c_str(), W_OK) != 0) {
    throw Unsupported(ksm +
                      "run is not writable: it needs CONFIG_KSM and root");
  }
  const KsmdKnobs knobs(ksm);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t merged = 0;
  for (;;) {
    merged = 0;
    for (size_t off = 0; off < range.size(); off += PageSize()) {
      merged += (KernelPageFlags(range.data() + off) &
                 (kPageFlagKsm | kPageFlagZeroPage)) != 0;
    }
    if (merged * PageSize() >= range.size() ||
        std::chrono::steady_clock::now() > deadline) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (merged * PageSize() < range.size()) {
    throw Error("ksmd merged " + std::to_string(merged) + " of " +
                std::to_string(range.size() / PageSize()) + " pages within " +
                std::to_string(timeout.count()) + " ms (" +
                ReadFile(ksm + "full_scans") + " full scans)");
  }
}

MemoryCgroup::MemoryCgroup() {
  const char* root = std::getenv("IBODP_CGROUP_ROOT");
  parent_ = root != nullptr ? root : "/sys/fs/cgroup";
  const std::string control = parent_ + "/cgroup.subtree_control";
  std::ifstream in(control);
  std::string controllers;
  std::getline(in, controllers);
  if (!in || (" " + controllers + " ").find(" memory ") == std::string::npos) {
    throw Unsupported(control +
                      " does not enable the memory controller: mount "
                      "cgroup2 there and write +memory to it");
  }
  path_ = parent_ + "/ibodp-" + std::to_string(getpid());
  if (mkdir(path_.c_str(), 0755) != 0 && errno != EEXIST) {
    ThrowErrno("mkdir " + path_, errno);
  }
  WriteFile(path_ + "/cgroup.procs", std::to_string(getpid()));
}

MemoryCgroup::~MemoryCgroup() {
  // Back to the parent, then the group goes; its charges move up with it.
  try {
    WriteFile(parent_ + "/cgroup.procs", std::to_string(getpid()));
  } catch (const Error&) {  // NOLINT(bugprone-empty-catch)
    // A destructor cannot throw; rmdir below fails too and says nothing.
  }
  rmdir(path_.c_str());
}

void MemoryCgroup::Reclaim(size_t bytes) const {
  const std::string path = path_ + "/memory.reclaim";
  const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    ThrowErrno("open " + path, errno);
  }
  const std::string text = std::to_string(bytes);
  const ssize_t n = write(fd, text.data(), text.size());
  const int err = errno;
  close(fd);
  // EAGAIN: the kernel reclaimed less than asked; the caller checks.
  if (n < 0 && err != EAGAIN) {
    ThrowErrno("write " + text + " to " + path, err);
  }
}

void MemoryCgroup::SetHigh(std::optional<size_t> bytes) const {
  WriteFile(path_ + "/memory.high",
            bytes ? std::to_string(*bytes) : std::string("max"));
}

size_t MemoryCgroup::Current() const {
  return std::stoull(ReadFile(path_ + "/memory.current"));
}

}  // namespace ibodp
