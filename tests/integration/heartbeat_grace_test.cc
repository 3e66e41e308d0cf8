// A heartbeat check that leaves the config for a while — a reload of a
// config written in two steps, a drop-in symlink briefly pointing nowhere, a
// restart in between — keeps its recorded failure when it comes back (a
// failure must never turn into "waiting for the first heartbeat", which is
// healthy). And a dangling drop-in symlink is a config error rather than a
// silently missing file. On the real binary.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "support/daemon_process.h"
#include "support/status_json.h"

namespace hx {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kToken = "grace-token-0123456789abcdef";

// Healthy whatever the machine's memory use; keeps the config non-empty
// while the heartbeat check is away.
const std::string kKeep =
    "  - name: keep\n"
    "    interval: 100ms\n"
    "    memory: {degraded_above: 100%, unhealthy_above: 100%}\n";
const std::string kBackup =
    "  - name: backup\n"
    "    interval: 100ms\n"
    "    timeout: 100ms\n"
    "    heartbeat: {ttl: 1h, token: '" +
    std::string(kToken) + "'}\n";
const std::string kWith = "checks:\n" + kKeep + kBackup;
const std::string kWithout = "checks:\n" + kKeep;

void Rewrite(const std::string& path, const std::string& text) {
  const std::string temp = path + ".tmp";
  std::ofstream(temp) << text;
  ASSERT_EQ(std::rename(temp.c_str(), path.c_str()), 0);
}

// The detail of `backup` once it has run at least `runs` times since (re)added.
json BackupAfterRuns(const DaemonProcess& d, int runs) {
  json found;
  d.PollUntil(
      "/status",
      [&](const HttpReply& r) {
        if (r.status != 200) return false;
        const json status = json::parse(r.body);
        const json* check = FindCheck(status, "backup");
        if (check == nullptr || (*check)["runs"].get<int>() < runs) return false;
        found = *check;
        return true;
      },
      10s);
  return found;
}

void RecordFailure(const DaemonProcess& d) {
  ASSERT_EQ(HttpPost(d.Url("/heartbeat/backup/fail"), std::string("Bearer ") + kToken, "disk full"),
            200);
  // The check ran once already before the ping (a heartbeat check runs at
  // start): wait for the run that saw the failure.
  json check;
  d.PollUntil(
      "/status",
      [&](const HttpReply& r) {
        if (r.status != 200) return false;
        const json status = json::parse(r.body);
        const json* found = FindCheck(status, "backup");
        if (found == nullptr) return false;
        check = *found;
        return check["last_result"]["detail"] == "job reported failure: disk full";
      },
      10s);
  ASSERT_EQ(check["last_result"]["detail"], "job reported failure: disk full") << check.dump();
}

void ExpectFailureKept(const json& check) {
  ASSERT_TRUE(check.is_object());
  EXPECT_EQ(check["state"], "unhealthy") << check.dump();
  EXPECT_EQ(check["last_result"]["detail"], "job reported failure: disk full") << check.dump();
}

TEST(HeartbeatGraceTest, AFailureSurvivesARemovalAndReAddByReload) {
  TempDir storage;
  DaemonProcess d(kWith, {"--storage.path=" + storage.path()});
  ASSERT_TRUE(d.started()) << d.Logs();
  RecordFailure(d);

  Rewrite(d.config_path(), kWithout);
  ASSERT_EQ(HttpRequest(d.Url("/-/reload"), "POST").status, 200);
  EXPECT_EQ(FindCheck(StatusOf(d), "backup"), nullptr);
  // Gone with its check: pings are refused while it is away.
  EXPECT_EQ(HttpPost(d.Url("/heartbeat/backup"), std::string("Bearer ") + kToken, ""), 401);

  Rewrite(d.config_path(), kWith);
  ASSERT_EQ(HttpRequest(d.Url("/-/reload"), "POST").status, 200);
  ExpectFailureKept(BackupAfterRuns(d, 1));
}

TEST(HeartbeatGraceTest, AFailureSurvivesARestartWithoutTheCheck) {
  TempDir storage;
  const std::vector<std::string> args = {"--storage.path=" + storage.path()};
  {
    DaemonProcess d(kWith, args);
    ASSERT_TRUE(d.started()) << d.Logs();
    RecordFailure(d);
    ASSERT_EQ(d.Stop(SIGTERM, 5s), 0);
  }
  {
    // Started once without it: the store still holds its row (tombstoned).
    DaemonProcess without(kWithout, args);
    ASSERT_TRUE(without.started()) << without.Logs();
    without.PollUntil(
        "/status",
        [](const HttpReply& r) {
          if (r.status != 200) return false;
          const json status = json::parse(r.body);
          const json* keep = FindCheck(status, "keep");
          return keep != nullptr && (*keep)["runs"].get<int>() >= 1;
        },
        10s);
    ASSERT_EQ(without.Stop(SIGTERM, 5s), 0);
  }
  DaemonProcess again(kWith, args);
  ASSERT_TRUE(again.started()) << again.Logs();
  ExpectFailureKept(BackupAfterRuns(again, 1));
}

TEST(HeartbeatGraceTest, ADanglingDropInSymlinkIsAConfigError) {
  TempDir dir;
  const std::string confd = dir.path() + "/conf.d";
  ASSERT_EQ(mkdir(confd.c_str(), 0755), 0);
  { std::ofstream(confd + "/10-keep.yml") << kWith; }
  const std::string target = dir.path() + "/teams/web.yml";  // does not exist
  ASSERT_EQ(symlink(target.c_str(), (confd + "/20-web.yml").c_str()), 0);

  const std::string expected = confd + "/20-web.yml: dangling symlink to \"" + target + "\"";
  auto checked = RunCommand({HX_BINARY, "--check-config", "--config.file=" + confd});
  EXPECT_EQ(checked.exit_code, 2) << checked.output;
  EXPECT_NE(checked.output.find(expected), std::string::npos) << checked.output;

  // A running daemon: a reload that meets one changes nothing.
  ASSERT_EQ(unlink((confd + "/20-web.yml").c_str()), 0);
  DaemonProcess d("", {"--config.file=" + confd});
  ASSERT_TRUE(d.started()) << d.Logs();
  ASSERT_EQ(symlink(target.c_str(), (confd + "/20-web.yml").c_str()), 0);
  const HttpReply reload = HttpRequest(d.Url("/-/reload"), "POST");
  EXPECT_EQ(reload.status, 500);
  EXPECT_NE(reload.body.find(expected), std::string::npos) << reload.body;
  EXPECT_NE(FindCheck(StatusOf(d), "backup"), nullptr);
}

}  // namespace
}  // namespace hx
