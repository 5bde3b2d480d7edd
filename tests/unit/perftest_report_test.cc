// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// perftest's JSON report: round trips, schema checks, atomic files and the
// console table.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "ibodp/error.h"
#include "ibodp/events.h"
#include "ibodp/hwcounters.h"
#include "report.h"

namespace perftest {
namespace {

namespace fs = std::filesystem;

Scenario ReadScenario() {
  Scenario s;
  s.op = Op::kRead;
  s.msg_size = 4096;
  s.mr_size = 1 << 20;
  s.pages = 16;
  s.event = "soft-dirty";
  s.period = 10;
  s.ops = 200;
  s.warmup_ops = 20;
  s.repetitions = 2;
  return s;
}

RepetitionResult Repetition(double scale) {
  RepetitionResult r;
  r.ops = 200;
  r.elapsed_ns = 1e6 * scale;
  r.latency = Summarize({1000 * scale, 1500 * scale, 4000.25 * scale});
  r.event_time_ns_total = 12345.5 * scale;
  r.events = 20;
  r.registration_ns = 41000 * scale;
  r.wall_ns = 1.5e6 * scale;
  Counters hw;
  hw.source = "hw_counters";
  hw.available = true;
  hw.values = {{ibodp::kCntPageInvalidations, 320},
               {ibodp::kCntPageFaults, 3200},
               {"big", 18446744073709551615ull}};
  Counters profiler;
  profiler.source = "function-profiler";
  profiler.available = false;
  profiler.unavailable_reason = "tracefs is not mounted";
  r.counters = {hw, profiler};
  r.faults_per_op = 16.0;
  r.ops_per_sec = 2e5 / scale;
  r.bytes_per_sec = 4096 * r.ops_per_sec;
  return r;
}

Report SampleReport() {
  Report report;
  report.context.date =
      FormatIsoUtc(std::chrono::system_clock::from_time_t(1767225600));
  report.context.host = "lab";
  report.context.kernel_release = "6.18.0-ibodp";
  report.context.kernel_config_hash = "abc123";
  report.context.cpu_model = "QEMU Virtual CPU";
  report.context.device = "rxe0";
  report.context.command_line = "perftest --preset=quick";
  report.context.patch_series = {{"0001-rxe.patch", "e3b0c442"}};
  report.context.extra = {{"note", "unit test"}};
  ScenarioResult ok;
  ok.scenario = ReadScenario();
  ok.repetitions = {Repetition(1), Repetition(1.1)};
  ok.repetitions[1].timeline = {
      {1.0e9, 150, {{ibodp::kCntPageFaults, 48}}},
      {1.5e9, 200, {{ibodp::kCntPageFaults, 64}, {"big", 1ull << 63}}}};
  ok.aggregates = Aggregate(ok.repetitions);
  ScenarioResult failed;
  failed.scenario = ReadScenario();
  failed.scenario.op = Op::kFetchAdd;
  failed.scenario.msg_size = 8;
  failed.repetitions = {Repetition(2)};
  failed.repetitions[0].faults_per_op.reset();
  failed.error = "ibv_post_send: Invalid argument";
  report.results = {ok, failed};
  return report;
}

TEST(ReportTest, RoundTripsThroughText) {
  const Report report = SampleReport();
  const nlohmann::json json = ToJson(report);
  const Report back = ReportFromJson(nlohmann::json::parse(json.dump()));
  EXPECT_EQ(ToJson(back), json);
  EXPECT_EQ(back, report);
  EXPECT_EQ(back.context.date, "2026-01-01T00:00:00Z");
  EXPECT_EQ(back.results[0].repetitions[0].counters[0].values.at("big"),
            18446744073709551615ull);
}

TEST(ReportTest, EventFactsAreWhatTheMemoryEventStates) {
  for (const std::string& name : ibodp::EventNames()) {
    Report report = SampleReport();
    report.results[0].scenario.event = name;
    const nlohmann::json facts =
        ToJson(report)["results"][0]["scenario"]["event_facts"];
    const auto event = ibodp::MakeEvent(name);
    EXPECT_EQ(facts["notifier_event"], std::string(event->NotifierEvent()))
        << name;
    EXPECT_EQ(facts["write_protect_only"], event->WriteProtectOnly()) << name;
    EXPECT_EQ(facts["preserves_contents"], event->PreservesContents()) << name;
  }
}

TEST(ReportTest, UnavailableCountersKeepTheirReason) {
  const Report back = ReportFromJson(ToJson(SampleReport()));
  const Counters& profiler = back.results[0].repetitions[0].counters[1];
  EXPECT_FALSE(profiler.available);
  EXPECT_EQ(profiler.source, "function-profiler");
  EXPECT_EQ(profiler.unavailable_reason, "tracefs is not mounted");
  EXPECT_TRUE(profiler.values.empty());
}

TEST(ReportTest, UnavailableCountersNeedAReason) {
  Report report = SampleReport();
  report.results[0].repetitions[1].counters[1].unavailable_reason.clear();
  try {
    ToJson(report);
    FAIL() << "expected ibodp::Error";
  } catch (const ibodp::Error& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "results[0].repetitions[1].counters[1].unavailable_reason"),
              std::string::npos)
        << e.what();
  }
}

TEST(ReportTest, AbsentFaultsPerOpIsNull) {
  Report report = SampleReport();
  report.results[0].repetitions[1].faults_per_op =
      std::numeric_limits<double>::quiet_NaN();
  const nlohmann::json json = nlohmann::json::parse(ToJson(report).dump());
  EXPECT_TRUE(json["results"][1]["repetitions"][0]["faults_per_op"].is_null());
  EXPECT_TRUE(json["results"][0]["repetitions"][1]["faults_per_op"].is_null());
  const Report back = ReportFromJson(json);
  EXPECT_FALSE(back.results[1].repetitions[0].faults_per_op.has_value());
  EXPECT_FALSE(back.results[0].repetitions[1].faults_per_op.has_value());
  EXPECT_EQ(back.results[0].repetitions[0].faults_per_op, 16.0);
  EXPECT_EQ(back.results[1].error, "ibv_post_send: Invalid argument");
}

TEST(ReportTest, NonFiniteDoubleReadsBackAsNan) {
  Report report = SampleReport();
  report.results[0].repetitions[0].elapsed_ns =
      std::numeric_limits<double>::quiet_NaN();
  const Report back =
      ReportFromJson(nlohmann::json::parse(ToJson(report).dump()));
  EXPECT_TRUE(std::isnan(back.results[0].repetitions[0].elapsed_ns));
}

TEST(ReportTest, SchemaVersionMismatchIsRejected) {
  nlohmann::json json = ToJson(SampleReport());
  json["schema_version"] = kSchemaVersion + 1;
  try {
    ReportFromJson(json);
    FAIL() << "expected ibodp::Error";
  } catch (const ibodp::Error& e) {
    EXPECT_NE(std::string(e.what()).find("schema_version " +
                                         std::to_string(kSchemaVersion + 1) +
                                         " is not supported"),
              std::string::npos)
        << e.what();
  }
}

TEST(ReportTest, MissingFieldIsNamed) {
  nlohmann::json json = ToJson(SampleReport());
  json["results"][1]["repetitions"][0]["latency"].erase("p99_ns");
  try {
    ReportFromJson(json);
    FAIL() << "expected ibodp::Error";
  } catch (const ibodp::Error& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "report field 'results[1].repetitions[0].latency.p99_ns' "
                  "is missing"),
              std::string::npos)
        << e.what();
  }
  json.erase("schema_version");
  EXPECT_THROW(ReportFromJson(json), ibodp::Error);
}

TEST(ReportTest, TimelineFieldsAreNamed) {
  nlohmann::json json = ToJson(SampleReport());
  nlohmann::json& timeline = json["results"][0]["repetitions"][1]["timeline"];
  ASSERT_EQ(timeline.size(), 2U);
  timeline[1]["values"]["big"] = "many";
  try {
    ReportFromJson(json);
    FAIL() << "expected ibodp::Error";
  } catch (const ibodp::Error& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "'results[0].repetitions[1].timeline[1].values.big'"),
              std::string::npos)
        << e.what();
  }
  timeline[1].erase("values");
  timeline[0].erase("t_ns");
  try {
    ReportFromJson(json);
    FAIL() << "expected ibodp::Error";
  } catch (const ibodp::Error& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "'results[0].repetitions[1].timeline[0].t_ns' is missing"),
              std::string::npos)
        << e.what();
  }
}

TEST(ReportTest, MistypedFieldIsNamed) {
  nlohmann::json json = ToJson(SampleReport());
  json["results"][0]["scenario"]["pages"] = -1;
  try {
    ReportFromJson(json);
    FAIL() << "expected ibodp::Error";
  } catch (const ibodp::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'results[0].scenario.pages' is not "
                                         "a non-negative integer"),
              std::string::npos)
        << e.what();
  }
}

TEST(ReportTest, AggregatesOverRepetitions) {
  const Report report = SampleReport();
  const auto& aggregates = report.results[0].aggregates;
  ASSERT_TRUE(aggregates.contains("p50_ns"));
  EXPECT_EQ(aggregates.at("p50_ns").n, 2u);
  EXPECT_DOUBLE_EQ(aggregates.at("p50_ns").mean, (1500 + 1650) / 2.0);
  EXPECT_DOUBLE_EQ(aggregates.at("faults_per_op").mean, 16);
  EXPECT_DOUBLE_EQ(aggregates.at("invalidations").mean, 320);
  std::vector<RepetitionResult> no_counters = {Repetition(1)};
  no_counters[0].counters[0].available = false;
  no_counters[0].faults_per_op.reset();
  const auto partial = Aggregate(no_counters);
  EXPECT_FALSE(partial.contains("faults_per_op"));
  EXPECT_FALSE(partial.contains("invalidations"));
  EXPECT_TRUE(Aggregate({}).empty());
}

class ReportFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("perftest-report-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(ReportFileTest, WritesAndReadsBack) {
  const fs::path file = dir_ / "report.json";
  const Report report = SampleReport();
  WriteReport(report, file);
  EXPECT_EQ(ReadReport(file), report);
  Report second = report;
  second.results.pop_back();
  WriteReport(second, file);
  EXPECT_EQ(ReadReport(file), second);
  int files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir_)) {
    ++files;
  }
  EXPECT_EQ(files, 1) << "the temporary file must be renamed away";
}

TEST_F(ReportFileTest, ReadErrorsNameTheFile) {
  const fs::path file = dir_ / "broken.json";
  std::ofstream(file) << "{\"schema_version\": 2,";
  try {
    ReadReport(file);
    FAIL() << "expected ibodp::Error";
  } catch (const ibodp::Error& e) {
    EXPECT_NE(std::string(e.what()).find(file.string() + " is not valid JSON"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(ReadReport(dir_ / "missing.json"), ibodp::Error);
  EXPECT_THROW(WriteReport(SampleReport(), dir_ / "no-dir" / "r.json"),
               ibodp::Error);
}

TEST(ReportTableTest, RowsAlignWithTheHeader) {
  const Report report = SampleReport();
  const std::string header = FormatTableHeader();
  const std::string row = FormatTableRow(report.results[0]);
  EXPECT_EQ(header.size(), row.size());
  EXPECT_NE(header.find("p99.9 us"), std::string::npos);
  EXPECT_NE(header.find("invalidations"), std::string::npos);
  EXPECT_EQ(row.find(report.results[0].scenario.Name()), 0u);
  EXPECT_NE(row.find("1.57"), std::string::npos) << row;  // p50 in us
  EXPECT_NE(row.find("16.000"), std::string::npos) << row;
  const std::string failed = FormatTableRow(report.results[1]);
  EXPECT_NE(failed.find("FAILED: ibv_post_send: Invalid argument"),
            std::string::npos)
      << failed;
}

// The golden report (perftest/testdata/report-golden.json): what this
// writer makes of one READ and one WRITE scenario per event, with the fault
// counts a kernel that keeps pages on write-protecting events shows. The
// lab's Python tests read the file and check it against
// perftest/report.schema.json; a change to the format shows here first.
// IBODP_UPDATE_GOLDEN=1 rewrites the file instead of comparing.
Report GoldenReport() {
  Report report = SampleReport();
  report.results.clear();
  for (const std::string& name : ibodp::EventNames()) {
    const auto event = ibodp::MakeEvent(name);
    for (const Op op : {Op::kRead, Op::kWrite}) {
      ScenarioResult r;
      r.scenario = ReadScenario();
      r.scenario.op = op;
      r.scenario.event = name;
      r.scenario.period = 1;
      r.scenario.repetitions = 1;
      if (event->NeedsHugePages()) {
        r.scenario.mr_size = ibodp::kHugePageBytes;  // As perftest runs it.
      }
      const bool faults =
          name != "none" && (op == Op::kWrite || !event->WriteProtectOnly());
      r.repetitions = {Repetition(1)};
      r.repetitions[0].faults_per_op =
          faults ? static_cast<double>(r.scenario.pages) : 0.0;
      r.aggregates = Aggregate(r.repetitions);
      report.results.push_back(std::move(r));
    }
  }
  // The alternatives to plain ODP, after one event: neither faults.
  for (const Registration reg :
       {Registration::kPinned, Registration::kOdpPrefetch}) {
    ScenarioResult r;
    r.scenario = ReadScenario();
    r.scenario.period = 1;
    r.scenario.repetitions = 1;
    r.scenario.registration = reg;
    r.repetitions = {Repetition(1)};
    r.repetitions[0].faults_per_op = 0.0;
    r.aggregates = Aggregate(r.repetitions);
    report.results.push_back(std::move(r));
  }
  // Ten seconds of READs under writeback, with no event.
  ScenarioResult bg;
  bg.scenario = ReadScenario();
  bg.scenario.event = "none";
  bg.scenario.period = 1;
  bg.scenario.repetitions = 1;
  bg.scenario.background = "writeback";
  bg.scenario.seconds = 10;
  bg.scenario.ops = 10 * kMaxBackgroundOpsPerSecond;
  bg.repetitions = {Repetition(1)};
  bg.repetitions[0].events = 0;
  bg.repetitions[0].wall_ns = 10e9;
  // The primary source once a second and at the window's end.
  for (uint64_t second = 1; second <= 10; ++second) {
    bg.repetitions[0].timeline.push_back(
        {static_cast<double>(second) * 1e9,
         second * 20,
         {{ibodp::kCntPageFaults, second * 320},
          {ibodp::kCntPageInvalidationsHandled, second * 20}}});
  }
  bg.aggregates = Aggregate(bg.repetitions);
  report.results.push_back(std::move(bg));
  return report;
}

TEST(GoldenReport, IsWhatTheWriterWrites) {
  const fs::path golden =
      fs::path(PERFTEST_SOURCE_DIR) / "testdata" / "report-golden.json";
  const char* update = std::getenv("IBODP_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    WriteReport(GoldenReport(), golden);
    GTEST_SKIP() << "rewrote " << golden;
  }
  const fs::path written = fs::temp_directory_path() /
                           ("perftest-golden-" + std::to_string(getpid()));
  WriteReport(GoldenReport(), written);
  std::ifstream want_in(golden);
  ASSERT_TRUE(want_in) << golden << " is missing: IBODP_UPDATE_GOLDEN=1 "
                       << "./build/tests/unit/ibodp_unit_tests "
                       << "--gtest_filter=GoldenReport.* writes it";
  const std::string want((std::istreambuf_iterator<char>(want_in)), {});
  std::ifstream got_in(written);
  const std::string got((std::istreambuf_iterator<char>(got_in)), {});
  fs::remove(written);
  EXPECT_EQ(got, want) << "the writer's output changed: if on purpose, bump "
                          "kSchemaVersion, update perftest/report.schema.json "
                          "and rerun with IBODP_UPDATE_GOLDEN=1";
  EXPECT_EQ(ReadReport(golden), GoldenReport());
}

}  // namespace
}  // namespace perftest
