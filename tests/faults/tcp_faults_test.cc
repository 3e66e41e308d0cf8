// Fault injection, TCP level: beside ~50 healthy checks, HTTP and TCP checks
// meet a closed port, a listener whose accept queue is full (SYNs dropped, the
// connect never completes), a server that accepts and never answers and one
// that resets the connection mid-reply. Each must say so within its timeout,
// the healthy checks keep time, fds and memory come back.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "support/daemon_process.h"
#include "support/fault_harness.h"
#include "support/fault_servers.h"
#include "support/tcp_test_server.h"

namespace hx {
namespace {

using namespace std::chrono_literals;
using Behavior = FaultServer::Behavior;

std::string Check(const std::string& name, const std::string& body) {
  return "  - name: " + name + "\n    interval: 1500ms\n    timeout: 1s\n    " + body + "\n";
}

// A TCP check that speaks a little HTTP, so that a healthy FaultServer
// satisfies it and the faults show.
std::string TcpCheck(const std::string& name, const std::string& address) {
  return Check(name, "tcp: {address: '" + address +
                         "', send: \"GET / HTTP/1.0\\r\\n\\r\\n\", expect: '\\r\\n\\r\\nok'}");
}

TEST(TcpFaultsTest, EachFaultReportsWithinItsTimeoutWhileFiftyHealthyChecksKeepTime) {
  const auto timeout = 1s;
  HealthyFleet fleet;
  auto closed = std::make_unique<ClosedPort>();
  auto backlog_full = std::make_unique<TcpTestServer>(
      TcpTestServer::Options{.mode = TcpTestServer::Mode::kNeverAccept});
  FaultServer silent(FaultServer::Options{});
  FaultServer resetting(FaultServer::Options{});

  const std::string yaml =
      "checks:\n" + fleet.Yaml() +
      Check("fault-http-closed-port", "http: {url: 'http://" + closed->address() + "/'}") +
      Check("fault-tcp-closed-port", "tcp: {address: '" + closed->address() + "'}") +
      Check("fault-http-backlog-full", "http: {url: 'http://" + backlog_full->address() + "/'}") +
      Check("fault-tcp-backlog-full", "tcp: {address: '" + backlog_full->address() + "'}") +
      TcpCheck("fault-tcp-never-answers", silent.address()) +
      TcpCheck("fault-tcp-reset-mid-reply", resetting.address());
  DaemonProcess daemon(yaml);
  ASSERT_TRUE(daemon.started()) << daemon.Logs();
  ASSERT_TRUE(WaitForAllRuns(daemon, 2, 15s));
  EXPECT_EQ(CheckJson(daemon, "fault-tcp-never-answers")["state"], "healthy");
  EXPECT_EQ(CheckJson(daemon, "fault-tcp-reset-mid-reply")["state"], "healthy");
  const Usage baseline = SampleUsage(daemon);
  const HealthyFleet::Sample before = fleet.Take(daemon);

  silent.SetBehavior(Behavior::kSilent);
  resetting.SetBehavior(Behavior::kResetMidBody);
  ExpectFault(daemon, {.check = "fault-http-closed-port",
                       .detail_regex = "connection refused",
                       .timeout = timeout,
                       .results = 3,
                       .reason = "connect_refused"});
  ExpectFault(daemon, {.check = "fault-tcp-closed-port",
                       .detail_regex = "connection refused",
                       .timeout = timeout,
                       .results = 3,
                       .reason = "connect_refused"});
  ExpectFault(daemon, {.check = "fault-http-backlog-full",
                       .detail_regex = "timeout after 1s",
                       .timeout = timeout,
                       .results = 3,
                       .reason = "timeout"});
  ExpectFault(daemon, {.check = "fault-tcp-backlog-full",
                       .detail_regex = "timeout after 1s",
                       .timeout = timeout,
                       .results = 3,
                       .reason = "timeout"});
  ExpectFault(daemon, {.check = "fault-tcp-never-answers",
                       .detail_regex = "timeout after 1s",
                       .timeout = timeout,
                       .reason = "timeout"});
  ExpectFault(daemon, {.check = "fault-tcp-reset-mid-reply",
                       // Which one depends on whether the reset arrives before
                       // the reply was read: both say what happened.
                       .detail_regex = "read failed: connection reset by peer|"
                                       R"(connection closed before "\\r\\n\\r\\nok" matched )"
                                       R"(\(got "HTTP/1\.1 200 OK.*\))",
                       // Either way the server closed the connection.
                       .timeout = timeout,
                       .reason = "connection_closed"});

  fleet.ExpectKeptSchedule(before, fleet.Take(daemon));
  ExpectLatenessBounded(daemon, 1.0);

  // The faults end: the misbehaving servers behave, the full listener and
  // the closed port go away (their checks keep failing fast, holding nothing).
  silent.SetBehavior(Behavior::kHealthy);
  resetting.SetBehavior(Behavior::kHealthy);
  backlog_full.reset();
  for (const char* name : {"fault-tcp-never-answers", "fault-tcp-reset-mid-reply"}) {
    ExpectFault(daemon, {.check = name,
                         .health = "healthy",
                         .detail_regex = ".*",
                         .timeout = timeout,
                         .results = 1,
                         .reason = ""});
  }
  for (const char* name : {"fault-http-backlog-full", "fault-tcp-backlog-full"}) {
    ExpectFault(daemon, {.check = name,
                         .detail_regex = "connection refused",
                         .timeout = timeout,
                         .results = 1,
                         .reason = "connect_refused"});
  }
  ExpectUsageBackToBaseline(daemon, baseline, /*fd_slack=*/2, /*rss_slack_bytes=*/8 << 20);
}

}  // namespace
}  // namespace hx
