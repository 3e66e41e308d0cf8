// Fault injection, HTTP: the real daemon runs ~50 healthy checks while six
// HTTP targets of the suite's own misbehave (never answer, drip the body,
// reset mid-response, send an endless body, a 10 MB header, not HTTP at
// all). Each faulty check must report the right detail within its timeout
// (+ a small margin), the healthy ones must keep their schedule, and the
// daemon's fds and memory must come back once the targets behave again.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "support/daemon_process.h"
#include "support/fault_harness.h"
#include "support/fault_servers.h"

namespace hx {
namespace {

using namespace std::chrono_literals;
using Behavior = FaultServer::Behavior;

struct HttpFault {
  std::string check;
  Behavior behavior;
  std::string detail_regex;
  std::string reason;      // checks/failure_reason.h
  std::string extra_yaml;  // more keys of the http mapping
};

TEST(HttpFaultsTest, EachFaultReportsWithinItsTimeoutWhileFiftyHealthyChecksKeepTime) {
  const std::vector<HttpFault> faults = {
      {"fault-never-answers", Behavior::kSilent, "timeout after 1s", "timeout", ""},
      {"fault-slow-drip", Behavior::kDripBody, "timeout after 1s", "timeout", ""},
      {"fault-reset-mid-body", Behavior::kResetMidBody, "connection reset by peer",
       "connection_closed", ""},
      {"fault-endless-body", Behavior::kEndlessBody, "response body exceeds 64KiB", "body_mismatch",
       ", max_body_bytes: 64KiB"},
      {"fault-10mb-header", Behavior::kHugeHeader, "response headers too large", "protocol_error",
       ""},
      {"fault-invalid-http", Behavior::kInvalidHttp, "invalid HTTP response \\(no status line\\)",
       "protocol_error", ""},
  };
  const auto timeout = 1s;

  HealthyFleet fleet;
  std::vector<std::unique_ptr<FaultServer>> servers;
  std::string yaml = "checks:\n" + fleet.Yaml();
  for (const HttpFault& f : faults) {
    // Healthy first: the baseline is taken before any fault starts.
    servers.push_back(std::make_unique<FaultServer>(FaultServer::Options{}));
    yaml += "  - name: " + f.check + "\n    interval: 1500ms\n    timeout: 1s\n" +
            "    http: {url: '" + servers.back()->Url("/health") + "'" + f.extra_yaml + "}\n";
  }
  DaemonProcess daemon(yaml);
  ASSERT_TRUE(daemon.started()) << daemon.Logs();
  ASSERT_TRUE(WaitForAllRuns(daemon, 2, 15s));
  for (const HttpFault& f : faults) {
    EXPECT_EQ(CheckJson(daemon, f.check)["state"], "healthy") << f.check;
  }
  const Usage baseline = SampleUsage(daemon);
  const HealthyFleet::Sample before = fleet.Take(daemon);

  for (size_t i = 0; i < faults.size(); ++i) servers[i]->SetBehavior(faults[i].behavior);
  for (const HttpFault& f : faults) {
    ExpectFault(
        daemon,
        {.check = f.check, .detail_regex = f.detail_regex, .timeout = timeout, .reason = f.reason});
  }
  // While the faults are on, the fd count stays bounded: at most one
  // connection per faulty check (plus the scrape's own).
  EXPECT_LE(SampleUsage(daemon, 1).open_fds, baseline.open_fds + faults.size() + 2);

  fleet.ExpectKeptSchedule(before, fleet.Take(daemon));
  ExpectLatenessBounded(daemon, 1.0);

  // Recovery: the same targets behave again, the checks turn healthy, and
  // everything the faults held is given back.
  for (auto& server : servers) server->SetBehavior(Behavior::kHealthy);
  for (const HttpFault& f : faults) {
    ExpectFault(daemon, {.check = f.check,
                         .health = "healthy",
                         .detail_regex = "HTTP 200",
                         .timeout = timeout,
                         .results = 1,
                         .reason = ""});
  }
  ExpectUsageBackToBaseline(daemon, baseline, /*fd_slack=*/2, /*rss_slack_bytes=*/8 << 20);
  for (auto& server : servers) EXPECT_EQ(server->open_connections(), 0);
}

}  // namespace
}  // namespace hx
