// Store against other processes: a writer killed with SIGKILL in the middle
// of its batches leaves a consistent database (WAL recovery), and a database
// whose write lock another process holds makes the store run memory-only
// with a clear line, then persistent again once the lock is gone.
//
// The other process is a fork of this test taken before the test opens any
// store in its own process (no thread of ours holds a lock when it forks).

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "store/sqlite.h"
#include "store/store.h"
#include "support/daemon_process.h"
#include "util/log.h"

namespace hx::store {
namespace {

using ::testing::HasSubstr;

JournalEntry Entry(const std::string& check, int i) {
  JournalEntry e;
  e.check = check;
  e.time = 1'765'000'000.0 + i;
  e.state = "unhealthy";
  e.reason = "timeout";
  e.detail = "attempt " + std::to_string(i) + " timed out";
  e.duration = 5;
  e.body_excerpt = std::string(300, 'x');
  e.attempt_id = static_cast<uint64_t>(i);
  return e;
}

// Reads one byte from `fd` within `timeout`; false on timeout or EOF.
bool WaitForByte(int fd, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    fd_set set;
    FD_ZERO(&set);
    FD_SET(fd, &set);
    timeval tv{0, 20'000};
    if (select(fd + 1, &set, nullptr, nullptr, &tv) > 0) {
      char byte;
      return read(fd, &byte, 1) == 1;
    }
  }
  return false;
}

TEST(StoreProcessTest, SigkillMidWriteLeavesAConsistentDatabase) {
  TempDir dir;
  for (int round = 0; round < 3; ++round) {
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(ready[0]);
      StoreOptions options;
      options.dir = dir.path();
      options.flush_interval = std::chrono::milliseconds(5);
      options.batch_max = 500;
      options.journal_per_check = 20;
      auto store = Store::Open(options);
      if (store->mode() != StoreMode::kPersistent) _exit(3);
      for (int i = 0;; ++i) {
        store->AppendJournal(Entry("check-" + std::to_string(i % 200), i));
        DailyAggregate day;
        day.check = "check-" + std::to_string(i % 200);
        day.day = i % 90;
        day.attempts = i;
        store->PutDaily(day);
        if (i == 5'000) {
          store->Flush();
          (void)!write(ready[1], "r", 1);  // batches are being committed now
        }
        if (i % 1'000 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    close(ready[1]);
    ASSERT_TRUE(WaitForByte(ready[0], std::chrono::seconds(30))) << "the writer never wrote";
    close(ready[0]);
    // Let it get into the middle of further batches, then kill it.
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + 100 * round));
    ASSERT_EQ(kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child ended by itself: " << status;

    StoreOptions options;
    options.dir = dir.path();
    auto store = Store::Open(options);
    ASSERT_EQ(store->mode(), StoreMode::kPersistent) << store->problem();
    EXPECT_EQ(store->problem(), "");
    EXPECT_EQ(store->IntegrityCheck(), "ok");
    const auto journals = store->AllJournals();
    EXPECT_EQ(journals.size(), 200u);
    for (const auto& [check, entries] : journals) {
      EXPECT_LE(entries.size(), 20u) << check << ": a batch was half applied";
    }
  }
}

TEST(StoreProcessTest, ADatabaseLockedByAnotherProcessRunsMemoryOnlyThenRecovers) {
  TempDir dir;
  const std::string path = dir.path() + "/health_exporter.db";
  // The file exists (the holder opens it); no store in this process yet.
  {
    Db db;
    ASSERT_EQ(db.Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE), std::nullopt);
    ASSERT_EQ(db.Exec("PRAGMA journal_mode=WAL"), std::nullopt);
  }
  int ready[2];
  int release[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(release), 0);
  const pid_t holder = fork();
  ASSERT_GE(holder, 0);
  if (holder == 0) {
    close(ready[0]);
    close(release[1]);
    Db db;
    if (db.Open(path, SQLITE_OPEN_READWRITE) || db.Exec("BEGIN EXCLUSIVE")) _exit(3);
    (void)!write(ready[1], "l", 1);
    char byte;
    (void)!read(release[0], &byte, 1);  // until the parent closes it
    _exit(0);
  }
  close(ready[1]);
  close(release[0]);
  ASSERT_TRUE(WaitForByte(ready[0], std::chrono::seconds(10))) << "the holder did not lock";

  StoreOptions options;
  options.dir = dir.path();
  options.busy_timeout = std::chrono::milliseconds(100);
  std::unique_ptr<Store> store;
  log::Init(spdlog::level::info, log::Format::kLogfmt);
  ::testing::internal::CaptureStderr();
  store = Store::Open(options);
  const std::string logs = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(store->mode(), StoreMode::kMemoryOnly);
  EXPECT_THAT(store->problem(), HasSubstr("database is locked by another process"));
  EXPECT_THAT(logs, HasSubstr("store unusable, running memory-only"));
  EXPECT_THAT(logs, HasSubstr("path=" + path));
  EXPECT_THAT(logs, HasSubstr("is another health_exporter using the same --storage.path?"));
  store->AppendJournal(Entry("api", 0));
  EXPECT_TRUE(store->Flush());
  EXPECT_EQ(store->Journal("api").size(), 1u) << "memory-only still serves";
  store.reset();

  close(release[1]);
  close(ready[0]);
  int status = 0;
  ASSERT_EQ(waitpid(holder, &status, 0), holder);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;

  store = Store::Open(options);
  EXPECT_EQ(store->mode(), StoreMode::kPersistent) << store->problem();
  EXPECT_TRUE(store->Journal("api").empty()) << "the memory-only rows were not written";
}

}  // namespace
}  // namespace hx::store
