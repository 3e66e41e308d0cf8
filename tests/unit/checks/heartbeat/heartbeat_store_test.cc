// HeartbeatStore: persistence round trip, atomic replacement of the file,
// corrupt and missing files, watching, and concurrent pings while reading.

#include "checks/heartbeat/heartbeat_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "support/daemon_process.h"

namespace hx {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// Specs are only used as identities by the store.
const CheckSpec* FakeSpec(int i) { return reinterpret_cast<const CheckSpec*>(0x1000 + 16 * i); }

// A wall clock the test moves by hand; safe to read from any thread.
struct FakeWall {
  std::atomic<double> now{1'700'000'000.0};
  WallClock clock() {
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

TEST(HeartbeatStoreTest, RoundTripSurvivesARestart) {
  TempDir dir;
  FakeWall wall;
  const std::string state_dir = dir.path() + "/state";  // created on the first save
  {
    HeartbeatStore store(state_dir, wall.clock());
    EXPECT_EQ(store.Load(), std::nullopt);
    store.Watch({{"backup", FakeSpec(1)}, {"report", FakeSpec(2)}});
    wall.now = 1'700'000'100.5;
    ASSERT_TRUE(store.Record("backup", true, "ignored for a success"));
    wall.now = 1'700'000'200.25;
    ASSERT_TRUE(store.Record("report", false, "disk full"));
    EXPECT_EQ(store.last_save_error(), std::nullopt);
  }
  EXPECT_EQ(FilesIn(state_dir), std::vector<std::string>{"heartbeats.json"});

  wall.now = 1'700'009'999.0;
  HeartbeatStore reloaded(state_dir, wall.clock());
  EXPECT_EQ(reloaded.Load(), std::nullopt);
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

TEST(HeartbeatStoreTest, WatchStartsGraceForNewNamesAndForgetsRemovedOnes) {
  TempDir dir;
  FakeWall wall;
  HeartbeatStore store(dir.path(), wall.clock());
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

TEST(HeartbeatStoreTest, ARemovedCheckGetsItsRecordBackWithinTheGracePeriod) {
  TempDir dir;
  FakeWall wall;
  const double start = wall.now.load();
  {
    HeartbeatStore store(dir.path(), wall.clock());
    store.Watch({{"a", FakeSpec(1)}, {"b", FakeSpec(2)}});
    ASSERT_TRUE(store.Record("b", false, "disk full"));
    store.Watch({{"a", FakeSpec(1)}});  // b removed
    EXPECT_EQ(store.Find("b"), std::nullopt);
    EXPECT_FALSE(store.Record("b", true, "")) << "a removed check takes no pings";
    ASSERT_EQ(store.Save(), std::nullopt);
  }
  // Across a restart, just inside the grace period.
  wall.now = start + HeartbeatStore::kRemovedRecordGrace - 1;
  HeartbeatStore store(dir.path(), wall.clock());
  ASSERT_EQ(store.Load(), std::nullopt);
  store.Watch({{"a", FakeSpec(1)}, {"b", FakeSpec(2)}});
  ASSERT_TRUE(store.Find("b").has_value());
  EXPECT_FALSE(store.Find("b")->last_ok);
  EXPECT_EQ(store.Find("b")->detail, "disk full");
  EXPECT_DOUBLE_EQ(store.Find("b")->watched_since, start);

  // Removed again; past the grace period it is forgotten.
  store.Watch({{"a", FakeSpec(1)}});
  wall.now = wall.now + HeartbeatStore::kRemovedRecordGrace;
  store.Watch({{"a", FakeSpec(1)}});
  store.Watch({{"a", FakeSpec(1)}, {"b", FakeSpec(2)}});
  ASSERT_TRUE(store.Find("b").has_value());
  EXPECT_FALSE(store.Find("b")->pinged());
  EXPECT_DOUBLE_EQ(store.Find("b")->watched_since, wall.now.load());
}

TEST(HeartbeatStoreTest, SuccessClearsTheFailureDetail) {
  TempDir dir;
  FakeWall wall;
  HeartbeatStore store(dir.path(), wall.clock());
  store.Watch({{"job", nullptr}});
  ASSERT_TRUE(store.Record("job", false, "exit 3"));
  EXPECT_EQ(store.Find("job")->detail, "exit 3");
  ASSERT_TRUE(store.Record("job", true, "whatever"));
  EXPECT_TRUE(store.Find("job")->last_ok);
  EXPECT_EQ(store.Find("job")->detail, "");
}

TEST(HeartbeatStoreTest, MissingFileStartsEmptyWithoutComplaint) {
  TempDir dir;
  HeartbeatStore store(dir.path() + "/nothing-here");
  EXPECT_EQ(store.Load(), std::nullopt);
  EXPECT_EQ(store.Find("anything"), std::nullopt);
}

class CorruptFileTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CorruptFileTest, StartsEmptyAndMovesTheFileAside) {
  TempDir dir;
  FakeWall wall;
  const std::string path = dir.Write("heartbeats.json", GetParam());
  HeartbeatStore store(dir.path(), wall.clock());
  std::optional<std::string> problem = store.Load();
  ASSERT_TRUE(problem.has_value());
  EXPECT_THAT(*problem, HasSubstr("is corrupt"));
  EXPECT_THAT(*problem, HasSubstr(path));
  EXPECT_EQ(ReadWhole(path + ".corrupt"), GetParam()) << "the evidence must be kept";
  EXPECT_FALSE(fs::exists(path));

  // The store works normally afterwards: nothing was loaded, nothing crashes.
  store.Watch({{"job", nullptr}});
  EXPECT_FALSE(store.Find("job")->pinged());
  EXPECT_TRUE(store.Record("job", true, ""));
  EXPECT_TRUE(fs::exists(path));
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
                      R"("last_ok":"yes","detail":""}}})"));

TEST(HeartbeatStoreTest, OversizedFileIsNotLoaded) {
  TempDir dir;
  dir.Write("heartbeats.json", std::string(HeartbeatStore::kMaxFileBytes + 1, ' '));
  HeartbeatStore store(dir.path());
  std::optional<std::string> problem = store.Load();
  ASSERT_TRUE(problem.has_value());
  EXPECT_THAT(*problem, HasSubstr("larger than 4 MiB"));
}

TEST(HeartbeatStoreTest, AFailedSaveKeepsThePingInMemory) {
  TempDir dir;
  // The state "directory" is a regular file: every save fails (even as root).
  const std::string not_a_dir = dir.Write("blocker", "x");
  HeartbeatStore store(not_a_dir);
  store.Watch({{"job", nullptr}});
  EXPECT_TRUE(store.Record("job", true, ""));
  EXPECT_TRUE(store.Find("job")->last_ok);
  std::optional<std::string> error = store.last_save_error();
  ASSERT_TRUE(error.has_value());
  EXPECT_THAT(*error, HasSubstr(not_a_dir));
  EXPECT_TRUE(store.Save().has_value());
}

TEST(HeartbeatStoreTest, CheckDirectoryCreatesAMissingDirectoryAndLeavesNothingInIt) {
  TempDir dir;
  const std::string state_dir = dir.path() + "/a/b";
  HeartbeatStore store(state_dir);
  EXPECT_EQ(store.CheckDirectory(), std::nullopt);
  ASSERT_TRUE(fs::is_directory(state_dir));
  EXPECT_TRUE(FilesIn(state_dir).empty());          // the write test is removed
  EXPECT_EQ(store.CheckDirectory(), std::nullopt);  // an existing one is fine
}

TEST(HeartbeatStoreTest, CheckDirectoryNamesThePathAndTheReason) {
  // Root-proof cases (root writes through any mode bits).
  TempDir dir;
  const std::string file = dir.Write("file", "x");
  EXPECT_EQ(HeartbeatStore(file).CheckDirectory(), "\"" + file + "\" is not a directory");
  EXPECT_EQ(HeartbeatStore(file + "/state").CheckDirectory(),
            "cannot create \"" + file + "/state\": Not a directory");
  // A directory this process cannot write in (only testable without root).
  if (geteuid() != 0) {
    const std::string locked = dir.path() + "/locked";
    fs::create_directory(locked);
    chmod(locked.c_str(), 0500);
    EXPECT_EQ(HeartbeatStore(locked).CheckDirectory(),
              "cannot write in \"" + locked + "\": Permission denied");
  }
}

TEST(HeartbeatStoreTest, EverySaveReplacesTheFileAndLeavesNoTemporaries) {
  TempDir dir;
  FakeWall wall;
  HeartbeatStore store(dir.path(), wall.clock());
  store.Watch({{"job", nullptr}});
  ASSERT_EQ(store.Save(), std::nullopt);
  struct stat before {};
  ASSERT_EQ(stat(store.file_path().c_str(), &before), 0);
  ASSERT_TRUE(store.Record("job", true, ""));
  struct stat after {};
  ASSERT_EQ(stat(store.file_path().c_str(), &after), 0);
  // A new inode: the file was renamed over, not rewritten in place.
  EXPECT_NE(before.st_ino, after.st_ino);
  EXPECT_EQ(after.st_mode & 0777, 0600u);
  EXPECT_EQ(FilesIn(dir.path()), std::vector<std::string>{"heartbeats.json"});
}

// Readers of the file (a restarting daemon) must only ever see a whole file,
// while pings from many threads replace it, and the store's readers (the loop
// thread) must see consistent records throughout.
TEST(HeartbeatStoreTest, ConcurrentPingsWhileReadingNeverExposeAPartialFile) {
  TempDir dir;
  FakeWall wall;
  HeartbeatStore store(dir.path(), wall.clock());
  constexpr int kThreads = 8;
  constexpr int kPingsPerThread = 40;
  std::vector<std::pair<std::string, const CheckSpec*>> watched;
  for (int t = 0; t < kThreads; ++t) watched.emplace_back("job" + std::to_string(t), nullptr);
  store.Watch(watched);
  ASSERT_EQ(store.Save(), std::nullopt);

  std::atomic<bool> done{false};
  std::atomic<int> partial_reads{0};
  std::atomic<int> inconsistent{0};
  std::thread file_reader([&] {
    while (!done.load()) {
      const std::string text = ReadWhole(store.file_path());
      if (text.empty() || nlohmann::json::parse(text, nullptr, false).is_discarded()) {
        ++partial_reads;
      }
    }
  });
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
        const bool ok = i % 2 == 0;
        EXPECT_TRUE(store.Record(watched[t].first, ok, ok ? "" : "failed " + std::to_string(i)));
      }
    });
  }
  for (auto& p : pingers) p.join();
  done = true;
  file_reader.join();
  store_reader.join();

  EXPECT_EQ(partial_reads.load(), 0);
  EXPECT_EQ(inconsistent.load(), 0);
  EXPECT_EQ(store.last_save_error(), std::nullopt);
  EXPECT_EQ(FilesIn(dir.path()), std::vector<std::string>{"heartbeats.json"});
  // The file holds the final state: every job's last ping was a failure (odd i).
  HeartbeatStore reloaded(dir.path(), wall.clock());
  ASSERT_EQ(reloaded.Load(), std::nullopt);
  reloaded.Watch(watched);
  for (const auto& [name, spec] : watched) {
    ASSERT_TRUE(reloaded.Find(name).has_value());
    EXPECT_FALSE(reloaded.Find(name)->last_ok) << name;
    EXPECT_EQ(reloaded.Find(name)->detail, "failed " + std::to_string(kPingsPerThread - 1));
  }
}

}  // namespace
}  // namespace hx
