// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "file_zone.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <span>

#include "ibodp/error.h"
#include "ibodp/mapping.h"
#include "ibodp/unique_fd.h"
#include "slot.h"

namespace storm {

FileZone::FileZone(const std::string& dir, const Layout& layout)
    : layout_(layout), dir_(dir) {
  struct statfs fs = {};
  if (statfs(dir.c_str(), &fs) != 0) {
    ibodp::ThrowErrno("the file zone's directory " + dir, errno);
  }
  if (fs.f_type == TMPFS_MAGIC) {
    throw ibodp::Error("the file zone's directory " + dir +
                       " is on tmpfs, which has no writeback: give a "
                       "directory on ext4 or xfs (--file_dir)");
  }
  fd_ =
      ibodp::UniqueFd(open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (fd_.get() < 0) {
    ibodp::ThrowErrno("open(O_TMPFILE) in " + dir +
                          " for the file zone (the filesystem must support "
                          "O_TMPFILE: ext4, xfs)",
                      errno);
  }
  const size_t bytes = layout.file_pages * layout.page;
  if (ftruncate(fd_.get(), static_cast<off_t>(bytes)) != 0) {
    ibodp::ThrowErrno("ftruncate of the file zone's file", errno);
  }
  // The region's owner unmaps the zone with the rest of the region.
  void* at = mmap(layout.FileBase(), bytes, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_FIXED, fd_.get(), 0);
  if (at != layout.FileBase()) {
    ibodp::ThrowErrno("mmap(MAP_SHARED | MAP_FIXED) of the file zone", errno);
  }
}

std::vector<std::string> FileZone::DiskMismatches() const {
  const size_t bytes = layout_.file_pages * layout_.page;
  WriteBack(layout_);
  // A second open file description, with O_DIRECT: its reads come from
  // the disk, after the kernel wrote back any page still dirty.
  const std::string self = "/proc/self/fd/" + std::to_string(fd_.get());
  const ibodp::UniqueFd direct(
      open(self.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC));
  if (direct.get() < 0) {
    ibodp::ThrowErrno(
        "open(" + self + ", O_DIRECT) of the file zone's file in " + dir_,
        errno);
  }
  const ibodp::Mapping disk = ibodp::Mapping::Anonymous(bytes);
  size_t done = 0;
  while (done < bytes) {
    const ssize_t n = pread(direct.get(), disk.data() + done, bytes - done,
                            static_cast<off_t>(done));
    if (n <= 0) {
      ibodp::ThrowErrno("O_DIRECT read of the file zone's file",
                        n < 0 ? errno : EIO);
    }
    done += static_cast<size_t>(n);
  }
  std::vector<std::string> out;
  for (size_t p = 0; p < layout_.file_pages; ++p) {
    const size_t slot = layout_.write_pages + p;
    const std::span<const uint8_t> cpu(layout_.Slot(slot), layout_.page);
    const std::span<const uint8_t> on_disk(disk.data() + p * layout_.page,
                                           layout_.page);
    if (std::memcmp(cpu.data(), on_disk.data(), layout_.page) == 0) {
      continue;
    }
    size_t first = 0;
    while (cpu[first] == on_disk[first]) {
      ++first;
    }
    out.push_back("file slot " + std::to_string(slot) + ": the disk holds " +
                  Describe(slot, on_disk.first(kRecordBytes)) +
                  " where the CPU sees " +
                  Describe(slot, cpu.first(kRecordBytes)) +
                  " (first difference at byte " + std::to_string(first) +
                  "): a device write that did not dirty its page");
  }
  return out;
}

void WriteBack(const Layout& layout) {
  if (msync(layout.FileBase(), layout.file_pages * layout.page, MS_SYNC) != 0) {
    ibodp::ThrowErrno("msync(MS_SYNC) of the file zone", errno);
  }
}

}  // namespace storm
