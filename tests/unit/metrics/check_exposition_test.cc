#include "metrics/check_exposition.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "exposition/text_writer.h"
#include "metrics/check_metrics.h"
#include "status/status_json.h"
#include "support/check_info.h"
#include "support/recording_writer.h"

namespace hx {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using Id = ObservationId;

RunRecord MakeRun(size_t id, Health raw, Health state, double finished_at,
                  std::optional<Health> previous, double seconds) {
  RunRecord run;
  run.check_id = id;
  run.result.health = raw;
  if (raw != Health::kHealthy) run.result.reason = FailureReason::kConnectRefused;
  run.state = state;
  run.previous_state = previous;
  run.duration = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
  run.started_at = finished_at - seconds;
  run.finished_at = finished_at;
  return run;
}

CheckInfo Info(std::string name, std::string type, bool critical,
               std::vector<std::pair<std::string, std::string>> labels) {
  CheckInfo info;
  info.name = std::move(name);
  info.type = std::move(type);
  info.critical = critical;
  info.labels = std::move(labels);
  return info;
}

// The fixed board of the golden tests: one check of each shape (observations
// with and without labels, a timeout and a skip, an slo and a dependency, a
// pending check, plugin perfdata) and label values that need escaping. The
// same records produced tests/testdata/metrics/main_text_samples.txt from
// main's prometheus-cpp CheckMetrics (before the store), see that file.
void FillFixedBoard(StatusBoard& board) {
  board.SetDurationLayout({{0.01, 0.1, 1}, metrics::NativeHistogramOptions{}});
  board.AddCheck(0, Info("api", "http", true, {{"team", "core"}}));
  CheckInfo db = Info("db", "postgres", false, {{"a", "x\"y\\z\nw"}, {"env", "prod"}});
  db.slo = 0.999;
  db.depends_on = {"api"};
  board.AddCheck(1, db);
  board.AddCheck(2, Info("disk", "disk", true, {}));
  board.AddCheck(3, Info("job", "exec", true, {}));

  RunRecord r = MakeRun(0, Health::kHealthy, Health::kHealthy, 1000, std::nullopt, 0.005);
  r.result.observations = {{Id::kHttpStatusCode, 200},
                           {Id::kTlsCertExpiryTimestampSeconds, 1.8e9},
                           {Id::kHttpPhaseSeconds, 0.002, "dns"},
                           {Id::kHttpPhaseSeconds, 0.0125, "connect"},
                           {Id::kHttpRedirects, 1}};
  board.Record(r);
  r = MakeRun(0, Health::kUnhealthy, Health::kUnhealthy, 1010.5, Health::kHealthy, 2);
  r.timed_out = true;
  r.consecutive_failures = 1;
  r.result.observations = {{Id::kHttpPhaseSeconds, 0.003, "dns"}};
  board.Record(r);
  board.RecordSkip(0);
  r = MakeRun(1, Health::kDegraded, Health::kDegraded, 1001.25, std::nullopt, 0.05);
  r.result.observations = {{Id::kPostgresConnectionsUsedRatio, 0.125}};
  board.Record(r);
  r = MakeRun(3, Health::kHealthy, Health::kHealthy, 1002, std::nullopt, 0.1);
  r.result.observations = {{Id::kPluginValue, 1.5e-7, "load1"},
                           {Id::kPluginValue, 123456789012, "bytes"}};
  board.Record(r);
}

std::string Walk(const BoardSnapshot& snapshot) {
  RecordingWriter writer;
  metrics::WriteCheckFamilies(snapshot, writer);
  writer.Finish();
  return writer.output();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Compares with a file under tests/testdata/metrics; HX_UPDATE_GOLDEN=1
// rewrites the file instead (then review the diff).
void ExpectGolden(const std::string& actual, const std::string& file) {
  const std::string path = std::string(HX_TESTDATA) + "/metrics/" + file;
  if (std::getenv("HX_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path) << actual;
    GTEST_SKIP() << "rewrote " << path;
  }
  EXPECT_EQ(actual, ReadFile(path))
      << "golden file " << path << " differs; HX_UPDATE_GOLDEN=1 rewrites it";
}

TEST(CheckExpositionTest, WalksAFixedBoardFamilyByFamily) {
  StatusBoard board([] { return 900.0; });
  FillFixedBoard(board);
  ExpectGolden(Walk(board.Snapshot()), "board_walk.golden");
}

// Lines of `text` starting with '#' (`comments`) or not, sorted, without the
// ones that differ between builds and processes; comment lines of a file
// (its own header) are those starting with "# " but not "# HELP"/"# TYPE".
std::vector<std::string> SortedLines(const std::string& text, bool comments) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || (line[0] == '#') != comments) continue;
    if (comments && line.rfind("# HELP ", 0) != 0 && line.rfind("# TYPE ", 0) != 0) continue;
    // Families newer than main (issue 15's failure reasons) are checked by
    // the golden file below.
    if (line.find("process_") != std::string::npos ||
        line.find("health_exporter_build_info") != std::string::npos ||
        line.find("health_check_failures_total") != std::string::npos ||
        line.find("health_check_last_failure_reason") != std::string::npos) {
      continue;
    }
    lines.push_back(line);
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

// Today's text 0.0.4 output against main's, where dashboards and alerts
// were built: the same samples byte for byte (order aside: prometheus-cpp's
// was its hash maps'), and HELP/TYPE lines main had for each family written.
TEST(CheckExpositionTest, TextOutputHasMainsSamplesByteForByte) {
  StatusBoard board([] { return 900.0; });
  FillFixedBoard(board);
  CheckMetrics metrics;
  metrics.ObserveLateness(std::chrono::milliseconds(2));
  metrics.RecordConfigLoad(/*reload=*/false, /*success=*/true, 999, "abc");
  metrics::TextWriter writer;
  metrics.Write(board.Snapshot(), writer);
  const std::string text = writer.output();

  const std::string dir = std::string(HX_TESTDATA) + "/metrics/";
  EXPECT_EQ(SortedLines(text, false), SortedLines(ReadFile(dir + "main_text_samples.txt"), false));
  const std::vector<std::string> main_metadata =
      SortedLines(ReadFile(dir + "main_text_metadata.txt"), true);
  const std::vector<std::string> metadata = SortedLines(text, true);
  ASSERT_FALSE(metadata.empty());
  for (const std::string& line : metadata) {
    EXPECT_TRUE(std::binary_search(main_metadata.begin(), main_metadata.end(), line)) << line;
  }
  // And the text itself, in its new order, as a golden file.
  ExpectGolden(text.substr(0, text.find("# HELP health_exporter_build_info")), "text_0.0.4.golden");
}

// /metrics and /status rendered from one snapshot agree exactly.
TEST(CheckExpositionTest, StatusAndMetricsOfOneSnapshotAgree) {
  StatusBoard board([] { return 900.0; });
  FillFixedBoard(board);
  const BoardSnapshot snapshot = board.Snapshot();
  const std::string text = Walk(snapshot);
  const nlohmann::json status = nlohmann::json::parse(RenderStatusJson(snapshot, 1000));
  ASSERT_EQ(status["checks"].size(), 4u);
  for (const auto& check : status["checks"]) {
    const std::string name = check["name"];
    for (const char* result : {"healthy", "degraded", "unhealthy"}) {
      const std::string line = "health_check_runs_total{check=\"" + name + "\",status=\"" +
                               result + "\"} " +
                               std::to_string(check["runs_by_result"][result].get<int>()) +
                               " created=" + RecordingWriter::Number(check["created_unix"]) + "\n";
      EXPECT_THAT(text, HasSubstr(line));
    }
    EXPECT_THAT(text, HasSubstr("health_check_duration_seconds{check=\"" + name + "\"} count=" +
                                std::to_string(check["runs"].get<int>()) + " "));
    EXPECT_THAT(text, HasSubstr("health_check_skipped_runs_total{check=\"" + name + "\"} " +
                                std::to_string(check["skipped_runs"].get<int>()) + " "));
    EXPECT_THAT(text, HasSubstr("health_check_timeouts_total{check=\"" + name + "\"} " +
                                std::to_string(check["timeouts"].get<int>()) + " "));
    if (!check["last_result"].is_null()) {
      EXPECT_THAT(text, HasSubstr("exemplar=" +
                                  std::to_string(check["last_result"]["attempt"].get<int>()) + "@"));
    }
  }
}

TEST(CheckExpositionTest, UnitsFollowTheNameSuffix) {
  EXPECT_EQ(metrics::UnitOf("health_check_duration_seconds"), "seconds");
  EXPECT_EQ(metrics::UnitOf("process_cpu_seconds_total"), "seconds");
  EXPECT_EQ(metrics::UnitOf("health_check_disk_available_bytes"), "bytes");
  EXPECT_EQ(metrics::UnitOf("health_check_disk_used_ratio"), "ratio");
  EXPECT_EQ(metrics::UnitOf("health_check_runs_total"), "");
  EXPECT_EQ(metrics::UnitOf("health_check_status"), "");
  EXPECT_EQ(metrics::UnitOf("seconds"), "");
  EXPECT_EQ(metrics::UnitOf("health_checkseconds"), "");
}

TEST(CheckExpositionTest, PendingChecksHaveCountersAndHistogramButNoState) {
  StatusBoard board([] { return 5.0; });
  board.AddCheck(7, TestCheckInfo("api"));
  const std::string out = Walk(board.Snapshot());
  EXPECT_THAT(out, HasSubstr("health_check_runs_total{check=\"api\",status=\"healthy\"} 0 "
                             "created=5\n"));
  EXPECT_THAT(out, HasSubstr("health_check_timeouts_total{check=\"api\"} 0 created=5\n"));
  EXPECT_THAT(out, HasSubstr("health_check_duration_seconds{check=\"api\"} count=0 sum=0"));
  for (const char* absent :
       {"# family health_check_status ", "# family health_check_last_run_timestamp_seconds ",
        "# family health_check_consecutive_failures ", "# family health_overall_status "}) {
    EXPECT_THAT(out, Not(HasSubstr(absent)));
  }
  EXPECT_THAT(out, HasSubstr("health_checks{state=\"pending\"} 1\n"));
}

TEST(CheckExpositionTest, ARemovedCheckHasNoSeriesAndALaterResultForItIsIgnored) {
  StatusBoard board;
  FillFixedBoard(board);
  board.RemoveCheck(0);
  board.Record(MakeRun(0, Health::kHealthy, Health::kHealthy, 2000, std::nullopt, 0.01));
  board.RecordSkip(0);
  const std::string out = Walk(board.Snapshot());
  EXPECT_THAT(out, Not(HasSubstr("check=\"api\"")));
  // Families only api had are gone entirely (not begun without series).
  EXPECT_THAT(out, Not(HasSubstr("health_check_http_status_code")));
  EXPECT_THAT(out, HasSubstr("health_check_runs_total{check=\"db\""));
}

TEST(CheckExpositionTest, AnObservationMissingFromTheLatestResultHasNoSeries) {
  StatusBoard board;
  board.AddCheck(0, TestCheckInfo("api"));
  RunRecord r = MakeRun(0, Health::kHealthy, Health::kHealthy, 1, std::nullopt, 0.01);
  r.result.observations = {{Id::kHttpStatusCode, 200}, {Id::kHttpPhaseSeconds, 0.002, "dns"}};
  board.Record(r);
  EXPECT_THAT(Walk(board.Snapshot()),
              HasSubstr("health_check_http_status_code{check=\"api\"} 200"));
  r = MakeRun(0, Health::kUnhealthy, Health::kUnhealthy, 2, Health::kHealthy, 0.01);
  r.result.observations = {{Id::kHttpPhaseSeconds, 0.003, "dns"}};
  board.Record(r);
  const std::string out = Walk(board.Snapshot());
  EXPECT_THAT(out, Not(HasSubstr("health_check_http_status_code")));
  EXPECT_THAT(out, HasSubstr("health_check_http_phase_seconds{check=\"api\",phase=\"dns\"} 0.003"));
}

// Per check, the counts of one walk must agree with each other whatever the
// loop thread was doing meanwhile: runs_total summed over results equals the
// histogram's count and its +Inf-free cumulative total, and /status' runs of
// the same snapshot. Returns how many checks were compared.
size_t ExpectConsistent(const BoardSnapshot& snapshot, const std::string& out) {
  std::map<std::string, double> runs;
  std::map<std::string, double> counts;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    const size_t open = line.find("{check=\"");
    if (open == std::string::npos) continue;
    const size_t name_end = line.find('"', open + 8);
    const std::string check = line.substr(open + 8, name_end - open - 8);
    if (line.rfind("health_check_runs_total{", 0) == 0) {
      const size_t value = line.find("} ") + 2;
      runs[check] += std::stod(line.substr(value));
    } else if (line.rfind("health_check_duration_seconds{", 0) == 0) {
      counts[check] = std::stod(line.substr(line.find("count=") + 6));
    }
  }
  EXPECT_EQ(runs.size(), snapshot.checks.size());
  for (const auto& check : snapshot.checks) {
    const std::string& name = check->info->name;
    EXPECT_EQ(runs[name], counts[name]) << name;
    EXPECT_EQ(runs[name], static_cast<double>(check->runs)) << name;
  }
  return runs.size();
}

// The loop thread records, skips, adds and removes checks (as reloads do)
// while four threads walk snapshots. Most useful under ThreadSanitizer.
TEST(CheckExpositionTest, WalksAreConsistentWhileTheLoopWrites) {
  StatusBoard board;
  constexpr size_t kChecks = 1000;
  for (size_t id = 0; id < kChecks; ++id)
    board.AddCheck(id, TestCheckInfo("c" + std::to_string(id)));
  std::atomic<bool> done{false};
  std::atomic<int> walks{0};
  std::vector<std::thread> scrapers;
  for (int i = 0; i < 4; ++i) {
    scrapers.emplace_back([&] {
      while (!done.load()) {
        const BoardSnapshot snapshot = board.Snapshot();
        ExpectConsistent(snapshot, Walk(snapshot));
        ++walks;
      }
    });
  }
  size_t next_id = kChecks;
  for (int round = 0; round < 20 || walks.load() < 8; ++round) {
    for (size_t id = next_id - kChecks; id < next_id; ++id) {
      const Health h = static_cast<Health>(id % 3);
      RunRecord r = MakeRun(id, h, h, round, std::nullopt, 0.001 * static_cast<double>(id % 50));
      r.result.observations = {{Id::kHttpStatusCode, 200}};
      board.Record(r);
      if (id % 7 == 0) board.RecordSkip(id);
    }
    // A reload: the oldest 50 checks go, 50 new ones come.
    for (size_t k = 0; k < 50; ++k) {
      board.RemoveCheck(next_id - kChecks + k);
      board.AddCheck(next_id + k, TestCheckInfo("c" + std::to_string(next_id + k)));
    }
    next_id += 50;
  }
  done = true;
  for (auto& t : scrapers) t.join();
  const BoardSnapshot last = board.Snapshot();
  EXPECT_EQ(ExpectConsistent(last, Walk(last)), kChecks);
}

}  // namespace
}  // namespace hx
