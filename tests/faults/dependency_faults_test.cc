// Fault injection, dependencies: real PostgreSQL and Redis servers are
// stopped and restarted (and Redis frozen with SIGSTOP) under their checks
// while ~50 healthy checks run beside. The checks must report the outage
// within their timeout, recover after the restart, and the daemon must give
// back every connection it held.

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <iostream>
#include <string>

#include "support/daemon_process.h"
#include "support/fault_harness.h"
#include "support/postgres_server.h"
#include "support/redis_server.h"

namespace hx {
namespace {

using namespace std::chrono_literals;

std::string Check(const std::string& name, const std::string& body) {
  return "  - name: " + name + "\n    interval: 1500ms\n    timeout: 1s\n    " + body + "\n";
}

// Waits for the check's next healthy result and prints how long it took.
void ExpectRecovers(const DaemonProcess& daemon, const std::string& check,
                    const std::string& detail_regex) {
  const auto start = std::chrono::steady_clock::now();
  FaultMeasurement m = ExpectFault(daemon, {.check = check,
                                            .health = "healthy",
                                            .detail_regex = detail_regex,
                                            .timeout = 1s,
                                            .results = 1,
                                            .reason = ""});
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  std::cout << "RECOVERY| " << check << " healthy again " << took.count()
            << " ms after the server was back\n";
  EXPECT_TRUE(m.matched);
}

TEST(DependencyFaultsTest, StoppedAndRestartedServersWhileFiftyHealthyChecksKeepTime) {
  const auto timeout = 1s;
  HealthyFleet fleet;
  PostgresServer postgres;
  RedisServer redis;
  ASSERT_TRUE(redis.ok()) << redis.error();

  const std::string yaml =
      "checks:\n" + fleet.Yaml() +
      Check("fault-postgres",
            "postgres: {dsn: 'host=127.0.0.1 port=" + std::to_string(postgres.port()) +
                " dbname=postgres user=postgres connect_timeout=10'}") +
      Check("fault-redis", "redis: {address: '" + redis.address() + "'}");
  DaemonProcess daemon(yaml);
  ASSERT_TRUE(daemon.started()) << daemon.Logs();
  ASSERT_TRUE(WaitForAllRuns(daemon, 2, 15s));
  EXPECT_EQ(CheckJson(daemon, "fault-postgres")["state"], "healthy");
  EXPECT_EQ(CheckJson(daemon, "fault-redis")["state"], "healthy");
  const Usage baseline = SampleUsage(daemon);
  const HealthyFleet::Sample before = fleet.Take(daemon);

  // Down: both refuse connections.
  postgres.Stop();
  redis.Stop();
  ExpectFault(daemon, {.check = "fault-postgres",
                       .detail_regex = "connection refused",
                       .timeout = timeout,
                       .results = 2,
                       .reason = "connect_refused"});
  ExpectFault(daemon, {.check = "fault-redis",
                       .detail_regex = "connection refused",
                       .timeout = timeout,
                       .results = 2,
                       .reason = "connect_refused"});

  // Back on the same ports: the checks recover by themselves.
  postgres.Start();
  ASSERT_TRUE(redis.Restart()) << redis.error();
  ExpectRecovers(daemon, "fault-postgres", "1 row, first value \"1\"");
  ExpectRecovers(daemon, "fault-redis", "role master");

  // Frozen: Redis's port accepts (the kernel does) but nothing answers.
  ASSERT_EQ(kill(redis.pid(), SIGSTOP), 0);
  ExpectFault(daemon, {.check = "fault-redis",
                       .detail_regex = "timeout after 1s",
                       .timeout = timeout,
                       .results = 2,
                       .reason = "timeout"});
  ASSERT_EQ(kill(redis.pid(), SIGCONT), 0);
  ExpectRecovers(daemon, "fault-redis", "role master");

  fleet.ExpectKeptSchedule(before, fleet.Take(daemon));
  ExpectLatenessBounded(daemon, 1.0);
  ExpectUsageBackToBaseline(daemon, baseline, /*fd_slack=*/2, /*rss_slack_bytes=*/8 << 20);
}

}  // namespace
}  // namespace hx
