// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "ibodp/softdirty.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>

#include "ibodp/error.h"
#include "ibodp/mapping.h"

namespace ibodp {

void ClearSoftDirty() {
  const int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    ThrowErrno("open /proc/self/clear_refs", errno);
  }
  const ssize_t n = write(fd, "4", 1);
  const int err = errno;
  close(fd);
  if (n != 1) {
    ThrowErrno("write 4 to /proc/self/clear_refs (needs CONFIG_MEM_SOFT_DIRTY)",
               err);
  }
}

uint64_t PagemapEntry(const void* addr) {
  const int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    ThrowErrno("open /proc/self/pagemap (needs CONFIG_PROC_PAGE_MONITOR)",
               errno);
  }
  uint64_t entry = 0;
  const auto offset = static_cast<off_t>(reinterpret_cast<uintptr_t>(addr) /
                                         PageSize() * sizeof(entry));
  const ssize_t n = pread(fd, &entry, sizeof(entry), offset);
  const int err = errno;
  close(fd);
  if (n != static_cast<ssize_t>(sizeof(entry))) {
    ThrowErrno("read /proc/self/pagemap", n < 0 ? err : EIO);
  }
  return entry;
}

bool IsSoftDirty(const void* addr) {
  return (PagemapEntry(addr) & kPagemapSoftDirty) != 0;
}

}  // namespace ibodp
