// HttpCheck against a real HTTP(S) server on 127.0.0.1, on a real uv loop.

#include "checks/http/http_check.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "build_info.h"
#include "config/parse_context.h"
#include "io/curl_multi.h"
#include "io/io_context.h"
#include "support/daemon_process.h"
#include "support/dnsmasq_server.h"
#include "support/loop_test.h"
#include "support/silent_dns_server.h"
#include "support/test_http_server.h"

namespace hx {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr auto kWait = seconds(20);  // bound for anything that should take milliseconds

const Observation* FindObservation(const CheckResult& r, std::string_view name,
                                   std::string_view label_value = "") {
  for (const auto& o : r.observations) {
    if (o.name() == name && o.label_value == label_value) return &o;
  }
  return nullptr;
}

class HttpCheckTest : public LoopTest {
 protected:
  HttpCheckTest() : LoopTest(kWait) {}

  void TearDown() override {
    checks_.clear();
    // curl's connection cache keeps sockets watched until the multi handle
    // goes, so the IoContext goes first; the base then drains and closes.
    DestroyIo();
    LoopTest::TearDown();
  }

  /// Parses an `http:` mapping; fails the test on errors.
  std::shared_ptr<const HttpCheckSpec> Parse(const std::string& yaml) {
    config::ParseContext ctx("test.yml",
                             [this](const std::string& name) -> std::optional<std::string> {
                               if (auto it = env_.find(name); it != env_.end()) return it->second;
                               return std::nullopt;
                             });
    const YAML::Node node = YAML::Load(yaml);
    config::MapReader reader(node, "checks[0].http", ctx);
    auto spec = ParseHttpCheckSpec(reader);
    for (const auto& e : ctx.errors()) ADD_FAILURE() << e.ToString();
    return spec;
  }

  // A Check, not an HttpCheck: with ip_policy all the spec makes an
  // EachAddressCheck.
  Check& NewCheck(std::shared_ptr<const HttpCheckSpec> spec) {
    checks_.push_back(spec->CreateCheck(io()));
    return *checks_.back();
  }

  /// Names resolve through `dns` only (before the first check is created).
  void UseDns(const DnsmasqServer& dns) { io().set_resolver_options(dns.ResolverOptions()); }

  /// One attempt, start to finish.
  CheckResult RunOnce(const std::string& yaml) {
    auto spec = Parse(yaml);
    if (!spec) return CheckResult::Unhealthy(FailureReason::kInternal, "<config error>");
    Check& check = NewCheck(spec);
    std::optional<CheckResult> result;
    check.Start([&](CheckResult r) { result = std::move(r); });
    if (!RunUntil([&] { return result.has_value(); })) {
      ADD_FAILURE() << "attempt did not finish";
      check.Cancel();
      return CheckResult::Unhealthy(FailureReason::kInternal, "<hung>");
    }
    return *result;
  }

  std::vector<std::unique_ptr<Check>> checks_;
  std::map<std::string, std::string> env_;
};

TEST_F(HttpCheckTest, Status200IsHealthyWithObservations) {
  TestHttpServer server;
  const CheckResult r = RunOnce("url: " + server.Url("/status/200"));
  EXPECT_EQ(r.health, Health::kHealthy);
  EXPECT_EQ(r.detail, "HTTP 200");
  EXPECT_EQ(r.reason, FailureReason::kNone);
  // Evidence is for failures: a healthy attempt pays nothing for it.
  EXPECT_EQ(r.address, "");
  EXPECT_EQ(r.body_excerpt, "");
  const Observation* code = FindObservation(r, "http_status_code");
  ASSERT_NE(code, nullptr);
  EXPECT_EQ(code->value, 200);
  for (const char* phase : {"dns", "connect", "tls", "processing", "transfer"}) {
    const Observation* o = FindObservation(r, "http_phase_seconds", phase);
    ASSERT_NE(o, nullptr) << phase;
    EXPECT_EQ(o->label_name(), "phase");
    EXPECT_GE(o->value, 0) << phase;
  }
  EXPECT_EQ(FindObservation(r, "http_phase_seconds", "tls")->value, 0);
  ASSERT_NE(FindObservation(r, "http_redirects"), nullptr);
  EXPECT_EQ(FindObservation(r, "http_redirects")->value, 0);
  EXPECT_EQ(FindObservation(r, "tls_cert_expiry_timestamp_seconds"), nullptr);
}

TEST_F(HttpCheckTest, Status500IsUnhealthy) {
  TestHttpServer server;
  const CheckResult r = RunOnce("url: " + server.Url("/status/500"));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "HTTP 500, expected 2xx");
  EXPECT_EQ(r.reason, FailureReason::kHttpStatus);
  EXPECT_EQ(r.address, "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(r.body_excerpt, "status 500");
  ASSERT_NE(FindObservation(r, "http_status_code"), nullptr);
  EXPECT_EQ(FindObservation(r, "http_status_code")->value, 500);
}

TEST_F(HttpCheckTest, DegradedStatusIsDegraded) {
  TestHttpServer server;
  const CheckResult r = RunOnce("url: " + server.Url("/status/429") + "\ndegraded_status: [429]");
  EXPECT_EQ(r.health, Health::kDegraded);
  EXPECT_EQ(r.detail, "HTTP 429 (degraded status)");
  EXPECT_EQ(r.reason, FailureReason::kHttpStatus);
  EXPECT_EQ(r.body_excerpt, "status 429");
}

TEST_F(HttpCheckTest, Status503IsHttpStatusWithTheBodyAsEvidence) {
  TestHttpServer server;
  // Not /status/503?body=...: a value of the URL's query counts as a secret
  // and would be masked in the excerpt.
  server.Route("/down", [](const TestHttpRequest&) {
    return TestHttpResponse{503, "down for upgrade", {}};
  });
  const CheckResult r = RunOnce("url: " + server.Url("/down"));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.reason, FailureReason::kHttpStatus);
  EXPECT_EQ(r.body_excerpt, "down for upgrade");
  EXPECT_EQ(r.address, "127.0.0.1:" + std::to_string(server.port()));
}

TEST_F(HttpCheckTest, BodyExcerptIsTheFirst512Bytes) {
  TestHttpServer server;
  server.Route("/big", [](const TestHttpRequest&) {
    return TestHttpResponse{503, std::string(600, 'a') + std::string(600, 'b'), {}};
  });
  const CheckResult r = RunOnce("url: " + server.Url("/big"));
  EXPECT_EQ(r.reason, FailureReason::kHttpStatus);
  EXPECT_EQ(r.body_excerpt, std::string(kBodyExcerptBytes, 'a'));
}

TEST_F(HttpCheckTest, DegradedStatusIsCheckedBeforeExpectStatus) {
  TestHttpServer server;
  const CheckResult r =
      RunOnce("url: " + server.Url("/status/203") + "\nexpect_status: 2xx\ndegraded_status: 203");
  EXPECT_EQ(r.health, Health::kDegraded);
}

TEST_F(HttpCheckTest, WithoutDegradedStatus429IsUnhealthy) {
  TestHttpServer server;
  const CheckResult r = RunOnce("url: " + server.Url("/status/429"));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "HTTP 429, expected 2xx");
}

TEST_F(HttpCheckTest, ExpectStatusRangesAndCodes) {
  TestHttpServer server;
  const std::string expect = "\nexpect_status: [200-204, 404]";
  EXPECT_EQ(RunOnce("url: " + server.Url("/status/204") + expect).health, Health::kHealthy);
  EXPECT_EQ(RunOnce("url: " + server.Url("/status/404") + expect).health, Health::kHealthy);
  const CheckResult r = RunOnce("url: " + server.Url("/status/205") + expect);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "HTTP 205, expected 200-204, 404");
}

TEST_F(HttpCheckTest, BodyRegexMatches) {
  TestHttpServer server;
  const CheckResult r = RunOnce("url: " + server.Url("/status/200") +
                                "?body=%7B%22status%22%3A%20%22ok%22%7D\n"
                                "expect_body: '\"status\":\\s*\"ok\"'");
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_EQ(r.detail, "HTTP 200");
}

TEST_F(HttpCheckTest, BodyRegexMismatchIsUnhealthy) {
  TestHttpServer server;
  const CheckResult r = RunOnce("url: " + server.Url("/status/200") +
                                "?body=%7B%22status%22%3A%22down%22%7D\n"
                                "expect_body: 'status.*ok'");
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "body does not match \"status.*ok\"");
  EXPECT_EQ(r.reason, FailureReason::kBodyMismatch);
  EXPECT_FALSE(r.body_excerpt.empty());
  ASSERT_NE(FindObservation(r, "http_status_code"), nullptr);
}

TEST_F(HttpCheckTest, ForbiddenBodyPatternIsUnhealthy) {
  TestHttpServer server;
  const std::string absent = "\nexpect_body_absent: maintenance";
  EXPECT_EQ(RunOnce("url: " + server.Url("/status/200?body=all%20good") + absent).health,
            Health::kHealthy);
  const CheckResult r = RunOnce("url: " + server.Url("/status/200?body=in%20maintenance") + absent);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "body matches forbidden pattern \"maintenance\"");
  EXPECT_EQ(r.reason, FailureReason::kBodyMismatch);
}

TEST_F(HttpCheckTest, RedirectsAreFollowedAndCounted) {
  TestHttpServer server;
  const CheckResult r = RunOnce("url: " + server.Url("/redirect/2"));
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  ASSERT_NE(FindObservation(r, "http_redirects"), nullptr);
  EXPECT_EQ(FindObservation(r, "http_redirects")->value, 2);
  EXPECT_EQ(server.request_count(), 3u);
}

TEST_F(HttpCheckTest, RedirectNotFollowedIsUnhealthyUnlessExpected) {
  TestHttpServer server;
  const std::string url = "url: " + server.Url("/redirect/1") + "\nfollow_redirects: false";
  const CheckResult r = RunOnce(url);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "HTTP 301, expected 2xx");
  EXPECT_EQ(RunOnce(url + "\nexpect_status: [2xx, 301]").health, Health::kHealthy);
  EXPECT_EQ(server.request_count(), 2u);
}

TEST_F(HttpCheckTest, TooManyRedirects) {
  TestHttpServer server;
  const CheckResult r = RunOnce("url: " + server.Url("/redirect/11"));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "too many redirects (more than 10)");
  EXPECT_EQ(r.reason, FailureReason::kProtocolError);
}

TEST_F(HttpCheckTest, BodyAboveLimitIsUnhealthy) {
  TestHttpServer server;
  EXPECT_EQ(RunOnce("url: " + server.Url("/bytes/1024") + "\nmax_body_bytes: 1KiB").health,
            Health::kHealthy);
  const CheckResult r = RunOnce("url: " + server.Url("/bytes/1025") + "\nmax_body_bytes: 1KiB");
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "response body exceeds 1KiB");
  EXPECT_EQ(r.reason, FailureReason::kBodyMismatch);
}

TEST_F(HttpCheckTest, DefaultBodyLimitIsOneMebibyte) {
  TestHttpServer server;
  const CheckResult r = RunOnce("url: " + server.Url("/bytes/1048577"));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "response body exceeds 1MiB");
}

TEST_F(HttpCheckTest, ClosedPortIsConnectionRefused) {
  // A bound socket that is not listening refuses connections, and holding it
  // keeps anyone else from taking the port during the test.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const CheckResult r =
      RunOnce("url: http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/");
  close(fd);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "connection refused");
  EXPECT_EQ(r.reason, FailureReason::kConnectRefused);
  EXPECT_EQ(r.address, "127.0.0.1:" + std::to_string(ntohs(addr.sin_port)));
  EXPECT_EQ(r.body_excerpt, "");
  EXPECT_EQ(FindObservation(r, "http_status_code"), nullptr);
}

TEST_F(HttpCheckTest, UnresolvableHost) {
  DnsmasqServer dns({"--host-record=api.test,127.0.0.1"});
  ASSERT_TRUE(dns.ok()) << dns.error();
  UseDns(dns);
  const CheckResult r = RunOnce("url: http://no-such-host.test/");
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "no such host");
  EXPECT_EQ(r.reason, FailureReason::kDnsNxdomain);
  EXPECT_EQ(r.address, "");
  const Observation* phase = FindObservation(r, "http_phase_seconds", "dns");
  ASSERT_NE(phase, nullptr);
  EXPECT_GT(phase->value, 0);
  EXPECT_NE(dns.Log().find("no-such-host.test"), std::string::npos) << dns.Log();
}

TEST_F(HttpCheckTest, NamesAreResolvedByTheResolverAndHostKeepsTheName) {
  TestHttpServer server;
  DnsmasqServer dns({"--host-record=api.test,127.0.0.1"});
  ASSERT_TRUE(dns.ok()) << dns.error();
  UseDns(dns);
  const std::string port = std::to_string(server.port());
  const CheckResult r = RunOnce("url: http://api.test:" + port + "/status/200");
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  ASSERT_GE(server.request_count(), 1u);
  EXPECT_EQ(server.requests().back().Header("Host"), "api.test:" + port);
  EXPECT_NE(dns.Log().find("api.test"), std::string::npos) << dns.Log();
  const Observation* phase = FindObservation(r, "http_phase_seconds", "dns");
  ASSERT_NE(phase, nullptr);
  EXPECT_GT(phase->value, 0);
}

TEST_F(HttpCheckTest, IpProtocolPicksTheFamilyAndAutoFallsBackToIpv4) {
  // The server listens on 127.0.0.1 only, so ::1 refuses.
  TestHttpServer server;
  DnsmasqServer dns(
      {"--host-record=dual.test,127.0.0.1,::1", "--host-record=v4only.test,127.0.0.1"});
  ASSERT_TRUE(dns.ok()) << dns.error();
  UseDns(dns);
  const std::string port = std::to_string(server.port());
  const std::string url = "url: http://dual.test:" + port + "/status/200\n";

  const CheckResult v6 = RunOnce(url + "ip_protocol: ip6");
  EXPECT_EQ(v6.health, Health::kUnhealthy);
  EXPECT_EQ(v6.detail, "connection refused");
  EXPECT_EQ(v6.reason, FailureReason::kConnectRefused);
  EXPECT_EQ(v6.address.rfind("[::1]:", 0), 0u) << v6.address;

  const CheckResult v4 = RunOnce(url + "ip_protocol: ip4");
  EXPECT_EQ(v4.health, Health::kHealthy) << v4.detail;

  // auto: ::1 first (refused), then 127.0.0.1.
  const CheckResult any = RunOnce(url + "ip_protocol: auto");
  EXPECT_EQ(any.health, Health::kHealthy) << any.detail;

  const CheckResult no6 =
      RunOnce("url: http://v4only.test:" + port + "/status/200\nip_protocol: ip6");
  EXPECT_EQ(no6.health, Health::kUnhealthy);
  EXPECT_EQ(no6.detail, "no IPv6 address");
  EXPECT_EQ(no6.reason, FailureReason::kDnsError);
}

// ip_policy: one name, two addresses (a hosts file of the test's own), the
// server on 127.0.0.1 only, so 127.0.0.2 (listed first) refuses. first: curl
// moves on to 127.0.0.1 and the name is healthy; all: one request per
// address, the refusing one named. With a second server on 127.0.0.2 (same
// port) every address answers, each request still under the name.
TEST_F(HttpCheckTest, IpPolicyAllRequestsEveryAddressAndNamesTheFailingOnes) {
  TempDir dir;
  ResolveFromHostsFileOnly(dir.Write("hosts", "127.0.0.2 two.test\n127.0.0.1 two.test\n"));
  TestHttpServer server;
  const std::string port = std::to_string(server.port());
  const std::string url = "url: http://two.test:" + port + "/status/200\nip_protocol: ip4\n";

  CheckResult r = RunOnce(url);
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_EQ(r.detail, "HTTP 200");
  r = RunOnce(url + "ip_policy: first");
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  ASSERT_EQ(server.request_count(), 2u);

  r = RunOnce(url + "ip_policy: all");
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "1 of 2 addresses failed: 127.0.0.2:" + port + ": connection refused");
  // The reason and address are the failing address's, not the healthy one's.
  EXPECT_EQ(r.reason, FailureReason::kConnectRefused);
  EXPECT_EQ(r.address, "127.0.0.2:" + port);
  // 127.0.0.1 was asked too; the figures are the refusing address's.
  EXPECT_EQ(server.request_count(), 3u);
  EXPECT_EQ(FindObservation(r, "http_status_code"), nullptr);

  TestHttpServer::Options on_second;
  on_second.address = "127.0.0.2";
  on_second.port = server.port();
  TestHttpServer second(on_second);
  r = RunOnce(url + "ip_policy: all");
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_EQ(r.detail, "HTTP 200 (all 2 addresses)");
  EXPECT_EQ(r.reason, FailureReason::kNone);
  ASSERT_EQ(server.request_count(), 4u);
  ASSERT_EQ(second.request_count(), 1u);
  EXPECT_EQ(server.requests().back().Header("Host"), "two.test:" + port);
  EXPECT_EQ(second.requests().back().Header("Host"), "two.test:" + port);
  const Observation* code = FindObservation(r, "http_status_code");
  ASSERT_NE(code, nullptr);
  EXPECT_EQ(code->value, 200);
  const Observation* dns = FindObservation(r, "http_phase_seconds", "dns");
  ASSERT_NE(dns, nullptr);
  EXPECT_GT(dns->value, 0);  // the one lookup's time, though no request resolved

  // A name that does not resolve (no such entry, and no DNS server
  // answers) fails as with first, with the lookup's time.
  r = RunOnce("url: http://none.test:" + port + "/\nip_policy: all");
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "DNS timeout after 0.2s");
  EXPECT_EQ(r.reason, FailureReason::kDnsTimeout);
  const CheckResult first = RunOnce("url: http://none.test:" + port + "/");
  EXPECT_EQ(r.detail, first.detail);
  EXPECT_EQ(first.reason, FailureReason::kDnsTimeout);
  ASSERT_NE(FindObservation(r, "http_phase_seconds", "dns"), nullptr);
  EXPECT_GT(FindObservation(r, "http_phase_seconds", "dns")->value, 0);
}

// ip_policy all sends the requests side by side: both servers, neither of
// which answers, have a connection at once. Cancel() closes both and no
// callback follows.
TEST_F(HttpCheckTest, IpPolicyAllRequestsSideBySideAndCancelClosesEveryOne) {
  TempDir dir;
  ResolveFromHostsFileOnly(dir.Write("hosts", "127.0.0.1 two.test\n127.0.0.2 two.test\n"));
  TestHttpServer::Options silent;
  silent.never_answer = true;
  TestHttpServer first(silent);
  silent.address = "127.0.0.2";
  silent.port = first.port();
  TestHttpServer second(silent);
  Check& check = NewCheck(Parse("url: http://two.test:" + std::to_string(first.port()) +
                                "/\nip_protocol: ip4\nip_policy: all"));
  int calls = 0;
  check.Start([&](CheckResult) { ++calls; });
  ASSERT_TRUE(RunUntil([&] { return first.accepted() >= 1 && second.accepted() >= 1; }));
  check.Cancel();
  EXPECT_EQ(io().curl().active(), 0u);
  EXPECT_TRUE(RunUntil([&] { return first.client_closes() >= 1 && second.client_closes() >= 1; }));
  RunUntil([] { return false; }, milliseconds(50));
  EXPECT_EQ(calls, 0);
}

// ip_policy all over https: each request keeps the name for SNI and the
// certificate check, and the expiry exported is the earliest of all
// addresses, though the first address's figures would say otherwise.
TEST_F(HttpCheckTest, IpPolicyAllReportsTheEarliestCertificateExpiry) {
  TempDir dir;
  ResolveFromHostsFileOnly(dir.Write("hosts", "127.0.0.1 two.test\n127.0.0.2 two.test\n"));
  const TestCertificate::Options long_lived = {
      .common_name = "two.test", .dns_names = {"two.test"}, .loopback_ip = false, .days = 90};
  TestCertificate::Options short_lived = long_lived;
  short_lived.days = 10;
  TestHttpServer first({.tls = true, .certificate = long_lived});
  TestHttpServer second(
      {.tls = true, .certificate = short_lived, .address = "127.0.0.2", .port = first.port()});
  // Both CAs: each server has its own self-signed certificate.
  auto read = [](const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string cas = dir.Write("cas.pem", read(first.ca_file()) + read(second.ca_file()));
  const std::string url = "url: https://two.test:" + std::to_string(first.port()) +
                          "/status/200\nip_protocol: ip4\ntls: {ca_file: " + cas + "}\n";

  CheckResult r = RunOnce(url);
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  const Observation* expiry = FindObservation(r, "tls_cert_expiry_timestamp_seconds");
  ASSERT_NE(expiry, nullptr);
  EXPECT_EQ(expiry->value, static_cast<double>(first.cert_not_after()));

  r = RunOnce(url + "ip_policy: all");
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_EQ(r.detail, "HTTP 200 (all 2 addresses)");
  expiry = FindObservation(r, "tls_cert_expiry_timestamp_seconds");
  ASSERT_NE(expiry, nullptr);
  EXPECT_EQ(expiry->value, static_cast<double>(second.cert_not_after()));
}

TEST_F(HttpCheckTest, ServerNameWithAResolvedHostConnectsThereAndSendsTheName) {
  TestHttpServer server(
      {.tls = true,
       .certificate = {
           .common_name = "checked.test", .dns_names = {"checked.test"}, .loopback_ip = false}});
  DnsmasqServer dns({"--host-record=lb.test,127.0.0.1"});
  ASSERT_TRUE(dns.ok()) << dns.error();
  UseDns(dns);
  const CheckResult r =
      RunOnce("url: https://lb.test:" + std::to_string(server.port()) +
              "/status/200\ntls: {ca_file: " + server.ca_file() + ", server_name: checked.test}");
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  ASSERT_GE(server.request_count(), 1u);
  EXPECT_EQ(server.requests().back().Header("Host"),
            "checked.test:" + std::to_string(server.port()));
  // The server name itself is never looked up.
  EXPECT_EQ(dns.Log().find("checked.test"), std::string::npos) << dns.Log();
}

TEST_F(HttpCheckTest, CancelWhileResolvingCallsNothing) {
  SilentDnsServer silent;
  ASSERT_TRUE(silent.ok());
  Resolver::Options options;
  options.servers = {silent.address()};
  options.hosts_file = "";
  options.timeout = milliseconds(300);
  options.tries = 1;
  io().set_resolver_options(options);
  Check& check = NewCheck(Parse("url: http://hung.test/"));
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
}

TEST_F(HttpCheckTest, SelfSignedCertificateFailsWithoutCa) {
  TestHttpServer server({.tls = true, .certificate = {}});
  const CheckResult r = RunOnce("url: " + server.Url("/status/200"));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "TLS: certificate verify failed: self-signed certificate");
  EXPECT_EQ(r.reason, FailureReason::kTlsUntrusted);
  EXPECT_EQ(r.address, "127.0.0.1:" + std::to_string(server.port()));
  // Expiry is known even when verification fails.
  const Observation* expiry = FindObservation(r, "tls_cert_expiry_timestamp_seconds");
  ASSERT_NE(expiry, nullptr);
  EXPECT_EQ(expiry->value, static_cast<double>(server.cert_not_after()));
}

TEST_F(HttpCheckTest, SelfSignedCertificatePassesWithCaFile) {
  TestHttpServer server({.tls = true, .certificate = {}});
  const CheckResult r =
      RunOnce("url: " + server.Url("/status/200") + "\ntls: {ca_file: " + server.ca_file() + "}");
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  const Observation* expiry = FindObservation(r, "tls_cert_expiry_timestamp_seconds");
  ASSERT_NE(expiry, nullptr);
  EXPECT_EQ(expiry->value, static_cast<double>(server.cert_not_after()));
  const Observation* tls = FindObservation(r, "http_phase_seconds", "tls");
  ASSERT_NE(tls, nullptr);
  EXPECT_GT(tls->value, 0);
}

TEST_F(HttpCheckTest, InsecureSkipVerifyPassesAndReportsExpiry) {
  TestHttpServer server({.tls = true, .certificate = {.days = 3}});
  const CheckResult r =
      RunOnce("url: " + server.Url("/status/200") + "\ntls: {insecure_skip_verify: true}");
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  const Observation* expiry = FindObservation(r, "tls_cert_expiry_timestamp_seconds");
  ASSERT_NE(expiry, nullptr);
  EXPECT_EQ(expiry->value, static_cast<double>(server.cert_not_after()));
}

TEST_F(HttpCheckTest, ServerNameOverridesSniAndVerification) {
  TestHttpServer server({.tls = true,
                         .certificate = {.common_name = "checked.example",
                                         .dns_names = {"checked.example"},
                                         .loopback_ip = false}});
  const std::string base =
      "url: " + server.Url("/status/200") + "\ntls: {ca_file: " + server.ca_file();
  const CheckResult mismatch = RunOnce(base + "}");
  EXPECT_EQ(mismatch.health, Health::kUnhealthy);
  EXPECT_EQ(mismatch.detail, "TLS: certificate does not match host name");
  EXPECT_EQ(mismatch.reason, FailureReason::kTlsHostname);

  const CheckResult r = RunOnce(base + ", server_name: checked.example}");
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  const auto requests = server.requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests.back().Header("Host"), "checked.example:" + std::to_string(server.port()));
}

TEST_F(HttpCheckTest, CancelReleasesConnectionAndSuppressesCallback) {
  TestHttpServer server({.tls = false, .certificate = {}, .never_answer = true});
  auto spec = Parse("url: " + server.Url("/"));
  ASSERT_NE(spec, nullptr);
  Check& check = NewCheck(spec);
  bool called = false;
  check.Start([&](CheckResult) { called = true; });
  ASSERT_TRUE(RunUntil([&] { return server.accepted() >= 1; }));
  check.Cancel();
  EXPECT_EQ(io().curl().active(), 0u);
  EXPECT_TRUE(RunUntil([&] { return server.client_closes() >= 1; }));
  EXPECT_EQ(io().curl().watched_sockets(), 0u);
  RunUntil([] { return false; }, milliseconds(50));
  EXPECT_FALSE(called);
}

TEST_F(HttpCheckTest, DestroyingACheckCancelsIt) {
  TestHttpServer server({.tls = false, .certificate = {}, .never_answer = true});
  auto spec = Parse("url: " + server.Url("/"));
  ASSERT_NE(spec, nullptr);
  bool called = false;
  {
    auto check = spec->CreateCheck(io());
    check->Start([&](CheckResult) { called = true; });
    ASSERT_TRUE(RunUntil([&] { return server.accepted() >= 1; }));
  }
  EXPECT_TRUE(RunUntil([&] { return server.client_closes() >= 1; }));
  EXPECT_FALSE(called);
}

TEST_F(HttpCheckTest, CurlShutdownWithTransferInFlightReleasesEverything) {
  TestHttpServer server({.tls = false, .certificate = {}, .never_answer = true});
  auto spec = Parse("url: " + server.Url("/"));
  ASSERT_NE(spec, nullptr);
  Check& check = NewCheck(spec);
  bool called = false;
  check.Start([&](CheckResult) { called = true; });
  ASSERT_TRUE(RunUntil([&] { return server.accepted() >= 1; }));
  io().curl().Shutdown();  // what IoContext's destruction does
  EXPECT_EQ(io().curl().active(), 0u);
  EXPECT_TRUE(RunUntil([&] { return server.client_closes() >= 1; }));
  check.Cancel();  // after Shutdown: must be harmless
  EXPECT_FALSE(called);
  // TearDown checks that every uv handle was closed.
}

TEST_F(HttpCheckTest, ManyConcurrentChecksAllComplete) {
  TestHttpServer server;
  auto spec = Parse("url: " + server.Url("/delay/20"));
  ASSERT_NE(spec, nullptr);
  constexpr int kChecks = 200;
  int healthy = 0;
  int finished = 0;
  for (int i = 0; i < kChecks; ++i) {
    NewCheck(spec).Start([&](CheckResult r) {
      ++finished;
      if (r.health == Health::kHealthy) ++healthy;
    });
  }
  EXPECT_TRUE(RunUntil([&] { return finished == kChecks; }, seconds(60)));
  EXPECT_EQ(finished, kChecks);
  EXPECT_EQ(healthy, kChecks);
  EXPECT_EQ(io().curl().active(), 0u);
}

TEST_F(HttpCheckTest, CallbackMayStartTheNextAttempt) {
  // Every attempt opens and closes a connection, so fd numbers get reused
  // across attempts; each must still complete.
  TestHttpServer server;
  auto spec = Parse("url: " + server.Url("/status/200"));
  ASSERT_NE(spec, nullptr);
  Check& check = NewCheck(spec);
  int runs = 0;
  std::function<void(CheckResult)> again = [&](CheckResult r) {
    EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
    if (++runs < 20) check.Start(again);
  };
  check.Start(again);
  EXPECT_TRUE(RunUntil([&] { return runs == 20; }));
  EXPECT_EQ(server.request_count(), 20u);
}

TEST_F(HttpCheckTest, CallbackMayDestroyTheCheck) {
  TestHttpServer server;
  auto spec = Parse("url: " + server.Url("/status/200"));
  ASSERT_NE(spec, nullptr);
  std::unique_ptr<Check> check = spec->CreateCheck(io());
  bool called = false;
  check->Start([&](CheckResult) {
    called = true;
    check.reset();
  });
  EXPECT_TRUE(RunUntil([&] { return called; }));
  EXPECT_EQ(check, nullptr);
}

TEST_F(HttpCheckTest, SendsUserAgentMethodBodyAndHeaders) {
  TestHttpServer server;
  const CheckResult r = RunOnce("url: " + server.Url("/echo") +
                                "\nmethod: POST\nbody: '{\"ping\":1}'\n"
                                "headers: {X-Probe: yes, Content-Type: application/json}");
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].body, "{\"ping\":1}");
  EXPECT_EQ(requests[0].Header("X-Probe"), "yes");
  EXPECT_EQ(requests[0].Header("Content-Type"), "application/json");
  EXPECT_EQ(requests[0].Header("User-Agent"), std::string("health_exporter/") + build::kVersion);
}

TEST_F(HttpCheckTest, HeadAndCustomMethods) {
  TestHttpServer server;
  EXPECT_EQ(RunOnce("url: " + server.Url("/status/200") + "\nmethod: HEAD").health,
            Health::kHealthy);
  EXPECT_EQ(RunOnce("url: " + server.Url("/status/200") + "\nmethod: delete").health,
            Health::kHealthy);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "HEAD");
  EXPECT_EQ(requests[1].method, "DELETE");
}

TEST_F(HttpCheckTest, SecretsNeverAppearInDetailsOrTarget) {
  TestHttpServer server;
  TestHttpServer tls_server({.tls = true, .certificate = {}});
  env_["API_TOKEN"] = "tok-SECRET-1";
  const std::string secrets[] = {"tok-SECRET-1", "pw-SECRET-2", "qs-SECRET-3"};
  auto url = [](const TestHttpServer& s, const std::string& path) {
    return s.base_url().replace(s.base_url().find("://") + 3, 0, "user:pw-SECRET-2@") + path +
           "?token=qs-SECRET-3";
  };
  const std::string headers = "\nheaders: {Authorization: \"Bearer ${API_TOKEN}\"}";
  std::vector<std::string> yamls = {
      "url: " + url(server, "/status/200") + headers,
      "url: " + url(server, "/status/503") + headers,
      "url: " + url(server, "/status/200") + headers + "\nexpect_body: nope",
      "url: " + url(tls_server, "/status/200") + headers,
      "url: http://user:pw-SECRET-2@127.0.0.1:1/?token=qs-SECRET-3" + headers,
  };
  for (const auto& yaml : yamls) {
    auto spec = Parse(yaml);
    ASSERT_NE(spec, nullptr);
    const CheckResult r = RunOnce(yaml);
    for (const auto& secret : secrets) {
      EXPECT_EQ(r.detail.find(secret), std::string::npos) << r.detail;
      EXPECT_EQ(spec->Target().find(secret), std::string::npos) << spec->Target();
    }
  }
  // The header did reach the server, so the test would have seen a leak.
  const auto requests = server.requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests[0].Header("Authorization"), "Bearer tok-SECRET-1");
}

// A server that echoes what it was sent (path, query and headers) and fails:
// the excerpt of the failure shows the echo with every configured secret
// masked, in whatever form it came back.
TEST_F(HttpCheckTest, BodyExcerptNeverShowsAConfiguredSecretEvenWhenEchoed) {
  TestHttpServer server;
  server.Route("/echo-fail", [](const TestHttpRequest& request) {
    std::string body = request.method + " " + request.path + "?" + request.query + "\n";
    for (const auto& [name, value] : request.headers) body += name + ": " + value + "\n";
    return TestHttpResponse{503, body, {}};
  });
  env_["API_TOKEN"] = "tok-SECRET-1";
  env_["API_KEY"] = "key-SECRET-4";
  const std::string with_headers =
      "url: " + server.Url("/echo-fail?token=qs-SECRET-3&page=1") +
      "\nheaders: {Authorization: \"Bearer ${API_TOKEN}\", X-Api-Key: \"${API_KEY}\"}";
  const std::string base = server.base_url();
  const std::string with_user_info = "url: " + base.substr(0, base.find("://") + 3) +
                                     "user:pw-SECRET-2@" + base.substr(base.find("://") + 3) +
                                     "/echo-fail?token=qs%2DSECRET%2D3";
  // What curl sends for the user-info: Basic base64("user:pw-SECRET-2").
  const std::string basic = "dXNlcjpwdy1TRUNSRVQtMg==";
  for (const std::string& yaml : {with_headers, with_user_info}) {
    const CheckResult r = RunOnce(yaml);
    EXPECT_EQ(r.reason, FailureReason::kHttpStatus) << r.detail;
    ASSERT_FALSE(r.body_excerpt.empty());
    EXPECT_NE(r.body_excerpt.find("<redacted>"), std::string::npos) << r.body_excerpt;
    for (const std::string& secret :
         std::vector<std::string>{"tok-SECRET-1", "pw-SECRET-2", "qs-SECRET-3", "qs%2DSECRET%2D3",
                                  "key-SECRET-4", basic}) {
      EXPECT_EQ(r.body_excerpt.find(secret), std::string::npos) << r.body_excerpt;
    }
    EXPECT_EQ(r.body_excerpt.find("SECRET"), std::string::npos) << r.body_excerpt;
  }
  // The secrets did reach the server, so a leak would have shown.
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].Header("Authorization"), "Bearer tok-SECRET-1");
  EXPECT_EQ(requests[1].Header("Authorization"), "Basic " + basic);
}

// A secret that straddles the 512th byte is masked whole, not cut into a
// prefix that stays readable.
TEST_F(HttpCheckTest, BodyExcerptMasksASecretAcrossTheCut) {
  TestHttpServer server;
  server.Route("/leak", [](const TestHttpRequest& request) {
    return TestHttpResponse{
        500, std::string(kBodyExcerptBytes - 6, '.') + request.Header("X-Key"), {}};
  });
  const CheckResult r =
      RunOnce("url: " + server.Url("/leak") + "\nheaders: {X-Key: abcdef-SECRET-5}");
  EXPECT_EQ(r.reason, FailureReason::kHttpStatus);
  EXPECT_EQ(r.body_excerpt.size(), kBodyExcerptBytes);
  EXPECT_EQ(r.body_excerpt.find("abcdef"), std::string::npos) << r.body_excerpt.substr(500);
  EXPECT_EQ(r.body_excerpt.substr(kBodyExcerptBytes - 6), "<redac");
}

}  // namespace
}  // namespace hx
