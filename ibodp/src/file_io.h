// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// Whole-file reads and writes of sysfs, procfs, debugfs and tracefs files,
// with errors that name the file, the value and errno. Internal to ibodp.
#ifndef IBODP_SRC_FILE_IO_H_
#define IBODP_SRC_FILE_IO_H_

#include <string>

namespace ibodp {

// The file's whole content; throws Error naming the path and errno.
std::string ReadFile(const std::string& path);

// How WriteFile() opens the file besides O_WRONLY.
enum class WriteMode {
  kInPlace,   // neither truncate nor append: a sysfs or procfs knob
  kTruncate,  // O_TRUNC: what empties a tracefs buffer or filter
  kAppend,    // O_APPEND: adds to a tracefs filter
};

// Writes `text` in one write(2); throws Error naming path, text and errno.
void WriteFile(const std::string& path, const std::string& text,
               WriteMode mode = WriteMode::kInPlace);

}  // namespace ibodp

#endif  // IBODP_SRC_FILE_IO_H_
