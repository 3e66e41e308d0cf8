// ImportHeartbeatJson: the heartbeat state file of the versions before the
// store (tests/testdata/heartbeats/heartbeats-v1.json, written by a real
// daemon of that version) moves into the store once, the file is renamed, an
// import never goes back over a newer row, and a corrupt file or a
// memory-only store keep the evidence.

#include "store/heartbeat_import.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/daemon_process.h"

namespace hx::store {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// The fixture's times (see tests/testdata/heartbeats/README.md).
constexpr double kWatchedSince = 1796548501.063423;
constexpr double kBackupPing = 1796548507.1512287;
constexpr double kOldJobPing = 1796548507.2277887;
constexpr double kDbDumpPing = 1796548508.3897035;
constexpr double kOldJobRemoved = 1796548508.5483837;
constexpr const char* kDbDumpDetail =
    "pg_dump: connection to server on socket \"/run/postgresql/.s.PGSQL.5432\" failed: No such "
    "file or directory";

std::string Fixture() {
  std::ifstream in(std::string(HX_TESTDATA) + "/heartbeats/heartbeats-v1.json", std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// <dir>/heartbeats.json as the previous version left it.
void WriteTodaysFile(const std::string& dir) {
  const std::string text = Fixture();
  ASSERT_FALSE(text.empty());
  std::ofstream(dir + "/heartbeats.json", std::ios::binary) << text;
}

// The store's clock an hour after the file was written: the removed check is
// still within its grace (24 h), so it is kept, tombstone and all.
StoreOptions Options(const std::string& dir) {
  StoreOptions options;
  options.dir = dir;
  options.wall_clock = [] { return kOldJobRemoved + 3600; };
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
  EXPECT_EQ(rows[0], (HeartbeatRow{"db-dump", kWatchedSince, kDbDumpPing, false, std::nullopt,
                                   kDbDumpDetail}));
  EXPECT_EQ(rows[1],
            (HeartbeatRow{"nightly-backup", kWatchedSince, kBackupPing, true, std::nullopt, ""}));
  EXPECT_EQ(rows[2], (HeartbeatRow{"old-job", kWatchedSince, kOldJobPing, true, std::nullopt, ""}));
  EXPECT_EQ(rows[3], (HeartbeatRow{"weekly-report", kWatchedSince, 0, false, std::nullopt, ""}));
  EXPECT_EQ(store->Checks(), (std::vector<CheckRow>{{"db-dump", 0},
                                                    {"nightly-backup", 0},
                                                    {"old-job", kOldJobRemoved},
                                                    {"weekly-report", 0}}))
      << "the removed check keeps its tombstone time";
}

TEST(HeartbeatImportTest, AnImportNeverGoesBackOverANewerRow) {
  TempDir dir;
  WriteTodaysFile(dir.path());
  auto store = Store::Open(Options(dir.path()));
  HeartbeatRow newer{"db-dump", kWatchedSince, kDbDumpPing + 60, true, 0, ""};
  store->PutHeartbeat(newer);
  ASSERT_TRUE(store->Flush());
  HeartbeatImport result = ImportHeartbeatJson(*store, dir.path() + "/heartbeats.json");
  EXPECT_EQ(result.error, std::nullopt);
  std::vector<HeartbeatRow> rows = store->Heartbeats();
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0], newer);
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

// The shapes HeartbeatStore::Load refused before the store: each is moved
// aside whole and nothing is imported.
class CorruptFileTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CorruptFileTest, NothingIsImportedAndTheEvidenceIsKept) {
  TempDir dir;
  const std::string json = dir.Write("heartbeats.json", GetParam());
  auto store = Store::Open(Options(dir.path()));
  HeartbeatImport result = ImportHeartbeatJson(*store, json);
  ASSERT_TRUE(result.error.has_value());
  EXPECT_THAT(*result.error, HasSubstr("is corrupt"));
  std::ifstream aside(json + ".corrupt", std::ios::binary);
  std::ostringstream text;
  text << aside.rdbuf();
  EXPECT_EQ(text.str(), GetParam()) << "the evidence must be kept";
  EXPECT_FALSE(fs::exists(json));
  EXPECT_TRUE(store->Heartbeats().empty());
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, CorruptFileTest,
    ::testing::Values("", "{\"version\":1,\"checks\":{\"job\":{\"last_ping\":", "\x01\x02garbage",
                      "[]", "{\"version\":2,\"checks\":{}}", "{\"version\":1}",
                      R"({"version":1,"checks":{"job":{"watched_since":1,"last_ping":"x",)"
                      R"("last_ok":true,"detail":""}}})",
                      R"({"version":1,"checks":{"job":{"watched_since":1,"last_ping":-5,)"
                      R"("last_ok":true,"detail":""}}})",
                      R"({"version":1,"checks":{"job":{"watched_since":1,"last_ping":5,)"
                      R"("last_ok":"yes","detail":""}}})",
                      std::string(4 * 1024 * 1024 + 1, ' ')));

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
