// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "ibodp/mapping.h"

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <utility>

#include "ibodp/error.h"

namespace ibodp {

size_t PageSize() { return static_cast<size_t>(sysconf(_SC_PAGESIZE)); }

Mapping Mapping::Anonymous(size_t length) {
  return Mapping(nullptr, length, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

Mapping Mapping::AnonymousHuge(size_t length) {
  if (length == 0 || length % kHugePageBytes != 0) {
    throw Error("a huge-page mapping needs a non-zero multiple of " +
                std::to_string(kHugePageBytes >> 20) + " MiB, not " +
                std::to_string(length) + " bytes");
  }
  Mapping m = AnonymousAligned(length, kHugePageBytes);
  if (madvise(m.data(), m.size(), MADV_HUGEPAGE) != 0) {
    ThrowErrno("madvise(MADV_HUGEPAGE) (needs CONFIG_TRANSPARENT_HUGEPAGE)",
               errno);
  }
  return m;
}

Mapping Mapping::AnonymousAligned(size_t length, size_t alignment) {
  const size_t page = PageSize();
  if (alignment < page || alignment % page != 0 ||
      (alignment & (alignment - 1)) != 0) {
    throw Error("mmap: alignment " + std::to_string(alignment) +
                " is not a power-of-two multiple of the page size " +
                std::to_string(page));
  }
  Mapping area = Anonymous(length + alignment);
  const size_t size = area.size() - alignment;
  const auto start = reinterpret_cast<uintptr_t>(area.data());
  const size_t head = ((start + alignment - 1) & ~(alignment - 1)) - start;
  uint8_t* aligned = area.data() + head;
  const size_t tail = area.size() - head - size;
  area.Release();
  // munmap of part of a private anonymous mapping cannot fail but for
  // bad arguments, which these are not.
  if (head > 0) {
    munmap(aligned - head, head);
  }
  if (tail > 0) {
    munmap(aligned + size, tail);
  }
  return Adopt(aligned, size);
}

Mapping Mapping::Adopt(void* addr, size_t length) {
  Mapping m;
  m.data_ = static_cast<uint8_t*>(addr);
  m.size_ = length;
  return m;
}

Mapping::Mapping(void* addr_hint, size_t length, int prot, int flags, int fd,
                 off_t offset) {
  if (length == 0) {
    throw Error("mmap: length 0; a mapping needs at least one page");
  }
  const size_t page = PageSize();
  const size_t rounded = (length + page - 1) / page * page;
  void* p = mmap(addr_hint, rounded, prot, flags, fd, offset);
  if (p == MAP_FAILED) {
    ThrowErrno("mmap(" + std::to_string(rounded) + " bytes)", errno);
  }
  data_ = static_cast<uint8_t*>(p);
  size_ = rounded;
}

Mapping::Mapping(Mapping&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

Mapping& Mapping::operator=(Mapping&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) {
      munmap(data_, size_);
    }
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

Mapping::~Mapping() {
  if (data_ != nullptr) {
    munmap(data_, size_);
  }
}

void Mapping::Release() {
  data_ = nullptr;
  size_ = 0;
}

}  // namespace ibodp
