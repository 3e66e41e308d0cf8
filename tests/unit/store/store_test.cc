// Store: against real SQLite files in throwaway directories. Open from an
// empty dir, restart keeps data, the journal's per-check bound (a flapping
// check does not evict another's entries), tombstones and pruning with a
// wall clock the test moves, and every failure mode at open or while
// running: corrupt file, newer schema, unwritable directory, full disk, a
// full queue, a writer stuck on a lock while the caller keeps enqueueing.

#include "store/store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "store/sqlite.h"
#include "support/daemon_process.h"
#include "util/log.h"

namespace hx::store {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr double kT0 = 1'765'000'000.0;  // 2025-12-06T05:46:40Z
constexpr int64_t kToday = 20'428;       // UnixDay(kT0)

// A wall clock the test moves by hand; safe to read from any thread.
struct FakeWall {
  std::atomic<double> now{kT0};
  std::function<double()> clock() {
    return [this] { return now.load(); };
  }
};

std::string ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// One integer from a query on a fresh connection of the test's own.
int64_t QueryFile(const std::string& path, const std::string& sql) {
  Db db;
  EXPECT_EQ(db.Open(path, SQLITE_OPEN_READWRITE), std::nullopt);
  std::string error;
  std::optional<int64_t> value = db.QueryInt(sql, &error);
  EXPECT_TRUE(value.has_value()) << sql << ": " << error;
  return value.value_or(-1);
}

JournalEntry Entry(const std::string& check, int i) {
  JournalEntry e;
  e.check = check;
  e.time = kT0 + i;
  e.state = "unhealthy";
  e.previous_state = i == 0 ? "healthy" : "";
  e.reason = "connect_refused";
  e.detail = "connect to 127.0.0.1:1 refused #" + std::to_string(i);
  e.duration = 0.25;
  e.phases_json = R"({"connect":0.001})";
  e.address = "127.0.0.1:1";
  e.http_status = i % 2 == 0 ? std::optional<int>(503) : std::nullopt;
  e.body_excerpt = std::string("\0body", 5);
  e.attempt_id = static_cast<uint64_t>(1000 + i);
  return e;
}

DailyAggregate Day(const std::string& check, int64_t day) {
  DailyAggregate d;
  d.check = check;
  d.day = day;
  d.attempts = 1440;
  d.results_healthy = 1430;
  d.results_degraded = 4;
  d.results_unhealthy = 6;
  d.seconds_healthy = 86'000;
  d.seconds_degraded = 100;
  d.seconds_unhealthy = 300;
  d.seconds_unknown = 0;
  d.latency_p50 = 0.012;
  d.latency_p95 = 0.040;
  d.latency_p99 = std::nullopt;
  d.longest_outage = 180;
  return d;
}

// The store's wall clock at kT0 unless a test moves its own: the days the
// tests write are near kToday, so pruning (history_days) keeps them.
StoreOptions Options(const std::string& dir, FakeWall* wall = nullptr) {
  static FakeWall fixed;
  StoreOptions options;
  options.dir = dir;
  options.flush_interval = std::chrono::milliseconds(20);
  options.wall_clock = (wall != nullptr ? wall : &fixed)->clock();
  return options;
}

class StoreTest : public ::testing::Test {
 protected:
  // Captures the log lines of `fn` (the store logs on stderr).
  template <typename Fn>
  std::string Logs(Fn&& fn) {
    log::Init(spdlog::level::info, log::Format::kLogfmt);
    ::testing::internal::CaptureStderr();
    fn();
    return ::testing::internal::GetCapturedStderr();
  }

  TempDir tmp_;
};

TEST_F(StoreTest, OpensAnEmptyDirectoryWithWalAndSchemaV1) {
  const std::string dir = tmp_.path() + "/a/b";  // created
  auto store = Store::Open(Options(dir));
  EXPECT_EQ(store->mode(), StoreMode::kPersistent);
  EXPECT_EQ(store->problem(), "");
  EXPECT_EQ(store->path(), dir + "/health_exporter.db");
  ASSERT_TRUE(fs::exists(store->path()));
  EXPECT_EQ(QueryFile(store->path(), "PRAGMA user_version"), 1);
  EXPECT_EQ(QueryFile(store->path(),
                      "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN "
                      "('checks', 'heartbeat', 'journal', 'daily')"),
            4);
  Db db;
  ASSERT_EQ(db.Open(store->path(), SQLITE_OPEN_READONLY), std::nullopt);
  Statement mode;
  ASSERT_EQ(mode.Prepare(db, "PRAGMA journal_mode"), std::nullopt);
  ASSERT_EQ(mode.Step(), SQLITE_ROW);
  EXPECT_EQ(mode.Text(0), "wal");
}

TEST_F(StoreTest, ARestartKeepsEveryKindOfRow) {
  HeartbeatRow beat{"backup", kT0 - 100, kT0 - 5, false, 3, "disk full"};
  {
    auto store = Store::Open(Options(tmp_.path()));
    ASSERT_EQ(store->mode(), StoreMode::kPersistent);
    EXPECT_TRUE(store->PutHeartbeat(beat));
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(store->AppendJournal(Entry("api", i)));
    EXPECT_TRUE(store->PutDaily(Day("api", kToday - 1)));
    EXPECT_TRUE(store->PutDaily(Day("api", kToday)));
    EXPECT_TRUE(store->SetChecks({"api", "backup"}));
    // No Flush(): the destructor commits what is queued.
  }
  auto store = Store::Open(Options(tmp_.path()));
  ASSERT_EQ(store->mode(), StoreMode::kPersistent);
  EXPECT_EQ(store->Heartbeats(), std::vector<HeartbeatRow>{beat});
  std::vector<JournalEntry> journal = store->Journal("api");
  ASSERT_EQ(journal.size(), 3u);
  EXPECT_EQ(journal[0], Entry("api", 2)) << "newest first";
  EXPECT_EQ(journal[2], Entry("api", 0));
  EXPECT_EQ(store->Journal("api", 1).size(), 1u);
  EXPECT_EQ(store->Daily("api", kToday - 1, kToday),
            (std::vector<DailyAggregate>{Day("api", kToday - 1), Day("api", kToday)}));
  EXPECT_EQ(store->Daily("api", kToday, kToday + 1).size(), 1u);
  EXPECT_EQ(store->AllDaily(0).size(), 2u);
  EXPECT_EQ(store->AllJournals().at("api").size(), 3u);
  EXPECT_EQ(store->Checks(), (std::vector<CheckRow>{{"api", 0}, {"backup", 0}}));
  EXPECT_EQ(store->IntegrityCheck(), "ok");
}

TEST_F(StoreTest, PutDailyReplacesTheDaysRow) {
  auto store = Store::Open(Options(tmp_.path()));
  DailyAggregate day = Day("api", kToday - 1);
  store->PutDaily(day);
  day.attempts = 7;
  store->PutDaily(day);
  ASSERT_TRUE(store->Flush());
  EXPECT_EQ(store->Daily("api", 0, kToday), std::vector<DailyAggregate>{day});
}

TEST_F(StoreTest, AFlappingCheckDoesNotEvictAnothersJournal) {
  StoreOptions options = Options(tmp_.path());
  options.journal_per_check = 5;
  auto store = Store::Open(options);
  for (int i = 0; i < 3; ++i) store->AppendJournal(Entry("rare", i));
  ASSERT_TRUE(store->Flush());
  for (int i = 0; i < 200; ++i) {
    store->AppendJournal(Entry("flappy", i));
    if (i % 50 == 0) store->Flush();  // several batches
  }
  ASSERT_TRUE(store->Flush());
  EXPECT_EQ(store->Journal("rare").size(), 3u);
  std::vector<JournalEntry> flappy = store->Journal("flappy");
  ASSERT_EQ(flappy.size(), 5u);
  EXPECT_EQ(flappy.front().attempt_id, 1199u);
  EXPECT_EQ(flappy.back().attempt_id, 1195u);
  EXPECT_EQ(QueryFile(store->path(), "SELECT count(*) FROM journal"), 8);
}

TEST_F(StoreTest, BodyAndDetailAreCutAtAUtf8Boundary) {
  auto store = Store::Open(Options(tmp_.path()));
  JournalEntry e = Entry("api", 0);
  e.body_excerpt = std::string(511, 'b') + "\xC3\xA9" + std::string(100, 'c');  // é across 512
  e.detail = std::string(5000, 'd');
  store->AppendJournal(e);
  ASSERT_TRUE(store->Flush());
  std::vector<JournalEntry> journal = store->Journal("api");
  ASSERT_EQ(journal.size(), 1u);
  EXPECT_EQ(journal[0].body_excerpt, std::string(511, 'b'));
  EXPECT_EQ(journal[0].detail.size(), Store::kMaxDetailBytes);
}

TEST_F(StoreTest, ARemovedCheckKeepsItsRowsThroughTheGraceThenLosesThem) {
  FakeWall wall;
  StoreOptions options = Options(tmp_.path(), &wall);
  options.removed_check_grace = 3600;
  auto store = Store::Open(options);
  for (const char* check : {"kept", "gone", "back"}) {
    store->AppendJournal(Entry(check, 0));
    store->PutDaily(Day(check, UnixDay(kT0)));
    store->PutHeartbeat(HeartbeatRow{check, kT0, kT0, true, std::nullopt, ""});
  }
  store->SetChecks({"kept", "gone", "back"});
  ASSERT_TRUE(store->Flush());

  wall.now = kT0 + 100;
  store->SetChecks({"kept"});
  ASSERT_TRUE(store->Flush());
  EXPECT_EQ(store->Checks(),
            (std::vector<CheckRow>{{"back", kT0 + 100}, {"gone", kT0 + 100}, {"kept", 0}}));

  wall.now = kT0 + 2000;
  store->SetChecks({"kept", "back"});  // back within the grace
  store->RequestMaintenance();
  ASSERT_TRUE(store->Flush());
  EXPECT_EQ(store->Journal("gone").size(), 1u) << "dropped before its grace ran out";

  wall.now = kT0 + 100 + 3600;
  store->RequestMaintenance();
  ASSERT_TRUE(store->Flush());
  EXPECT_EQ(store->Checks(), (std::vector<CheckRow>{{"back", 0}, {"kept", 0}}));
  EXPECT_TRUE(store->Journal("gone").empty());
  EXPECT_TRUE(store->Daily("gone", 0, kToday).empty());
  EXPECT_EQ(store->Heartbeats().size(), 2u);
  EXPECT_EQ(store->Journal("back").size(), 1u);
  EXPECT_EQ(QueryFile(store->path(), "SELECT count(*) FROM daily"), 2);
}

TEST_F(StoreTest, DaysOlderThanTheHistoryArePruned) {
  FakeWall wall;
  StoreOptions options = Options(tmp_.path(), &wall);
  options.history_days = 90;
  auto store = Store::Open(options);
  const int64_t today = UnixDay(kT0);
  for (int64_t day = today - 99; day <= today; ++day) store->PutDaily(Day("api", day));
  ASSERT_TRUE(store->Flush());
  EXPECT_EQ(store->AllDaily(0).size(), 100u);
  store->RequestMaintenance();
  ASSERT_TRUE(store->Flush());
  std::vector<DailyAggregate> days = store->AllDaily(0);
  ASSERT_EQ(days.size(), 90u) << "today and the 89 days before";
  EXPECT_EQ(days.front().day, today - 89);
  EXPECT_EQ(days.back().day, today);
}

TEST_F(StoreTest, AnUnwritableDirectoryRunsMemoryOnlyAndSaysSo) {
  const std::string file = tmp_.Write("plain-file", "x");
  std::unique_ptr<Store> store;
  const std::string logs = Logs([&] { store = Store::Open(Options(file + "/state")); });
  EXPECT_EQ(store->mode(), StoreMode::kMemoryOnly);
  EXPECT_THAT(store->problem(), HasSubstr("cannot create directory \"" + file + "/state\""));
  EXPECT_THAT(logs, HasSubstr("store unusable, running memory-only"));
  EXPECT_THAT(logs, HasSubstr(file + "/state/health_exporter.db"));
  // Everything still works, in memory.
  store->AppendJournal(Entry("api", 0));
  store->PutDaily(Day("api", kToday));
  ASSERT_TRUE(store->Flush());
  EXPECT_EQ(store->Journal("api").size(), 1u);
  EXPECT_EQ(store->Daily("api", kToday, kToday).size(), 1u);
}

TEST_F(StoreTest, AGarbageFileIsMovedAsideAndAFreshOneCreated) {
  for (const std::string& garbage :
       {std::string("short garbage"), std::string(64 * 1024, '\x5a')}) {
    TempDir dir;
    dir.Write("health_exporter.db", garbage);
    std::unique_ptr<Store> store;
    const std::string logs = Logs([&] { store = Store::Open(Options(dir.path())); });
    EXPECT_EQ(store->mode(), StoreMode::kPersistent);
    EXPECT_THAT(store->problem(), HasSubstr("the file is corrupt"));
    EXPECT_THAT(logs, HasSubstr("store file corrupt, moved aside; starting empty"));
    std::vector<std::string> aside;
    for (const std::string& name : FilesIn(dir.path())) {
      if (name.starts_with("health_exporter.db.corrupt-")) aside.push_back(name);
    }
    ASSERT_EQ(aside.size(), 1u);
    EXPECT_EQ(aside[0], "health_exporter.db.corrupt-20251206T054640Z");
    EXPECT_TRUE(ReadWhole(dir.path() + "/" + aside[0]) == garbage) << "the evidence is kept";
    EXPECT_THAT(store->problem(), HasSubstr(aside[0]));
    store->AppendJournal(Entry("api", 0));
    ASSERT_TRUE(store->Flush());
    EXPECT_EQ(store->Journal("api").size(), 1u);
  }
}

TEST_F(StoreTest, ABrokenPageBehindASoundHeaderIsFoundAtOpen) {
  {
    auto store = Store::Open(Options(tmp_.path()));
    for (int i = 0; i < 4000; ++i) {
      store->PutDaily(Day("check-" + std::to_string(i / 80), kToday - i % 80));
    }
    ASSERT_TRUE(store->Flush());
  }
  // Overwrite pages in the middle of the file, keep the header (page 1).
  const std::string path = tmp_.path() + "/health_exporter.db";
  const auto size = fs::file_size(path);
  ASSERT_GT(size, 8 * 4096u);
  {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(size / 2));
    const std::string junk(3 * 4096, '\x7f');
    file.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  std::unique_ptr<Store> store;
  const std::string logs = Logs([&] {
    store = Store::Open(Options(tmp_.path()));
    store->Flush();  // the writer's quick_check has run
  });
  EXPECT_EQ(store->mode(), StoreMode::kPersistent);
  EXPECT_THAT(store->problem(), HasSubstr("the file is corrupt (quick_check: "));
  EXPECT_THAT(logs, HasSubstr("store file corrupt, moved aside; starting empty"));
  EXPECT_TRUE(store->AllDaily(0).empty()) << "a fresh file";
  EXPECT_EQ(store->IntegrityCheck(), "ok");
}

TEST_F(StoreTest, ANewerSchemaIsLeftUntouchedAndTheStoreRunsMemoryOnly) {
  {
    auto store = Store::Open(Options(tmp_.path()));
    store->AppendJournal(Entry("api", 0));
  }
  const std::string path = tmp_.path() + "/health_exporter.db";
  {
    Db db;
    ASSERT_EQ(db.Open(path, SQLITE_OPEN_READWRITE), std::nullopt);
    ASSERT_EQ(db.Exec("PRAGMA user_version = 7"), std::nullopt);
  }
  const std::string before = ReadWhole(path);
  std::unique_ptr<Store> store;
  const std::string logs = Logs([&] { store = Store::Open(Options(tmp_.path())); });
  EXPECT_EQ(store->mode(), StoreMode::kMemoryOnly);
  EXPECT_THAT(store->problem(),
              HasSubstr("schema version 7 is newer than this binary knows (1); the file is left "
                        "untouched"));
  EXPECT_THAT(logs, HasSubstr("store unusable, running memory-only"));
  EXPECT_THAT(logs, HasSubstr("schema version 7"));
  store->AppendJournal(Entry("api", 1));
  ASSERT_TRUE(store->Flush());
  store.reset();
  EXPECT_EQ(ReadWhole(path), before);
  EXPECT_EQ(QueryFile(path, "SELECT count(*) FROM journal"), 1);
}

// A test-only v2: what the next real migration will look like.
const Migration kWithV2[] = {
    {1, Migrations()[0].sql},
    {2,
     "ALTER TABLE journal ADD COLUMN note TEXT NOT NULL DEFAULT '';"
     "CREATE TABLE maintenance (id INTEGER PRIMARY KEY, until REAL NOT NULL);"},
};

TEST_F(StoreTest, MigratesFromV1ToATestOnlyV2KeepingTheRows) {
  {
    auto store = Store::Open(Options(tmp_.path()));
    store->AppendJournal(Entry("api", 0));
  }
  StoreOptions options = Options(tmp_.path());
  options.migrations = kWithV2;
  std::unique_ptr<Store> store;
  const std::string logs = Logs([&] { store = Store::Open(options); });
  EXPECT_EQ(store->mode(), StoreMode::kPersistent);
  EXPECT_THAT(logs, HasSubstr("store schema migrated"));
  EXPECT_EQ(QueryFile(store->path(), "PRAGMA user_version"), 2);
  EXPECT_EQ(QueryFile(store->path(), "SELECT count(*) FROM journal WHERE note = ''"), 1);
  EXPECT_EQ(store->Journal("api").size(), 1u);
  store.reset();
  // And the v1 binary refuses the v2 file.
  store = Store::Open(Options(tmp_.path()));
  EXPECT_EQ(store->mode(), StoreMode::kMemoryOnly);
  EXPECT_THAT(store->problem(), HasSubstr("schema version 2 is newer than this binary knows (1)"));
}

TEST_F(StoreTest, AFailedMigrationIsRolledBackWhole) {
  {
    auto store = Store::Open(Options(tmp_.path()));
    store->AppendJournal(Entry("api", 0));
  }
  static const Migration kBroken[] = {
      {1, Migrations()[0].sql},
      {2, "CREATE TABLE half_done (x); ALTER TABLE no_such_table ADD COLUMN y;"},
  };
  StoreOptions options = Options(tmp_.path());
  options.migrations = kBroken;
  auto store = Store::Open(options);
  EXPECT_EQ(store->mode(), StoreMode::kMemoryOnly);
  EXPECT_THAT(store->problem(), HasSubstr("migration to version 2 failed"));
  store.reset();
  const std::string path = tmp_.path() + "/health_exporter.db";
  EXPECT_EQ(QueryFile(path, "PRAGMA user_version"), 1);
  EXPECT_EQ(QueryFile(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'half_done'"), 0);
  EXPECT_EQ(QueryFile(path, "SELECT count(*) FROM journal"), 1);
}

TEST_F(StoreTest, AFullDiskFailsTheBatchKeepsTheFileAndRecovers) {
  StoreOptions options = Options(tmp_.path());
  options.log_interval = std::chrono::seconds(0);
  auto store = Store::Open(options);
  store->AppendJournal(Entry("api", 0));
  ASSERT_TRUE(store->Flush());
  store.reset();

  // The file may not grow: a stand-in for ENOSPC that SQLite reports the same
  // way (SQLITE_FULL).
  options.max_page_count =
      static_cast<int64_t>(QueryFile(tmp_.path() + "/health_exporter.db", "PRAGMA page_count"));
  store = Store::Open(options);
  ASSERT_EQ(store->mode(), StoreMode::kPersistent) << store->problem();
  const std::string logs = Logs([&] {
    for (int i = 0; i < 500; ++i) store->PutDaily(Day("check-" + std::to_string(i), kToday));
    EXPECT_FALSE(store->Flush()) << "the batch cannot have been committed";
  });
  EXPECT_THAT(logs, HasSubstr("store writes failed and were rolled back"));
  EXPECT_THAT(logs, HasSubstr("database or disk is full"));
  EXPECT_EQ(store->stats().failed, 500u);
  EXPECT_EQ(store->mode(), StoreMode::kPersistent) << "a full disk is not a reason to forget";
  EXPECT_EQ(store->Journal("api").size(), 1u) << "what was on disk is still there";
  EXPECT_EQ(store->IntegrityCheck(), "ok");
  // Space comes back (the cap belongs to the connection: reopened without
  // it); writes resume.
  store.reset();
  options.max_page_count = 0;
  store = Store::Open(options);
  store->PutDaily(Day("api", kToday));
  EXPECT_TRUE(store->Flush());
  EXPECT_EQ(store->Daily("api", kToday, kToday).size(), 1u);
}

TEST_F(StoreTest, AFullQueueDropsCountsAndLogsWithoutBlocking) {
  StoreOptions options = Options(tmp_.path());
  options.queue_capacity = 10;
  options.batch_max = 1'000;
  options.flush_interval = std::chrono::milliseconds(60'000);
  options.log_interval = std::chrono::seconds(0);
  auto store = Store::Open(options);
  std::string logs = Logs([&] {
    int accepted = 0;
    for (int i = 0; i < 25; ++i) accepted += store->AppendJournal(Entry("api", i)) ? 1 : 0;
    EXPECT_EQ(accepted, 10);
    EXPECT_FALSE(store->Flush());
  });
  EXPECT_EQ(store->stats().dropped, 15u);
  EXPECT_EQ(store->stats().committed, 10u);
  EXPECT_THAT(logs, HasSubstr("store queue full, writes dropped"));
  EXPECT_THAT(logs, HasSubstr("dropped=15"));
  EXPECT_TRUE(store->AppendJournal(Entry("api", 99)));
  EXPECT_TRUE(store->Flush()) << "Flush() reports the losses once";
}

TEST_F(StoreTest, EnqueueingNeverWaitsForAWriterStuckOnALock) {
  StoreOptions options = Options(tmp_.path());
  options.busy_timeout = std::chrono::milliseconds(1'500);
  options.flush_interval = std::chrono::milliseconds(1);
  auto store = Store::Open(options);
  ASSERT_EQ(store->mode(), StoreMode::kPersistent);
  // Another connection holds the write lock: each of the writer's batches
  // waits 1.5 s in BEGIN IMMEDIATE.
  Db other;
  ASSERT_EQ(other.Open(store->path(), SQLITE_OPEN_READWRITE), std::nullopt);
  ASSERT_EQ(other.Exec("BEGIN IMMEDIATE"), std::nullopt);
  store->AppendJournal(Entry("api", 0));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the writer is now waiting
  auto worst = std::chrono::nanoseconds(0);
  for (int i = 1; i < 2'000; ++i) {
    const auto start = std::chrono::steady_clock::now();
    store->AppendJournal(Entry("api", i));
    worst = std::max(worst, std::chrono::steady_clock::now() - start);
  }
  EXPECT_LT(worst, std::chrono::milliseconds(100)) << "an enqueue waited for the disk";
  EXPECT_EQ(store->stats().committed, 0u);
  ASSERT_EQ(other.Exec("COMMIT"), std::nullopt);
  store->Flush();
  EXPECT_EQ(store->Journal("api").size(), 50u);
}

TEST_F(StoreTest, ReadersOnOtherThreadsSeeCommittedStateWhileTheWriterWrites) {
  auto store = Store::Open(Options(tmp_.path()));
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  std::atomic<int> reads{0};
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!stop) {
        const size_t n = store->Journal("api", 50).size();
        EXPECT_LE(n, 50u);
        store->AllDaily(0);
        ++reads;
      }
    });
  }
  for (int i = 0; i < 3'000; ++i) {
    store->AppendJournal(Entry("api", i));
    store->PutDaily(Day("api", kToday - i % 80));
  }
  store->Flush();
  stop = true;
  for (auto& thread : readers) thread.join();
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(store->Journal("api").size(), 50u);
  EXPECT_EQ(store->stats().failed, 0u);
}

// Voluntary context switches of the store's writer thread (named
// "hx-store-writer"; a sanitizer's own threads are not counted).
uint64_t WriterSwitches() {
  uint64_t total = 0;
  for (const auto& task : fs::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name != "hx-store-writer") continue;
    std::ifstream status(task.path() / "status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.starts_with("voluntary_ctxt_switches:")) total += std::stoull(line.substr(24));
    }
  }
  return total;
}

TEST_F(StoreTest, AnIdleWriterSleeps) {
  auto store = Store::Open(Options(tmp_.path()));  // flush_interval 20 ms
  store->AppendJournal(Entry("api", 0));
  ASSERT_TRUE(store->Flush());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const uint64_t before = WriterSwitches();
  ASSERT_GT(before, 0u) << "no thread named hx-store-writer";
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_LE(WriterSwitches() - before, 2u) << "the writer woke with nothing to write";
  // And still writes when asked.
  store->AppendJournal(Entry("api", 1));
  ASSERT_TRUE(store->Flush());
  EXPECT_EQ(store->Journal("api").size(), 2u);
}

TEST_F(StoreTest, AnEmptyPathIsMemoryOnlyOnPurpose) {
  auto store = Store::Open(Options(""));
  EXPECT_EQ(store->mode(), StoreMode::kMemoryOnly);
  EXPECT_EQ(store->problem(), "no storage path configured");
  store->PutHeartbeat(HeartbeatRow{"b", 1, 2, true, std::nullopt, ""});
  ASSERT_TRUE(store->Flush());
  EXPECT_EQ(store->Heartbeats().size(), 1u);
}

}  // namespace
}  // namespace hx::store
