// End-to-end tests of the health_exporter binary: real config file, real
// targets on 127.0.0.1, the daemon's own HTTP endpoints read with libcurl.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "scheduler/check_scheduler.h"
#include "support/daemon_process.h"
#include "support/status_json.h"
#include "support/tcp_test_server.h"
#include "support/test_http_server.h"

namespace hx {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;


// Waits until every check in /status has at least `runs` runs.
json WaitForRuns(const DaemonProcess& d, int runs, std::chrono::milliseconds timeout = 10s) {
  json status;
  d.PollUntil(
      "/status",
      [&](const HttpReply& r) {
        if (r.status != 200) return false;
        status = json::parse(r.body);
        for (const auto& c : status["checks"]) {
          if (c["runs"].get<int>() < runs) return false;
        }
        return true;
      },
      timeout);
  return status;
}

TEST(DaemonTest, CheckConfigAcceptsTheShippedConfig) {
  auto r = RunCommand({HX_BINARY, "--check-config",
                       "--config.file=" + std::string(HX_SOURCE_DIR) + "/config/health_exporter.yml"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("OK, 4 checks"), std::string::npos) << r.output;
}

TEST(DaemonTest, CheckConfigAlsoValidatesTheWebConfig) {
  const std::string config =
      "--config.file=" + std::string(HX_SOURCE_DIR) + "/config/health_exporter.yml";
  const std::string web = std::string(HX_TESTDATA) + "/web/";
  auto good = RunCommand({HX_BINARY, "--check-config", config,
                          "--web.config.file=" + web + "good/basic_auth.yml"});
  EXPECT_EQ(good.exit_code, 0) << good.output;
  EXPECT_NE(good.output.find("good/basic_auth.yml: OK"), std::string::npos) << good.output;
  auto bad = RunCommand({HX_BINARY, "--check-config", config,
                         "--web.config.file=" + web + "bad/unknown_key.yml"});
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("bad/unknown_key.yml:"), std::string::npos) << bad.output;
}

TEST(DaemonTest, CheckConfigReportsEveryErrorWithPositionAndExits2) {
  TempDir dir;
  std::string path = dir.Write("bad.yml",
                               "checks:\n"
                               "  - name: a\n"
                               "    interval: 10 sec\n"
                               "    tcp: {address: \"127.0.0.1:1\"}\n"
                               "  - name: a\n"
                               "    tcp: {address: \"127.0.0.1:1\"}\n");
  auto r = RunCommand({HX_BINARY, "--check-config", "--config.file=" + path});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(path + ":3:15: checks[0].interval: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(path + ":5:11: checks[1].name: duplicate check name \"a\""),
            std::string::npos)
      << r.output;
}

TEST(DaemonTest, StartupWithBadConfigExits2WithoutServing) {
  DaemonProcess d("checks: [{name: x, http: {url: 'ftp://x'}}]\n");
  EXPECT_FALSE(d.started());
  EXPECT_EQ(d.WaitExit(5s), 2);
  EXPECT_NE(d.Logs().find("checks[0].http.url"), std::string::npos) << d.Logs();
}

TEST(DaemonTest, UnknownFlagIsAUsageError) {
  auto r = RunCommand({HX_BINARY, "--no-such-flag"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

TEST(DaemonTest, ServesMetricsThatPassPromtool) {
  TestHttpServer web;
  TcpTestServer smtp;
  DaemonProcess d(
      "global: {interval: 200ms, timeout: 150ms}\n"
      "checks:\n"
      "  - name: web\n"
      "    labels: {team: payments}\n"
      "    http: {url: '" + web.Url("/status/200") + "'}\n"
      "  - name: smtp\n"
      "    critical: false\n"
      "    tcp: {address: '" + smtp.address() + "', expect: '^220'}\n");
  ASSERT_TRUE(d.started()) << d.Logs();
  WaitForRuns(d, 1);

  HttpReply metrics = HttpRequest(d.Url("/metrics"));
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.headers["content-type"].find("text/plain; version=0.0.4"), std::string::npos);
  const std::string& text = metrics.body;
  EXPECT_TRUE(std::regex_search(
      text, std::regex(R"(health_check_status\{[^}]*check="web"[^}]*team="payments"[^}]*\} 1\n)")))
      << text;
  EXPECT_TRUE(std::regex_search(
      text, std::regex(R"(health_check_status\{[^}]*check="smtp"[^}]*critical="false"[^}]*\} 1\n)")))
      << text;
  EXPECT_NE(text.find("health_check_http_status_code{check=\"web\"} 200"), std::string::npos);
  EXPECT_NE(text.find("health_check_duration_seconds_bucket{check=\"web\""), std::string::npos);
  EXPECT_NE(text.find("health_overall_status 1"), std::string::npos);
  EXPECT_NE(text.find("health_exporter_build_info{"), std::string::npos);
  EXPECT_NE(text.find("process_resident_memory_bytes "), std::string::npos);
  EXPECT_NE(text.find("process_open_fds "), std::string::npos);

  auto promtool = RunCommand({"promtool", "check", "metrics"}, text);
  EXPECT_EQ(promtool.exit_code, 0) << promtool.output;

  HttpReply gz = HttpRequest(d.Url("/metrics"), "GET", /*accept_gzip=*/true);
  EXPECT_EQ(gz.headers["content-encoding"], "gzip");
  EXPECT_NE(gz.body.find("health_check_status{"), std::string::npos);

  EXPECT_EQ(HttpRequest(d.Url("/healthz")).status, 200);
  HttpReply landing = HttpRequest(d.Url("/"));
  EXPECT_EQ(landing.status, 200);
  EXPECT_NE(landing.body.find("/metrics"), std::string::npos);
}

TEST(DaemonTest, ReadyzFollowsCriticalChecks) {
  TestHttpServer web;
  DaemonProcess d(
      "global: {interval: 200ms, timeout: 150ms}\n"
      "checks:\n"
      "  - name: critical-ok\n"
      "    http: {url: '" + web.Url("/status/200") + "'}\n"
      "  - name: optional-broken\n"
      "    critical: false\n"
      "    http: {url: '" + web.Url("/status/500") + "'}\n");
  ASSERT_TRUE(d.started()) << d.Logs();
  WaitForRuns(d, 1);
  HttpReply ready = HttpRequest(d.Url("/readyz?verbose=1"));
  EXPECT_EQ(ready.status, 200) << ready.body;
  json body = json::parse(ready.body);
  EXPECT_EQ(body["status"], "degraded");
  EXPECT_EQ(body["checks"]["optional-broken"]["status"], "unhealthy");
  EXPECT_EQ(body["checks"]["optional-broken"]["detail"], "HTTP 500, expected 2xx");

  DaemonProcess broken(
      "global: {interval: 200ms, timeout: 150ms}\n"
      "checks:\n"
      "  - name: critical-broken\n"
      "    http: {url: '" + web.Url("/status/503") + "'}\n");
  ASSERT_TRUE(broken.started()) << broken.Logs();
  WaitForRuns(broken, 1);
  HttpReply not_ready = HttpRequest(broken.Url("/readyz"));
  EXPECT_EQ(not_ready.status, 503) << not_ready.body;
  EXPECT_EQ(json::parse(not_ready.body)["status"], "unhealthy");
}

TEST(DaemonTest, ReadyzIsPendingUntilCriticalChecksReport) {
  // A 1h window and interval put the first run somewhere in the next hour.
  ASSERT_GT(CheckScheduler::FirstRunOffset("later", std::chrono::hours(1)), 1min);
  DaemonProcess d(
      "global: {startup_spread: 1h}\n"
      "checks:\n"
      "  - name: later\n"
      "    interval: 1h\n"
      "    tcp: {address: '127.0.0.1:9'}\n");
  ASSERT_TRUE(d.started()) << d.Logs();
  HttpReply ready = HttpRequest(d.Url("/readyz"));
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(json::parse(ready.body)["status"], "pending");
  // No result yet: no status series.
  EXPECT_EQ(HttpRequest(d.Url("/metrics")).body.find("health_check_status{"), std::string::npos);
}

TEST(DaemonTest, ACriticalHourlyCheckIsReadyWithinTheStartWindow) {
  // Without the start window this check's first run, and readiness, would
  // come this far into the hour.
  ASSERT_GT(CheckScheduler::FirstRunOffset("hourly", std::chrono::hours(1)), 1min);
  TestHttpServer web;
  const auto before_start = std::chrono::steady_clock::now();
  DaemonProcess d(
      "global: {startup_spread: 2s}\n"
      "checks:\n"
      "  - name: hourly\n"
      "    interval: 1h\n"
      "    timeout: 1s\n"
      "    http: {url: '" +
      web.Url("/status/200") + "'}\n");
  ASSERT_TRUE(d.started()) << d.Logs();
  HttpReply ready = d.PollUntil(
      "/readyz", [](const HttpReply& r) { return r.status == 200; }, 10s);
  const auto took = std::chrono::steady_clock::now() - before_start;
  ASSERT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(json::parse(ready.body)["status"], "healthy");
  // The window (2s) plus the attempt; generous for a loaded machine, far
  // below the hour an unbounded first run could take.
  EXPECT_LT(took, 5s);
  // One run, in the window: the check does not run again for about an hour.
  EXPECT_EQ(StatusOf(d)["checks"][0]["runs"], 1);
}

TEST(DaemonTest, ARestoredHeartbeatIsNotPendingAfterARestart) {
  const std::string token = "hb-token-0123456789abcdef";
  TempDir storage;
  // Hourly, with the default window: a check that is not instant would be
  // pending for this long after a restart (up to an hour without a window).
  ASSERT_GT(CheckScheduler::StartWindowOffset("nightly-backup", std::chrono::hours(1),
                                              kDefaultStartupSpread),
            500ms);
  const std::string config =
      "checks:\n"
      "  - name: nightly-backup\n"
      "    interval: 1h\n"
      "    heartbeat: {ttl: 26h, token: '${HB_TOKEN}'}\n";
  const std::vector<std::string> args = {"--storage.path=" + storage.path()};
  {
    DaemonProcess d(config, args, {{"HB_TOKEN", token}});
    ASSERT_TRUE(d.started()) << d.Logs();
    ASSERT_EQ(HttpPost(d.Url("/heartbeat/nightly-backup"), "Bearer " + token, ""), 200);
    EXPECT_EQ(d.Stop(SIGTERM, 5s), 0);
  }
  DaemonProcess again(config, args, {{"HB_TOKEN", token}});
  ASSERT_TRUE(again.started()) << again.Logs();
  // The very first requests, without waiting: the restored heartbeat is there.
  HttpReply ready = HttpRequest(again.Url("/readyz"));
  EXPECT_EQ(ready.status, 200) << ready.body;
  json check = StatusOf(again)["checks"][0];
  EXPECT_EQ(check["state"], "healthy") << check.dump();
  EXPECT_EQ(check["runs"], 1) << check.dump();
  EXPECT_NE(check["last_result"]["detail"].get<std::string>().find("last heartbeat"),
            std::string::npos)
      << check.dump();
}

TEST(DaemonTest, AStoragePathThatCannotBeWrittenStopsTheStartWithTheReason) {
  TempDir dir;
  const std::string file = dir.Write("a-file", "x");
  const std::string config = "checks: [{name: x, tcp: {address: '127.0.0.1:9'}}]\n";
  const std::pair<std::string, std::string> cases[] = {
      {file, "--storage.path: \"" + file + "\" is not a directory"},
      {file + "/state", "--storage.path: cannot create \"" + file + "/state\": Not a directory"},
  };
  for (const auto& [path, message] : cases) {
    SCOPED_TRACE(path);
    DaemonProcess d(config, {"--storage.path=" + path});
    EXPECT_FALSE(d.started());
    EXPECT_EQ(d.WaitExit(5s), 2);
    EXPECT_NE(d.Logs().find(message), std::string::npos) << d.Logs();
  }
  // A missing directory is created, parents too.
  const std::string fresh = dir.path() + "/new/state";
  DaemonProcess d(config, {"--storage.path=" + fresh});
  ASSERT_TRUE(d.started()) << d.Logs();
  struct stat st {};
  ASSERT_EQ(stat(fresh.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST(DaemonTest, AStoragePathOnAReadOnlyMountStopsTheStartWithTheReason) {
  // Root writes through any mode bits, but not through a read-only mount: the
  // daemon runs in a private mount namespace where its storage dir is one.
  if (RunCommand({"unshare", "-m", "true"}).exit_code != 0) {
    GTEST_SKIP() << "no mount namespaces here (needs root)";
  }
  TempDir dir;
  const std::string ro = dir.path() + "/ro";
  ASSERT_EQ(mkdir(ro.c_str(), 0700), 0);
  const std::string config =
      dir.Write("c.yml", "checks: [{name: x, tcp: {address: '127.0.0.1:9'}}]\n");
  CommandResult r = RunCommand(
      {"unshare", "-m", "sh", "-c",
       "mount --bind \"$0\" \"$0\" && mount -o remount,bind,ro \"$0\" || exit 99; "
       // Bounded: a daemon that does start (the bug) must not hang the test.
       "exec timeout -k 2 10 \"$1\" --config.file=\"$2\" --web.listen-address=127.0.0.1:0 "
       "--storage.path=\"$0\"",
       ro, HX_BINARY, config});
  if (r.exit_code == 99) GTEST_SKIP() << "cannot mount read-only here: " << r.output;
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--storage.path: cannot write in \"" + ro + "\": Read-only file system"),
            std::string::npos)
      << r.output;
}

TEST(DaemonTest, HungTargetTimesOutOnTimeWhileOthersKeepTheirSchedule) {
  TestHttpServer::Options silent;
  silent.never_answer = true;
  TestHttpServer hung(silent);
  TestHttpServer web;
  std::string config =
      "checks:\n"
      "  - name: hung\n"
      "    interval: 1s\n"
      "    timeout: 500ms\n"
      "    http: {url: '" + hung.Url("/health") + "'}\n";
  for (int i = 0; i < 10; ++i) {
    config += "  - name: quick-" + std::to_string(i) +
              "\n    interval: 100ms\n    timeout: 100ms\n    http: {url: '" +
              web.Url("/status/200") + "'}\n";
  }
  DaemonProcess d(config);
  ASSERT_TRUE(d.started()) << d.Logs();
  json status = WaitForRuns(d, 2, 10s);
  const json* h = FindCheck(status, "hung");
  ASSERT_NE(h, nullptr);
  for (const auto& entry : (*h)["history"]) {
    EXPECT_EQ(entry["detail"], "timeout after 500ms");
    double ms = entry["duration_ms"].get<double>();
    EXPECT_GE(ms, 500.0);
    EXPECT_LE(ms, 550.0) << "timeout enforced late";
    std::printf("hung check timed out after %.1f ms\n", ms);
  }
  EXPECT_EQ((*h)["state"], "unhealthy");
  EXPECT_EQ(HttpRequest(d.Url("/readyz")).status, 503);
  // The quick checks kept their 100 ms cadence while the hung check waited:
  // over the >= 1.5 s that two hung runs take, each ran at least ~10 times.
  for (int i = 0; i < 10; ++i) {
    const json* q = FindCheck(status, "quick-" + std::to_string(i));
    ASSERT_NE(q, nullptr);
    EXPECT_GE((*q)["runs"].get<int>(), 8) << (*q).dump();
    EXPECT_EQ((*q)["skipped_runs"].get<int>(), 0);
    EXPECT_EQ((*q)["state"], "healthy");
  }
}

TEST(DaemonTest, ClosedPortIsUnhealthyWithReadableDetail) {
  // A port bound but not listening refuses connections, deterministically.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string address = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  DaemonProcess d(
      "global: {interval: 200ms, timeout: 150ms}\n"
      "checks:\n"
      "  - name: closed-tcp\n"
      "    tcp: {address: '" + address + "'}\n"
      "  - name: closed-http\n"
      "    http: {url: 'http://" + address + "/health'}\n");
  ASSERT_TRUE(d.started()) << d.Logs();
  json status = WaitForRuns(d, 1);
  close(fd);
  EXPECT_EQ((*FindCheck(status, "closed-tcp"))["last_result"]["detail"], "connection refused");
  EXPECT_EQ((*FindCheck(status, "closed-http"))["last_result"]["detail"], "connection refused");
  EXPECT_EQ((*FindCheck(status, "closed-http"))["state"], "unhealthy");
}

// Sends raw bytes and returns everything the daemon answers until it closes.
std::string RawExchange(int port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return "";
  }
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  (void)!write(fd, request.data(), request.size());
  std::string reply;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) reply.append(buffer, static_cast<size_t>(n));
  close(fd);
  return reply;
}

TEST(DaemonTest, AnUnparsableRequestLineIsNotEchoedIntoTheResponse) {
  DaemonProcess d("checks:\n  - name: mem\n    memory: {}\n");
  ASSERT_TRUE(d.started()) << d.Logs();
  // Found by http_server_fuzzer: CivetWeb's own error page copied the
  // "version" of such a line, CR LF included, into its status line.
  const std::string reply = RawExchange(
      d.port(),
      "POST /heartbeat/x HTTP/1.1x: Bearer s3cr3t\r\nInjected: yes\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << reply;
  EXPECT_EQ(reply.find("Injected"), std::string::npos) << reply;
  EXPECT_EQ(reply.find("s3cr3t"), std::string::npos) << reply;
  EXPECT_EQ(RawExchange(d.port(), "GET / HTTP/0.1\r\n\r\n").rfind("HTTP/1.1 505 ", 0), 0u);
  // Still serving.
  EXPECT_EQ(HttpRequest(d.Url("/healthz")).status, 200);
}

TEST(DaemonTest, SecretsNeverLeak) {
  const std::string secret = "s3cr3t-t0ken-4242";
  TestHttpServer web;
  DaemonProcess d(
      "global: {interval: 200ms, timeout: 150ms}\n"
      "checks:\n"
      "  - name: api\n"
      "    http:\n"
      "      url: '" + web.Url("/status/500") + "'\n"
      "      headers: {Authorization: 'Bearer ${API_TOKEN}'}\n",
      {}, {{"API_TOKEN", secret}});
  ASSERT_TRUE(d.started()) << d.Logs();
  WaitForRuns(d, 2);
  // The target did receive it...
  auto requests = web.requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests.back().Header("Authorization"), "Bearer " + secret);
  // ...and nothing the daemon shows contains it.
  for (const char* path : {"/metrics", "/status", "/readyz", "/"}) {
    EXPECT_EQ(HttpRequest(d.Url(path)).body.find(secret), std::string::npos) << path;
  }
  d.Stop(SIGTERM, 5s);
  EXPECT_EQ(d.Logs().find(secret), std::string::npos);
}

TEST(DaemonTest, SigtermStopsCleanlyWithinASecond) {
  TestHttpServer::Options silent;
  silent.never_answer = true;
  TestHttpServer hung(silent);
  DaemonProcess d(
      "checks:\n"
      "  - name: hung\n"
      "    interval: 10s\n"
      "    timeout: 10s\n"
      "    http: {url: '" + hung.Url("/") + "'}\n");
  ASSERT_TRUE(d.started()) << d.Logs();
  // Shut down with an attempt in flight and a scrape just served.
  ASSERT_TRUE(hung.WaitForAccepted(1, 15s));
  EXPECT_EQ(HttpRequest(d.Url("/metrics")).status, 200);
  std::chrono::milliseconds took{};
  EXPECT_EQ(d.Stop(SIGTERM, 5s, &took), 0) << d.Logs();
  EXPECT_LT(took.count(), 1000);
  std::printf("SIGTERM to exit: %lld ms\n", static_cast<long long>(took.count()));
  EXPECT_NE(d.Logs().find("msg=stopped"), std::string::npos);
}

TEST(DaemonTest, PortInUseExits1WithReason) {
  DaemonProcess first("checks: [{name: t, tcp: {address: '127.0.0.1:9'}}]\n");
  ASSERT_TRUE(first.started());
  DaemonProcess second("checks: [{name: t, tcp: {address: '127.0.0.1:9'}}]\n",
                       {"--web.listen-address=127.0.0.1:" + std::to_string(first.port())});
  EXPECT_EQ(second.WaitExit(5s), 1);
  EXPECT_NE(second.Logs().find("cannot listen on"), std::string::npos) << second.Logs();
}


TEST(DaemonTest, HeartbeatsArePushedOverHttpAndSurviveARestart) {
  const std::string token = "hb-token-0123456789abcdef";
  TempDir storage;
  const std::string config =
      "checks:\n"
      "  - name: nightly-backup\n"
      "    interval: 100ms\n"
      "    timeout: 100ms\n"
      "    heartbeat: {ttl: 1h, token: '${HB_TOKEN}'}\n";
  const std::vector<std::string> args = {"--storage.path=" + storage.path()};
  {
    DaemonProcess d(config, args, {{"HB_TOKEN", token}});
    ASSERT_TRUE(d.started()) << d.Logs();
    const std::string url = d.Url("/heartbeat/nightly-backup");
    // Wrong token: 401, nothing changes.
    EXPECT_EQ(HttpPost(url, "Bearer wrong-token-0123456789", ""), 401);
    EXPECT_EQ(HttpPost(d.Url("/heartbeat/unknown"), "Bearer " + token, ""), 404);
    // A GET carries no token: 401, checked before the method (see disclosure_test.cc).
    EXPECT_EQ(HttpRequest(url).status, 401);
    EXPECT_EQ(HttpPost(url + "/fail", "Bearer " + token, "disk full\n"), 200);
    d.PollUntil(
        "/status",
        [](const HttpReply& r) {
          auto s = json::parse(r.body);
          return s["checks"][0]["last_result"].is_object() &&
                 s["checks"][0]["last_result"]["detail"] == "job reported failure: disk full";
        },
        5s);
    json status = StatusOf(d);
    EXPECT_EQ(status["checks"][0]["state"], "unhealthy") << status.dump();
    EXPECT_EQ(HttpPost(url, "Bearer " + token, ""), 200);
    auto healthy = d.PollUntil(
        "/status",
        [](const HttpReply& r) { return json::parse(r.body)["checks"][0]["state"] == "healthy"; },
        5s);
    EXPECT_EQ(json::parse(healthy.body)["checks"][0]["state"], "healthy") << healthy.body;
    EXPECT_EQ(d.Stop(SIGTERM, 5s), 0);
    EXPECT_EQ(d.Logs().find(token), std::string::npos);
  }
  // The last heartbeat survives a restart.
  DaemonProcess again(config, args, {{"HB_TOKEN", token}});
  ASSERT_TRUE(again.started()) << again.Logs();
  auto reply = again.PollUntil(
      "/status",
      [](const HttpReply& r) { return json::parse(r.body)["checks"][0]["runs"].get<int>() >= 1; },
      5s);
  auto check = json::parse(reply.body)["checks"][0];
  EXPECT_EQ(check["state"], "healthy") << check.dump();
  EXPECT_NE(check["last_result"]["detail"].get<std::string>().find("last heartbeat"),
            std::string::npos)
      << check.dump();
}

TEST(DaemonTest, ChecksBehindABrokenDependencyAreBlockedNotRootCauses) {
  TestHttpServer web;
  DaemonProcess d(
      "global: {interval: 200ms, timeout: 150ms}\n"
      "checks:\n"
      "  - name: db\n"
      "    slo: 99.9%\n"
      "    http: {url: '" + web.Url("/status/503") + "'}\n"
      "  - name: api\n"
      "    depends_on: [db]\n"
      "    http: {url: '" + web.Url("/status/500") + "'}\n"
      "  - name: frontend\n"
      "    depends_on: [api]\n"
      "    http: {url: '" + web.Url("/status/502") + "'}\n"
      "  - name: healthy-dependent\n"
      "    depends_on: [db]\n"
      "    http: {url: '" + web.Url("/status/200") + "'}\n");
  ASSERT_TRUE(d.started()) << d.Logs();
  json status = WaitForRuns(d, 1);
  EXPECT_EQ((*FindCheck(status, "db"))["blocked"], false);
  EXPECT_EQ((*FindCheck(status, "api"))["blocked_by"], json::array({"db"}));
  // Transitively: the root cause, not the check in between.
  EXPECT_EQ((*FindCheck(status, "frontend"))["blocked_by"], json::array({"db"}));
  // A healthy check is never blocked.
  EXPECT_EQ((*FindCheck(status, "healthy-dependent"))["blocked"], false);
  EXPECT_EQ(
      json::parse(HttpRequest(d.Url("/readyz?verbose=1")).body)["checks"]["api"]["blocked_by"],
      json::array({"db"}));

  const std::string text = HttpRequest(d.Url("/metrics")).body;
  EXPECT_NE(text.find("health_check_blocked{check=\"api\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("health_check_blocked{check=\"frontend\"} 1"), std::string::npos);
  EXPECT_NE(text.find("health_check_blocked{check=\"healthy-dependent\"} 0"), std::string::npos);
  // Only checks that declare dependencies have the series.
  EXPECT_EQ(text.find("health_check_blocked{check=\"db\"}"), std::string::npos);
  EXPECT_NE(text.find("health_check_slo_objective{check=\"db\"} 0.999"), std::string::npos);
  auto promtool = RunCommand({"promtool", "check", "metrics"}, text);
  EXPECT_EQ(promtool.exit_code, 0) << promtool.output;

  const std::string page = HttpRequest(d.Url("/")).body;
  EXPECT_NE(page.find("Blocked by"), std::string::npos);
}

TEST(DaemonTest, ShardsTogetherRunEveryCheckExactlyOnce) {
  std::string config = "checks:\n";
  for (int i = 0; i < 30; ++i) {
    config += "  - name: c" + std::to_string(i) + "\n    interval: 1h\n";
    if (i == 7) config += "    depends_on: [c19]\n";
    config += "    tcp: {address: '127.0.0.1:9'}\n";
  }
  std::map<std::string, int> owners;
  std::map<std::string, int> shard_of;
  for (int i = 0; i < 3; ++i) {
    DaemonProcess d(config, {"--shard=" + std::to_string(i) + "/3"});
    ASSERT_TRUE(d.started()) << d.Logs();
    const json status = StatusOf(d);
    for (const auto& c : status["checks"]) {
      ++owners[c["name"].get<std::string>()];
      shard_of[c["name"].get<std::string>()] = i;
    }
  }
  EXPECT_EQ(owners.size(), 30u);
  for (const auto& [name, count] : owners) EXPECT_EQ(count, 1) << name;
  EXPECT_EQ(shard_of["c7"], shard_of["c19"]) << "a dependency chain is split across shards";

  DaemonProcess bad(config, {"--shard=3/3"});
  EXPECT_FALSE(bad.started());
  EXPECT_EQ(bad.WaitExit(5s), 2);
  EXPECT_NE(bad.Logs().find("--shard must be i/n"), std::string::npos) << bad.Logs();
}

}  // namespace
}  // namespace hx
