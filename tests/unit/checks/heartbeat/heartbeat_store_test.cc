// HeartbeatStore over the daemon's store: a restart keeps the state, every
// change reaches the store without waiting for it, removed checks resume
// within the grace (the store's tombstones across restarts), the file of the
// previous version is imported once, and concurrent pings leave the store with
// the last ping of each check. Without a store, or with a memory-only one,
// heartbeats work in memory.

#include "checks/heartbeat/heartbeat_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "checks/heartbeat/heartbeat_check.h"
#include "store/store.h"
#include "support/daemon_process.h"

namespace hx {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;

// Specs are only used as identities by the store.
const CheckSpec* FakeSpec(int i) { return reinterpret_cast<const CheckSpec*>(0x1000 + 16 * i); }

// A wall clock the test moves by hand; safe to read from any thread.
struct FakeWall {
  std::atomic<double> now{1'700'000'000.0};
  WallClock clock() {
    return [this] { return now.load(); };
  }
};

std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// The daemon's store under `dir`, on the test's wall clock (tombstones and
// pruning follow it).
std::unique_ptr<store::Store> OpenStore(const std::string& dir, FakeWall& wall) {
  store::StoreOptions options;
  options.dir = dir;
  options.wall_clock = wall.clock();
  options.flush_interval = std::chrono::milliseconds(10);
  return store::Store::Open(options);
}

TEST(HeartbeatStoreTest, RoundTripSurvivesARestart) {
  TempDir dir;
  FakeWall wall;
  {
    auto db = OpenStore(dir.path(), wall);
    HeartbeatStore store(db.get(), wall.clock());
    store.Load();
    store.Watch({{"backup", FakeSpec(1)}, {"report", FakeSpec(2)}});
    wall.now = 1'700'000'100.5;
    ASSERT_TRUE(store.Record("backup", true, "ignored for a success"));
    wall.now = 1'700'000'200.25;
    ASSERT_TRUE(store.Record("report", false, "disk full"));
  }  // the store commits what is queued when it closes
  EXPECT_EQ(FilesIn(dir.path()), std::vector<std::string>{"health_exporter.db"})
      << "no heartbeats.json any more";

  wall.now = 1'700'009'999.0;
  auto db = OpenStore(dir.path(), wall);
  HeartbeatStore reloaded(db.get(), wall.clock());
  reloaded.Load();
  reloaded.Watch({{"backup", FakeSpec(1)}, {"report", FakeSpec(2)}});
  std::optional<HeartbeatRecord> backup = reloaded.Find("backup");
  ASSERT_TRUE(backup.has_value());
  EXPECT_DOUBLE_EQ(backup->watched_since, 1'700'000'000.0) << "the grace period restarted";
  EXPECT_DOUBLE_EQ(backup->last_ping, 1'700'000'100.5);
  EXPECT_TRUE(backup->last_ok);
  EXPECT_EQ(backup->detail, "");
  std::optional<HeartbeatRecord> report = reloaded.Find("report");
  ASSERT_TRUE(report.has_value());
  EXPECT_DOUBLE_EQ(report->last_ping, 1'700'000'200.25);
  EXPECT_FALSE(report->last_ok);
  EXPECT_EQ(report->detail, "disk full");
}

TEST(HeartbeatStoreTest, EveryChangeIsQueuedForTheStore) {
  TempDir dir;
  FakeWall wall;
  auto db = OpenStore(dir.path(), wall);
  HeartbeatStore store(db.get(), wall.clock());
  store.Load();
  store.Watch({{"job", FakeSpec(1)}});
  ASSERT_TRUE(db->Flush());
  // The grace period's start is stored before any ping.
  EXPECT_THAT(db->Heartbeats(),
              ElementsAre(store::HeartbeatRow{"job", 1'700'000'000.0, 0, false, std::nullopt, ""}));
  wall.now = 1'700'000'005.0;
  ASSERT_TRUE(store.Record("job", false, "exit 3"));
  ASSERT_TRUE(db->Flush());
  EXPECT_THAT(db->Heartbeats(),
              ElementsAre(store::HeartbeatRow{"job", 1'700'000'000.0, 1'700'000'005.0, false,
                                              std::nullopt, "exit 3"}));
  // Unchanged names write nothing on a later Watch (a reload).
  const uint64_t enqueued = db->stats().enqueued;
  store.Watch({{"job", FakeSpec(2)}});
  EXPECT_EQ(db->stats().enqueued, enqueued);
}

TEST(HeartbeatStoreTest, WatchStartsGraceForNewNamesAndForgetsRemovedOnes) {
  FakeWall wall;
  HeartbeatStore store(nullptr, wall.clock());
  store.Watch({{"a", FakeSpec(1)}, {"b", FakeSpec(2)}});
  ASSERT_TRUE(store.Record("a", true, ""));
  wall.now = wall.now + 50;
  store.Watch({{"a", FakeSpec(3)}, {"c", FakeSpec(4)}});
  EXPECT_EQ(store.Find("b"), std::nullopt);
  ASSERT_TRUE(store.Find("a").has_value());
  EXPECT_TRUE(store.Find("a")->pinged());
  ASSERT_TRUE(store.Find("c").has_value());
  EXPECT_DOUBLE_EQ(store.Find("c")->watched_since, wall.now.load());
  EXPECT_FALSE(store.Find("c")->pinged());
  EXPECT_EQ(store.NameOf(FakeSpec(3)), "a");
  EXPECT_EQ(store.NameOf(FakeSpec(1)), std::nullopt) << "old bindings must go";
  EXPECT_FALSE(store.Record("b", true, "")) << "a name no longer watched";
  EXPECT_FALSE(store.Record("unknown", true, ""));
}

// CheckServices::ChecksWillRun calls Store::SetChecks with every configured
// name; the test does the same by hand.
TEST(HeartbeatStoreTest, ARemovedCheckGetsItsRecordBackWithinTheGracePeriod) {
  TempDir dir;
  FakeWall wall;
  const double start = wall.now.load();
  {
    auto db = OpenStore(dir.path(), wall);
    HeartbeatStore store(db.get(), wall.clock());
    store.Load();
    db->SetChecks({"a", "b"});
    store.Watch({{"a", FakeSpec(1)}, {"b", FakeSpec(2)}});
    ASSERT_TRUE(store.Record("b", false, "disk full"));
    db->SetChecks({"a"});  // b removed
    store.Watch({{"a", FakeSpec(1)}});
    EXPECT_EQ(store.Find("b"), std::nullopt);
    EXPECT_FALSE(store.Record("b", true, "")) << "a removed check takes no pings";
  }
  // Across a restart, just inside the grace period: the store kept b's row.
  wall.now = start + HeartbeatStore::kRemovedRecordGrace - 1;
  {
    auto db = OpenStore(dir.path(), wall);
    HeartbeatStore store(db.get(), wall.clock());
    store.Load();
    db->SetChecks({"a", "b"});
    store.Watch({{"a", FakeSpec(1)}, {"b", FakeSpec(2)}});
    ASSERT_TRUE(store.Find("b").has_value());
    EXPECT_FALSE(store.Find("b")->last_ok);
    EXPECT_EQ(store.Find("b")->detail, "disk full");
    EXPECT_DOUBLE_EQ(store.Find("b")->watched_since, start);

    // Removed again; past the grace period (in one run) it is forgotten.
    db->SetChecks({"a"});
    store.Watch({{"a", FakeSpec(1)}});
    wall.now = wall.now + HeartbeatStore::kRemovedRecordGrace;
    store.Watch({{"a", FakeSpec(1)}});
    db->SetChecks({"a", "b"});
    store.Watch({{"a", FakeSpec(1)}, {"b", FakeSpec(2)}});
    ASSERT_TRUE(store.Find("b").has_value());
    EXPECT_FALSE(store.Find("b")->pinged());
    EXPECT_DOUBLE_EQ(store.Find("b")->watched_since, wall.now.load());
    ASSERT_TRUE(store.Record("b", false, "again"));
    db->SetChecks({"a"});
    store.Watch({{"a", FakeSpec(1)}});
  }
  // Past the grace across a restart: the store's pruning at open dropped it.
  wall.now = wall.now + HeartbeatStore::kRemovedRecordGrace + 1;
  auto db = OpenStore(dir.path(), wall);
  ASSERT_TRUE(db->Flush());
  HeartbeatStore store(db.get(), wall.clock());
  store.Load();
  store.Watch({{"a", FakeSpec(1)}, {"b", FakeSpec(2)}});
  ASSERT_TRUE(store.Find("b").has_value());
  EXPECT_FALSE(store.Find("b")->pinged()) << "starts over";
  EXPECT_DOUBLE_EQ(store.Find("b")->watched_since, wall.now.load());
}

TEST(HeartbeatStoreTest, SuccessClearsTheFailureDetail) {
  FakeWall wall;
  HeartbeatStore store(nullptr, wall.clock());
  store.Watch({{"job", nullptr}});
  ASSERT_TRUE(store.Record("job", false, "exit 3"));
  EXPECT_EQ(store.Find("job")->detail, "exit 3");
  ASSERT_TRUE(store.Record("job", true, "whatever"));
  EXPECT_TRUE(store.Find("job")->last_ok);
  EXPECT_EQ(store.Find("job")->detail, "");
}

TEST(HeartbeatStoreTest, AMemoryOnlyStoreStillServesHeartbeats) {
  FakeWall wall;
  store::StoreOptions options;  // no directory: memory-only on purpose
  options.wall_clock = wall.clock();
  auto db = store::Store::Open(options);
  ASSERT_EQ(db->mode(), store::StoreMode::kMemoryOnly);
  HeartbeatStore store(db.get(), wall.clock());
  store.Load();
  store.Watch({{"job", nullptr}});
  ASSERT_TRUE(store.Record("job", false, "exit 3"));
  EXPECT_EQ(store.Find("job")->detail, "exit 3");
  ASSERT_TRUE(db->Flush());
  EXPECT_EQ(db->Heartbeats().size(), 1u);
}

// The one-time import through the service, with the file a daemon of the
// previous version wrote (tests/testdata/heartbeats/README.md).
TEST(HeartbeatStoreTest, TheServiceImportsThePreviousVersionsFileOnce) {
  TempDir dir;
  FakeWall wall;
  const double removed_at = 1796548508.5483837;  // old-job's, in the file
  wall.now = removed_at + 3600;
  const std::string json = dir.path() + "/heartbeats.json";
  fs::copy_file(std::string(HX_TESTDATA) + "/heartbeats/heartbeats-v1.json", json);
  {
    auto db = OpenStore(dir.path(), wall);
    auto store = std::make_shared<HeartbeatStore>(db.get(), wall.clock());
    HeartbeatService service(store, dir.path());
    EXPECT_EQ(service.Open(), std::nullopt);
    EXPECT_FALSE(fs::exists(json));
    EXPECT_TRUE(fs::exists(json + ".imported"));
    store->Watch({{"nightly-backup", nullptr}, {"db-dump", nullptr}, {"weekly-report", nullptr}});
    ASSERT_TRUE(store->Find("nightly-backup").has_value());
    EXPECT_DOUBLE_EQ(store->Find("nightly-backup")->last_ping, 1796548507.1512287);
    EXPECT_TRUE(store->Find("nightly-backup")->last_ok);
    EXPECT_EQ(store->Find("db-dump")->detail,
              "pg_dump: connection to server on socket \"/run/postgresql/.s.PGSQL.5432\" failed: "
              "No such file or directory");
    EXPECT_FALSE(store->Find("weekly-report")->pinged());
    EXPECT_DOUBLE_EQ(store->Find("weekly-report")->watched_since, 1796548501.063423);
    EXPECT_EQ(store->Find("old-job"), std::nullopt) << "removed in the file, still removed";
    // Removed an hour before: back within the grace, with its last ping.
    store->Watch({{"old-job", nullptr}});
    ASSERT_TRUE(store->Find("old-job").has_value());
    EXPECT_DOUBLE_EQ(store->Find("old-job")->last_ping, 1796548507.2277887);
    wall.now = wall.now + 10;
    ASSERT_TRUE(store->Record("old-job", false, "after the import"));
  }
  // A second start imports nothing (the file is gone) and has it all.
  auto db = OpenStore(dir.path(), wall);
  auto store = std::make_shared<HeartbeatStore>(db.get(), wall.clock());
  HeartbeatService service(store, dir.path());
  EXPECT_EQ(service.Open(), std::nullopt);
  store->Watch({{"old-job", nullptr}, {"db-dump", nullptr}});
  EXPECT_EQ(store->Find("old-job")->detail, "after the import");
  EXPECT_FALSE(store->Find("db-dump")->last_ok);
  EXPECT_FALSE(fs::exists(json)) << "nothing writes the old file any more";
  EXPECT_TRUE(fs::exists(json + ".imported"));
}

// Pings from many threads while the loop thread reads: the reader sees
// consistent records throughout, and the store ends with each check's last
// ping (writes reach its queue in the order the records changed).
TEST(HeartbeatStoreTest, ConcurrentPingsLeaveTheStoreWithTheLastPingOfEach) {
  TempDir dir;
  FakeWall wall;
  auto db = OpenStore(dir.path(), wall);
  HeartbeatStore store(db.get(), wall.clock());
  constexpr int kThreads = 8;
  constexpr int kPingsPerThread = 200;
  std::vector<std::pair<std::string, const CheckSpec*>> watched;
  // Two threads per check, so pings of one check race each other.
  for (int t = 0; t < kThreads / 2; ++t) watched.emplace_back("job" + std::to_string(t), nullptr);
  store.Watch(watched);

  std::atomic<bool> done{false};
  std::atomic<int> inconsistent{0};
  std::thread store_reader([&] {
    while (!done.load()) {
      for (const auto& [name, spec] : watched) {
        std::optional<HeartbeatRecord> record = store.Find(name);
        // A failed ping always carries its detail; a success never does.
        if (!record || (record->pinged() && record->last_ok != record->detail.empty())) {
          ++inconsistent;
        }
      }
    }
  });
  std::vector<std::thread> pingers;
  for (int t = 0; t < kThreads; ++t) {
    pingers.emplace_back([&, t] {
      for (int i = 0; i < kPingsPerThread; ++i) {
        const bool ok = i % 3 == 0;
        EXPECT_TRUE(
            store.Record(watched[t / 2].first, ok,
                         ok ? "" : "thread " + std::to_string(t) + " ping " + std::to_string(i)));
      }
    });
  }
  for (auto& p : pingers) p.join();
  done = true;
  store_reader.join();
  EXPECT_EQ(inconsistent.load(), 0);
  ASSERT_TRUE(db->Flush());
  const std::vector<store::HeartbeatRow> rows = db->Heartbeats();
  ASSERT_EQ(rows.size(), watched.size());
  for (const store::HeartbeatRow& row : rows) {
    const std::optional<HeartbeatRecord> record = store.Find(row.check);
    ASSERT_TRUE(record.has_value()) << row.check;
    EXPECT_EQ(row.last_ok, record->last_ok) << row.check;
    EXPECT_EQ(row.detail, record->detail) << row.check << ": the store went back to an older ping";
  }
}

}  // namespace
}  // namespace hx
