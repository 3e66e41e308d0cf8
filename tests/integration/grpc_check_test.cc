// GrpcCheck against a real gRPC server (Debian's python3-grpcio, see
// tests/support/grpc_health_server.py) on 127.0.0.1, on a real uv loop; and
// the daemon's hard timeout cancelling a call the server never answers.

#include "checks/grpc/grpc_check.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/parse_context.h"
#include "io/curl_multi.h"
#include "io/io_context.h"
#include "support/daemon_process.h"
#include "support/dnsmasq_server.h"
#include "support/fault_harness.h"
#include "support/grpc_test_server.h"
#include "support/loop_test.h"
#include "support/silent_dns_server.h"
#include "support/status_json.h"
#include "support/test_http_server.h"

namespace hx {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr auto kWait = seconds(20);  // bound for anything that should take milliseconds
constexpr std::string_view kNotH2c =
    " before any HTTP/2 answer (not an h2c server? a TLS port needs tls)";

const Observation* FindObservation(const CheckResult& r, std::string_view name,
                                   std::string_view label_value = "") {
  for (const auto& o : r.observations) {
    if (o.name() == name && o.label_value == label_value) return &o;
  }
  return nullptr;
}

class GrpcCheckTest : public LoopTest {
 protected:
  GrpcCheckTest() : LoopTest(kWait) {}

  void TearDown() override {
    checks_.clear();
    DestroyIo();
    LoopTest::TearDown();
  }

  /// Parses a `grpc:` mapping; fails the test on errors.
  std::shared_ptr<const GrpcCheckSpec> Parse(const std::string& yaml) {
    config::ParseContext ctx("test.yml", [](const std::string&) { return std::nullopt; });
    const YAML::Node node = YAML::Load(yaml);
    config::MapReader reader(node, "checks[0].grpc", ctx);
    auto spec = ParseGrpcCheckSpec(reader);
    for (const auto& e : ctx.errors()) ADD_FAILURE() << e.ToString();
    return spec;
  }

  Check& NewCheck(const std::string& yaml) {
    auto spec = Parse(yaml);
    EXPECT_NE(spec, nullptr);
    checks_.push_back(spec->CreateCheck(io()));
    return *checks_.back();
  }

  /// Names resolve through `dns` only (before the first check is created).
  void UseDns(const DnsmasqServer& dns) { io().set_resolver_options(dns.ResolverOptions()); }

  /// One attempt, start to finish.
  CheckResult RunOnce(const std::string& yaml) {
    auto spec = Parse(yaml);
    if (!spec) return CheckResult::Unhealthy(FailureReason::kInternal, "<config error>");
    checks_.push_back(spec->CreateCheck(io()));
    auto result = RunAttempt(*checks_.back());
    if (!result) return CheckResult::Unhealthy(FailureReason::kInternal, "<hung>");
    return *result;
  }

  std::vector<std::unique_ptr<Check>> checks_;
};

TEST_F(GrpcCheckTest, ServingIsHealthyWithObservations) {
  GrpcTestServer server({"--status", "=SERVING", "--status", "orders.v1.Orders=SERVING"});
  ASSERT_TRUE(server.ok()) << server.error();
  for (const std::string service : {"", "orders.v1.Orders"}) {
    const CheckResult r = RunOnce("address: " + server.address() + "\nservice: '" + service + "'");
    EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
    EXPECT_EQ(r.detail, "SERVING");
    EXPECT_EQ(r.reason, FailureReason::kNone);
    EXPECT_EQ(r.address, "");  // evidence is for failures
    ASSERT_NE(FindObservation(r, "grpc_status_code"), nullptr);
    EXPECT_EQ(FindObservation(r, "grpc_status_code")->value, 0);
    ASSERT_NE(FindObservation(r, "grpc_serving_status"), nullptr);
    EXPECT_EQ(FindObservation(r, "grpc_serving_status")->value, 1);
    for (const char* phase : {"dns", "connect", "tls", "processing", "transfer"}) {
      const Observation* o = FindObservation(r, "grpc_phase_seconds", phase);
      ASSERT_NE(o, nullptr) << phase;
      EXPECT_GE(o->value, 0) << phase;
    }
    EXPECT_EQ(FindObservation(r, "grpc_phase_seconds", "tls")->value, 0);
    EXPECT_EQ(FindObservation(r, "tls_cert_expiry_timestamp_seconds"), nullptr);
    // The server decoded the service name the check encoded.
    EXPECT_TRUE(server.WaitFor("CHECK " + service, 1, kWait));
  }
}

TEST_F(GrpcCheckTest, OtherServingStatusesAreUnhealthyAndNamed) {
  GrpcTestServer server({"--status", "down=NOT_SERVING", "--status", "gone=SERVICE_UNKNOWN",
                         "--status", "new=UNKNOWN", "--status", "empty=EMPTY"});
  ASSERT_TRUE(server.ok()) << server.error();
  const std::pair<std::string, std::string> cases[] = {
      {"down", "NOT_SERVING"},
      {"gone", "SERVICE_UNKNOWN"},
      {"new", "UNKNOWN"},
      {"empty", "UNKNOWN"},  // proto3 leaves the default value out
  };
  for (const auto& [service, detail] : cases) {
    const CheckResult r = RunOnce("address: " + server.address() + "\nservice: " + service);
    EXPECT_EQ(r.health, Health::kUnhealthy) << service;
    EXPECT_EQ(r.detail, detail);
    EXPECT_EQ(r.reason, FailureReason::kNotServing) << service;
    EXPECT_EQ(r.address, server.address()) << service;
    ASSERT_NE(FindObservation(r, "grpc_serving_status"), nullptr) << service;
  }
}

TEST_F(GrpcCheckTest, UnknownServiceIsNotFound) {
  GrpcTestServer server({"--status", "=SERVING"});
  ASSERT_TRUE(server.ok()) << server.error();
  const CheckResult r = RunOnce("address: " + server.address() + "\nservice: billing.v2.Billing");
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(
      r.detail,
      "grpc-status 5 NOT_FOUND: unknown service \"billing.v2.Billing\" (\"unknown service\")");
  EXPECT_EQ(r.reason, FailureReason::kNotServing);
  ASSERT_NE(FindObservation(r, "grpc_status_code"), nullptr);
  EXPECT_EQ(FindObservation(r, "grpc_status_code")->value, 5);
  EXPECT_EQ(FindObservation(r, "grpc_serving_status"), nullptr);
}

TEST_F(GrpcCheckTest, ServerWithoutHealthServiceIsUnimplemented) {
  GrpcTestServer server({"--no-health"});
  ASSERT_TRUE(server.ok()) << server.error();
  const CheckResult r = RunOnce("address: " + server.address());
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail,
            "grpc-status 12 UNIMPLEMENTED: the server has no health service (\"Method not "
            "found!\")");
  EXPECT_EQ(r.reason, FailureReason::kProtocolError);
  EXPECT_EQ(FindObservation(r, "grpc_status_code")->value, 12);
}

TEST_F(GrpcCheckTest, BadResponsesFromARealServer) {
  GrpcTestServer server({"--status", "garbage=GARBAGE", "--status", "huge=HUGE"});
  ASSERT_TRUE(server.ok()) << server.error();
  CheckResult r = RunOnce("address: " + server.address() + "\nservice: garbage");
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "invalid HealthCheckResponse: status is not a varint");
  EXPECT_EQ(r.reason, FailureReason::kProtocolError);
  r = RunOnce("address: " + server.address() + "\nservice: huge");
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "response message of 1048580 bytes exceeds 16KiB");
  EXPECT_EQ(r.reason, FailureReason::kProtocolError);
}

TEST_F(GrpcCheckTest, MetadataIsSentAndNeverShown) {
  GrpcTestServer server(
      {"--status", "=SERVING", "--require-metadata", "authorization=Bearer tok-secret-123"});
  ASSERT_TRUE(server.ok()) << server.error();
  const CheckResult without = RunOnce("address: " + server.address());
  EXPECT_EQ(without.health, Health::kUnhealthy);
  EXPECT_EQ(without.detail, "grpc-status 16 UNAUTHENTICATED: \"missing or wrong credentials\"");
  EXPECT_EQ(without.reason, FailureReason::kAuthFailed);

  const CheckResult wrong = RunOnce("address: " + server.address() +
                                    "\nmetadata: {authorization: 'Bearer wrong-secret'}");
  EXPECT_EQ(wrong.detail, "grpc-status 16 UNAUTHENTICATED: \"missing or wrong credentials\"");
  EXPECT_EQ(wrong.reason, FailureReason::kAuthFailed);

  const std::string good =
      "address: " + server.address() + "\nmetadata: {Authorization: 'Bearer tok-secret-123'}";
  const CheckResult r = RunOnce(good);
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_EQ(Parse(good)->Target().find("secret"), std::string::npos);
}

TEST_F(GrpcCheckTest, TlsWithAlpnH2) {
  TestCertificate cert;
  GrpcTestServer server({"--status", "=SERVING", "--tls", cert.cert_file(), cert.key_file()});
  ASSERT_TRUE(server.ok()) << server.error();
  const std::string base = "address: " + server.address() + "\ntls: ";

  const CheckResult r = RunOnce(base + "{ca_file: " + cert.cert_file() + "}");
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  const Observation* expiry = FindObservation(r, "tls_cert_expiry_timestamp_seconds");
  ASSERT_NE(expiry, nullptr);
  EXPECT_EQ(expiry->value, static_cast<double>(cert.not_after()));
  ASSERT_NE(FindObservation(r, "grpc_phase_seconds", "tls"), nullptr);
  EXPECT_GT(FindObservation(r, "grpc_phase_seconds", "tls")->value, 0);

  // Not trusted: the verify error, and the expiry all the same.
  const CheckResult untrusted = RunOnce(base + "true");
  EXPECT_EQ(untrusted.health, Health::kUnhealthy);
  EXPECT_EQ(untrusted.detail, "TLS: certificate verify failed: self-signed certificate");
  EXPECT_EQ(untrusted.reason, FailureReason::kTlsUntrusted);
  ASSERT_NE(FindObservation(untrusted, "tls_cert_expiry_timestamp_seconds"), nullptr);

  const CheckResult skip = RunOnce(base + "{insecure_skip_verify: true}");
  EXPECT_EQ(skip.health, Health::kHealthy) << skip.detail;

  // h2c against the TLS port.
  const CheckResult plain = RunOnce("address: " + server.address());
  EXPECT_EQ(plain.health, Health::kUnhealthy);
  EXPECT_TRUE(plain.detail.ends_with(kNotH2c)) << plain.detail;
  EXPECT_EQ(plain.reason, FailureReason::kProtocolError);
}

TEST_F(GrpcCheckTest, TlsServerNameIsSentAndVerified) {
  TestCertificate cert(
      {.common_name = "orders.internal", .dns_names = {"orders.internal"}, .loopback_ip = false});
  GrpcTestServer server({"--status", "=SERVING", "--tls", cert.cert_file(), cert.key_file()});
  ASSERT_TRUE(server.ok()) << server.error();
  const std::string base = "address: " + server.address() + "\ntls: {ca_file: " + cert.cert_file();
  const CheckResult mismatch = RunOnce(base + "}");
  EXPECT_EQ(mismatch.detail, "TLS: certificate does not match host name");
  EXPECT_EQ(mismatch.reason, FailureReason::kTlsHostname);
  const CheckResult r = RunOnce(base + ", server_name: orders.internal}");
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
}

TEST_F(GrpcCheckTest, NamesAreResolvedByTheResolverAndTlsKeepsTheName) {
  // The certificate holds the name only, so a healthy TLS call proves SNI
  // and the host name check used it while the connection went to the
  // address the daemon's resolver (not curl's) found.
  TestCertificate cert(
      {.common_name = "orders.test", .dns_names = {"orders.test"}, .loopback_ip = false});
  GrpcTestServer server({"--status", "=SERVING", "--tls", cert.cert_file(), cert.key_file()});
  ASSERT_TRUE(server.ok()) << server.error();
  DnsmasqServer dns({"--host-record=orders.test,127.0.0.1"});
  ASSERT_TRUE(dns.ok()) << dns.error();
  UseDns(dns);
  const CheckResult r = RunOnce("address: orders.test:" + std::to_string(server.port()) +
                                "\ntls: {ca_file: " + cert.cert_file() + "}");
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_NE(dns.Log().find("orders.test"), std::string::npos) << dns.Log();
  const Observation* phase = FindObservation(r, "grpc_phase_seconds", "dns");
  ASSERT_NE(phase, nullptr);
  EXPECT_GT(phase->value, 0);
}

TEST_F(GrpcCheckTest, UnresolvableHostIsTheResolversAnswer) {
  DnsmasqServer dns({"--host-record=orders.test,127.0.0.1"});
  ASSERT_TRUE(dns.ok()) << dns.error();
  UseDns(dns);
  const CheckResult r = RunOnce("address: no-such-host.test:50051");
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "no such host");
  EXPECT_EQ(r.reason, FailureReason::kDnsNxdomain);
  const Observation* phase = FindObservation(r, "grpc_phase_seconds", "dns");
  ASSERT_NE(phase, nullptr);
  EXPECT_GT(phase->value, 0);
  EXPECT_NE(dns.Log().find("no-such-host.test"), std::string::npos) << dns.Log();
}

TEST_F(GrpcCheckTest, IpProtocolPicksTheFamilyAndAutoFallsBackToIpv4) {
  // The server listens on 127.0.0.1 only, so ::1 refuses.
  GrpcTestServer server({"--status", "=SERVING"});
  ASSERT_TRUE(server.ok()) << server.error();
  DnsmasqServer dns(
      {"--host-record=dual.test,127.0.0.1,::1", "--host-record=v4only.test,127.0.0.1"});
  ASSERT_TRUE(dns.ok()) << dns.error();
  UseDns(dns);
  const std::string port = std::to_string(server.port());
  const std::string dual = "address: dual.test:" + port + "\n";

  const CheckResult v6 = RunOnce(dual + "ip_protocol: ip6");
  EXPECT_EQ(v6.health, Health::kUnhealthy);
  EXPECT_EQ(v6.detail, "connection refused");
  EXPECT_EQ(v6.reason, FailureReason::kConnectRefused);
  EXPECT_EQ(v6.address, "[::1]:" + port);
  const CheckResult v4 = RunOnce(dual + "ip_protocol: ip4");
  EXPECT_EQ(v4.health, Health::kHealthy) << v4.detail;
  const CheckResult any = RunOnce(dual + "ip_protocol: auto");
  EXPECT_EQ(any.health, Health::kHealthy) << any.detail;

  const CheckResult no6 = RunOnce("address: v4only.test:" + port + "\nip_protocol: ip6");
  EXPECT_EQ(no6.health, Health::kUnhealthy);
  EXPECT_EQ(no6.detail, "no IPv6 address");
  EXPECT_EQ(no6.reason, FailureReason::kDnsError);
}

// ip_policy: one name, two addresses (a hosts file of the test's own), the
// server on 127.0.0.1 only, so 127.0.0.2 (listed first) refuses. first: curl
// moves on to 127.0.0.1 and the name is healthy; all: one call per address,
// the refusing one named with its reason. With a second server on 127.0.0.2
// (same port) every address answers.
TEST_F(GrpcCheckTest, IpPolicyAllCallsEveryAddressAndNamesTheFailingOnes) {
  TempDir dir;
  ResolveFromHostsFileOnly(dir.Write("hosts", "127.0.0.2 two.test\n127.0.0.1 two.test\n"));
  GrpcTestServer server({"--status", "orders=SERVING"});
  ASSERT_TRUE(server.ok()) << server.error();
  const std::string port = std::to_string(server.port());
  const std::string base = "address: two.test:" + port + "\nservice: orders\nip_protocol: ip4\n";

  CheckResult r = RunOnce(base);
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_EQ(r.detail, "SERVING");
  r = RunOnce(base + "ip_policy: first");
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_EQ(r.detail, "SERVING");
  EXPECT_TRUE(server.WaitFor("CHECK orders", 2, kWait));  // events may come after results

  r = RunOnce(base + "ip_policy: all");
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "1 of 2 addresses failed: 127.0.0.2:" + port + ": connection refused");
  // The reason and address are the failing address's, not the healthy one's.
  EXPECT_EQ(r.reason, FailureReason::kConnectRefused);
  EXPECT_EQ(r.address, "127.0.0.2:" + port);
  // 127.0.0.1 was called too; the figures are the refusing address's.
  EXPECT_TRUE(server.WaitFor("CHECK orders", 3, kWait));
  EXPECT_EQ(FindObservation(r, "grpc_serving_status"), nullptr);

  GrpcTestServer second({"--status", "orders=SERVING", "--listen", "127.0.0.2:" + port});
  ASSERT_TRUE(second.ok()) << second.error();
  ASSERT_EQ(second.port(), server.port());
  r = RunOnce(base + "ip_policy: all");
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_EQ(r.detail, "SERVING (all 2 addresses)");
  EXPECT_EQ(r.reason, FailureReason::kNone);
  EXPECT_EQ(r.address, "");
  EXPECT_TRUE(server.WaitFor("CHECK orders", 4, kWait));
  EXPECT_TRUE(second.WaitFor("CHECK orders", 1, kWait));
  const Observation* serving = FindObservation(r, "grpc_serving_status");
  ASSERT_NE(serving, nullptr);
  EXPECT_EQ(serving->value, 1);
  const Observation* dns = FindObservation(r, "grpc_phase_seconds", "dns");
  ASSERT_NE(dns, nullptr);
  EXPECT_GT(dns->value, 0);  // the one lookup's time, though no call resolved

  // A name that does not resolve (no such entry, and no DNS server
  // answers) fails as with first, with the lookup's time.
  r = RunOnce("address: none.test:" + port + "\nip_policy: all");
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "DNS timeout after 0.2s");
  EXPECT_EQ(r.reason, FailureReason::kDnsTimeout);
  const CheckResult first = RunOnce("address: none.test:" + port);
  EXPECT_EQ(r.detail, first.detail);
  EXPECT_EQ(r.reason, first.reason);
  dns = FindObservation(r, "grpc_phase_seconds", "dns");
  ASSERT_NE(dns, nullptr);
  EXPECT_GT(dns->value, 0);
}

// ip_policy all with TLS: the certificate names only two.test, so each
// pinned call verifying it proves SNI and the check keep the name while
// connecting to one address.
TEST_F(GrpcCheckTest, IpPolicyAllOverTlsKeepsTheNameForEachAddress) {
  TempDir dir;
  ResolveFromHostsFileOnly(dir.Write("hosts", "127.0.0.1 two.test\n127.0.0.2 two.test\n"));
  TestCertificate cert(
      {.common_name = "two.test", .dns_names = {"two.test"}, .loopback_ip = false});
  GrpcTestServer server({"--status", "orders=SERVING", "--tls", cert.cert_file(), cert.key_file()});
  ASSERT_TRUE(server.ok()) << server.error();
  const std::string port = std::to_string(server.port());
  GrpcTestServer second({"--status", "orders=SERVING", "--tls", cert.cert_file(), cert.key_file(),
                         "--listen", "127.0.0.2:" + port});
  ASSERT_TRUE(second.ok()) << second.error();
  const CheckResult r =
      RunOnce("address: two.test:" + port + "\nservice: orders\nip_protocol: ip4\ntls: {ca_file: " +
              cert.cert_file() + "}\nip_policy: all");
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_EQ(r.detail, "SERVING (all 2 addresses)");
  // The events come from the servers' output, maybe after the result.
  EXPECT_TRUE(server.WaitFor("CHECK orders", 1, kWait));
  EXPECT_TRUE(second.WaitFor("CHECK orders", 1, kWait));
  EXPECT_NE(FindObservation(r, "tls_cert_expiry_timestamp_seconds"), nullptr);
}

// ip_policy all calls the addresses side by side: both servers, neither of
// which answers, have the call at once. Cancel() ends both calls and no
// callback follows.
TEST_F(GrpcCheckTest, IpPolicyAllCallsSideBySideAndCancelEndsEveryCall) {
  TempDir dir;
  ResolveFromHostsFileOnly(dir.Write("hosts", "127.0.0.1 two.test\n127.0.0.2 two.test\n"));
  GrpcTestServer server({"--hang"});
  ASSERT_TRUE(server.ok()) << server.error();
  const std::string port = std::to_string(server.port());
  GrpcTestServer second({"--hang", "--listen", "127.0.0.2:" + port});
  ASSERT_TRUE(second.ok()) << second.error();
  Check& check =
      NewCheck("address: two.test:" + port + "\nservice: slow\nip_protocol: ip4\nip_policy: all");
  int calls = 0;
  check.Start([&](CheckResult) { ++calls; });
  ASSERT_TRUE(
      RunUntil([&] { return server.Count("CHECK slow") >= 1 && second.Count("CHECK slow") >= 1; }));
  EXPECT_EQ(io().curl().active(), 2u);
  check.Cancel();
  EXPECT_EQ(io().curl().active(), 0u);
  EXPECT_TRUE(server.WaitFor("CANCELLED slow", 1, kWait));
  EXPECT_TRUE(second.WaitFor("CANCELLED slow", 1, kWait));
  RunUntil([] { return false; }, milliseconds(50));
  EXPECT_EQ(calls, 0);
}

TEST_F(GrpcCheckTest, ServerNameWithAResolvedHostConnectsThereAndSendsTheName) {
  TestCertificate cert(
      {.common_name = "orders.test", .dns_names = {"orders.test"}, .loopback_ip = false});
  GrpcTestServer server({"--status", "=SERVING", "--tls", cert.cert_file(), cert.key_file()});
  ASSERT_TRUE(server.ok()) << server.error();
  DnsmasqServer dns({"--host-record=lb.test,127.0.0.1"});
  ASSERT_TRUE(dns.ok()) << dns.error();
  UseDns(dns);
  const CheckResult r =
      RunOnce("address: lb.test:" + std::to_string(server.port()) +
              "\ntls: {ca_file: " + cert.cert_file() + ", server_name: orders.test}");
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_NE(dns.Log().find("lb.test"), std::string::npos) << dns.Log();
  // The server name itself is never looked up.
  EXPECT_EQ(dns.Log().find("orders.test"), std::string::npos) << dns.Log();
}

TEST_F(GrpcCheckTest, CancelWhileResolvingCallsNothing) {
  SilentDnsServer silent;
  ASSERT_TRUE(silent.ok());
  Resolver::Options options;
  options.servers = {silent.address()};
  options.hosts_file = "";
  options.timeout = milliseconds(300);
  options.tries = 1;
  io().set_resolver_options(options);
  Check& check = NewCheck("address: hung.test:50051");
  int calls = 0;
  check.Start([&](CheckResult) { ++calls; });
  RunUntil([] { return false; }, milliseconds(50));
  check.Cancel();
  // Past the resolver's timeout: still nothing.
  RunUntil([&] { return io().resolver().pending() == 0; }, milliseconds(3000));
  EXPECT_EQ(io().resolver().pending(), 0u);
  EXPECT_EQ(calls, 0);
  // And the check still works afterwards (the next attempt times out in DNS).
  const auto r = RunAttempt(check);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->detail, "DNS timeout after 0.3s");
  EXPECT_EQ(r->reason, FailureReason::kDnsTimeout);
}

TEST_F(GrpcCheckTest, TlsAgainstAnH2cPort) {
  GrpcTestServer server({"--status", "=SERVING"});
  ASSERT_TRUE(server.ok()) << server.error();
  const CheckResult r = RunOnce("address: " + server.address() + "\ntls: true");
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail.rfind("TLS handshake failed: ", 0), 0u) << r.detail;
  EXPECT_EQ(r.reason, FailureReason::kTlsHandshake);
}

TEST_F(GrpcCheckTest, Http1ServerIsNotAGrpcServer) {
  TestHttpServer http;
  const CheckResult r = RunOnce("address: 127.0.0.1:" + std::to_string(http.port()));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  // The server answers the preface with an HTTP/1 error and closes; what
  // curl saw first (send failed, reset, nothing) depends on timing.
  EXPECT_TRUE(r.detail.ends_with(kNotH2c)) << r.detail;
  EXPECT_EQ(r.reason, FailureReason::kProtocolError);
}

// A TLS server without ALPN h2 (this HTTP/1.1 test server offers no ALPN):
// curl falls back to HTTP/1.1, which the verdict names.
TEST_F(GrpcCheckTest, TlsServerWithoutH2IsNamed) {
  TestHttpServer https({.tls = true, .certificate = {}});
  const CheckResult r = RunOnce("address: 127.0.0.1:" + std::to_string(https.port()) +
                                "\ntls: {ca_file: " + https.ca_file() + "}");
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "the server answered with HTTP/1 (TLS without ALPN h2), gRPC needs HTTP/2");
  EXPECT_EQ(r.reason, FailureReason::kProtocolError);
  ASSERT_FALSE(https.requests().empty());
  EXPECT_EQ(https.requests().back().path, "/grpc.health.v1.Health/Check");
  EXPECT_EQ(https.requests().back().Header("content-type"), "application/grpc");
}

TEST_F(GrpcCheckTest, ClosedPortIsConnectionRefused) {
  uint16_t port = 0;
  {
    GrpcTestServer server({"--status", "=SERVING"});
    ASSERT_TRUE(server.ok()) << server.error();
    port = server.port();
  }
  const CheckResult r = RunOnce("address: 127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "connection refused");
  EXPECT_EQ(r.reason, FailureReason::kConnectRefused);
  EXPECT_EQ(r.address, "127.0.0.1:" + std::to_string(port));
}

// A server that takes the call and never answers: Cancel() (what the
// scheduler's hard timeout does) closes the connection at once, the server
// sees the call cancelled, and no callback follows.
TEST_F(GrpcCheckTest, CancelClosesAHangingCall) {
  GrpcTestServer server({"--hang"});
  ASSERT_TRUE(server.ok()) << server.error();
  Check& check = NewCheck("address: " + server.address() + "\nservice: slow");
  bool called = false;
  check.Start([&](CheckResult) { called = true; });
  ASSERT_TRUE(RunUntil([&] { return server.Count("CHECK slow") >= 1; }));
  EXPECT_EQ(io().curl().active(), 1u);
  check.Cancel();
  EXPECT_EQ(io().curl().active(), 0u);
  EXPECT_EQ(io().curl().watched_sockets(), 0u);
  EXPECT_TRUE(server.WaitFor("CANCELLED slow", 1, kWait));
  RunUntil([] { return false; }, milliseconds(50));
  EXPECT_FALSE(called);
}

TEST_F(GrpcCheckTest, DestroyingACheckWithAConnectionThatNeverAnswersClosesIt) {
  TestHttpServer silent({.tls = false, .certificate = {}, .never_answer = true});
  bool called = false;
  {
    auto spec = Parse("address: 127.0.0.1:" + std::to_string(silent.port()));
    auto check = spec->CreateCheck(io());
    check->Start([&](CheckResult) { called = true; });
    ASSERT_TRUE(RunUntil([&] { return silent.accepted() >= 1; }));
  }
  EXPECT_TRUE(RunUntil([&] { return silent.client_closes() >= 1; }));
  EXPECT_EQ(io().curl().active(), 0u);
  EXPECT_FALSE(called);
}

TEST_F(GrpcCheckTest, CallbackMayStartTheNextAttempt) {
  GrpcTestServer server({"--status", "=SERVING"});
  ASSERT_TRUE(server.ok()) << server.error();
  Check& check = NewCheck("address: " + server.address());
  int done = 0;
  std::function<void(CheckResult)> again = [&](CheckResult r) {
    EXPECT_EQ(r.detail, "SERVING");
    if (++done < 3) check.Start(again);
  };
  check.Start(again);
  EXPECT_TRUE(RunUntil([&] { return done == 3; }));
}

// The daemon end to end: a hung gRPC call is cut by the scheduler's hard
// timeout every interval, without leaking connections, while an ordinary
// check beside it keeps its schedule.
TEST(GrpcDaemonTest, HardTimeoutCancelsAHungCallAndOtherChecksKeepRunning) {
  GrpcTestServer hung({"--hang"});
  ASSERT_TRUE(hung.ok()) << hung.error();
  GrpcTestServer healthy({"--status", "=SERVING"});
  ASSERT_TRUE(healthy.ok()) << healthy.error();
  DaemonProcess d(
      "checks:\n"
      "  - name: grpc-hung\n"
      "    interval: 500ms\n"
      "    timeout: 200ms\n"
      "    grpc: {address: \"" +
      hung.address() +
      "\", service: hung}\n"
      "  - name: grpc-ok\n"
      "    interval: 500ms\n"
      "    timeout: 400ms\n"
      "    grpc: {address: \"" +
      healthy.address() + "\"}\n");
  ASSERT_TRUE(d.started()) << d.Logs();

  ASSERT_TRUE(hung.WaitFor("CHECK hung", 2, kWait));
  // The least of a few scrapes, so a call that happens to be in flight
  // during one does not count.
  const double fds_before = SampleUsage(d).open_fds;
  const int ok_runs_before = RunsOf(d, "grpc-ok");
  ASSERT_TRUE(hung.WaitFor("CHECK hung", 8, kWait));
  // Every timed-out call was cancelled on the wire (the last may be in flight).
  EXPECT_TRUE(hung.WaitFor("CANCELLED hung", 7, kWait));

  const nlohmann::json status = StatusOf(d);
  const nlohmann::json* h = FindCheck(status, "grpc-hung");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ((*h)["last_result"]["detail"], "timeout after 200ms") << h->dump();
  const nlohmann::json* ok = FindCheck(status, "grpc-ok");
  ASSERT_NE(ok, nullptr);
  EXPECT_EQ((*ok)["last_result"]["detail"], "SERVING") << ok->dump();
  // ~6 intervals passed; the healthy check ran in (nearly) all of them.
  EXPECT_GE(RunsOf(d, "grpc-ok") - ok_runs_before, 4);
  EXPECT_GE(Metric(d, "health_check_timeouts_total{check=\"grpc-hung\"}"), 6);
  // No connection kept per timed-out call.
  EXPECT_LE(SampleUsage(d).open_fds, fds_before);
  const std::string metrics = HttpRequest(d.Url("/metrics")).body;
  EXPECT_EQ(MetricValue(metrics, "health_check_grpc_serving_status{check=\"grpc-ok\"}"), 1);
  EXPECT_EQ(MetricValue(metrics, "health_check_grpc_status_code{check=\"grpc-ok\"}"), 0);
}

}  // namespace
}  // namespace hx
