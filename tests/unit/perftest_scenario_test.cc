// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// perftest's flag parsers, matrix expansion and presets.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "background.h"
#include "ibodp/error.h"
#include "ibodp/events.h"
#include "scenario.h"

namespace perftest {
namespace {

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = kKiB * 1024;
constexpr uint64_t kGiB = kMiB * 1024;

// The message of the ibodp::Error `fn` throws; fails the test when it does
// not throw one.
std::string ErrorOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const ibodp::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected ibodp::Error";
  return "";
}

#define EXPECT_ERROR_HAS(statement, fragment)                        \
  do {                                                               \
    const std::string message = ErrorOf([&] { (void)(statement); }); \
    EXPECT_NE(message.find(fragment), std::string::npos)             \
        << "message: " << message;                                   \
  } while (false)

MatrixSpec SmallSpec() {
  MatrixSpec spec;
  spec.ops = {Op::kRead};
  spec.msg_sizes = {4 * kKiB};
  spec.mr_sizes = {kMiB};
  spec.pages = {1};
  spec.events = {"none"};
  spec.periods = {1};
  spec.ops_per_repetition = 100;
  spec.warmup_ops = 10;
  spec.repetitions = 3;
  return spec;
}

TEST(ParseSizeListTest, AcceptsBinarySuffixes) {
  EXPECT_EQ(ParseSizeList("--msg-sizes", "64,4K,1M,1G"),
            (std::vector<uint64_t>{64, 4 * kKiB, kMiB, kGiB}));
  EXPECT_EQ(ParseSizeList("--msg-sizes", "4KiB, 2MiB ,3GiB,1T,8B,2k"),
            (std::vector<uint64_t>{4 * kKiB, 2 * kMiB, 3 * kGiB, kGiB * kKiB, 8,
                                   2 * kKiB}));
}

TEST(ParseSizeListTest, RejectsBadValues) {
  EXPECT_ERROR_HAS(ParseSizeList("--msg-sizes", "0"),
                   "--msg-sizes: bad value '0': a size must be at least 1");
  EXPECT_ERROR_HAS(ParseSizeList("--msg-sizes", "4K,-1"),
                   "--msg-sizes: bad value '-1': expected a positive size");
  EXPECT_ERROR_HAS(ParseSizeList("--mr-sizes", "abc"),
                   "--mr-sizes: bad value 'abc': expected a positive size");
  EXPECT_ERROR_HAS(ParseSizeList("--mr-sizes", "4KB"),
                   "binary suffix K, M, G or T (or KiB, MiB, GiB, TiB)");
  EXPECT_ERROR_HAS(ParseSizeList("--mr-sizes", "1.5K"), "bad value '1.5K'");
  EXPECT_ERROR_HAS(ParseSizeList("--mr-sizes", "99999999999999999999"),
                   "does not fit in 64 bits");
  EXPECT_ERROR_HAS(ParseSizeList("--mr-sizes", "16777216T"),
                   "--mr-sizes: bad value '16777216T': it does not fit");
  EXPECT_ERROR_HAS(ParseSizeList("--mr-sizes", ""), "--mr-sizes is empty");
  EXPECT_ERROR_HAS(ParseSizeList("--mr-sizes", "4K,,8K"),
                   "--mr-sizes: empty value in '4K,,8K'");
  EXPECT_ERROR_HAS(ParseSizeList("--mr-sizes", "4K,4096"),
                   "--mr-sizes lists 4 KiB twice");
}

TEST(ParseCountListTest, AcceptsPositiveIntegers) {
  EXPECT_EQ(ParseCountList("--periods", "1,10, 100"),
            (std::vector<uint64_t>{1, 10, 100}));
}

TEST(ParseCountListTest, RejectsBadValues) {
  EXPECT_ERROR_HAS(ParseCountList("--periods", "0"),
                   "--periods: bad value '0': it must be at least 1");
  EXPECT_ERROR_HAS(ParseCountList("--periods", "-3"),
                   "--periods: bad value '-3': expected a positive decimal");
  EXPECT_ERROR_HAS(ParseCountList("--pages", "4K"), "--pages: bad value '4K'");
  EXPECT_ERROR_HAS(ParseCountList("--pages", "1x"), "bad value '1x'");
  EXPECT_ERROR_HAS(ParseCountList("--pages", "18446744073709551616"),
                   "does not fit in 64 bits");
  EXPECT_ERROR_HAS(ParseCountList("--pages", "1,1"), "--pages lists 1 twice");
  EXPECT_ERROR_HAS(ParseCountList("--pages", " "), "--pages is empty");
}

TEST(ParseOpsTest, AcceptsEveryOperation) {
  EXPECT_EQ(ParseOps("--ops", "read,write,send,fetch-add"),
            (std::vector<Op>{Op::kRead, Op::kWrite, Op::kSend, Op::kFetchAdd}));
  for (const Op op : {Op::kRead, Op::kWrite, Op::kSend, Op::kFetchAdd}) {
    EXPECT_EQ(OpFromName(OpName(op)), op);
  }
}

TEST(ParseOpsTest, RejectsUnknownOperation) {
  EXPECT_ERROR_HAS(
      ParseOps("--ops", "read,cas"),
      "--ops: unknown operation 'cas'; known operations: read, write, "
      "send, fetch-add");
  EXPECT_ERROR_HAS(ParseOps("--ops", "read,read"), "--ops lists read twice");
  EXPECT_ERROR_HAS(OpFromName("READ"), "unknown operation 'READ'");
}

TEST(ParseRegistrationsTest, AcceptsEveryRegistrationInOrder) {
  EXPECT_EQ(
      ParseRegistrations("--registration", "pinned,odp,odp-prefetch"),
      (std::vector<Registration>{Registration::kPinned, Registration::kOdp,
                                 Registration::kOdpPrefetch}));
  for (const Registration r : {Registration::kOdp, Registration::kPinned,
                               Registration::kOdpPrefetch}) {
    EXPECT_EQ(RegistrationFromName(RegistrationName(r)), r);
  }
}

TEST(ParseRegistrationsTest, RejectsUnknownAndRepeated) {
  EXPECT_ERROR_HAS(
      ParseRegistrations("--registration", "odp,prefetch"),
      "--registration: unknown registration 'prefetch'; known registrations: "
      "odp, pinned, odp-prefetch");
  EXPECT_ERROR_HAS(ParseRegistrations("--registration", "odp,odp"),
                   "--registration lists odp twice");
}

TEST(ExpandMatrixTest, RegistrationIsTheFastestAxisAndOdpKeepsItsName) {
  MatrixSpec spec;
  spec.ops = {Op::kRead};
  spec.msg_sizes = {4096};
  spec.mr_sizes = {1 << 20};
  spec.pages = {1};
  spec.events = {"none", "fork"};
  spec.periods = {1};
  spec.registrations = {Registration::kOdp, Registration::kPinned};
  spec.ops_per_repetition = 1;
  spec.repetitions = 1;
  const std::vector<Scenario> all = ExpandMatrix(spec);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].Name(),
            "read/msg=4096/mr=1048576/pages=1/event=none/period=1");
  EXPECT_EQ(all[1].Name(),
            "read/msg=4096/mr=1048576/pages=1/event=none/period=1/reg=pinned");
  EXPECT_EQ(all[2].event, "fork");
  EXPECT_EQ(all[2].registration, Registration::kOdp);
  spec.registrations.clear();
  EXPECT_ERROR_HAS(ExpandMatrix(spec), "--registration");
}

TEST(ExpandMatrixTest, BackgroundsRunOnlyWhereTheyCan) {
  MatrixSpec spec;
  spec.ops = {Op::kRead};
  spec.msg_sizes = {4096};
  spec.mr_sizes = {1 << 20};
  spec.pages = {16};
  spec.events = {"fork"};
  spec.periods = {1};
  spec.registrations = {Registration::kOdp, Registration::kPinned,
                        Registration::kOdpPrefetch};
  spec.backgrounds = {"writeback"};
  spec.seconds = 3;
  spec.ops_per_repetition = 100;
  spec.repetitions = 1;
  std::vector<std::string> skipped;
  const std::vector<Scenario> all = ExpandMatrix(spec, &skipped);
  // No "none" background: no event scenario; a pinned MR cannot be a
  // MAP_SHARED file and prefetch has no event to follow.
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].event, "none");
  EXPECT_EQ(all[0].seconds, 3u);
  EXPECT_EQ(all[0].ops, 3 * kMaxBackgroundOpsPerSecond);
  ASSERT_EQ(skipped.size(), 2u);
  EXPECT_NE(skipped[0].find("/reg=pinned: the kernel refuses a long-term pin"),
            std::string::npos)
      << skipped[0];
  // KSM merges an anonymous ODP MR; it leaves a pinned one alone.
  spec.backgrounds = {"ksm"};
  skipped.clear();
  const std::vector<Scenario> ksm = ExpandMatrix(spec, &skipped);
  ASSERT_EQ(ksm.size(), 1u);
  EXPECT_EQ(ksm[0].background, "ksm");
  EXPECT_EQ(ksm[0].registration, Registration::kOdp);
  ASSERT_EQ(skipped.size(), 2u);
  EXPECT_NE(skipped[0].find("/reg=pinned: background ksm leaves pages pinned "
                            "for DMA alone"),
            std::string::npos)
      << skipped[0];
  // khugepaged and memcg reclaim leave pinned pages alone; a 1 MiB MR
  // starts a 2 MiB huge page for khugepaged to collapse.
  for (const char* name : {"khugepaged", "memcg-reclaim"}) {
    spec.backgrounds = {name};
    skipped.clear();
    const std::vector<Scenario> odp_only = ExpandMatrix(spec, &skipped);
    ASSERT_EQ(odp_only.size(), 1u) << name;
    EXPECT_EQ(odp_only[0].registration, Registration::kOdp) << name;
    ASSERT_EQ(skipped.size(), 2u) << name;
    EXPECT_NE(skipped[0].find(std::string("/reg=pinned: background ") + name +
                              " leaves pages pinned for DMA alone"),
              std::string::npos)
        << skipped[0];
  }
  spec.seconds = 0;
  EXPECT_ERROR_HAS(ExpandMatrix(spec), "--seconds 0");
  EXPECT_ERROR_HAS(
      ParseBackgrounds("--backgrounds", "none,swap", BackgroundNames()),
      "--backgrounds: unknown background 'swap'; known "
      "backgrounds: none, writeback, ksm, numa-balancing, khugepaged, "
      "memcg-reclaim");
}

TEST(ParseEventsTest, AcceptsKnownEvents) {
  EXPECT_EQ(ParseEvents("--events", "none,soft-dirty", ibodp::EventNames()),
            (std::vector<std::string>{"none", "soft-dirty"}));
}

TEST(ParseEventsTest, UnknownEventListsTheKnownOnes) {
  EXPECT_ERROR_HAS(ParseEvents("--events", "none,ksm", {"none", "fork"}),
                   "--events: unknown event 'ksm'; known events: none, fork");
  EXPECT_ERROR_HAS(ParseEvents("--events", "fork,fork", {"none", "fork"}),
                   "--events lists fork twice");
}

TEST(ScenarioFormatBytesTest, UsesBinaryUnits) {
  EXPECT_EQ(FormatBytes(64), "64 B");
  EXPECT_EQ(FormatBytes(4 * kKiB), "4 KiB");
  EXPECT_EQ(FormatBytes(kGiB), "1 GiB");
  EXPECT_EQ(FormatBytes(3 * kKiB / 2), "1.5 KiB");
  EXPECT_EQ(FormatBytes(0), "0 B");
}

TEST(ScenarioTest, NameIsStable) {
  Scenario s;
  s.op = Op::kRead;
  s.msg_size = 4096;
  s.mr_size = kMiB;
  s.pages = 16;
  s.event = "soft-dirty";
  s.period = 1;
  EXPECT_EQ(s.Name(),
            "read/msg=4096/mr=1048576/pages=16/event=soft-dirty/period=1");
}

TEST(ExpandMatrixTest, CartesianProductInDocumentedOrder) {
  MatrixSpec spec = SmallSpec();
  spec.ops = {Op::kWrite, Op::kRead};
  spec.msg_sizes = {64, 4 * kKiB};
  spec.events = {"none", "fork"};
  spec.periods = {1, 10};
  const std::vector<Scenario> all = ExpandMatrix(spec);
  ASSERT_EQ(all.size(), 2u * 2 * 2 * 2);
  EXPECT_EQ(all[0].Name(),
            "write/msg=64/mr=1048576/pages=1/event=none/period=1");
  EXPECT_EQ(all[1].Name(),
            "write/msg=64/mr=1048576/pages=1/event=none/period=10");
  EXPECT_EQ(all[2].Name(),
            "write/msg=64/mr=1048576/pages=1/event=fork/period=1");
  EXPECT_EQ(all[4].Name(),
            "write/msg=4096/mr=1048576/pages=1/event=none/period=1");
  EXPECT_EQ(all[8].Name(),
            "read/msg=64/mr=1048576/pages=1/event=none/period=1");
  EXPECT_EQ(all[15].Name(),
            "read/msg=4096/mr=1048576/pages=1/event=fork/period=10");
  for (const Scenario& s : all) {
    EXPECT_EQ(s.ops, 100u);
    EXPECT_EQ(s.warmup_ops, 10u);
    EXPECT_EQ(s.repetitions, 3u);
  }
}

TEST(ExpandMatrixTest, FetchAddIsAlwaysEightBytes) {
  MatrixSpec spec = SmallSpec();
  spec.ops = {Op::kFetchAdd, Op::kRead};
  spec.msg_sizes = {4 * kKiB, 64 * kKiB};
  const std::vector<Scenario> all = ExpandMatrix(spec);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].op, Op::kFetchAdd);
  EXPECT_EQ(all[0].msg_size, kAtomicSize);
  EXPECT_EQ(all[1].msg_size, 4 * kKiB);
  EXPECT_EQ(all[2].msg_size, 64 * kKiB);
}

TEST(ExpandMatrixTest, PagesThatFitNoMrAreRejected) {
  MatrixSpec spec = SmallSpec();
  spec.mr_sizes = {64 * kKiB};
  spec.pages = {64};
  EXPECT_ERROR_HAS(ExpandMatrix(spec),
                   "--pages 64 needs 256 KiB of MR but --mr-sizes has 64 KiB");
  spec.mr_sizes = {4 * kKiB, 64 * kKiB};
  EXPECT_ERROR_HAS(ExpandMatrix(spec),
                   "--pages 64 needs 256 KiB of MR but --mr-sizes has at "
                   "most 64 KiB");
}

TEST(ExpandMatrixTest, MessageLargerThanEveryMrIsRejected) {
  MatrixSpec spec = SmallSpec();
  spec.msg_sizes = {2 * kMiB};
  EXPECT_ERROR_HAS(ExpandMatrix(spec),
                   "--msg-sizes 2 MiB needs 2 MiB of MR but --mr-sizes has "
                   "1 MiB; add a larger --mr-sizes or a smaller --msg-sizes");
}

TEST(ExpandMatrixTest, MrAboveMemoryLimitIsRejected) {
  MatrixSpec spec = SmallSpec();
  spec.mr_sizes = {kMiB, 2 * kGiB};
  spec.memory_limit_bytes = kGiB;
  EXPECT_ERROR_HAS(ExpandMatrix(spec),
                   "MR size 2 GiB exceeds the memory limit of 1 GiB "
                   "(MemAvailable); choose a smaller --mr-sizes");
}

TEST(ExpandMatrixTest, PointsThatDoNotFitOneMrAreSkippedAndReported) {
  MatrixSpec spec = SmallSpec();
  spec.msg_sizes = {64, 64 * kKiB};
  spec.mr_sizes = {4 * kKiB, kMiB};
  spec.pages = {1, 16};
  std::vector<std::string> skipped;
  const std::vector<Scenario> all = ExpandMatrix(spec, &skipped);
  // msg 64 B: 4 KiB MR with 1 page, 1 MiB MR with 1 and 16 pages; msg
  // 64 KiB: only the 1 MiB MR.
  ASSERT_EQ(all.size(), 5u);
  for (const Scenario& s : all) {
    EXPECT_LE(s.msg_size, s.mr_size) << s.Name();
    EXPECT_LE(s.pages * 4096, s.mr_size) << s.Name();
  }
  ASSERT_EQ(skipped.size(), 3u);
  EXPECT_EQ(skipped[0],
            "read/msg=64/mr=4096/pages=16: 16 pages (64 KiB) do not fit the "
            "4 KiB MR");
  EXPECT_EQ(skipped[1],
            "read/msg=65536/mr=4096/pages=1: the 64 KiB message does not fit "
            "the 4 KiB MR");
}

TEST(ExpandMatrixTest, RejectsBadSettings) {
  MatrixSpec spec = SmallSpec();
  spec.events.clear();
  EXPECT_ERROR_HAS(ExpandMatrix(spec), "--events is empty");
  spec = SmallSpec();
  spec.ops_per_repetition = 0;
  EXPECT_ERROR_HAS(ExpandMatrix(spec), "--iterations is 0");
  spec = SmallSpec();
  spec.repetitions = 0;
  EXPECT_ERROR_HAS(ExpandMatrix(spec), "--repetitions is 0");
  spec = SmallSpec();
  spec.periods = {1000};
  EXPECT_ERROR_HAS(ExpandMatrix(spec),
                   "--periods 1000 exceeds --iterations 100: the event would "
                   "never be applied");
  spec = SmallSpec();
  spec.periods = {0};
  EXPECT_ERROR_HAS(ExpandMatrix(spec), "--periods has 0");
  spec = SmallSpec();
  spec.page_size = 3000;
  EXPECT_ERROR_HAS(ExpandMatrix(spec), "page size 3000 is not a power of two");
}

std::set<std::string> Names(const std::vector<Scenario>& scenarios) {
  std::set<std::string> names;
  for (const Scenario& s : scenarios) {
    names.insert(s.Name());
  }
  return names;
}

TEST(ScenarioPresetTest, QuickPreset) {
  MatrixSpec spec = QuickPreset();
  spec.memory_limit_bytes = 24 * kGiB;
  const std::vector<Scenario> all = ExpandMatrix(spec);
  // 6 events, each with ODP, pinned and ODP + prefetch (the fastest axis),
  // then writeback, KSM, NUMA balancing, khugepaged and memcg reclaim in
  // the background on ODP.
  ASSERT_EQ(all.size(), 23u);
  EXPECT_EQ(all[18].Name(),
            "read/msg=4096/mr=1048576/pages=16/event=none/period=1/"
            "background=writeback/seconds=10");
  EXPECT_EQ(all[19].Name(),
            "read/msg=4096/mr=1048576/pages=16/event=none/period=1/"
            "background=ksm/seconds=10");
  EXPECT_EQ(all[20].Name(),
            "read/msg=4096/mr=1048576/pages=16/event=none/period=1/"
            "background=numa-balancing/seconds=10");
  EXPECT_EQ(all[21].Name(),
            "read/msg=4096/mr=1048576/pages=16/event=none/period=1/"
            "background=khugepaged/seconds=10");
  EXPECT_EQ(all[22].Name(),
            "read/msg=4096/mr=1048576/pages=16/event=none/period=1/"
            "background=memcg-reclaim/seconds=10");
  EXPECT_EQ(all[3].Name(),
            "read/msg=4096/mr=1048576/pages=16/event=soft-dirty/period=1");
  EXPECT_EQ(all[4].Name(),
            "read/msg=4096/mr=1048576/pages=16/event=soft-dirty/period=1/"
            "reg=pinned");
  EXPECT_EQ(all[5].Name(),
            "read/msg=4096/mr=1048576/pages=16/event=soft-dirty/period=1/"
            "reg=odp-prefetch");
  EXPECT_EQ(Names(all).size(), all.size()) << "names must be unique";
  EXPECT_EQ(all[0].ops, 100u);
  EXPECT_EQ(all[0].warmup_ops, 10u);
  EXPECT_EQ(all[0].repetitions, 5u);
}

TEST(ScenarioPresetTest, DefaultPreset) {
  MatrixSpec spec = DefaultPreset();
  spec.memory_limit_bytes = 24 * kGiB;
  const std::vector<Scenario> all = ExpandMatrix(spec);
  size_t slow = 0;
  for (const std::string& e : ibodp::EventNames()) {
    slow += ibodp::MakeEvent(e)->SlowPerOp() ? 1 : 0;
  }
  // The THP movers and KSM are left out of the presets (too slow per op).
  EXPECT_EQ(slow, 3U);
  const size_t events = ibodp::EventNames().size() - slow;
  // 4 ops x 3 MR sizes, one message size, pages and period.
  EXPECT_EQ(all.size(), size_t{4} * 3 * events);
  EXPECT_EQ(Names(all).size(), all.size()) << "names must be unique";
  EXPECT_EQ(all[0].repetitions, 5u);
  EXPECT_EQ(all[0].ops, 100u);
  EXPECT_EQ(spec.events, PresetEvents());
}

TEST(ScenarioPresetTest, FullPresetHasALargeMr) {
  MatrixSpec spec = FullPreset();
  spec.memory_limit_bytes = 24 * kGiB;
  std::vector<std::string> skipped;
  const std::vector<Scenario> all = ExpandMatrix(spec, &skipped);
  EXPECT_FALSE(all.empty());
  EXPECT_FALSE(skipped.empty());
  EXPECT_EQ(Names(all).size(), all.size()) << "names must be unique";
  EXPECT_TRUE(std::any_of(all.begin(), all.end(),
                          [](const Scenario& s) { return s.mr_size >= kGiB; }));
  EXPECT_EQ(all[0].repetitions, 10u);
  spec.memory_limit_bytes = 512 * kMiB;
  EXPECT_ERROR_HAS(ExpandMatrix(spec), "MR size 1 GiB exceeds");
}

// Every name the full and the quick matrix give reads back as its point.
TEST(ParsePointsTest, EveryPresetNameReadsBackAsItsPoint) {
  for (const MatrixSpec& spec : {FullPreset(), QuickPreset()}) {
    for (Scenario s : ExpandMatrix(spec)) {
      s.ops = s.warmup_ops = s.repetitions = 0;
      const std::vector<Scenario> got = ParsePoints(kFlagPoints, s.Name());
      ASSERT_EQ(got.size(), 1u) << s.Name();
      EXPECT_EQ(got[0], s) << s.Name();
    }
  }
}

TEST(ParsePointsTest, RejectsWhatIsNotACanonicalName) {
  EXPECT_ERROR_HAS(ParsePoints(kFlagPoints, "write"), "no /field=value");
  EXPECT_ERROR_HAS(
      ParsePoints(kFlagPoints,
                  "write/mr=4096/msg=4096/pages=1/event=none/"
                  "period=1"),
      "not in the canonical form write/msg=4096/mr=4096/pages=1/event=none/"
      "period=1");
  EXPECT_ERROR_HAS(ParsePoints(kFlagPoints,
                               "read/msg=4096/mr=4096/pages=1/event=none/"
                               "period=1/reg=odp"),
                   "canonical");
  EXPECT_ERROR_HAS(ParsePoints(kFlagPoints,
                               "read/msg=4K/mr=4096/pages=1/event=none/"
                               "period=1"),
                   "msg: bad value '4K'");
  EXPECT_ERROR_HAS(ParsePoints(kFlagPoints,
                               "read/msg=4096/mr=4096/pages=1/event=nope/"
                               "period=1"),
                   "unknown event 'nope'");
  EXPECT_ERROR_HAS(ParsePoints(kFlagPoints,
                               "read/msg=4096/mr=4096/pages=1/event=none/"
                               "period=1/x=1"),
                   "unknown part 'x'");
  EXPECT_ERROR_HAS(ParsePoints(kFlagPoints,
                               "read/msg=4096/mr=4096/pages=1/event=none/"
                               "period=1/background=ksm"),
                   "no seconds=");
  const std::string one = "read/msg=4096/mr=4096/pages=1/event=none/period=1";
  EXPECT_ERROR_HAS(ParsePoints(kFlagPoints, one + "," + one), "twice");
}

TEST(ExpandMatrixTest, PointsFollowTheProductOnceWithItsSettings) {
  MatrixSpec spec = SmallSpec();
  spec.points = ParsePoints(
      kFlagPoints,
      "write/msg=1048576/mr=67108864/pages=1/event=madvise-dontneed/"
      "period=1,read/msg=4096/mr=1048576/pages=1/event=none/period=1");
  const std::vector<Scenario> all = ExpandMatrix(spec);
  // The second point is the product's one scenario: not added twice.
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].Name(),
            "write/msg=1048576/mr=67108864/pages=1/event=madvise-dontneed/"
            "period=1");
  EXPECT_EQ(all[1].ops, 100u);
  EXPECT_EQ(all[1].warmup_ops, 10u);
  EXPECT_EQ(all[1].repetitions, 3u);
}

TEST(ExpandMatrixTest, APointThatCannotRunIsAnError) {
  MatrixSpec spec = SmallSpec();
  spec.points = ParsePoints(
      kFlagPoints, "write/msg=1048576/mr=4096/pages=1/event=none/period=1");
  EXPECT_ERROR_HAS(ExpandMatrix(spec),
                   "--points write/msg=1048576/mr=4096/pages=1: the 1 MiB "
                   "message does not fit the 4 KiB MR");
  spec.points = ParsePoints(
      kFlagPoints, "write/msg=4096/mr=1073741824/pages=1/event=none/period=1");
  spec.memory_limit_bytes = kMiB;
  EXPECT_ERROR_HAS(ExpandMatrix(spec), "exceeds the memory limit of 1 MiB");
}

}  // namespace
}  // namespace perftest
