// What the daemon's open endpoints tell a client without credentials: the
// open /readyz only the overall state, /heartbeat/<name> nothing about which
// names exist. Against the real binary, with and without --web.config.file.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "support/daemon_process.h"

namespace hx {
namespace {

using nlohmann::json;

constexpr const char* kToken = "disclosure-token-0123456789abcdef";

// One heartbeat check: healthy at once ("waiting for the first heartbeat"),
// no server needed, and its name is the secret under test.
const std::string kConfig =
    "checks:\n"
    "  - name: payroll-export\n"
    "    interval: 100ms\n"
    "    timeout: 100ms\n"
    "    heartbeat: {ttl: 1h, token: '" +
    std::string(kToken) + "'}\n";

// alice / "correct horse" at bcrypt cost 4 (tests/testdata/web/good/basic_auth.yml);
// /healthz and /readyz open, as by default.
constexpr const char* kWebConfig =
    "basic_auth_users:\n"
    "  alice: $2b$04$gH3t4vZ6SpZ95vTZgRfhDuR0KIuXXqzV5mWB3.fOXv.OgKpeoujTK\n";

std::string WithCredentials(const DaemonProcess& d, const std::string& path) {
  return "http://alice:correct%20horse@127.0.0.1:" + std::to_string(d.port()) + path;
}

void WaitForFirstRun(const DaemonProcess& d, const std::string& url) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (HttpRequest(url).status == 200) return;
    usleep(20'000);
  }
  ADD_FAILURE() << "/readyz never became ready: " << d.Logs();
}

TEST(DisclosureTest, ReadyzShowsOnlyTheOverallStateUnlessVerbose) {
  DaemonProcess d(kConfig);
  ASSERT_TRUE(d.started()) << d.Logs();
  WaitForFirstRun(d, d.Url("/readyz"));

  for (const char* path : {"/readyz", "/readyz?verbose=0", "/readyz?verbose=", "/readyz?x=1"}) {
    SCOPED_TRACE(path);
    const HttpReply terse = HttpRequest(d.Url(path));
    EXPECT_EQ(terse.status, 200);
    EXPECT_EQ(json::parse(terse.body), json({{"status", "healthy"}})) << terse.body;
  }
  const HttpReply verbose = HttpRequest(d.Url("/readyz?verbose=1"));
  EXPECT_EQ(verbose.status, 200);
  EXPECT_EQ(json::parse(verbose.body)["checks"]["payroll-export"]["status"], "healthy")
      << verbose.body;
}

TEST(DisclosureTest, OpenReadyzNeedsCredentialsForCheckNamesUnderBasicAuth) {
  TempDir dir;
  const std::string web = dir.Write("web.yml", kWebConfig);
  DaemonProcess d(kConfig, {"--web.config.file=" + web});
  ASSERT_TRUE(d.started()) << d.Logs();
  WaitForFirstRun(d, d.Url("/readyz"));

  // Open for probes: the overall state, nothing else.
  const HttpReply terse = HttpRequest(d.Url("/readyz"));
  EXPECT_EQ(terse.status, 200);
  EXPECT_EQ(json::parse(terse.body), json({{"status", "healthy"}})) << terse.body;
  // The check list is what basic auth protects on /status.
  HttpReply refused = HttpRequest(d.Url("/readyz?verbose=1"));
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(refused.headers["www-authenticate"], "Basic realm=\"health_exporter\"");
  EXPECT_EQ(refused.body.find("payroll"), std::string::npos) << refused.body;
  EXPECT_EQ(HttpRequest(d.Url("/status")).status, 401);

  const HttpReply verbose = HttpRequest(WithCredentials(d, "/readyz?verbose=1"));
  EXPECT_EQ(verbose.status, 200) << verbose.body;
  EXPECT_EQ(json::parse(verbose.body)["checks"]["payroll-export"]["status"], "healthy")
      << verbose.body;
  const HttpReply terse_with_credentials = HttpRequest(WithCredentials(d, "/readyz"));
  EXPECT_EQ(json::parse(terse_with_credentials.body), json({{"status", "healthy"}}));
}

TEST(DisclosureTest, HeartbeatNamesCannotBeProbedWithoutAToken) {
  DaemonProcess d(kConfig);
  ASSERT_TRUE(d.started()) << d.Logs();
  const std::string known = d.Url("/heartbeat/payroll-export");
  const std::string unknown = d.Url("/heartbeat/no-such-check");
  for (const std::string& base : {known, unknown}) {
    for (const std::string& url : {base, base + "/fail"}) {
      SCOPED_TRACE(url);
      // No Authorization header at all, a bearer token of no check, or basic auth.
      EXPECT_EQ(HttpPost(url, "", "x"), 401);
      EXPECT_EQ(HttpPost(url, "Bearer wrong-token-0123456789abcdef", "x"), 401);
      EXPECT_EQ(HttpPost(url, "Basic YWxpY2U6eA==", "x"), 401);
      EXPECT_EQ(HttpRequest(url).status, 401);
    }
  }
  // Holding a real token, the client may learn what exists.
  EXPECT_EQ(HttpPost(unknown, std::string("Bearer ") + kToken, ""), 404);
  EXPECT_EQ(HttpRequest(known).status, 401);  // GET carries no token here
  // Nothing was recorded by the refused requests.
  const json status = json::parse(HttpRequest(d.Url("/status")).body);
  EXPECT_EQ(status["checks"][0]["last_result"].is_object() &&
                status["checks"][0]["last_result"]["detail"].get<std::string>().find(
                    "job reported failure") != std::string::npos,
            false)
      << status.dump();
}

}  // namespace
}  // namespace hx
