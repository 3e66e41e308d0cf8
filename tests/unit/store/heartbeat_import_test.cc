// ImportHeartbeatJson: the heartbeat state file written by today's
// HeartbeatStore (the real writer, so the format is today's) moves into the
// store once, the file is renamed, an import never goes back over a newer
// row, and a corrupt file or a memory-only store keep the evidence.

#include "store/heartbeat_import.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>

#include "checks/heartbeat/heartbeat_store.h"
#include "support/daemon_process.h"

namespace hx::store {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const CheckSpec* FakeSpec(int i) { return reinterpret_cast<const CheckSpec*>(0x1000 + 16 * i); }

// Writes <dir>/heartbeats.json with HeartbeatStore: "backup" pinged ok,
// "report" failed, "old" removed an hour ago, "fresh" never pinged.
void WriteTodaysFile(const std::string& dir) {
  std::atomic<double> now{1'700'000'000.0};
  HeartbeatStore legacy(dir, [&] { return now.load(); });
  legacy.Watch({{"backup", FakeSpec(1)}, {"report", FakeSpec(2)}, {"old", FakeSpec(3)}});
  now = 1'700'000'100.5;
  ASSERT_TRUE(legacy.Record("backup", true, ""));
  now = 1'700'000'200.25;
  ASSERT_TRUE(legacy.Record("report", false, "disk full"));
  ASSERT_TRUE(legacy.Record("old", true, ""));
  now = 1'700'000'300.0;
  legacy.Watch({{"backup", FakeSpec(1)}, {"report", FakeSpec(2)}, {"fresh", FakeSpec(4)}});
  ASSERT_EQ(legacy.Save(), std::nullopt);
}

// The store's clock shortly after the file was written: the removed check is
// still within its grace (24 h), so it is kept, tombstone and all.
StoreOptions Options(const std::string& dir) {
  StoreOptions options;
  options.dir = dir;
  options.wall_clock = [] { return 1'700'000'400.0; };
  options.flush_interval = std::chrono::milliseconds(20);
  return options;
}

TEST(HeartbeatImportTest, TodaysFileMovesIntoTheStoreOnce) {
  TempDir dir;
  WriteTodaysFile(dir.path());
  const std::string json = dir.path() + "/heartbeats.json";
  ASSERT_TRUE(fs::exists(json));
  {
    auto store = Store::Open(Options(dir.path()));
    HeartbeatImport result = ImportHeartbeatJson(*store, json);
    EXPECT_EQ(result.error, std::nullopt);
    EXPECT_EQ(result.imported, 4u);
    EXPECT_FALSE(fs::exists(json));
    EXPECT_TRUE(fs::exists(json + ".imported"));
  }
  // After a restart, from the store alone.
  auto store = Store::Open(Options(dir.path()));
  const std::vector<HeartbeatRow> rows = store->Heartbeats();
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0],
            (HeartbeatRow{"backup", 1'700'000'000.0, 1'700'000'100.5, true, std::nullopt, ""}));
  EXPECT_EQ(rows[1], (HeartbeatRow{"fresh", 1'700'000'300.0, 0, false, std::nullopt, ""}));
  EXPECT_EQ(rows[2],
            (HeartbeatRow{"old", 1'700'000'000.0, 1'700'000'200.25, true, std::nullopt, ""}));
  EXPECT_EQ(rows[3], (HeartbeatRow{"report", 1'700'000'000.0, 1'700'000'200.25, false, std::nullopt,
                                   "disk full"}));
  EXPECT_EQ(
      store->Checks(),
      (std::vector<CheckRow>{{"backup", 0}, {"fresh", 0}, {"old", 1'700'000'300.0}, {"report", 0}}))
      << "the removed check keeps its tombstone time";
}

TEST(HeartbeatImportTest, AnImportNeverGoesBackOverANewerRow) {
  TempDir dir;
  WriteTodaysFile(dir.path());
  auto store = Store::Open(Options(dir.path()));
  HeartbeatRow newer{"report", 1'700'000'000.0, 1'800'000'000.0, true, 0, ""};
  store->PutHeartbeat(newer);
  ASSERT_TRUE(store->Flush());
  HeartbeatImport result = ImportHeartbeatJson(*store, dir.path() + "/heartbeats.json");
  EXPECT_EQ(result.error, std::nullopt);
  std::vector<HeartbeatRow> rows = store->Heartbeats();
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[3], newer);
}

TEST(HeartbeatImportTest, ACorruptFileIsMovedAsideAndReported) {
  TempDir dir;
  const std::string json = dir.Write("heartbeats.json", "{\"version\": 1, \"checks\": [");
  auto store = Store::Open(Options(dir.path()));
  HeartbeatImport result = ImportHeartbeatJson(*store, json);
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(*result.error,
            "\"" + json + "\" is corrupt: not valid JSON (moved to " + json + ".corrupt)");
  EXPECT_TRUE(fs::exists(json + ".corrupt"));
  EXPECT_TRUE(store->Heartbeats().empty());
}

TEST(HeartbeatImportTest, AMemoryOnlyStoreLeavesTheFileForTheNextStart) {
  TempDir dir;
  WriteTodaysFile(dir.path());
  const std::string json = dir.path() + "/heartbeats.json";
  // Made memory-only by a storage path it cannot create.
  const std::string file = dir.Write("plain-file", "x");
  auto store = Store::Open(Options(file + "/state"));
  ASSERT_EQ(store->mode(), StoreMode::kMemoryOnly);
  HeartbeatImport result = ImportHeartbeatJson(*store, json);
  ASSERT_TRUE(result.error.has_value());
  EXPECT_THAT(*result.error, HasSubstr("is kept and imported at a later start"));
  EXPECT_TRUE(fs::exists(json));
  EXPECT_EQ(store->Heartbeats().size(), 4u) << "this run is still served from it";
}

}  // namespace
}  // namespace hx::store
