// Config reload end to end (SIGHUP and POST /-/reload) on the real binary:
// unchanged checks keep their state, counters and cadence; changed ones
// restart; removed ones leave /metrics; a bad config changes nothing.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <string>
#include <thread>

#include "support/daemon_process.h"
#include "support/status_json.h"

namespace hx {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

void WaitForRuns(const DaemonProcess& d, const std::string& name, int runs) {
  d.PollUntil(
      "/status",
      [&](const HttpReply& r) {
        if (r.status != 200) return false;
        const json status = json::parse(r.body);
        const json* check = FindCheck(status, name);
        return check != nullptr && (*check)["runs"].get<int>() >= runs;
      },
      10s);
}

void Rewrite(const std::string& path, const std::string& text) {
  // Through a temp file and rename, as config management does: a reload
  // must never see half a file.
  const std::string temp = path + ".tmp";
  std::ofstream(temp) << text;
  ASSERT_EQ(std::rename(temp.c_str(), path.c_str()), 0);
}

HttpReply PostReload(const DaemonProcess& d) { return HttpRequest(d.Url("/-/reload"), "POST"); }

// Healthy whatever the machine's memory use (the tests assert its state).
const std::string kKeep =
    "  - name: keep\n"
    "    interval: 100ms\n"
    "    memory: {degraded_above: 100%, unhealthy_above: 100%}\n";

TEST(ReloadTest, UnchangedChecksKeepStateCountersAndCadence) {
  DaemonProcess d("checks:\n" + kKeep +
                  "  - name: gone\n"
                  "    interval: 100ms\n"
                  "    disk: {path: /}\n");
  ASSERT_TRUE(d.started()) << d.Logs();
  WaitForRuns(d, "keep", 5);
  const double healthy_before = Metric(d, R"(health_check_runs_total{check="keep",status="healthy"})");
  ASSERT_GE(healthy_before, 5);
  const int runs_before = RunsOf(d, "keep");
  const double keep_created = (*FindCheck(StatusOf(d), "keep"))["created_unix"].get<double>();
  ASSERT_GT(keep_created, 0);

  Rewrite(d.config_path(), "checks:\n" + kKeep +
                               "  - name: added\n"
                               "    interval: 100ms\n"
                               "    disk: {path: /}\n");
  const HttpReply reply = PostReload(d);
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.body, "config reloaded\n");

  // Right after the reload: the kept check is still healthy (not pending) with
  // its history, and its counters went on instead of starting again.
  json status = StatusOf(d);
  ASSERT_NE(FindCheck(status, "keep"), nullptr);
  EXPECT_EQ((*FindCheck(status, "keep"))["state"], "healthy");
  EXPECT_GE((*FindCheck(status, "keep"))["runs"].get<int>(), runs_before);
  EXPECT_EQ(FindCheck(status, "gone"), nullptr);
  ASSERT_NE(FindCheck(status, "added"), nullptr);
  // Its counters' created time too: the series were not created again.
  EXPECT_EQ((*FindCheck(status, "keep"))["created_unix"].get<double>(), keep_created);
  EXPECT_GT((*FindCheck(status, "added"))["created_unix"].get<double>(), keep_created);
  const std::string metrics = HttpRequest(d.Url("/metrics")).body;
  EXPECT_GE(MetricValue(metrics, R"(health_check_runs_total{check="keep",status="healthy"})"),
            healthy_before);
  EXPECT_EQ(metrics.find("check=\"gone\""), std::string::npos) << "removed check's series remain";
  EXPECT_NE(metrics.find("check=\"added\""), std::string::npos);

  // No burst and no gap: over the next second it runs about ten times, as
  // it would have without the reload.
  const int at_reload = RunsOf(d, "keep");
  std::this_thread::sleep_for(1s);
  const int in_a_second = RunsOf(d, "keep") - at_reload;
  EXPECT_GE(in_a_second, 7);
  EXPECT_LE(in_a_second, 12);
  EXPECT_EQ(Metric(d, R"(health_check_skipped_runs_total{check="keep"})"), 0);
  EXPECT_NE(d.Logs().find("msg=\"config reloaded\" file=" + d.config_path() +
                          " checks=2 added=added removed=gone changed=\"\" unchanged=1"),
            std::string::npos)
      << d.Logs();
}

TEST(ReloadTest, SighupReloadsAndAChangedCheckStartsAgain) {
  DaemonProcess d("checks:\n" + kKeep +
                  "  - name: changing\n"
                  "    interval: 100ms\n"
                  "    disk: {path: /}\n");
  ASSERT_TRUE(d.started()) << d.Logs();
  WaitForRuns(d, "changing", 5);
  const double hash_series_before =
      HttpRequest(d.Url("/metrics")).body.find("health_exporter_config_info{hash=\"");
  ASSERT_NE(hash_series_before, std::string::npos);

  Rewrite(d.config_path(), "checks:\n" + kKeep +
                               "  - name: changing\n"
                               "    interval: 100ms\n"
                               "    disk: {path: /, degraded_above: 99%}\n");
  d.Signal(SIGHUP);
  d.PollUntil("/metrics",
              [](const HttpReply& r) {
                return MetricValue(r.body,
                                   R"(health_exporter_config_reloads_total{result="success"})") == 1;
              },
              10s);
  EXPECT_EQ(Metric(d, R"(health_exporter_config_reloads_total{result="success"})"), 1);
  EXPECT_EQ(Metric(d, "health_exporter_config_last_reload_successful"), 1);
  // The changed check is a new check: its run count starts again.
  EXPECT_LT(RunsOf(d, "changing"), 5);
  EXPECT_GE(RunsOf(d, "keep"), 5);
  EXPECT_NE(d.Logs().find("changed=changing unchanged=1"), std::string::npos) << d.Logs();
}

// The config info series' line, labels and value. Found with find(), not
// std::regex: libstdc++'s matcher recurses once per character of a
// `[\s\S]*` over the whole body and overflowed the stack of the ASan build.
std::string InfoSeries(const std::string& metrics) {
  const size_t at = metrics.find("\nhealth_exporter_config_info{");
  if (at == std::string::npos) return "";
  const size_t end = metrics.find('\n', at + 1);
  return metrics.substr(at + 1, end == std::string::npos ? std::string::npos : end - at - 1);
}

TEST(ReloadTest, ABadConfigChangesNothingAndSaysWhy) {
  DaemonProcess d("checks:\n" + kKeep);
  ASSERT_TRUE(d.started()) << d.Logs();
  WaitForRuns(d, "keep", 2);
  const double success_time =
      Metric(d, "health_exporter_config_last_reload_success_timestamp_seconds");
  ASSERT_GT(success_time, 1e9);
  const std::string info_before = InfoSeries(HttpRequest(d.Url("/metrics")).body);
  ASSERT_FALSE(info_before.empty());

  Rewrite(d.config_path(), "checks:\n" + kKeep + "  - name: keep\n    memory: {}\n    intervl: 1s\n");
  const HttpReply reply = PostReload(d);
  EXPECT_EQ(reply.status, 500);
  const std::string file = d.config_path();
  EXPECT_NE(reply.body.find(file + ":5:11: checks[1].name: duplicate check name \"keep\" (first "
                                   "defined at line 2)"),
            std::string::npos)
      << reply.body;
  EXPECT_NE(reply.body.find(file + ":7:5: checks[1]: unknown key \"intervl\""), std::string::npos)
      << reply.body;
  EXPECT_NE(reply.body.find("2 errors; the running config stays in force"), std::string::npos)
      << reply.body;

  EXPECT_EQ(Metric(d, "health_exporter_config_last_reload_successful"), 0);
  EXPECT_EQ(Metric(d, R"(health_exporter_config_reloads_total{result="failure"})"), 1);
  EXPECT_EQ(Metric(d, "health_exporter_config_last_reload_success_timestamp_seconds"),
            success_time);
  EXPECT_NE(HttpRequest(d.Url("/metrics")).body.find(info_before), std::string::npos);
  // The running check goes on.
  const int runs = RunsOf(d, "keep");
  WaitForRuns(d, "keep", runs + 3);
  EXPECT_GE(RunsOf(d, "keep"), runs + 3);
  EXPECT_NE(d.Logs().find("level=error msg=\"config reload failed; the running config stays in "
                          "force\""),
            std::string::npos);

  // Fixed: the next reload works and the flag recovers.
  Rewrite(d.config_path(), "checks:\n" + kKeep);
  EXPECT_EQ(PostReload(d).status, 200);
  EXPECT_EQ(Metric(d, "health_exporter_config_last_reload_successful"), 1);
  EXPECT_GT(Metric(d, "health_exporter_config_last_reload_success_timestamp_seconds"),
            success_time);
}

TEST(ReloadTest, ReloadIsPostOnlyAndConcurrentRequestsAreAllAnswered) {
  DaemonProcess d("checks:\n" + kKeep);
  ASSERT_TRUE(d.started()) << d.Logs();
  const HttpReply get = HttpRequest(d.Url("/-/reload"));
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(get.headers.count("allow") ? get.headers.at("allow") : "", "POST");

  std::vector<std::thread> clients;
  std::vector<long> statuses(4, 0);
  for (size_t i = 0; i < statuses.size(); ++i) {
    clients.emplace_back([&, i] { statuses[i] = PostReload(d).status; });
  }
  for (auto& t : clients) t.join();
  for (long status : statuses) EXPECT_EQ(status, 200);
  // Coalesced: never more reloads than requests, at least one.
  const double reloads = Metric(d, R"(health_exporter_config_reloads_total{result="success"})");
  EXPECT_GE(reloads, 1);
  EXPECT_LE(reloads, 4);
  EXPECT_EQ(Metric(d, R"(health_exporter_config_reloads_total{result="failure"})"), 0);
}

TEST(ReloadTest, SecretFilesAreReadAgainOnReload) {
  TempDir dir;
  const std::string token_file = dir.Write("token", "first-token-0123456789\n");
  chmod(token_file.c_str(), 0600);
  DaemonProcess d("checks:\n"
                  "  - name: backup\n"
                  "    heartbeat: {ttl: 1h, token_file: '" +
                  token_file + "'}\n");
  ASSERT_TRUE(d.started()) << d.Logs();
  const std::string url = d.Url("/heartbeat/backup");
  EXPECT_EQ(HttpPost(url, "Bearer first-token-0123456789", ""), 200);

  dir.Write("token", "second-token-9876543210\n");
  EXPECT_EQ(PostReload(d).status, 200);
  EXPECT_EQ(HttpPost(url, "Bearer first-token-0123456789", ""), 401);
  EXPECT_EQ(HttpPost(url, "Bearer second-token-9876543210", ""), 200);
  d.Stop(SIGTERM, 5s);
  EXPECT_EQ(d.Logs().find("first-token"), std::string::npos);
  EXPECT_EQ(d.Logs().find("second-token"), std::string::npos);
}

TEST(ReloadTest, ADirectoryOfDropInsIsReloadedAsOne) {
  TempDir dir;
  dir.Write("10-base.yml", "global: {interval: 100ms}\nchecks:\n  - name: base\n    memory: {}\n");
  DaemonProcess d("checks:\n" + kKeep, {"--config.file=" + dir.path()});
  ASSERT_TRUE(d.started()) << d.Logs();
  ASSERT_NE(FindCheck(StatusOf(d), "base"), nullptr);

  dir.Write("20-extra.yml", "checks:\n  - name: extra\n    disk: {path: /}\n");
  EXPECT_EQ(PostReload(d).status, 200);
  EXPECT_NE(FindCheck(StatusOf(d), "extra"), nullptr);

  // A name taken in another file: refused, naming both files.
  dir.Write("30-dup.yml", "checks:\n  - name: base\n    memory: {}\n");
  const HttpReply reply = PostReload(d);
  EXPECT_EQ(reply.status, 500);
  EXPECT_NE(reply.body.find(dir.path() + "/30-dup.yml:2:11: checks[0].name: duplicate check name "
                                         "\"base\" (first defined at " +
                            dir.path() + "/10-base.yml:3)"),
            std::string::npos)
      << reply.body;
  EXPECT_NE(FindCheck(StatusOf(d), "extra"), nullptr);
}

}  // namespace
}  // namespace hx
