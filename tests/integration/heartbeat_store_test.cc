// Heartbeat state in the daemon's store, on the real binary: a ping survives
// a SIGKILL once the store's writer had its flush interval (200 ms); the
// heartbeats.json of the previous version (tests/testdata/heartbeats/, written
// by a real daemon of that version) is imported at the first start and never
// again; and a store locked by another process runs memory-only, says so, and
// heartbeats still work (the old file then stays for a later start).

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "store/sqlite.h"
#include "support/daemon_process.h"
#include "support/status_json.h"

namespace hx {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

// The fixture's tokens and times (tests/testdata/heartbeats/README.md).
constexpr const char* kBackupToken = "fixture-token-nightly-backup-0001";
constexpr const char* kDbDumpToken = "fixture-token-db-dump-00000000002";
constexpr double kBackupPing = 1796548507.1512287;
constexpr const char* kDbDumpFailure =
    "job reported failure: pg_dump: connection to server on socket "
    "\"/run/postgresql/.s.PGSQL.5432\" failed: No such file or directory";

// The fixture's checks. weekly-report was never pinged: with a ttl of a
// minute it is "waiting" if watched from now on, and unhealthy at its first
// run if the file's first-watched time came over.
// (Tokens literally in the YAML: the fixture's, not secrets.)
const std::string kFixtureConfig = R"(checks:
  - name: nightly-backup
    interval: 100ms
    heartbeat: {ttl: 100000h, token: 'fixture-token-nightly-backup-0001'}
  - name: db-dump
    interval: 100ms
    heartbeat: {ttl: 100000h, token: 'fixture-token-db-dump-00000000002'}
  - name: weekly-report
    interval: 100ms
    heartbeat: {ttl: 60s, token: 'fixture-token-weekly-report-0003'}
)";

std::string ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string FixturePath() { return std::string(HX_TESTDATA) + "/heartbeats/heartbeats-v1.json"; }

// /status's entry for `name` once it has run at least once.
json CheckAfterFirstRun(const DaemonProcess& d, const std::string& name) {
  json found;
  d.PollUntil(
      "/status",
      [&](const HttpReply& r) {
        if (r.status != 200) return false;
        const json status = json::parse(r.body);
        const json* check = FindCheck(status, name);
        if (check == nullptr || (*check)["runs"].get<int>() < 1) return false;
        found = *check;
        return true;
      },
      10s);
  return found;
}

// The last ping time in /status (its observation), or -1.
double LastPingOf(const json& check) {
  if (!check.is_object() || !check["last_result"].is_object()) return -1;
  for (const json& o : check["last_result"]["observations"]) {
    if (o["name"] == "heartbeat_last_ping_timestamp_seconds") return o["value"].get<double>();
  }
  return -1;
}

// The heartbeat row of `check` in the store file, read with a read-only
// connection (WAL lets it in beside a running writer): "last_ping last_ok
// detail", or "" when there is none.
std::string StoredRow(const std::string& storage, const std::string& check, double* last_ping) {
  store::Db db;
  if (db.Open(storage + "/health_exporter.db", SQLITE_OPEN_READONLY)) return "";
  store::Statement s;
  if (s.Prepare(db,
                "SELECT h.last_ping, h.last_ok, h.detail FROM heartbeat h JOIN checks c ON "
                "c.id = h.check_id WHERE c.name = ?1")) {
    return "";
  }
  s.Bind(1, std::string_view(check));
  if (s.Step() != SQLITE_ROW) return "";
  if (last_ping != nullptr) *last_ping = s.Double(0);
  return std::string(s.Int(1) != 0 ? "ok " : "fail ") + s.Text(2);
}

TEST(HeartbeatStoreDaemonTest, APingSurvivesASigkillAfterTheFlushInterval) {
  TempDir storage;
  const std::string token = "sigkill-token-0123456789abcdef";
  const std::string config =
      "checks:\n"
      "  - name: backup\n"
      "    interval: 100ms\n"
      "    heartbeat: {ttl: 1h, token: '" +
      token + "'}\n";
  const std::vector<std::string> args = {"--storage.path=" + storage.path()};
  double stored_ping = 0;
  {
    DaemonProcess d(config, args);
    ASSERT_TRUE(d.started()) << d.Logs();
    ASSERT_EQ(HttpPost(d.Url("/heartbeat/backup/fail"), "Bearer " + token, "disk full"), 200);
    // Older than the store's flush interval (200 ms), with room for a loaded
    // machine; then killed without a chance to flush anything.
    std::this_thread::sleep_for(1s);
    EXPECT_EQ(d.Stop(SIGKILL, 5s), 128 + SIGKILL);
  }
  EXPECT_EQ(StoredRow(storage.path(), "backup", &stored_ping), "fail disk full");
  EXPECT_FALSE(fs::exists(storage.path() + "/heartbeats.json")) << "nothing writes it any more";

  DaemonProcess again(config, args);
  ASSERT_TRUE(again.started()) << again.Logs();
  const json check = CheckAfterFirstRun(again, "backup");
  EXPECT_EQ(check["state"], "unhealthy") << check.dump();
  EXPECT_EQ(check["last_result"]["detail"], "job reported failure: disk full") << check.dump();
  EXPECT_DOUBLE_EQ(LastPingOf(check), stored_ping) << check.dump();
}

// The tombstone of a check, in seconds (0: configured), or -1 when the store
// does not know it.
double StoredTombstone(const std::string& storage, const std::string& check) {
  store::Db db;
  if (db.Open(storage + "/health_exporter.db", SQLITE_OPEN_READONLY)) return -1;
  store::Statement s;
  if (s.Prepare(db, "SELECT removed_at FROM checks WHERE name = ?1")) return -1;
  s.Bind(1, std::string_view(check));
  if (s.Step() != SQLITE_ROW) return -1;
  return s.Double(0);
}

// Removed by a reload, killed, restarted with the check back: within the
// grace the failure is resumed, from the store's row and tombstone.
TEST(HeartbeatStoreDaemonTest, ACheckRemovedThenKilledResumesWhenItComesBack) {
  TempDir storage;
  const std::string token = "grace-kill-token-0123456789abcdef";
  const std::string keep =
      "  - name: keep\n"
      "    interval: 100ms\n"
      "    memory: {degraded_above: 100%, unhealthy_above: 100%}\n";
  const std::string with = "checks:\n" + keep +
                           "  - name: backup\n"
                           "    interval: 100ms\n"
                           "    heartbeat: {ttl: 1h, token: '" +
                           token + "'}\n";
  const std::vector<std::string> args = {"--storage.path=" + storage.path()};
  {
    DaemonProcess d(with, args);
    ASSERT_TRUE(d.started()) << d.Logs();
    ASSERT_EQ(HttpPost(d.Url("/heartbeat/backup/fail"), "Bearer " + token, "disk full"), 200);
    { std::ofstream(d.config_path() + ".tmp") << "checks:\n" + keep; }
    ASSERT_EQ(std::rename((d.config_path() + ".tmp").c_str(), d.config_path().c_str()), 0);
    ASSERT_EQ(HttpRequest(d.Url("/-/reload"), "POST").status, 200);
    std::this_thread::sleep_for(1s);  // past the store's flush interval
    EXPECT_EQ(d.Stop(SIGKILL, 5s), 128 + SIGKILL);
  }
  EXPECT_GT(StoredTombstone(storage.path(), "backup"), 0) << "the reload tombstoned it";
  EXPECT_EQ(StoredTombstone(storage.path(), "keep"), 0);
  EXPECT_EQ(StoredRow(storage.path(), "backup", nullptr), "fail disk full");

  DaemonProcess again(with, args);
  ASSERT_TRUE(again.started()) << again.Logs();
  const json check = CheckAfterFirstRun(again, "backup");
  EXPECT_EQ(check["state"], "unhealthy") << check.dump();
  EXPECT_EQ(check["last_result"]["detail"], "job reported failure: disk full") << check.dump();
}

TEST(HeartbeatStoreDaemonTest, ThePreviousVersionsFileIsImportedOnceAtTheFirstStart) {
  TempDir storage;
  const std::string json_path = storage.path() + "/heartbeats.json";
  fs::copy_file(FixturePath(), json_path);
  const std::vector<std::string> args = {"--storage.path=" + storage.path()};
  {
    DaemonProcess d(kFixtureConfig, args);
    ASSERT_TRUE(d.started()) << d.Logs();
    const json backup = CheckAfterFirstRun(d, "nightly-backup");
    EXPECT_EQ(backup["state"], "healthy") << backup.dump();
    EXPECT_DOUBLE_EQ(LastPingOf(backup), kBackupPing) << backup.dump();
    const json dump = CheckAfterFirstRun(d, "db-dump");
    EXPECT_EQ(dump["state"], "unhealthy") << dump.dump();
    EXPECT_EQ(dump["last_result"]["detail"], kDbDumpFailure);
    const json weekly = CheckAfterFirstRun(d, "weekly-report");
    EXPECT_EQ(weekly["last_result"]["detail"],
              "no heartbeat since the daemon started watching (ttl 1m)")
        << "the file's first-watched time came over: " << weekly.dump();

    EXPECT_THAT(d.Logs(), HasSubstr("heartbeat state file imported into the store"));
    EXPECT_THAT(d.Logs(), HasSubstr("checks=4"));
    EXPECT_FALSE(fs::exists(json_path));
    EXPECT_EQ(ReadWhole(json_path + ".imported"), ReadWhole(FixturePath()))
        << "kept whole for a downgrade";

    ASSERT_EQ(
        HttpPost(d.Url("/heartbeat/nightly-backup"), std::string("Bearer ") + kBackupToken, ""),
        200);
    EXPECT_EQ(d.Stop(SIGTERM, 5s), 0);
  }
  // The second start reads the store only: the newer ping, nothing imported.
  DaemonProcess again(kFixtureConfig, args);
  ASSERT_TRUE(again.started()) << again.Logs();
  const json backup = CheckAfterFirstRun(again, "nightly-backup");
  EXPECT_GT(LastPingOf(backup), kBackupPing + 60) << backup.dump();
  EXPECT_EQ(CheckAfterFirstRun(again, "db-dump")["last_result"]["detail"], kDbDumpFailure);
  EXPECT_THAT(again.Logs(), Not(HasSubstr("heartbeat state file")));
  EXPECT_FALSE(fs::exists(json_path));
}

TEST(HeartbeatStoreDaemonTest, AStoreLockedByAnotherProcessRunsMemoryOnlyAndHeartbeatsWork) {
  TempDir storage;
  const std::string db_path = storage.path() + "/health_exporter.db";
  const std::string json_path = storage.path() + "/heartbeats.json";
  fs::copy_file(FixturePath(), json_path);
  {
    store::Db db;
    ASSERT_EQ(db.Open(db_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE), std::nullopt);
    ASSERT_EQ(db.Exec("PRAGMA journal_mode=WAL"), std::nullopt);
  }
  // Another process holds the write lock (as a second daemon on the same
  // --storage.path would) until the test closes `release`.
  int ready[2];
  int release[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(release), 0);
  const pid_t holder = fork();
  ASSERT_GE(holder, 0);
  if (holder == 0) {
    close(ready[0]);
    close(release[1]);
    store::Db db;
    if (db.Open(db_path, SQLITE_OPEN_READWRITE) || db.Exec("BEGIN EXCLUSIVE")) _exit(3);
    (void)!write(ready[1], "l", 1);
    char byte;
    (void)!read(release[0], &byte, 1);
    _exit(0);
  }
  close(ready[1]);
  close(release[0]);
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1) << "the holder did not lock";

  {
    DaemonProcess d(kFixtureConfig, {"--storage.path=" + storage.path()});
    ASSERT_TRUE(d.started()) << d.Logs();
    EXPECT_THAT(d.Logs(), HasSubstr("store unusable, running memory-only"));
    EXPECT_THAT(d.Logs(), HasSubstr("is another health_exporter using the same --storage.path?"));
    // This run is served from the old file, which stays for a later start.
    EXPECT_THAT(d.Logs(), HasSubstr("heartbeat state file not imported yet"));
    EXPECT_TRUE(fs::exists(json_path));
    EXPECT_EQ(CheckAfterFirstRun(d, "db-dump")["last_result"]["detail"], kDbDumpFailure);
    // Pings work as usual.
    ASSERT_EQ(HttpPost(d.Url("/heartbeat/db-dump"), std::string("Bearer ") + kDbDumpToken, ""),
              200);
    json dump;
    d.PollUntil(
        "/status",
        [&](const HttpReply& r) {
          const json status = json::parse(r.body);
          const json* check = FindCheck(status, "db-dump");
          if (check != nullptr) dump = *check;
          return check != nullptr && (*check)["state"] == "healthy";
        },
        10s);
    EXPECT_EQ(dump["state"], "healthy") << dump.dump();
    EXPECT_GT(LastPingOf(dump), kBackupPing + 60) << dump.dump();
    EXPECT_EQ(d.Stop(SIGTERM, 5s), 0);
  }
  close(release[1]);
  close(ready[0]);
  int status = 0;
  ASSERT_EQ(waitpid(holder, &status, 0), holder);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_TRUE(fs::exists(json_path)) << "imported at the next start with a usable store";
}

}  // namespace
}  // namespace hx
