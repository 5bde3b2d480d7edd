// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// The storm's file zone: an unlinked file on a filesystem with writeback,
// mapped MAP_SHARED over the last pages of the storm's region, so that the
// MR's slots there are page-cache pages that writeback cleans and
// write-protects (folio_mkclean()'s MMU_NOTIFY_PROTECTION_PAGE) while the
// device writes them. At the end, what the disk holds must be what the CPU
// sees: a device write that did not dirty its page is not written back.
#ifndef TESTS_STORM_FILE_ZONE_H_
#define TESTS_STORM_FILE_ZONE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ibodp/unique_fd.h"
#include "shared.h"

namespace storm {

class FileZone {
 public:
  // Creates the file in `dir` and maps it over the layout's file zone
  // (MAP_FIXED: before the MR is registered). Throws ibodp::Error naming
  // the cause: no such directory, tmpfs (no writeback), no O_TMPFILE.
  FileZone(const std::string& dir, const Layout& layout);
  FileZone(const FileZone&) = delete;
  FileZone& operator=(const FileZone&) = delete;

  // After the storm, with the workers stopped: writes the zone back
  // (msync), reads the file from the disk (O_DIRECT, past the page cache)
  // and returns one line per page whose bytes there differ from what the
  // CPU sees in the mapping.
  std::vector<std::string> DiskMismatches() const;

 private:
  Layout layout_;
  std::string dir_;
  ibodp::UniqueFd fd_;
};

// msync(MS_SYNC) of the layout's file zone: the storm's writeback event.
void WriteBack(const Layout& layout);

}  // namespace storm

#endif  // TESTS_STORM_FILE_ZONE_H_
