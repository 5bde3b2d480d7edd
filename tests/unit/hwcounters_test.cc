// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "ibodp/hwcounters.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "ibodp/error.h"

namespace ibodp {
namespace {

namespace fs = std::filesystem;

class HwCountersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("ibodp-hwc-" + std::to_string(getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    dir_ = root_ / "rxe0" / "ports" / "1" / "hw_counters";
    fs::create_directories(dir_);
    Put("lifespan", "1");
    Put("page_faults", "16");
    Put("sent_pkts", "7");
  }
  void TearDown() override { fs::remove_all(root_); }
  void Put(const std::string& name, const std::string& value) const {
    std::ofstream(dir_ / name) << value << "\n";
  }
  fs::path root_;
  fs::path dir_;
};

TEST_F(HwCountersTest, ReadsEveryCounterButLifespan) {
  const HwCounters counters("rxe0", 1, root_);
  const CounterValues values = counters.Read();
  EXPECT_EQ(values.size(), 2u);
  EXPECT_EQ(ValueOf(values, "page_faults"), 16u);
  EXPECT_EQ(ValueOf(values, "sent_pkts"), 7u);
}

TEST_F(HwCountersTest, MissingPortIsUnsupported) {
  try {
    const HwCounters counters("rxe0", 2, root_);
    FAIL() << "expected Unsupported";
  } catch (const Unsupported& e) {
    EXPECT_NE(std::string(e.what()).find("rxe0 port 2 has no hw_counters"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(HwCountersTest, RequireNamesEveryMissingCounter) {
  const HwCounters counters("rxe0", 1, root_);
  EXPECT_NO_THROW(counters.Require({"page_faults"}, "why"));
  try {
    counters.Require({"page_faults", "page_invalidations", "page_prefetch"},
                     "the kernel lacks the ibodp counter patch");
    FAIL() << "expected Unsupported";
  } catch (const Unsupported& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("no page_invalidations, page_prefetch in"),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("lacks the ibodp counter patch"), std::string::npos)
        << msg;
  }
}

TEST_F(HwCountersTest, RequireListsThreeMissingCountersThenHowManyMore) {
  const HwCounters counters("rxe0", 1, root_);
  try {
    counters.Require({"a", "b", "page_faults", "c", "d", "e"}, "why");
    FAIL() << "expected Unsupported";
  } catch (const Unsupported& e) {
    EXPECT_NE(std::string(e.what()).find("rxe0 has no a, b, c and 2 more in"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(HwCountersTest, UnreadableValueIsAnError) {
  Put("page_faults", "garbage");
  const HwCounters counters("rxe0", 1, root_);
  EXPECT_THROW(counters.Read(), Error);
}

TEST(CounterDelta, SubtractsCountersPresentInBoth) {
  const CounterValues delta =
      CounterDelta({{"a", 3}, {"b", 10}}, {{"a", 5}, {"b", 10}, {"c", 1}});
  EXPECT_EQ(delta, (CounterValues{{"a", 2}, {"b", 0}}));
}

TEST(CounterDelta, CounterGoingBackwardsIsAnError) {
  EXPECT_THROW(CounterDelta({{"a", 3}}, {{"a", 2}}), Error);
}

TEST(ValueOf, AbsentCounterIsAnErrorNotZero) {
  EXPECT_THROW(ValueOf({{"a", 1}}, "b"), Error);
}

}  // namespace
}  // namespace ibodp
