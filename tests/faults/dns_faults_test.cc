// Fault injection, DNS: beside ~50 healthy checks, dns checks meet a UDP
// server that never reads, a TCP server that accepts and never answers, a
// closed TCP port, SERVFAIL and NXDOMAIN from a real knotd, and then the
// knotd itself hangs (SIGSTOP) under five checks that were healthy. Every
// query goes through the daemon's one c-ares resolver on the loop: a hung
// server must cost pending queries, never another check's schedule.

#include <gtest/gtest.h>
#include <signal.h>

#include <memory>
#include <string>

#include "support/daemon_process.h"
#include "support/fault_harness.h"
#include "support/fault_servers.h"
#include "support/knot_server.h"
#include "support/tcp_test_server.h"

namespace hx {
namespace {

using namespace std::chrono_literals;

std::string Check(const std::string& name, const std::string& body) {
  return "  - name: " + name + "\n    interval: 1500ms\n    timeout: 1s\n    " + body + "\n";
}

std::string Dns(const std::string& name, const std::string& server, const std::string& keys) {
  return Check(name, "dns: {server: '" + server + "', " + keys + "}");
}

TEST(DnsFaultsTest, EachFaultReportsWithinItsTimeoutWhileFiftyHealthyChecksKeepTime) {
  const auto timeout = 1s;
  HealthyFleet fleet;
  KnotServer knot({
      {"example.test",
       "$TTL 300\n"
       "@ IN SOA ns1.example.test. hostmaster.example.test. 1 3600 900 604800 60\n"
       "@ IN NS ns1.example.test.\n"
       "api IN A 10.1.0.1\n"},
      {"broken.test", "this is not a zone file\n"},
  });
  ASSERT_TRUE(knot.ok()) << knot.error();
  SilentUdpServer silent;
  TcpTestServer hold(TcpTestServer::Options{.mode = TcpTestServer::Mode::kHold});
  ClosedPort closed;
  const std::string hold_address = "127.0.0.1:" + std::to_string(hold.port());

  std::string yaml =
      "checks:\n" + fleet.Yaml() +
      Dns("fault-dns-silent-udp", silent.address(), "name: api.example.test") +
      Dns("fault-dns-silent-udp-query-timeout", silent.address(),
          "name: api.example.test, query_timeout: 500ms") +
      Dns("fault-dns-silent-tcp", hold_address, "name: api.example.test, transport: tcp") +
      Dns("fault-dns-closed-tcp-port", closed.address(), "name: api.example.test, transport: tcp") +
      Dns("fault-dns-servfail", knot.address(), "name: broken.test") +
      Dns("fault-dns-nxdomain", knot.address(), "name: nx.example.test");
  const std::vector<std::string> hung = {"fault-dns-hung-0", "fault-dns-hung-1", "fault-dns-hung-2",
                                         "fault-dns-hung-3", "fault-dns-hung-4"};
  for (size_t i = 0; i < hung.size(); ++i) {
    yaml += Dns(hung[i], knot.address(),
                "name: api.example.test, expect_answers: ['^10\\.1\\.']" +
                    std::string(i % 2 == 1 ? ", transport: tcp" : ""));
  }
  DaemonProcess daemon(yaml);
  ASSERT_TRUE(daemon.started()) << daemon.Logs();
  ASSERT_TRUE(WaitForAllRuns(daemon, 2, 15s));
  for (const std::string& name : hung) EXPECT_EQ(CheckJson(daemon, name)["state"], "healthy");

  // These faults are on from the start: a steady state of failing checks,
  // whose baseline must hold (no query, socket or timer piling up).
  ExpectFault(daemon, {.check = "fault-dns-silent-udp",
                       .detail_regex = R"(no answer within 0\.9s)",
                       .timeout = timeout,
                       .reason = "dns_timeout"});
  ExpectFault(daemon, {.check = "fault-dns-silent-udp-query-timeout",
                       .detail_regex = R"(no answer within 0\.5s)",
                       .timeout = timeout,
                       .results = 3,
                       .reason = "dns_timeout"});
  ExpectFault(daemon, {.check = "fault-dns-silent-tcp",
                       .detail_regex = R"(no answer within 0\.9s)",
                       .timeout = timeout,
                       .reason = "dns_timeout"});
  ExpectFault(daemon, {.check = "fault-dns-closed-tcp-port",
                       .detail_regex = "connection refused by " + closed.address(),
                       .timeout = timeout,
                       .results = 3,
                       .reason = "connect_refused"});
  ExpectFault(daemon, {.check = "fault-dns-servfail",
                       .detail_regex = "SERVFAIL from " + knot.address(),
                       .timeout = timeout,
                       .results = 3,
                       .reason = "dns_error"});
  ExpectFault(daemon, {.check = "fault-dns-nxdomain",
                       .detail_regex = "NXDOMAIN for nx\\.example\\.test",
                       .timeout = timeout,
                       .results = 3,
                       .reason = "dns_nxdomain"});
  const Usage baseline = SampleUsage(daemon);
  const HealthyFleet::Sample before = fleet.Take(daemon);

  // The DNS server hangs: it still holds its sockets (queries queue up in
  // the kernel, TCP connects complete) but answers nothing.
  ASSERT_EQ(kill(knot.pid(), SIGSTOP), 0);
  for (const std::string& name : hung) {
    ExpectFault(daemon, {.check = name,
                         .detail_regex = R"(no answer within 0\.9s)",
                         .timeout = timeout,
                         .reason = "dns_timeout"});
  }
  fleet.ExpectKeptSchedule(before, fleet.Take(daemon));
  ExpectLatenessBounded(daemon, 1.0);

  // It wakes up: the checks recover, and what the hung queries held is back.
  ASSERT_EQ(kill(knot.pid(), SIGCONT), 0);
  for (const std::string& name : hung) {
    ExpectFault(daemon, {.check = name,
                         .health = "healthy",
                         .detail_regex = R"(1 A record in .*ms: "10\.1\.0\.1")",
                         .timeout = timeout,
                         .results = 1,
                         .reason = ""});
  }
  // The three dns series, from each check's last result.
  const MetricsText metrics = MetricsText::Scrape(daemon);
  EXPECT_EQ(metrics.Get("health_check_dns_rcode_info",
                        {{"check", "fault-dns-hung-0"}, {"rcode", "NOERROR"}}),
            1);
  EXPECT_EQ(metrics.Get("health_check_dns_answers", {{"check", "fault-dns-hung-0"}}), 1);
  EXPECT_EQ(metrics.Get("health_check_dns_answer_ttl_seconds", {{"check", "fault-dns-hung-0"}}),
            300);
  EXPECT_EQ(metrics.Get("health_check_dns_rcode_info",
                        {{"check", "fault-dns-servfail"}, {"rcode", "SERVFAIL"}}),
            1);
  EXPECT_EQ(metrics.Get("health_check_dns_answers", {{"check", "fault-dns-nxdomain"}}), 0);
  EXPECT_EQ(metrics.Get("health_check_dns_answer_ttl_seconds", {{"check", "fault-dns-nxdomain"}}),
            -1);
  // No response, no series.
  EXPECT_EQ(metrics.Get("health_check_dns_rcode_info", {{"check", "fault-dns-silent-udp"}}), -1);
  ExpectUsageBackToBaseline(daemon, baseline, /*fd_slack=*/2, /*rss_slack_bytes=*/8 << 20);
}

}  // namespace
}  // namespace hx
