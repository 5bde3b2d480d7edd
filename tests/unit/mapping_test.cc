// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "ibodp/mapping.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>

#include "ibodp/error.h"
#include "ibodp/movers.h"

namespace ibodp {
namespace {

TEST(Mapping, RoundsUpToPages) {
  Mapping m = Mapping::Anonymous(PageSize() + 1);
  EXPECT_EQ(m.size(), 2 * PageSize());
  m.data()[m.size() - 1] = 42;  // Writable through the last byte.
  EXPECT_EQ(m.data()[m.size() - 1], 42);
}

TEST(Mapping, ZeroLengthIsAnError) {
  EXPECT_THROW(Mapping::Anonymous(0), Error);
}

TEST(Mapping, AlignedStartsOnTheBoundaryWithTheLengthAsked) {
  constexpr size_t kAlign = size_t{2} << 20;
  for (const size_t pages : {size_t{1}, size_t{3}, kAlign / PageSize()}) {
    Mapping m = Mapping::AnonymousAligned(pages * PageSize(), kAlign);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(m.data()) % kAlign, 0U) << pages;
    EXPECT_EQ(m.size(), pages * PageSize());
    m.data()[0] = 1;
    m.data()[m.size() - 1] = 2;  // Writable through the last byte.
    EXPECT_EQ(m.data()[m.size() - 1], 2);
  }
}

TEST(Mapping, AlignmentMustBeAPowerOfTwoMultipleOfThePage) {
  EXPECT_THROW(Mapping::AnonymousAligned(PageSize(), 3 * PageSize()), Error);
  EXPECT_THROW(Mapping::AnonymousAligned(PageSize(), PageSize() / 2), Error);
  EXPECT_THROW(Mapping::AnonymousAligned(PageSize(), 0), Error);
}

TEST(Mapping, RoundUpToHugePagesGivesWholeHugePages) {
  EXPECT_EQ(RoundUpToHugePages(0), 0U);
  EXPECT_EQ(RoundUpToHugePages(1), kHugePageBytes);
  EXPECT_EQ(RoundUpToHugePages(kHugePageBytes), kHugePageBytes);
  EXPECT_EQ(RoundUpToHugePages(kHugePageBytes + 1), 2 * kHugePageBytes);
}

// The mapping the THP events need: aligned, whole huge pages, and the
// VM_HUGEPAGE flag ("hg" in smaps' VmFlags) that MADV_HUGEPAGE sets.
TEST(Mapping, HugeIsAlignedWholeHugePagesWithMadvHugepage) {
  Mapping m = Mapping::AnonymousHuge(2 * kHugePageBytes);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(m.data()) % kHugePageBytes, 0U);
  EXPECT_EQ(m.size(), 2 * kHugePageBytes);
  const std::string flags = SmapsField(m.data(), "VmFlags");
  EXPECT_NE(flags.find(" hg"), std::string::npos) << flags;
}

TEST(Mapping, HugeNeedsWholeHugePages) {
  EXPECT_THROW(Mapping::AnonymousHuge(0), Error);
  EXPECT_THROW(Mapping::AnonymousHuge(kHugePageBytes + PageSize()), Error);
}

TEST(Mapping, MoveTransfersOwnership) {
  Mapping a = Mapping::Anonymous(PageSize());
  uint8_t* p = a.data();
  Mapping b = std::move(a);
  EXPECT_EQ(b.data(), p);
  // The moved-from mapping must no longer own (and so not unmap) the range.
  // NOLINTNEXTLINE(bugprone-use-after-move,clang-analyzer-cplusplus.Move)
  EXPECT_EQ(a.data(), nullptr);
  // NOLINTNEXTLINE(bugprone-use-after-move,clang-analyzer-cplusplus.Move)
  EXPECT_EQ(a.size(), 0u);
}

}  // namespace
}  // namespace ibodp
