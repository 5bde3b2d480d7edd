// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// Each memory-event generator on the host kernel: it runs, reports a time,
// and leaves the range as its properties say (same address, writable,
// contents kept or not).
#include "ibodp/events.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "ibodp/error.h"
#include "ibodp/mapping.h"
#include "ibodp/pattern.h"
#include "ibodp/softdirty.h"

namespace ibodp {
namespace {

constexpr size_t kPages = 8;

class EventTest : public ::testing::TestWithParam<std::string> {};

TEST_P(EventTest, AppliesAndLeavesRangeUsable) {
  const std::string name = GetParam();
  std::unique_ptr<MemoryEvent> event = MakeEvent(name);
  ASSERT_EQ(event->Name(), name);
  EXPECT_FALSE(event->NotifierEvent().empty());
  Mapping m = event->NeedsHugePages() ? Mapping::AnonymousHuge(kHugePageBytes)
                                      : Mapping::Anonymous(kPages * PageSize());
  FillPattern(m.bytes(), 42);
  EventTarget t{m.data(), m.size(), -1};
  std::chrono::nanoseconds took{};
  std::chrono::nanoseconds wall{};
  try {
    const auto start = std::chrono::steady_clock::now();
    took = event->Apply(t);
    took += event->Apply(t);  // Twice: generators keep state across calls.
    wall = std::chrono::steady_clock::now() - start;
  } catch (const Unsupported& e) {
    // pageout needs swap, migrate two NUMA nodes: the lab guest has both.
    GTEST_SKIP() << e.what();
  } catch (const Error& e) {
    if (name == "uffd-wp" || name == "soft-dirty") {
      GTEST_SKIP() << "the host kernel does not support it: " << e.what();
    }
    throw;
  }
  // What Apply reports is the event's own time: never negative, and within
  // the wall time around both calls.
  EXPECT_GE(took.count(), 0);
  EXPECT_LE(took, wall);
  if (event->PreservesContents()) {
    EXPECT_FALSE(FirstMismatch(m.bytes(), 42).has_value());
  }
  FillPattern(m.bytes(), 43);  // Still mapped read-write at the address.
  EXPECT_FALSE(FirstMismatch(m.bytes(), 43).has_value());
}

// Every event that acts on anonymous memory; those that need a file have
// their own tests below.
INSTANTIATE_TEST_SUITE_P(All, EventTest,
                         ::testing::ValuesIn(AnonymousEventNames()),
                         [](const auto& info) {
                           return EventIdentifier(info.param);
                         });

// NeedsFile() is what the event does: without a backing file it refuses,
// naming what it needs, instead of acting on anonymous memory.
TEST(Events, AnEventThatNeedsAFileRefusesAnonymousMemory) {
  size_t needing = 0;
  for (const std::string& name : EventNames()) {
    auto event = MakeEvent(name);
    if (!event->NeedsFile()) {
      continue;
    }
    ++needing;
    Mapping m = Mapping::Anonymous(kPages * PageSize());
    EXPECT_THROW(event->Apply({m.data(), m.size(), -1}), Error) << name;
  }
  EXPECT_EQ(needing + AnonymousEventNames().size(), EventNames().size());
  EXPECT_GE(needing, 1U) << "msync needs a file";
}

TEST(Events, IdentifierReplacesDashes) {
  EXPECT_EQ(EventIdentifier("madvise-dontneed"), "madvise_dontneed");
  EXPECT_EQ(EventIdentifier("none"), "none");
}

TEST(Events, UnknownNameListsKnownOnes) {
  try {
    MakeEvent("mprotect-rw");
    FAIL() << "accepted an unknown event";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "unknown event 'mprotect-rw'; known events: none, "
                  "soft-dirty"),
              std::string::npos)
        << e.what();
  }
}

// Whether each event's NotifierEvent() and WriteProtectOnly() are what the
// kernel sends is checked against the kernel itself, in the guest: rxe's
// per-event counters (tests/guest/counters_test.cc,
// OdpEventClassification).

TEST(Events, MadviseDontneedZeroesAnonymousMemory) {
  auto event = MakeEvent("madvise-dontneed");
  Mapping m = Mapping::Anonymous(kPages * PageSize());
  FillPattern(m.bytes(), 1);
  event->Apply({m.data(), m.size(), -1});
  for (size_t i = 0; i < m.size(); ++i) {
    ASSERT_EQ(m.data()[i], 0) << i;
  }
}

TEST(Events, SoftDirtyClearsThePagemapBit) {
  Mapping m = Mapping::Anonymous(kPages * PageSize());
  FillPattern(m.bytes(), 1);
  if (!IsSoftDirty(m.data())) {
    GTEST_SKIP() << "a freshly written page is not soft-dirty: this kernel "
                    "has no CONFIG_MEM_SOFT_DIRTY";
  }
  MakeEvent("soft-dirty")->Apply({m.data(), m.size(), -1});
  EXPECT_FALSE(IsSoftDirty(m.data()));
  m.data()[0] = 7;
  EXPECT_TRUE(IsSoftDirty(m.data()));
  EXPECT_FALSE(IsSoftDirty(m.data() + PageSize()));
}

TEST(Events, MsyncOnFile) {
  char path[] = "/tmp/ibodp-events-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  unlink(path);
  const size_t len = kPages * PageSize();
  ASSERT_EQ(ftruncate(fd, static_cast<off_t>(len)), 0);
  {
    Mapping m(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    FillPattern(m.bytes(), 5);
    auto event = MakeEvent("msync");
    event->Apply({m.data(), m.size(), fd});
    EXPECT_THROW(event->Apply({m.data(), m.size(), -1}), Error);
  }
  std::string back(len, '\0');
  ASSERT_EQ(pread(fd, back.data(), len, 0), static_cast<ssize_t>(len));
  EXPECT_FALSE(
      FirstMismatch(
          {reinterpret_cast<const uint8_t*>(back.data()), back.size()}, 5)
          .has_value());
  close(fd);
}

}  // namespace
}  // namespace ibodp
