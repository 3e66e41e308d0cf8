// The failure journal's writer: which runs become entries (non-healthy
// results, state changes including back to healthy, not the first healthy
// result), what an entry carries (phases, HTTP status, address, body
// excerpt, the board's attempt number), redaction before queueing, and the
// per-check bound (a flapping check does not evict another's entries),
// through a real store (memory-only SQLite) and through the RunPublisher the
// daemon uses.

#include "status/failure_journal.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <re2/re2.h>

#include "app/run_publisher.h"
#include "store/store.h"
#include "support/check_info.h"
#include "support/manual_clock.h"

namespace hx {
namespace {

using std::chrono::milliseconds;

RunRecord MakeRun(size_t id, Health raw, Health state, double finished_at,
                  std::optional<Health> previous, Transition transition = Transition::kUnchanged) {
  RunRecord run;
  run.check_id = id;
  run.result.health = raw;
  run.result.detail = "detail at " + std::to_string(static_cast<int>(finished_at));
  if (raw != Health::kHealthy) run.result.reason = FailureReason::kHttpStatus;
  run.state = state;
  run.previous_state = previous;
  run.transition = transition;
  run.duration = milliseconds(250);
  run.started_at = finished_at - 0.25;
  run.finished_at = finished_at;
  return run;
}

class FailureJournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::StoreOptions options;  // no dir: memory-only on purpose
    options.journal_per_check = 5;
    options.flush_interval = milliseconds(10);
    store_ = store::Store::Open(options);
    board_.AddCheck(0, TestCheckInfo("api"));
    board_.AddCheck(1, TestCheckInfo("db"));
  }

  std::vector<store::JournalEntry> Entries(const std::string& check) {
    EXPECT_TRUE(store_->Flush());
    return store_->Journal(check);
  }

  std::unique_ptr<store::Store> store_;
  StatusBoard board_;
};

TEST_F(FailureJournalTest, RecordsFailuresAndStateChangesOnly) {
  FailureJournal journal(store_.get());
  auto feed = [&](const RunRecord& run) {
    board_.Record(run);
    journal.Record(run, *board_.Find(run.check_id));
  };
  feed(MakeRun(0, Health::kHealthy, Health::kHealthy, 100, std::nullopt, Transition::kChanged));
  feed(MakeRun(0, Health::kHealthy, Health::kHealthy, 110, Health::kHealthy));
  // A failure under the failure threshold: an entry under its own result.
  feed(MakeRun(0, Health::kUnhealthy, Health::kHealthy, 120, Health::kHealthy));
  feed(MakeRun(0, Health::kUnhealthy, Health::kUnhealthy, 130, Health::kHealthy,
               Transition::kChanged));
  feed(MakeRun(0, Health::kHealthy, Health::kUnhealthy, 140, Health::kUnhealthy));
  feed(MakeRun(0, Health::kHealthy, Health::kHealthy, 150, Health::kUnhealthy,
               Transition::kChanged));
  feed(MakeRun(0, Health::kHealthy, Health::kHealthy, 160, Health::kHealthy));

  const auto entries = Entries("api");
  ASSERT_EQ(entries.size(), 3u);
  // Newest first.
  EXPECT_EQ(entries[0].time, 150);
  EXPECT_EQ(entries[0].state, "healthy");
  EXPECT_EQ(entries[0].previous_state, "unhealthy");
  EXPECT_EQ(entries[0].reason, "");
  EXPECT_EQ(entries[0].attempt_id, 6u);
  EXPECT_EQ(entries[1].time, 130);
  EXPECT_EQ(entries[1].state, "unhealthy");
  EXPECT_EQ(entries[1].previous_state, "healthy");
  EXPECT_EQ(entries[1].reason, "http_status");
  EXPECT_EQ(entries[1].attempt_id, 4u);
  EXPECT_EQ(entries[2].time, 120);
  EXPECT_EQ(entries[2].state, "unhealthy");
  EXPECT_EQ(entries[2].previous_state, "");
  EXPECT_EQ(entries[2].detail, "detail at 120");
  EXPECT_DOUBLE_EQ(entries[2].duration, 0.25);
  EXPECT_EQ(entries[2].attempt_id, 3u);
  EXPECT_TRUE(Entries("db").empty());
}

TEST_F(FailureJournalTest, FirstResultThatFailsIsAChangeFromPending) {
  const auto entry = JournalEntryFor(
      MakeRun(1, Health::kUnhealthy, Health::kUnhealthy, 100, std::nullopt, Transition::kChanged),
      *board_.Find(1));
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->check, "db");
  EXPECT_EQ(entry->state, "unhealthy");
  EXPECT_EQ(entry->previous_state, "pending");
}

TEST_F(FailureJournalTest, AFailureWithoutAReasonIsInternalAsOnTheBoard) {
  RunRecord run = MakeRun(0, Health::kUnhealthy, Health::kUnhealthy, 100, Health::kHealthy,
                          Transition::kChanged);
  run.result.reason = FailureReason::kNone;
  board_.Record(run);
  const auto entry = JournalEntryFor(run, *board_.Find(0));
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->reason, "internal");
  EXPECT_EQ(entry->reason, FailureReasonName(board_.Find(0)->last->reason));
}

TEST_F(FailureJournalTest, CarriesTheEvidence) {
  RunRecord run = MakeRun(0, Health::kUnhealthy, Health::kUnhealthy, 200, Health::kHealthy,
                          Transition::kChanged);
  run.result.address = "127.0.0.1:8080";
  run.result.body_excerpt = "<h1>Service Unavailable</h1>";
  run.result.observations = {{ObservationId::kHttpPhaseSeconds, 0.001, "resolve"},
                             {ObservationId::kHttpPhaseSeconds, 0.002, "connect"},
                             {ObservationId::kHttpStatusCode, 503},
                             {ObservationId::kHttpRedirects, 0}};
  board_.Record(run);
  const auto entry = JournalEntryFor(run, *board_.Find(0));
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->address, "127.0.0.1:8080");
  EXPECT_EQ(entry->http_status, 503);
  EXPECT_EQ(entry->phases_json, R"({"connect":0.002,"resolve":0.001})");
  EXPECT_EQ(entry->body_excerpt, "<h1>Service Unavailable</h1>");
  EXPECT_EQ(entry->attempt_id, 1u);
}

TEST_F(FailureJournalTest, RedactsDetailAndBodyBeforeAnythingSeesThem) {
  ManualClock clock;
  CheckMetrics metrics;
  RunPublisher publisher(board_, metrics, clock);
  FailureJournal journal(store_.get());
  publisher.set_journal(&journal);
  publisher.set_redactor(
      std::make_shared<const Redactor>(std::vector<std::shared_ptr<const re2::RE2>>{
          std::make_shared<const re2::RE2>("hunter2[0-9]*")}));
  RunRecord run = MakeRun(0, Health::kUnhealthy, Health::kUnhealthy, 300, Health::kHealthy,
                          Transition::kChanged);
  run.result.detail = "body does not match: password=hunter2 ";
  run.result.body_excerpt = "{\"password\":\"hunter299\",\"ok\":false}";
  publisher.OnRun(run);
  const auto entries = Entries("api");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].detail, "body does not match: password=<redacted> ");
  EXPECT_EQ(entries[0].body_excerpt, "{\"password\":\"<redacted>\",\"ok\":false}");
  // The board (/status, /readyz, the page) gets the masked text too.
  EXPECT_EQ(board_.Find(0)->last->detail, "body does not match: password=<redacted> ");
  EXPECT_EQ(board_.Find(0)->history.back().detail, "body does not match: password=<redacted> ");
  // A result without a match passes unchanged.
  run.result.detail = "HTTP 503";
  run.finished_at = 310;
  publisher.OnRun(run);
  EXPECT_EQ(board_.Find(0)->last->detail, "HTTP 503");
}

TEST_F(FailureJournalTest, AFlappingCheckDoesNotEvictAnothersEntries) {
  FailureJournal journal(store_.get());
  auto feed = [&](const RunRecord& run) {
    board_.Record(run);
    journal.Record(run, *board_.Find(run.check_id));
  };
  feed(MakeRun(1, Health::kUnhealthy, Health::kUnhealthy, 10, std::nullopt, Transition::kChanged));
  feed(
      MakeRun(1, Health::kHealthy, Health::kHealthy, 20, Health::kUnhealthy, Transition::kChanged));
  for (int i = 0; i < 200; ++i) {
    const bool up = i % 2 == 1;
    feed(MakeRun(0, up ? Health::kHealthy : Health::kUnhealthy,
                 up ? Health::kHealthy : Health::kUnhealthy, 100 + i,
                 up ? Health::kUnhealthy : Health::kHealthy, Transition::kChanged));
  }
  EXPECT_EQ(Entries("api").size(), 5u);  // journal_per_check
  const auto db = Entries("db");
  ASSERT_EQ(db.size(), 2u);
  EXPECT_EQ(db[0].previous_state, "unhealthy");
  EXPECT_EQ(db[1].previous_state, "pending");
}

TEST_F(FailureJournalTest, WithoutAStoreNothingHappens) {
  FailureJournal journal(nullptr);
  const RunRecord run = MakeRun(0, Health::kUnhealthy, Health::kUnhealthy, 1, std::nullopt);
  board_.Record(run);
  journal.Record(run, *board_.Find(0));  // no crash, nothing to see
  SUCCEED();
}

TEST_F(FailureJournalTest, RunPublisherFeedsTheJournalAfterTheBoard) {
  ManualClock clock;
  CheckMetrics metrics;
  RunPublisher publisher(board_, metrics, clock);
  FailureJournal journal(store_.get());
  publisher.set_journal(&journal);
  publisher.OnRun(
      MakeRun(0, Health::kHealthy, Health::kHealthy, 1, std::nullopt, Transition::kChanged));
  publisher.OnRun(
      MakeRun(0, Health::kDegraded, Health::kDegraded, 2, Health::kHealthy, Transition::kChanged));
  publisher.OnRun(MakeRun(0, Health::kDegraded, Health::kDegraded, 3, Health::kDegraded));
  const auto entries = Entries("api");
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].attempt_id, 3u);
  EXPECT_EQ(entries[0].state, "degraded");
  EXPECT_EQ(entries[1].attempt_id, 2u);
  EXPECT_EQ(entries[1].previous_state, "healthy");
}

}  // namespace
}  // namespace hx
