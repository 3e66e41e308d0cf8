// Fault injection, the `tls` check type: beside ~50 healthy checks, tls checks
// meet a handshake that stalls (the ClientHello is never answered), an SMTP
// server that never sends its greeting, a certificate for another host and an
// expired certificate. Each must say so within its timeout (the hard timeout
// cancels the stalled ones), the expired one keeps exporting its expiry, the
// healthy checks keep time, and fds, memory and the servers' connections come
// back once the stall ends.

#include <gtest/gtest.h>
#include <time.h>

#include <memory>
#include <string>

#include "support/daemon_process.h"
#include "support/fault_harness.h"
#include "support/fault_servers.h"

namespace hx {
namespace {

using namespace std::chrono_literals;
using Behavior = FaultServer::Behavior;

FaultServer::Options Tls(FaultCertificate::Options certificate = {}) {
  FaultServer::Options options;
  options.tls = true;
  options.certificate = std::move(certificate);
  return options;
}

std::string TlsCheck(const std::string& name, const std::string& address,
                     const std::string& extra) {
  return "  - name: " + name + "\n    interval: 1500ms\n    timeout: 1s\n" +
         "    tls: {address: '" + address + "', server_name: localhost" + extra + "}\n";
}

std::string CaFile(const FaultServer& server) { return ", ca_file: '" + server.ca_file() + "'"; }

double Expiry(const nlohmann::json& check) {
  for (const auto& o : check["last_result"]["observations"]) {
    if (o["name"] == "tls_cert_expiry_timestamp_seconds") return o["value"].get<double>();
  }
  return 0;
}

TEST(TlsCheckFaultsTest, EachFaultReportsWithinItsTimeoutWhileFiftyHealthyChecksKeepTime) {
  const auto timeout = 1s;
  HealthyFleet fleet;
  // Starts healthy, stalls on command.
  // Valid for 90 days, past the default thresholds (14d degraded, 3d unhealthy).
  FaultServer stalling(Tls({.not_after = std::chrono::hours(24 * 90)}));
  FaultServer smtp_silent({});  // plain: a STARTTLS client waits for the greeting
  FaultServer wrong_host(Tls({.dns_names = {"wrong.example"}, .loopback_ip = false}));
  FaultServer expired(
      Tls({.not_before = -std::chrono::hours(48), .not_after = -std::chrono::hours(24)}));
  smtp_silent.SetBehavior(Behavior::kSilent);

  const std::string yaml =
      "checks:\n" + fleet.Yaml() +
      TlsCheck("fault-tls-stalled-handshake", stalling.address(), CaFile(stalling)) +
      TlsCheck("fault-tls-smtp-silent", smtp_silent.address(), ", starttls: smtp") +
      TlsCheck("fault-tls-wrong-host", wrong_host.address(), CaFile(wrong_host)) +
      TlsCheck("fault-tls-expired", expired.address(), CaFile(expired));
  DaemonProcess daemon(yaml);
  ASSERT_TRUE(daemon.started()) << daemon.Logs();
  ASSERT_TRUE(WaitForAllRuns(daemon, 2, 15s));
  EXPECT_EQ(CheckJson(daemon, "fault-tls-stalled-handshake")["state"], "healthy");
  const Usage baseline = SampleUsage(daemon);
  const HealthyFleet::Sample before = fleet.Take(daemon);

  stalling.SetBehavior(Behavior::kSilent);
  ExpectFault(daemon, {.check = "fault-tls-stalled-handshake",
                       .detail_regex = "timeout after 1s",
                       .timeout = timeout,
                       .reason = "timeout"});
  ExpectFault(daemon, {.check = "fault-tls-smtp-silent",
                       .detail_regex = "timeout after 1s",
                       .timeout = timeout,
                       .reason = "timeout"});
  ExpectFault(daemon, {.check = "fault-tls-wrong-host",
                       .detail_regex = "TLS handshake failed: certificate verify failed: hostname "
                                       "mismatch; certificate for localhost expires in .*",
                       .timeout = timeout,
                       .results = 3,
                       .reason = "tls_hostname"});
  ExpectFault(daemon, {.check = "fault-tls-expired",
                       .detail_regex = "TLS handshake failed: certificate verify failed: "
                                       "certificate has expired; certificate for localhost "
                                       "expired 1d 0h ago \\(.*\\)",
                       .timeout = timeout,
                       .results = 3,
                       .reason = "tls_expired"});
  // The expired certificate still reports when it expired (yesterday).
  const auto expired_check = CheckJson(daemon, "fault-tls-expired");
  EXPECT_GT(Expiry(expired_check), static_cast<double>(time(nullptr) - 26 * 3600))
      << expired_check.dump();
  EXPECT_LT(Expiry(expired_check), static_cast<double>(time(nullptr) - 22 * 3600));

  fleet.ExpectKeptSchedule(before, fleet.Take(daemon));
  ExpectLatenessBounded(daemon, 1.0);

  stalling.SetBehavior(Behavior::kHealthy);
  ExpectFault(daemon, {.check = "fault-tls-stalled-handshake",
                       .health = "healthy",
                       .detail_regex = "TLSv1\\.3, certificate for localhost expires in .*",
                       .timeout = timeout,
                       .results = 1,
                       .reason = ""});
  smtp_silent.Stop();  // its connections end with it; what the daemon held is released
  ExpectUsageBackToBaseline(daemon, baseline, /*fd_slack=*/2, /*rss_slack_bytes=*/8 << 20);
  EXPECT_EQ(stalling.open_connections(), 0);
}

}  // namespace
}  // namespace hx
