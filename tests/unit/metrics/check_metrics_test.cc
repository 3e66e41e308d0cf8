#include "metrics/check_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "build_info.h"
#include "exposition/text_writer.h"
#include "support/check_info.h"

namespace hx {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

RunRecord MakeRun(size_t id, Health raw, Health state, double finished_at,
                  std::optional<Health> previous = std::nullopt) {
  RunRecord run;
  run.check_id = id;
  run.result.health = raw;
  if (raw != Health::kHealthy) run.result.reason = FailureReason::kConnectRefused;
  run.state = state;
  run.previous_state = previous;
  run.duration = milliseconds(30);
  run.started_at = finished_at - 0.03;
  run.finished_at = finished_at;
  return run;
}

// The sample lines (no comments) of an exposition.
std::vector<std::string> Samples(const std::string& text) {
  std::vector<std::string> samples;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') samples.push_back(line);
  }
  return samples;
}

// Sample lines of one metric name (exact name, with or without labels).
std::vector<std::string> SamplesOf(const std::string& text, const std::string& name) {
  std::vector<std::string> out;
  for (const auto& line : Samples(text)) {
    if (line.rfind(name + "{", 0) == 0 || line.rfind(name + " ", 0) == 0) out.push_back(line);
  }
  return out;
}

using Id = ObservationId;

// The per-check series come from the board alone (one store); CheckMetrics
// adds the daemon's own families and writes both.
class CheckMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override { board_.SetDurationLayout({{0.01, 0.1, 1}, {}}); }

  StatusBoard board_;
  CheckMetrics metrics_;

  void Add(size_t id, const CheckInfo& info) { board_.AddCheck(id, info); }
  void Record(const RunRecord& run) { board_.Record(run); }
  std::string RenderText() const {
    metrics::TextWriter writer;
    metrics_.Write(board_.Snapshot(), writer);
    return std::move(writer.output());
  }
};

TEST_F(CheckMetricsTest, NewCheckHasCountersButNoStatus) {
  Add(0, TestCheckInfo("api"));
  const std::string text = RenderText();
  EXPECT_THAT(SamplesOf(text, "health_check_status"), IsEmpty());
  EXPECT_THAT(SamplesOf(text, "health_check_last_run_timestamp_seconds"), IsEmpty());
  EXPECT_THAT(SamplesOf(text, "health_check_state_change_timestamp_seconds"), IsEmpty());
  EXPECT_THAT(SamplesOf(text, "health_check_consecutive_failures"), IsEmpty());
  EXPECT_THAT(SamplesOf(text, "health_check_runs_total"),
              ::testing::UnorderedElementsAre(
                  "health_check_runs_total{check=\"api\",status=\"healthy\"} 0",
                  "health_check_runs_total{check=\"api\",status=\"degraded\"} 0",
                  "health_check_runs_total{check=\"api\",status=\"unhealthy\"} 0"));
  EXPECT_THAT(Samples(text), Contains("health_check_timeouts_total{check=\"api\"} 0"));
  EXPECT_THAT(Samples(text), Contains("health_check_skipped_runs_total{check=\"api\"} 0"));
  EXPECT_THAT(Samples(text), Contains("health_check_duration_seconds_count{check=\"api\"} 0"));
  // Pending: no overall status yet, one pending check.
  EXPECT_THAT(SamplesOf(text, "health_overall_status"), IsEmpty());
  EXPECT_THAT(Samples(text), Contains("health_checks{state=\"pending\"} 1"));
}

TEST_F(CheckMetricsTest, RecordsExactSeries) {
  Add(0, TestCheckInfo("api"));
  RunRecord first = MakeRun(0, Health::kHealthy, Health::kHealthy, 1000);
  Record(first);
  RunRecord second = MakeRun(0, Health::kUnhealthy, Health::kUnhealthy, 1010, Health::kHealthy);
  second.timed_out = true;
  second.consecutive_failures = 1;
  second.duration = std::chrono::seconds(2);
  Record(second);
  RunRecord third = MakeRun(0, Health::kUnhealthy, Health::kUnhealthy, 1020, Health::kUnhealthy);
  third.consecutive_failures = 2;
  Record(third);
  board_.RecordSkip(0);

  const std::string text = RenderText();
  const auto samples = Samples(text);
  EXPECT_THAT(SamplesOf(text, "health_check_status"),
              ::testing::ElementsAre("health_check_status{check=\"api\",critical=\"true\","
                                     "team=\"core\",type=\"http\"} 0"));
  EXPECT_THAT(samples, Contains("health_check_runs_total{check=\"api\",status=\"healthy\"} 1"));
  EXPECT_THAT(samples, Contains("health_check_runs_total{check=\"api\",status=\"unhealthy\"} 2"));
  EXPECT_THAT(samples, Contains("health_check_runs_total{check=\"api\",status=\"degraded\"} 0"));
  EXPECT_THAT(samples, Contains("health_check_timeouts_total{check=\"api\"} 1"));
  EXPECT_THAT(samples, Contains("health_check_skipped_runs_total{check=\"api\"} 1"));
  EXPECT_THAT(samples, Contains("health_check_last_run_timestamp_seconds{check=\"api\"} 1020"));
  EXPECT_THAT(samples, Contains("health_check_state_change_timestamp_seconds{check=\"api\"} 1010"));
  EXPECT_THAT(samples, Contains("health_check_consecutive_failures{check=\"api\"} 2"));
  EXPECT_THAT(samples, Contains("health_check_duration_seconds_count{check=\"api\"} 3"));
  EXPECT_THAT(samples,
              Contains("health_check_duration_seconds_bucket{check=\"api\",le=\"0.1\"} 2"));
  EXPECT_THAT(samples, Contains("health_check_duration_seconds_bucket{check=\"api\",le=\"1\"} 2"));
  EXPECT_THAT(samples,
              Contains("health_check_duration_seconds_bucket{check=\"api\",le=\"+Inf\"} 3"));
  EXPECT_THAT(samples, Contains("health_overall_status 0"));
  EXPECT_THAT(samples, Contains("health_checks{state=\"unhealthy\"} 1"));
  EXPECT_THAT(samples, Contains("health_checks{state=\"pending\"} 0"));
}

TEST_F(CheckMetricsTest, StatusValuesFollowTheStateNotTheRawResult) {
  Add(0, TestCheckInfo("api"));
  Add(1, TestCheckInfo("db", /*critical=*/false));
  Record(MakeRun(0, Health::kHealthy, Health::kHealthy, 1));
  // Raw unhealthy below the failure threshold: state stays degraded.
  Record(MakeRun(1, Health::kUnhealthy, Health::kDegraded, 1));
  const auto samples = Samples(RenderText());
  EXPECT_THAT(samples, Contains("health_check_status{check=\"api\",critical=\"true\","
                                "team=\"core\",type=\"http\"} 1"));
  EXPECT_THAT(samples, Contains("health_check_status{check=\"db\",critical=\"false\","
                                "team=\"core\",type=\"http\"} 0.5"));
  EXPECT_THAT(samples, Contains("health_overall_status 0.5"));
  EXPECT_THAT(samples, Contains("health_checks{state=\"healthy\"} 1"));
  EXPECT_THAT(samples, Contains("health_checks{state=\"degraded\"} 1"));
}

TEST_F(CheckMetricsTest, ObservationsAppearAndStaleOnesAreRemoved) {
  Add(0, TestCheckInfo("api"));
  RunRecord run = MakeRun(0, Health::kHealthy, Health::kHealthy, 1);
  run.result.observations = {
      {Id::kHttpStatusCode, 200},
      {Id::kTlsCertExpiryTimestampSeconds, 1.8e9},
      {Id::kHttpPhaseSeconds, 0.002, "dns"},
      {Id::kHttpPhaseSeconds, 0.004, "connect"},
      {Id::kHttpRedirects, 1},
      // An unknown name no longer compiles (ObservationId); a label value
      // on a family without a label is not written.
  };
  Record(run);
  std::string text = RenderText();
  EXPECT_THAT(SamplesOf(text, "health_check_http_status_code"),
              ::testing::ElementsAre("health_check_http_status_code{check=\"api\"} 200"));
  EXPECT_THAT(Samples(text),
              Contains("health_check_tls_cert_expiry_timestamp_seconds{check=\"api\"} 1800000000"));
  EXPECT_THAT(SamplesOf(text, "health_check_http_phase_seconds"),
              ::testing::UnorderedElementsAre(
                  "health_check_http_phase_seconds{check=\"api\",phase=\"dns\"} 0.002",
                  "health_check_http_phase_seconds{check=\"api\",phase=\"connect\"} 0.004"));
  EXPECT_THAT(Samples(text), Contains("health_check_http_redirects{check=\"api\"} 1"));
  EXPECT_THAT(text, Not(HasSubstr("bogus")));

  // Connection refused: only the dns phase, nothing else.
  RunRecord refused = MakeRun(0, Health::kUnhealthy, Health::kUnhealthy, 2, Health::kHealthy);
  refused.result.observations = {{Id::kHttpPhaseSeconds, 0.003, "dns"}};
  Record(refused);
  text = RenderText();
  EXPECT_THAT(SamplesOf(text, "health_check_http_status_code"), IsEmpty());
  EXPECT_THAT(SamplesOf(text, "health_check_tls_cert_expiry_timestamp_seconds"), IsEmpty());
  EXPECT_THAT(SamplesOf(text, "health_check_http_redirects"), IsEmpty());
  EXPECT_THAT(
      SamplesOf(text, "health_check_http_phase_seconds"),
      ::testing::ElementsAre("health_check_http_phase_seconds{check=\"api\",phase=\"dns\"} 0.003"));
}

TEST_F(CheckMetricsTest, RemoveCheckRemovesEverySeriesOfThatCheck) {
  Add(0, TestCheckInfo("api"));
  Add(1, TestCheckInfo("db"));
  for (size_t id : {0u, 1u}) {
    RunRecord run = MakeRun(id, Health::kHealthy, Health::kHealthy, 1);
    run.result.observations = {{Id::kHttpStatusCode, 200}, {Id::kHttpPhaseSeconds, 0.002, "dns"}};
    Record(run);
    board_.RecordSkip(id);
  }
  board_.RemoveCheck(0);
  board_.RemoveCheck(0);
  const std::string text = RenderText();
  EXPECT_THAT(text, Not(HasSubstr("check=\"api\"")));
  // Every per-check family still has db's series.
  for (const char* name :
       {"health_check_status", "health_check_duration_seconds_count", "health_check_runs_total",
        "health_check_timeouts_total", "health_check_skipped_runs_total",
        "health_check_last_run_timestamp_seconds", "health_check_consecutive_failures",
        "health_check_state_change_timestamp_seconds", "health_check_http_status_code",
        "health_check_http_phase_seconds"}) {
    EXPECT_THAT(SamplesOf(text, name), Not(IsEmpty())) << name;
  }
  // Unknown ids are ignored.
  board_.Record(MakeRun(0, Health::kHealthy, Health::kHealthy, 3));
  board_.RecordSkip(0);
  board_.RemoveCheck(0);
  EXPECT_THAT(RenderText(), Not(HasSubstr("check=\"api\"")));
}

TEST_F(CheckMetricsTest, ReAddingAnIdStartsFresh) {
  Add(0, TestCheckInfo("api"));
  Record(MakeRun(0, Health::kHealthy, Health::kHealthy, 1));
  Add(0, TestCheckInfo("api2"));
  const std::string text = RenderText();
  EXPECT_THAT(text, Not(HasSubstr("check=\"api\"")));
  EXPECT_THAT(Samples(text),
              Contains("health_check_runs_total{check=\"api2\",status=\"healthy\"} 0"));
  EXPECT_THAT(SamplesOf(text, "health_check_status"), IsEmpty());
}

TEST_F(CheckMetricsTest, ConfigLoadsSetTheReloadMetricsAndOneInfoSeries) {
  metrics_.RecordConfigLoad(/*reload=*/false, /*success=*/true, 100, "aaa");
  std::string text = RenderText();
  EXPECT_THAT(Samples(text), Contains("health_exporter_config_last_reload_successful 1"));
  EXPECT_THAT(Samples(text),
              Contains("health_exporter_config_last_reload_success_timestamp_seconds 100"));
  EXPECT_THAT(SamplesOf(text, "health_exporter_config_info"),
              ElementsAre("health_exporter_config_info{hash=\"aaa\"} 1"));
  EXPECT_THAT(Samples(text), Contains("health_exporter_config_reloads_total{result=\"success\"} 0"));

  // A failed reload keeps the running config's hash and success time.
  metrics_.RecordConfigLoad(/*reload=*/true, /*success=*/false, 200, "aaa");
  text = RenderText();
  EXPECT_THAT(Samples(text), Contains("health_exporter_config_last_reload_successful 0"));
  EXPECT_THAT(Samples(text),
              Contains("health_exporter_config_last_reload_success_timestamp_seconds 100"));
  EXPECT_THAT(Samples(text), Contains("health_exporter_config_reloads_total{result=\"failure\"} 1"));

  metrics_.RecordConfigLoad(/*reload=*/true, /*success=*/true, 300, "bbb");
  text = RenderText();
  EXPECT_THAT(Samples(text), Contains("health_exporter_config_last_reload_successful 1"));
  EXPECT_THAT(SamplesOf(text, "health_exporter_config_info"),
              ElementsAre("health_exporter_config_info{hash=\"bbb\"} 1"));
  EXPECT_THAT(Samples(text), Contains("health_exporter_config_reloads_total{result=\"success\"} 1"));
}

TEST_F(CheckMetricsTest, NewBucketsApplyToChecksAddedAfterwards) {
  Add(0, TestCheckInfo("old"));
  board_.SetDurationLayout({{0.5}, {}});
  Add(1, TestCheckInfo("new"));
  const std::string text = RenderText();
  EXPECT_THAT(Samples(text), Contains(StartsWith(
                                 "health_check_duration_seconds_bucket{check=\"old\",le=\"0.1\"}")));
  EXPECT_THAT(Samples(text), Contains(StartsWith(
                                 "health_check_duration_seconds_bucket{check=\"new\",le=\"0.5\"}")));
  EXPECT_THAT(Samples(text), Not(Contains(StartsWith(
                                 "health_check_duration_seconds_bucket{check=\"new\",le=\"0.1\"}"))));
}

TEST_F(CheckMetricsTest, ExportsBuildInfoLatenessAndProcessMetrics) {
  metrics_.ObserveLateness(milliseconds(2));
  metrics_.ObserveLateness(std::chrono::seconds(3));
  const std::string text = RenderText();
  const auto samples = Samples(text);
  EXPECT_THAT(samples, Contains(StartsWith("health_exporter_build_info{compiler=\"")));
  const auto build_info = SamplesOf(text, "health_exporter_build_info");
  ASSERT_EQ(build_info.size(), 1u);
  EXPECT_THAT(build_info[0], HasSubstr(std::string("revision=\"") + build::kRevision + "\""));
  EXPECT_THAT(build_info[0], HasSubstr(std::string("version=\"") + build::kVersion + "\""));
  EXPECT_THAT(build_info[0], ::testing::EndsWith("} 1"));
  EXPECT_THAT(samples, Contains("health_exporter_scheduler_lateness_seconds_count 2"));
  EXPECT_THAT(samples,
              Contains("health_exporter_scheduler_lateness_seconds_bucket{le=\"0.0025\"} 1"));
  EXPECT_THAT(samples, Contains("health_exporter_scheduler_lateness_seconds_bucket{le=\"1\"} 1"));
  for (const char* name : {"process_cpu_seconds_total", "process_resident_memory_bytes",
                           "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
                           "process_start_time_seconds"}) {
    EXPECT_EQ(SamplesOf(text, name).size(), 1u) << name;
  }
  EXPECT_THAT(samples, Contains("health_checks{state=\"pending\"} 0"));
  // No checks at all: overall is healthy.
  EXPECT_THAT(samples, Contains("health_overall_status 1"));
}

TEST(ProcessCollectorTest, ValuesAreSane) {
  auto families = ProcessCollector().Collect();
  std::map<std::string, double> values;
  for (const auto& family : families) {
    ASSERT_EQ(family.metric.size(), 1u);
    values[family.name] = family.type == prometheus::MetricType::Counter
                              ? family.metric[0].counter.value
                              : family.metric[0].gauge.value;
  }
  ASSERT_EQ(values.size(), 6u);
  EXPECT_GT(values["process_resident_memory_bytes"], 1e5);
  EXPECT_GE(values["process_virtual_memory_bytes"], values["process_resident_memory_bytes"]);
  EXPECT_GE(values["process_open_fds"], 3);
  EXPECT_GE(values["process_max_fds"], values["process_open_fds"]);
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_LE(values["process_start_time_seconds"], now + 1);
  EXPECT_GT(values["process_start_time_seconds"], now - 24 * 3600);
  EXPECT_GE(values["process_cpu_seconds_total"], 0);
}

// Runs `promtool check metrics` on `text`; returns its exit code and output.
std::pair<int, std::string> Promtool(const std::string& text) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("hx_metrics_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto input = dir / "metrics.txt";
  std::ofstream(input) << text;
  const std::string command = "promtool check metrics < " + input.string() + " 2>&1";
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0;) output.append(buffer, n);
  const int status = ::pclose(pipe);
  std::filesystem::remove_all(dir);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

TEST_F(CheckMetricsTest, PassesPromtoolCheckMetrics) {
  if (!std::filesystem::exists("/usr/bin/promtool")) GTEST_SKIP() << "promtool not installed";
  Add(0, TestCheckInfo("api"));
  Add(1, TestCheckInfo("db", /*critical=*/false));
  RunRecord run = MakeRun(0, Health::kDegraded, Health::kDegraded, 1);
  run.result.observations = {{Id::kHttpStatusCode, 200},
                             {Id::kTlsCertExpiryTimestampSeconds, 1.8e9},
                             {Id::kHttpPhaseSeconds, 0.002, "dns"},
                             {Id::kHttpRedirects, 0}};
  Record(run);
  board_.RecordSkip(1);
  metrics_.ObserveLateness(milliseconds(1));
  const auto [code, output] = Promtool(RenderText());
  EXPECT_EQ(code, 0) << output;
  EXPECT_EQ(output, "") << output;

  // The check itself must be able to fail: a counter without _total is a lint problem.
  const auto [bad_code, bad_output] =
      Promtool("# HELP requests Requests.\n# TYPE requests counter\nrequests 1\n");
  EXPECT_EQ(bad_code, 3) << bad_output;
}

// Scrapes on other threads while the loop thread records, adds and removes.
// Most useful under ThreadSanitizer.
TEST_F(CheckMetricsTest, RenderIsSafeWhileRecording) {
  std::atomic<bool> done{false};
  std::atomic<int> renders{0};
  std::vector<std::thread> scrapers;
  for (int i = 0; i < 2; ++i) {
    scrapers.emplace_back([&] {
      while (!done.load()) {
        EXPECT_THAT(RenderText(), HasSubstr("health_checks{"));
        ++renders;
      }
    });
  }
  for (int round = 0; round < 100; ++round) {
    const size_t id = static_cast<size_t>(round);
    Add(id, TestCheckInfo("c" + std::to_string(round)));
    RunRecord run = MakeRun(id, Health::kHealthy, Health::kHealthy, round);
    run.result.observations = {{Id::kHttpStatusCode, 200}};
    Record(run);
    board_.RecordSkip(id);
    metrics_.ObserveLateness(milliseconds(1));
    if (round % 2 == 0) {
      board_.RemoveCheck(id);
      board_.RemoveCheck(id);
    }
  }
  const int seen = renders.load();
  while (renders.load() < seen + 2) std::this_thread::yield();
  done = true;
  for (auto& t : scrapers) t.join();
  const std::string text = RenderText();
  EXPECT_EQ(SamplesOf(text, "health_check_status").size(), 50u);
  EXPECT_THAT(text, Not(HasSubstr("check=\"c0\"")));
  EXPECT_THAT(text, HasSubstr("check=\"c1\""));
}

}  // namespace
}  // namespace hx
