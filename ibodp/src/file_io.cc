// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "file_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "ibodp/error.h"

namespace ibodp {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    ThrowErrno("open " + path, errno);
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteFile(const std::string& path, const std::string& text,
               WriteMode mode) {
  int flags = O_WRONLY | O_CLOEXEC;
  if (mode == WriteMode::kTruncate) {
    flags |= O_TRUNC;
  } else if (mode == WriteMode::kAppend) {
    flags |= O_APPEND;
  }
  const int fd = open(path.c_str(), flags);
  if (fd < 0) {
    ThrowErrno("open " + path, errno);
  }
  const ssize_t n = write(fd, text.data(), text.size());
  const int err = errno;
  close(fd);
  if (n != static_cast<ssize_t>(text.size())) {
    ThrowErrno("write '" + text + "' to " + path, n < 0 ? err : EIO);
  }
}

}  // namespace ibodp
