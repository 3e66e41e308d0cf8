#include "status/status_board.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "status/status_json.h"
#include "support/check_info.h"

namespace hx {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;

RunRecord MakeRun(size_t id, Health raw, Health state, double finished_at,
                  std::optional<Health> previous = std::nullopt) {
  RunRecord run;
  run.check_id = id;
  run.result.health = raw;
  run.result.detail = "detail " + std::to_string(finished_at);
  if (raw != Health::kHealthy) run.result.reason = FailureReason::kConnectRefused;
  run.state = state;
  run.previous_state = previous;
  run.duration = milliseconds(15);
  run.started_at = finished_at - 0.015;
  run.finished_at = finished_at;
  run.consecutive_failures = raw == Health::kUnhealthy ? 1 : 0;
  run.consecutive_successes = raw == Health::kHealthy ? 1 : 0;
  return run;
}

std::shared_ptr<const CheckStatus> Status(bool critical, std::optional<Health> state) {
  auto status = std::make_shared<CheckStatus>();
  status->info = std::make_shared<const CheckInfo>(TestCheckInfo("c", critical));
  status->state = state;
  return status;
}

struct OverallCase {
  std::vector<std::pair<bool, std::optional<Health>>> checks;  // critical, state
  OverallStatus expected;
};

TEST(ComputeOverallStatusTest, FollowsTheRulesTable) {
  constexpr auto H = Health::kHealthy;
  constexpr auto D = Health::kDegraded;
  constexpr auto U = Health::kUnhealthy;
  const std::optional<Health> P;  // pending
  const std::vector<OverallCase> cases = {
      {{}, OverallStatus::kHealthy},
      {{{true, H}}, OverallStatus::kHealthy},
      {{{true, H}, {false, H}}, OverallStatus::kHealthy},
      {{{true, U}}, OverallStatus::kUnhealthy},
      {{{true, U}, {false, D}}, OverallStatus::kUnhealthy},
      {{{true, U}, {true, P}}, OverallStatus::kUnhealthy},
      {{{false, U}}, OverallStatus::kDegraded},  // non-critical unhealthy only degrades
      {{{false, U}, {true, H}}, OverallStatus::kDegraded},
      {{{true, D}}, OverallStatus::kDegraded},
      {{{false, D}, {true, H}}, OverallStatus::kDegraded},
      {{{true, D}, {true, P}}, OverallStatus::kDegraded},
      {{{true, P}}, OverallStatus::kPending},
      {{{true, H}, {true, P}}, OverallStatus::kPending},
      {{{false, P}}, OverallStatus::kHealthy},  // non-critical pending does not block
      {{{true, H}, {false, P}}, OverallStatus::kHealthy},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    std::vector<std::shared_ptr<const CheckStatus>> checks;
    for (const auto& [critical, state] : cases[i].checks) checks.push_back(Status(critical, state));
    EXPECT_EQ(ComputeOverallStatus(checks), cases[i].expected) << "case " << i;
  }
}

TEST(OverallStatusNameTest, NamesEveryStatus) {
  EXPECT_EQ(OverallStatusName(OverallStatus::kHealthy), "healthy");
  EXPECT_EQ(OverallStatusName(OverallStatus::kDegraded), "degraded");
  EXPECT_EQ(OverallStatusName(OverallStatus::kUnhealthy), "unhealthy");
  EXPECT_EQ(OverallStatusName(OverallStatus::kPending), "pending");
}

TEST(StatusBoardTest, NewChecksArePendingInAddOrder) {
  StatusBoard board;
  board.AddCheck(7, TestCheckInfo("b"));
  board.AddCheck(3, TestCheckInfo("a", /*critical=*/false));
  BoardSnapshot snapshot = board.Snapshot();
  ASSERT_EQ(snapshot.checks.size(), 2u);
  EXPECT_EQ(snapshot.checks[0]->info->name, "b");
  EXPECT_EQ(snapshot.checks[0]->id, 7u);
  EXPECT_EQ(snapshot.checks[1]->info->name, "a");
  EXPECT_FALSE(snapshot.checks[0]->state.has_value());
  EXPECT_FALSE(snapshot.checks[0]->last.has_value());
  EXPECT_EQ(snapshot.overall, OverallStatus::kPending);
}

TEST(StatusBoardTest, RecordUpdatesStateCountersAndLastResult) {
  StatusBoard board;
  board.AddCheck(0, TestCheckInfo("api"));
  RunRecord run = MakeRun(0, Health::kUnhealthy, Health::kUnhealthy, 1000.5);
  run.timed_out = true;
  run.consecutive_failures = 3;
  run.result.observations = {{ObservationId::kHttpPhaseSeconds, 0.01, "dns"}};
  board.Record(run);
  board.RecordSkip(0);

  auto status = board.Find(0);
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(status->state, Health::kUnhealthy);
  ASSERT_TRUE(status->last.has_value());
  EXPECT_EQ(status->last->health, Health::kUnhealthy);
  EXPECT_EQ(status->last->detail, "detail 1000.500000");
  EXPECT_EQ(status->last->duration, milliseconds(15));
  EXPECT_DOUBLE_EQ(status->last->finished_at, 1000.5);
  EXPECT_TRUE(status->last->timed_out);
  ASSERT_EQ(status->last->observations.size(), 1u);
  EXPECT_EQ(status->last->observations[0].label_value, "dns");
  EXPECT_EQ(status->consecutive_failures, 3);
  EXPECT_EQ(status->runs, 1u);
  EXPECT_EQ(status->skipped_runs, 1u);
  EXPECT_DOUBLE_EQ(status->state_since, 1000.5);
  EXPECT_EQ(board.Snapshot().overall, OverallStatus::kUnhealthy);
}

TEST(StatusBoardTest, StateSinceMovesOnlyWhenTheStateChanges) {
  StatusBoard board;
  board.AddCheck(0, TestCheckInfo("api"));
  board.Record(MakeRun(0, Health::kHealthy, Health::kHealthy, 100));
  board.Record(MakeRun(0, Health::kHealthy, Health::kHealthy, 110, Health::kHealthy));
  // A failure below the threshold: raw unhealthy, state still healthy.
  board.Record(MakeRun(0, Health::kUnhealthy, Health::kHealthy, 120, Health::kHealthy));
  EXPECT_DOUBLE_EQ(board.Find(0)->state_since, 100);
  board.Record(MakeRun(0, Health::kUnhealthy, Health::kUnhealthy, 130, Health::kHealthy));
  EXPECT_DOUBLE_EQ(board.Find(0)->state_since, 130);
  EXPECT_EQ(board.Find(0)->runs, 4u);
}

TEST(StatusBoardTest, HistoryKeepsTheLastTwentyNewestLast) {
  StatusBoard board;
  board.AddCheck(0, TestCheckInfo("api"));
  for (int i = 1; i <= 25; ++i) board.Record(MakeRun(0, Health::kHealthy, Health::kHealthy, i));
  auto status = board.Find(0);
  ASSERT_EQ(status->history.size(), CheckStatus::kHistorySize);
  EXPECT_DOUBLE_EQ(status->history.front().finished_at, 6);
  EXPECT_DOUBLE_EQ(status->history.back().finished_at, 25);
  EXPECT_EQ(status->history.back().detail, "detail 25.000000");
  EXPECT_EQ(status->runs, 25u);
}

TEST(StatusBoardTest, SnapshotIsNotChangedByLaterWrites) {
  StatusBoard board;
  board.AddCheck(0, TestCheckInfo("api"));
  board.Record(MakeRun(0, Health::kHealthy, Health::kHealthy, 100));
  BoardSnapshot before = board.Snapshot();

  board.Record(MakeRun(0, Health::kUnhealthy, Health::kUnhealthy, 200, Health::kHealthy));
  board.RecordSkip(0);
  board.AddCheck(1, TestCheckInfo("db"));
  board.RemoveCheck(0);

  ASSERT_EQ(before.checks.size(), 1u);
  EXPECT_EQ(before.overall, OverallStatus::kHealthy);
  EXPECT_EQ(before.checks[0]->state, Health::kHealthy);
  EXPECT_EQ(before.checks[0]->runs, 1u);
  EXPECT_EQ(before.checks[0]->skipped_runs, 0u);
  EXPECT_EQ(before.checks[0]->history.size(), 1u);

  BoardSnapshot after = board.Snapshot();
  ASSERT_EQ(after.checks.size(), 1u);
  EXPECT_EQ(after.checks[0]->info->name, "db");
  EXPECT_EQ(after.overall, OverallStatus::kPending);
}

TEST(StatusBoardTest, RemovedAndUnknownChecksIgnoreRecords) {
  StatusBoard board;
  board.AddCheck(0, TestCheckInfo("a"));
  board.AddCheck(1, TestCheckInfo("b"));
  board.AddCheck(2, TestCheckInfo("c"));
  board.RemoveCheck(1);
  board.RemoveCheck(42);
  board.Record(MakeRun(1, Health::kHealthy, Health::kHealthy, 1));
  board.RecordSkip(1);
  board.Record(MakeRun(2, Health::kHealthy, Health::kHealthy, 1));
  EXPECT_EQ(board.Find(1), nullptr);
  BoardSnapshot snapshot = board.Snapshot();
  ASSERT_EQ(snapshot.checks.size(), 2u);
  EXPECT_EQ(snapshot.checks[0]->info->name, "a");
  EXPECT_EQ(snapshot.checks[1]->info->name, "c");
  EXPECT_EQ(snapshot.checks[1]->runs, 1u);  // index still right after removal
}

TEST(StatusBoardTest, SetOrderFollowsTheConfigAndKeepsResults) {
  StatusBoard board;
  board.AddCheck(0, TestCheckInfo("a"));
  board.AddCheck(1, TestCheckInfo("b"));
  board.AddCheck(2, TestCheckInfo("c"));
  board.Record(MakeRun(1, Health::kHealthy, Health::kHealthy, 1));
  // 7 is unknown; 0 is not listed and goes last.
  board.SetOrder({2, 7, 1});
  BoardSnapshot snapshot = board.Snapshot();
  ASSERT_EQ(snapshot.checks.size(), 3u);
  EXPECT_EQ(snapshot.checks[0]->info->name, "c");
  EXPECT_EQ(snapshot.checks[1]->info->name, "b");
  EXPECT_EQ(snapshot.checks[2]->info->name, "a");
  EXPECT_EQ(snapshot.checks[1]->runs, 1u);
  // Records still find their check at its new place.
  board.Record(MakeRun(0, Health::kHealthy, Health::kHealthy, 1));
  EXPECT_EQ(board.Find(0)->runs, 1u);
  EXPECT_EQ(board.Snapshot().checks[2]->runs, 1u);
}

// The one store: counters by raw result, timeouts, the duration histogram in
// both forms, the attempt number (the exemplar's id, in history) and the
// created time, all in the one record every endpoint reads.
TEST(StatusBoardTest, KeepsCountersHistogramAndCreatedTime) {
  double now = 500;
  StatusBoard board([&now] { return now; });
  board.SetDurationLayout({{0.01, 0.1}, {}});
  board.AddCheck(0, TestCheckInfo("api"));
  now = 600;
  RunRecord run = MakeRun(0, Health::kUnhealthy, Health::kUnhealthy, 1000);
  run.timed_out = true;
  run.duration = milliseconds(50);
  board.Record(run);
  run = MakeRun(0, Health::kHealthy, Health::kHealthy, 1001, Health::kUnhealthy);
  run.duration = milliseconds(5);
  board.Record(run);
  const auto before_skip = board.Find(0);
  board.RecordSkip(0);

  const auto status = board.Find(0);
  EXPECT_DOUBLE_EQ(status->created, 500);
  EXPECT_EQ(status->runs, 2u);
  EXPECT_THAT(status->runs_by_result, ElementsAre(1u, 0u, 1u));
  EXPECT_EQ(status->timeouts, 1u);
  EXPECT_EQ(status->skipped_runs, 1u);
  const DurationHistogram& d = *status->duration;
  EXPECT_EQ(d.count, 2u);
  EXPECT_DOUBLE_EQ(d.sum, 0.055);
  EXPECT_THAT(d.layout->upper_bounds, ElementsAre(0.01, 0.1));
  EXPECT_THAT(d.cumulative_counts, ElementsAre(1u, 2u));
  EXPECT_EQ(d.native.count(), 2u);
  EXPECT_EQ(d.native_buckets.positive_deltas.size(), 2u);
  EXPECT_EQ(d.exemplar_attempt, 2u);
  EXPECT_DOUBLE_EQ(d.exemplar_value, 0.005);
  EXPECT_EQ(status->last->attempt, 2u);
  ASSERT_EQ(status->history.size(), 2u);
  EXPECT_EQ(status->history[0].attempt, 1u);
  EXPECT_EQ(status->history[1].attempt, 2u);
  // A skip copies the record but shares the unchanged histogram.
  EXPECT_EQ(status->duration, before_skip->duration);
  // Label sets rendered once, at AddCheck, sorted by name.
  EXPECT_EQ(status->info->check_labels.text(), "check=\"api\"");
  EXPECT_EQ(status->info->status_labels.text(),
            "check=\"api\",critical=\"true\",team=\"core\",type=\"http\"");
}

TEST(StatusBoardTest, ReAddingAnIdResetsItToPending) {
  StatusBoard board;
  board.AddCheck(0, TestCheckInfo("a"));
  board.Record(MakeRun(0, Health::kHealthy, Health::kHealthy, 1));
  board.AddCheck(0, TestCheckInfo("a2"));
  auto status = board.Find(0);
  EXPECT_EQ(status->info->name, "a2");
  EXPECT_FALSE(status->state.has_value());
  EXPECT_EQ(status->runs, 0u);
  EXPECT_EQ(status->duration->count, 0u);
  EXPECT_EQ(board.Snapshot().checks.size(), 1u);
}

// Readers on other threads see only complete, self-consistent snapshots while
// the writer records. Most useful under ThreadSanitizer.
TEST(StatusBoardTest, ConcurrentReadersSeeConsistentSnapshots) {
  StatusBoard board;
  constexpr size_t kChecks = 4;
  for (size_t id = 0; id < kChecks; ++id) board.AddCheck(id, TestCheckInfo("c" + std::to_string(id)));

  std::atomic<bool> done{false};
  std::atomic<int> inconsistencies{0};
  std::atomic<uint64_t> snapshots{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      while (!done.load()) {
        BoardSnapshot snapshot = board.Snapshot();
        for (const auto& status : snapshot.checks) {
          // Every record has runs == finished_at and history ends with it.
          if (status->runs == 0) continue;
          if (!status->last || status->last->finished_at != static_cast<double>(status->runs) ||
              status->history.empty() ||
              status->history.back().finished_at != static_cast<double>(status->runs) ||
              status->history.size() != std::min<uint64_t>(status->runs, 20)) {
            ++inconsistencies;
          }
        }
        (void)RenderStatusJson(snapshot, 0);
        ++snapshots;
      }
    });
  }
  constexpr int kRuns = 300;
  for (int i = 1; i <= kRuns; ++i) {
    for (size_t id = 0; id < kChecks; ++id) {
      board.Record(MakeRun(id, Health::kHealthy, Health::kHealthy, i));
    }
  }
  // Let the readers observe the final state at least once before stopping.
  const uint64_t seen = snapshots.load();
  while (snapshots.load() < seen + 3) std::this_thread::yield();
  done = true;
  for (auto& reader : readers) reader.join();
  EXPECT_EQ(inconsistencies.load(), 0);
  for (const auto& status : board.Snapshot().checks) EXPECT_EQ(status->runs, uint64_t{kRuns});
}

TEST(FormatRfc3339Test, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339(1714564803.25), "2024-05-01T12:00:03.250Z");
  EXPECT_EQ(FormatRfc3339(1714564803.9996), "2024-05-01T12:00:04.000Z");
}

// /status is written a check at a time; the bytes are those of one
// nlohmann document pretty-printed whole (what it wrote before), for no
// check, one, and several with history, observations and invalid UTF-8.
TEST(StatusJsonTest, WrittenCheckByCheckAsOneDocumentWouldBe) {
  auto canonical = [](const std::string& text) {
    return nlohmann::json::parse(text).dump(2, ' ', false,
                                            nlohmann::json::error_handler_t::replace) +
           "\n";
  };
  StatusBoard board;
  const std::string empty = RenderStatusJson(board.Snapshot(), 1714564804);
  EXPECT_EQ(empty, canonical(empty));
  board.AddCheck(0, TestCheckInfo("api"));
  const std::string one = RenderStatusJson(board.Snapshot(), 1714564804);
  EXPECT_EQ(one, canonical(one));
  board.AddCheck(1, TestCheckInfo("db", /*critical=*/false));
  board.AddCheck(2, TestCheckInfo("queue"));
  for (int i = 0; i < 25; ++i) {
    RunRecord run = MakeRun(i % 3, i % 2 ? Health::kUnhealthy : Health::kHealthy,
                            i % 2 ? Health::kUnhealthy : Health::kHealthy, 1714564800 + i);
    run.result.detail = "line\nbreak \xff \"quoted\" " + std::to_string(i);
    run.result.observations = {{ObservationId::kHttpPhaseSeconds, 0.001 * i, "connect"}};
    board.Record(run);
  }
  const std::string several = RenderStatusJson(board.Snapshot(), 1714564804);
  EXPECT_EQ(several, canonical(several));
  EXPECT_EQ(nlohmann::json::parse(several)["checks"].size(), 3u);
}

TEST(StatusJsonTest, DescribesEveryCheck) {
  StatusBoard board;
  board.AddCheck(0, TestCheckInfo("api"));
  board.AddCheck(1, TestCheckInfo("db", /*critical=*/false));
  RunRecord run = MakeRun(0, Health::kDegraded, Health::kDegraded, 1714564803.25);
  run.result.detail = "slow \xff response";  // invalid UTF-8 must not throw
  run.result.observations = {{ObservationId::kHttpStatusCode, 200}};
  board.Record(run);
  board.RecordSkip(0);

  auto doc = nlohmann::json::parse(RenderStatusJson(board.Snapshot(), 1714564804));
  EXPECT_EQ(doc["overall"], "degraded");
  EXPECT_EQ(doc["generated_at"], "2024-05-01T12:00:04.000Z");
  ASSERT_EQ(doc["checks"].size(), 2u);
  const auto& api = doc["checks"][0];
  EXPECT_EQ(api["name"], "api");
  EXPECT_EQ(api["type"], "http");
  EXPECT_EQ(api["target"], "GET http://127.0.0.1:1/");
  EXPECT_EQ(api["critical"], true);
  EXPECT_EQ(api["labels"]["team"], "core");
  EXPECT_EQ(api["interval_seconds"], 10.0);
  EXPECT_EQ(api["timeout_seconds"], 2.0);
  EXPECT_EQ(api["state"], "degraded");
  EXPECT_EQ(api["state_since"], "2024-05-01T12:00:03.250Z");
  EXPECT_EQ(api["last_result"]["health"], "degraded");
  EXPECT_EQ(api["last_result"]["detail"], "slow \xEF\xBF\xBD response");
  EXPECT_EQ(api["last_result"]["duration_ms"], 15.0);
  EXPECT_EQ(api["last_result"]["finished_at_unix"], 1714564803.25);
  EXPECT_EQ(api["last_result"]["timed_out"], false);
  EXPECT_EQ(api["last_result"]["observations"][0]["name"], "http_status_code");
  EXPECT_EQ(api["last_result"]["observations"][0]["value"], 200.0);
  EXPECT_EQ(api["last_result"]["attempt"], 1);
  EXPECT_EQ(api["runs"], 1);
  EXPECT_EQ(api["runs_by_result"]["degraded"], 1);
  EXPECT_EQ(api["runs_by_result"]["healthy"], 0);
  EXPECT_EQ(api["timeouts"], 0);
  EXPECT_EQ(api["skipped_runs"], 1);
  EXPECT_TRUE(api["created_unix"].is_number());
  EXPECT_EQ(api["history"].size(), 1u);
  EXPECT_EQ(api["history"][0]["attempt"], 1);
  const auto& db = doc["checks"][1];
  EXPECT_EQ(db["state"], "pending");
  EXPECT_TRUE(db["last_result"].is_null());
  EXPECT_TRUE(db["state_since"].is_null());
}

TEST(ReadinessJsonTest, ListsChecksUnlessTerse) {
  StatusBoard board;
  board.AddCheck(0, TestCheckInfo("api"));
  board.AddCheck(1, TestCheckInfo("db"));
  board.Record(MakeRun(0, Health::kHealthy, Health::kHealthy, 5));
  auto doc = nlohmann::json::parse(RenderReadinessJson(board.Snapshot(), /*verbose=*/true));
  EXPECT_EQ(doc["status"], "pending");
  EXPECT_EQ(doc["checks"]["api"]["status"], "healthy");
  EXPECT_EQ(doc["checks"]["api"]["duration_ms"], 15.0);
  EXPECT_EQ(doc["checks"]["api"]["detail"], "detail 5.000000");
  EXPECT_EQ(doc["checks"]["db"]["status"], "pending");
  EXPECT_FALSE(doc["checks"]["db"].contains("detail"));

  auto terse = nlohmann::json::parse(RenderReadinessJson(board.Snapshot(), /*verbose=*/false));
  EXPECT_EQ(terse["status"], "pending");
  EXPECT_FALSE(terse.contains("checks"));
}

}  // namespace
}  // namespace hx
