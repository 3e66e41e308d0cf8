// Fault injection, the `grpc` check type: beside ~50 healthy checks, grpc
// checks meet a real gRPC server (Debian's python3-grpcio,
// tests/support/grpc_health_server.py) whose Check never answers, a service
// that is NOT_SERVING, and a port that refuses; then a server that served
// three checks is frozen (SIGSTOP: the kernel still accepts connections, no
// frame comes back). Each must say so within its timeout (the hard timeout
// cancels the hung calls), the healthy checks keep time, and what the hung
// calls held is released once the server wakes up.

#include <gtest/gtest.h>
#include <signal.h>

#include <string>
#include <vector>

#include "support/daemon_process.h"
#include "support/fault_harness.h"
#include "support/fault_servers.h"
#include "support/grpc_test_server.h"

namespace hx {
namespace {

using namespace std::chrono_literals;

std::string Grpc(const std::string& name, const std::string& address, const std::string& keys) {
  return "  - name: " + name + "\n    interval: 1500ms\n    timeout: 1s\n" +
         "    grpc: {address: '" + address + "'" + keys + "}\n";
}

TEST(GrpcFaultsTest, EachFaultReportsWithinItsTimeoutWhileFiftyHealthyChecksKeepTime) {
  const auto timeout = 1s;
  HealthyFleet fleet;
  GrpcTestServer hang({"--hang"});
  ASSERT_TRUE(hang.ok()) << hang.error();
  GrpcTestServer statuses({"--status", "=SERVING", "--status", "down=NOT_SERVING"});
  ASSERT_TRUE(statuses.ok()) << statuses.error();
  GrpcTestServer frozen({"--status", "=SERVING"});
  ASSERT_TRUE(frozen.ok()) << frozen.error();
  ClosedPort closed;

  std::string yaml = "checks:\n" + fleet.Yaml() +
                     Grpc("fault-grpc-hung-call", hang.address(), ", service: hung") +
                     Grpc("fault-grpc-not-serving", statuses.address(), ", service: down") +
                     Grpc("fault-grpc-refused", closed.address(), "");
  const std::vector<std::string> stopped = {"fault-grpc-frozen-0", "fault-grpc-frozen-1",
                                            "fault-grpc-frozen-2"};
  for (const std::string& name : stopped) yaml += Grpc(name, frozen.address(), "");
  DaemonProcess daemon(yaml);
  ASSERT_TRUE(daemon.started()) << daemon.Logs();
  ASSERT_TRUE(WaitForAllRuns(daemon, 2, 15s));
  for (const std::string& name : stopped) EXPECT_EQ(CheckJson(daemon, name)["state"], "healthy");

  // These faults are on from the start: a steady state of failing checks,
  // whose baseline must hold (no call, connection or timer piling up).
  ExpectFault(daemon, {.check = "fault-grpc-hung-call",
                       .detail_regex = "timeout after 1s",
                       .timeout = timeout,
                       .reason = "timeout"});
  ExpectFault(daemon, {.check = "fault-grpc-not-serving",
                       .detail_regex = "NOT_SERVING",
                       .timeout = timeout,
                       .results = 3,
                       .reason = "not_serving"});
  ExpectFault(daemon, {.check = "fault-grpc-refused",
                       .detail_regex = "connection refused",
                       .timeout = timeout,
                       .results = 3,
                       .reason = "connect_refused"});
  // The hung server saw its calls cancelled when the hard timeout cut them.
  EXPECT_TRUE(hang.WaitFor("CANCELLED hung", 2, 10s));
  const Usage baseline = SampleUsage(daemon);
  const HealthyFleet::Sample before = fleet.Take(daemon);

  // The server freezes: the kernel still completes connections, no frame
  // comes back.
  ASSERT_EQ(kill(frozen.pid(), SIGSTOP), 0);
  for (const std::string& name : stopped) {
    ExpectFault(daemon, {.check = name,
                         .detail_regex = "timeout after 1s",
                         .timeout = timeout,
                         .reason = "timeout"});
  }
  fleet.ExpectKeptSchedule(before, fleet.Take(daemon));
  ExpectLatenessBounded(daemon, 1.0);

  // It wakes up: the checks recover, and what the hung calls held is back.
  ASSERT_EQ(kill(frozen.pid(), SIGCONT), 0);
  for (const std::string& name : stopped) {
    ExpectFault(daemon, {.check = name,
                         .health = "healthy",
                         .detail_regex = "SERVING",
                         .timeout = timeout,
                         .results = 1,
                         .reason = ""});
  }
  ExpectUsageBackToBaseline(daemon, baseline, /*fd_slack=*/2, /*rss_slack_bytes=*/8 << 20);
}

}  // namespace
}  // namespace hx
