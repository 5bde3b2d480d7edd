// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "ibodp/odptrace.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "ibodp/error.h"

namespace ibodp {
namespace {

std::string Golden() {
  const std::string path = std::string(UNIT_TESTDATA_DIR) + "/odp-trace.txt";
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot read " << path;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Header(int in_buffer, int written) {
  return "# entries-in-buffer/entries-written: " + std::to_string(in_buffer) +
         "/" + std::to_string(written) + "   #P:2\n";
}

constexpr const char* kDropLine =
    " t-1 [000] ..... 1.0: ib_umem_odp_invalidate: start=0x1000 end=0x3000 "
    "pages=2 event=clear flags=0x1 action=drop valid=2 kept=0 dropped=2\n";

// testdata/odp-trace.txt is the kernel's own output (the lab guest, the
// patched kernel, OdpCounters.SoftDirty and MprotectNoneAndBack), cut to
// five records.
TEST(ParseOdpTrace, ReadsEveryFieldOfTheGoldenTrace) {
  const OdpTraceRecords r = ParseOdpTrace(Golden());
  ASSERT_EQ(r.faults.size(), 2u);
  ASSERT_EQ(r.invalidations.size(), 3u);
  EXPECT_EQ(r.faults[0], (OdpFaultRecord{.start = 0x7f1dadb81000,
                                         .end = 0x7f1dadb91000,
                                         .pages = 16,
                                         .write = true,
                                         .fault = false,
                                         .retries = 0,
                                         .ret = 16}));
  EXPECT_TRUE(r.faults[1].fault);
  EXPECT_EQ(r.faults[1].pages, 1u);
  EXPECT_EQ(r.invalidations[0],
            (OdpInvalidateRecord{.start = 0x7f1dadb81000,
                                 .end = 0x7f1dadb91000,
                                 .pages = 16,
                                 .event = "soft_dirty",
                                 .flags = 0x3,
                                 .action = kOdpActionWriteProtect,
                                 .valid = 16,
                                 .kept = 16,
                                 .dropped = 0}));
  EXPECT_EQ(r.invalidations[1].event, "protection_vma");
  EXPECT_EQ(r.invalidations[1].action, kOdpActionDrop);
  EXPECT_EQ(r.invalidations[1].dropped, 16u);
  EXPECT_EQ(r.invalidations[2].action, kOdpActionWriteProtect);
  EXPECT_EQ(r.invalidations[2].valid, 0u);
}

TEST(ParseOdpTrace, ReadsAFailedFault) {
  const OdpTraceRecords r = ParseOdpTrace(
      " kworker/u14:1-99 [001] ..... 1.0: ib_umem_odp_fault: start=0x1000 "
      "end=0x2000 pages=1 write=0 fault=1 retries=2 ret=-16\n");
  ASSERT_EQ(r.faults.size(), 1u);
  EXPECT_EQ(r.faults[0].ret, -16);
  EXPECT_EQ(r.faults[0].retries, 2u);
  EXPECT_FALSE(r.faults[0].write);
  EXPECT_EQ(Summarize(r).fault_errors, 1u);
}

TEST(ParseOdpTrace, IgnoresOtherEvents) {
  const OdpTraceRecords r = ParseOdpTrace(
      Header(2, 2) +
      " t-1 [000] ..... 1.0: sched_switch: prev_comm=a next_comm=b\n" +
      kDropLine);
  EXPECT_TRUE(r.faults.empty());
  EXPECT_EQ(r.invalidations.size(), 1u);
}

TEST(ParseOdpTrace, LostEventsAreAnError) {
  EXPECT_THROW(ParseOdpTrace(Header(1, 3) + kDropLine), Error);
}

TEST(ParseOdpTrace, MalformedOrMissingFieldsAreErrors) {
  EXPECT_THROW(ParseOdpTrace(" t-1 [000] ..... 1.0: ib_umem_odp_fault: "
                             "start=0x1000 end=0x2000 pages=x write=1 "
                             "fault=1 retries=0 ret=1\n"),
               Error);
  EXPECT_THROW(ParseOdpTrace(" t-1 [000] ..... 1.0: ib_umem_odp_fault: "
                             "start=0x1000 end=0x2000 pages=1 write=1\n"),
               Error);
  EXPECT_THROW(ParseOdpTrace(" t-1 [000] ..... 1.0: ib_umem_odp_invalidate: "
                             "start=0x1000 end=0x3000 pages=2 event=clear "
                             "flags=0x1 action=keep valid=2 kept=0 "
                             "dropped=2\n"),
               Error);
}

TEST(Summarize, SumsFaultsAndInvalidationsPerEvent) {
  const OdpTraceTotals t = Summarize(ParseOdpTrace(Golden()));
  EXPECT_EQ(t.fault_calls, 1u);
  EXPECT_EQ(t.fault_pages, 1u);
  EXPECT_EQ(t.fault_errors, 0u);
  EXPECT_EQ(t.snapshot_calls, 1u);
  EXPECT_EQ(t.invalidations, (OdpInvalidationTotals{.calls = 3,
                                                    .valid = 32,
                                                    .kept = 16,
                                                    .dropped = 16,
                                                    .write_protect_calls = 2}));
  ASSERT_EQ(t.by_event.size(), 2u);
  EXPECT_EQ(t.by_event.at("soft_dirty").kept, 16u);
  EXPECT_EQ(t.by_event.at("protection_vma").dropped, 16u);
  EXPECT_EQ(t.by_event.at("protection_vma").calls, 2u);
}

TEST(OdpTrace, NoTracefsIsUnsupportedNotAnError) {
  EXPECT_THROW(OdpTrace("/nonexistent/tracefs"), Unsupported);
}

}  // namespace
}  // namespace ibodp
