// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// An mmap()ed range owned by RAII: the memory an ODP MR covers.
#ifndef IBODP_MAPPING_H_
#define IBODP_MAPPING_H_

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <span>

namespace ibodp {

// The size of a transparent huge page on x86-64 (a PMD mapping).
inline constexpr size_t kHugePageBytes = size_t{2} << 20;

// `length` rounded up to whole huge pages.
inline constexpr size_t RoundUpToHugePages(size_t length) {
  return (length + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
}

size_t PageSize();

class Mapping {
 public:
  // Anonymous private read-write memory of `length` bytes (rounded up to
  // pages). Throws Error on failure or length 0.
  static Mapping Anonymous(size_t length);

  // Anonymous(length) at an address that is a multiple of `alignment` (a
  // power of two, a multiple of the page size): maps length + alignment
  // and unmaps the unaligned head and tail. For ranges that transparent
  // huge pages (2 MiB) must be able to back.
  static Mapping AnonymousAligned(size_t length, size_t alignment);

  // AnonymousAligned(length, kHugePageBytes) with MADV_HUGEPAGE: a range
  // that transparent huge pages can back whole. Throws Error unless
  // `length` is a non-zero multiple of kHugePageBytes.
  static Mapping AnonymousHuge(size_t length);

  // Takes ownership of an existing mapping of `length` bytes at `addr`.
  static Mapping Adopt(void* addr, size_t length);

  // mmap(addr_hint, length, prot, flags, fd, offset); throws on failure.
  Mapping(void* addr_hint, size_t length, int prot, int flags, int fd,
          off_t offset);
  Mapping(Mapping&& other) noexcept;
  Mapping& operator=(Mapping&& other) noexcept;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping();

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  std::span<uint8_t> bytes() const { return {data_, size_}; }

  // Gives up ownership without unmapping (e.g. after munmap by a test).
  void Release();

 private:
  Mapping() = default;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace ibodp

#endif  // IBODP_MAPPING_H_
