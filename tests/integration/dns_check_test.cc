// DnsCheck against a real Knot DNS server (knotd) serving the test's own
// zones on a loopback port, through the daemon's resolver on a real loop:
// every record type, NXDOMAIN, SERVFAIL (a zone knotd cannot load), REFUSED,
// a server that never answers (UDP and TCP), TCP transport, a truncated UDP
// answer, and a hung query beside a healthy one.

#include "checks/dns/dns_check.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "config/parse_context.h"
#include "io/io_context.h"
#include "io/resolver.h"
#include "support/knot_server.h"
#include "support/loop_test.h"
#include "support/tcp_test_server.h"

namespace hx {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kWait{5000};

std::string LongTxt() {
  // Three strings of 200 bytes: the response is over 512 bytes, so knotd
  // truncates it over UDP (no EDNS) and c-ares asks again over TCP.
  std::string out;
  for (char c : {'a', 'b', 'c'}) out += " \"" + std::string(200, c) + "\"";
  return out;
}

std::vector<KnotServer::Zone> Zones() {
  const std::string soa =
      "$TTL 300\n"
      "@ IN SOA ns1.example.test. hostmaster.example.test. 2024010101 3600 900 604800 60\n"
      "@ IN NS ns1.example.test.\n";
  return {
      {"example.test", soa +
                           "ns1 IN A 127.0.0.1\n"
                           "api 120 IN A 10.1.0.1\n"
                           "api 120 IN A 10.1.0.2\n"
                           "mixed IN A 10.1.0.1\n"
                           "mixed IN A 10.0.0.9\n"
                           "v6 IN AAAA 2001:db8::1\n"
                           "www IN CNAME api.example.test.\n"
                           "@ IN MX 10 mail.example.test.\n"
                           "@ IN TXT \"v=spf1\" \" -all\"\n"
                           "big IN TXT" +
                           LongTxt() +
                           "\n"
                           "_sip._udp IN SRV 0 5 5060 sip.example.test.\n"
                           "@ IN CAA 0 issue \"letsencrypt.org\"\n"},
      {"0.0.10.in-addr.arpa", soa + "9 IN PTR bad.example.test.\n"},
      // Not a zone file: knotd keeps the zone configured but unloaded and
      // answers SERVFAIL for it.
      {"broken.test", "this is not a zone file\n"},
  };
}

std::shared_ptr<const DnsCheckSpec> Spec(const std::string& yaml,
                                         std::optional<Duration> check_timeout = std::nullopt) {
  config::ParseContext ctx("inline.yml", [](const std::string&) { return std::nullopt; });
  ctx.set_check_timeout(check_timeout);
  YAML::Node root = YAML::Load(yaml);
  config::MapReader reader(root, "dns", ctx);
  auto spec = ParseDnsCheckSpec(reader);
  for (const auto& e : ctx.errors()) ADD_FAILURE() << e.ToString();
  return spec;
}

double ObservationValue(const CheckResult& r, ObservationId id, std::string* label = nullptr) {
  for (const Observation& o : r.observations) {
    if (o.id != id) continue;
    if (label != nullptr) *label = o.label_value;
    return o.value;
  }
  return -1;
}

class DnsCheckTest : public LoopTest {
 protected:
  DnsCheckTest() : LoopTest(kWait) {}

  static void SetUpTestSuite() { knot_ = new KnotServer(Zones()); }
  static void TearDownTestSuite() {
    delete knot_;
    knot_ = nullptr;
  }

  void SetUp() override {
    LoopTest::SetUp();
    ASSERT_TRUE(knot_->ok()) << knot_->error();
  }

  // The mapping's keys plus the test server, e.g. "name: api.example.test, type: A".
  std::string Yaml(const std::string& keys, const std::string& server = "") const {
    return "{" + keys + ", server: '" + (server.empty() ? knot_->address() : server) + "'}";
  }

  CheckResult RunOnce(const std::string& yaml) {
    auto spec = Spec(yaml);
    if (!spec) return CheckResult::Unhealthy(FailureReason::kInternal, "bad spec");
    auto check = spec->CreateCheck(io());
    return RunAttempt(*check).value_or(
        CheckResult::Unhealthy(FailureReason::kInternal, "no result"));
  }

  static KnotServer* knot_;
};

KnotServer* DnsCheckTest::knot_ = nullptr;

TEST_F(DnsCheckTest, EveryRecordTypeInDigsShortForm) {
  struct Case {
    std::string keys;
    std::string detail_tail;  // after "N T records in X.Xms"
  };
  const std::vector<Case> cases = {
      {"name: api.example.test, type: A", ": \"10.1.0.1\", \"10.1.0.2\""},
      {"name: v6.example.test, type: AAAA", ": \"2001:db8::1\""},
      {"name: www.example.test, type: CNAME", ": \"api.example.test.\""},
      {"name: example.test, type: MX", ": \"10 mail.example.test.\""},
      {"name: example.test, type: TXT", ": \"v=spf1 -all\""},
      {"name: example.test, type: NS", ": \"ns1.example.test.\""},
      {"name: _sip._udp.example.test, type: SRV", ": \"0 5 5060 sip.example.test.\""},
      {"name: example.test, type: SOA",
       ": \"ns1.example.test. hostmaster.example.test. 2024010101 3600 900 604800 60\""},
      {"name: 9.0.0.10.in-addr.arpa, type: PTR", ": \"bad.example.test.\""},
      {"name: 10.0.0.9, type: PTR", ": \"bad.example.test.\""},  // dig -x
      {"name: example.test, type: CAA", ": \"0 issue \"letsencrypt.org\"\""},
  };
  for (const Case& c : cases) {
    const CheckResult r = RunOnce(Yaml(c.keys));
    EXPECT_EQ(r.health, Health::kHealthy) << c.keys << ": " << r.detail;
    EXPECT_TRUE(r.detail.ends_with("ms" + c.detail_tail)) << c.keys << ": " << r.detail;
    std::string rcode;
    EXPECT_EQ(ObservationValue(r, ObservationId::kDnsRcode, &rcode), 1) << c.keys;
    EXPECT_EQ(rcode, "NOERROR") << c.keys;
  }
}

TEST_F(DnsCheckTest, ObservesAnswerCountAndFirstTtl) {
  const CheckResult r = RunOnce(Yaml("name: api.example.test, type: A, min_answers: 2"));
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_EQ(ObservationValue(r, ObservationId::kDnsAnswers), 2);
  EXPECT_EQ(ObservationValue(r, ObservationId::kDnsAnswerTtlSeconds), 120);
  // An A query for a CNAME: knotd adds the target's records; the CNAME itself
  // is stepped over, the A records are the answers.
  const CheckResult cname = RunOnce(Yaml("name: www.example.test, type: A"));
  EXPECT_EQ(cname.health, Health::kHealthy) << cname.detail;
  EXPECT_EQ(ObservationValue(cname, ObservationId::kDnsAnswers), 2);
}

TEST_F(DnsCheckTest, NxdomainServfailAndRefused) {
  CheckResult r = RunOnce(Yaml("name: nx.example.test"));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "NXDOMAIN for nx.example.test");
  EXPECT_EQ(r.reason, FailureReason::kDnsNxdomain);
  EXPECT_EQ(r.address, knot_->address());
  std::string rcode;
  ObservationValue(r, ObservationId::kDnsRcode, &rcode);
  EXPECT_EQ(rcode, "NXDOMAIN");
  EXPECT_EQ(ObservationValue(r, ObservationId::kDnsAnswers), 0);
  EXPECT_EQ(ObservationValue(r, ObservationId::kDnsAnswerTtlSeconds), -1);

  r = RunOnce(Yaml("name: broken.test"));
  EXPECT_EQ(r.detail, "SERVFAIL from " + knot_->address());
  EXPECT_EQ(r.reason, FailureReason::kDnsError);
  ObservationValue(r, ObservationId::kDnsRcode, &rcode);
  EXPECT_EQ(rcode, "SERVFAIL");

  r = RunOnce(Yaml("name: elsewhere.test"));
  EXPECT_EQ(r.detail, "REFUSED from " + knot_->address());
  EXPECT_EQ(r.reason, FailureReason::kDnsError);
  // The root is a name like any other (knotd is not authoritative for it).
  r = RunOnce(Yaml("name: ., type: NS"));
  EXPECT_EQ(r.detail, "REFUSED from " + knot_->address());

  // Expecting NXDOMAIN turns it around.
  r = RunOnce(Yaml("name: nx.example.test, expect_rcode: NXDOMAIN"));
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_TRUE(r.detail.starts_with("NXDOMAIN for nx.example.test in ")) << r.detail;
  EXPECT_EQ(r.reason, FailureReason::kNone);
  r = RunOnce(Yaml("name: api.example.test, expect_rcode: NXDOMAIN"));
  EXPECT_EQ(r.detail, "NOERROR for api.example.test (expected NXDOMAIN)");
  EXPECT_EQ(r.reason, FailureReason::kAnswerMismatch);
  // A check that expects REFUSED (say, no recursion for strangers) and is
  // answered: the answer is the mismatch.
  r = RunOnce(Yaml("name: api.example.test, expect_rcode: REFUSED"));
  EXPECT_EQ(r.detail, "NOERROR for api.example.test (expected REFUSED)");
  EXPECT_EQ(r.reason, FailureReason::kAnswerMismatch);
}

TEST_F(DnsCheckTest, AnswersAreMatched) {
  CheckResult r = RunOnce(Yaml("name: mixed.example.test, expect_answers: ['^10\\.1\\.']"));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "answer \"10.0.0.9\" does not match \"^10\\.1\\.\"");
  EXPECT_EQ(r.reason, FailureReason::kAnswerMismatch);
  EXPECT_EQ(r.address, knot_->address());
  r = RunOnce(Yaml("name: mixed.example.test, fail_if_answer_matches: ['^10\\.0\\.']"));
  EXPECT_EQ(r.detail, "answer \"10.0.0.9\" matches \"^10\\.0\\.\"");
  EXPECT_EQ(r.reason, FailureReason::kAnswerMismatch);
  r = RunOnce(Yaml("name: api.example.test, expect_answers: ['^10\\.1\\.']"));
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_EQ(r.reason, FailureReason::kNone);
  EXPECT_EQ(r.address, knot_->address());
  r = RunOnce(Yaml("name: v6.example.test, type: A"));
  EXPECT_EQ(r.detail, "no A record for v6.example.test");
  EXPECT_EQ(r.reason, FailureReason::kAnswerMismatch);
  r = RunOnce(Yaml("name: api.example.test, min_answers: 3"));
  EXPECT_EQ(r.detail, "2 A records for api.example.test, expected at least 3");
  EXPECT_EQ(r.reason, FailureReason::kAnswerMismatch);
}

// Without `server`, the system's servers: here the resolver's own options
// stand in for /etc/resolv.conf, so nothing leaves loopback.
TEST_F(DnsCheckTest, WithoutServerAsksTheSystemsServers) {
  Resolver::Options options;
  options.servers = {knot_->address()};
  io().set_resolver_options(options);
  CheckResult r = RunOnce("{name: api.example.test}");
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_TRUE(r.detail.ends_with(": \"10.1.0.1\", \"10.1.0.2\"")) << r.detail;
  r = RunOnce("{name: broken.test}");
  EXPECT_EQ(r.detail, "SERVFAIL from the system's DNS server");
  EXPECT_EQ(r.reason, FailureReason::kDnsError);
  EXPECT_EQ(r.address, "") << "c-ares does not say which system server answered";
}

TEST_F(DnsCheckTest, TcpTransport) {
  const CheckResult r = RunOnce(Yaml("name: example.test, type: MX, transport: tcp"));
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_TRUE(r.detail.ends_with(": \"10 mail.example.test.\"")) << r.detail;
}

TEST_F(DnsCheckTest, TruncatedUdpAnswerIsFetchedOverTcp) {
  const CheckResult r = RunOnce(Yaml("name: big.example.test, type: TXT"));
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_EQ(ObservationValue(r, ObservationId::kDnsAnswers), 1);
  EXPECT_TRUE(r.detail.find(std::string(120, 'a')) != std::string::npos) << r.detail;
}

TEST_F(DnsCheckTest, ServerThatNeverAnswersOverUdp) {
  SilentUdpServer silent;
  const auto started = std::chrono::steady_clock::now();
  const CheckResult r =
      RunOnce(Yaml("name: api.example.test, query_timeout: 300ms", silent.address()));
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "no answer within 0.3s");
  EXPECT_EQ(r.reason, FailureReason::kDnsTimeout);
  EXPECT_EQ(r.address, silent.address());
  EXPECT_GE(took, milliseconds(290));
  EXPECT_LT(took, milliseconds(2000));
}

TEST_F(DnsCheckTest, ServerThatAcceptsAndNeverAnswersOverTcp) {
  TcpTestServer hold({.mode = TcpTestServer::Mode::kHold});
  const CheckResult r = RunOnce(Yaml("name: api.example.test, transport: tcp, query_timeout: 300ms",
                                     "127.0.0.1:" + std::to_string(hold.port())));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "no answer within 0.3s");
  EXPECT_EQ(r.reason, FailureReason::kDnsTimeout);
}

// A port bound but not listening refuses TCP connections, on IPv4 and IPv6.
TEST_F(DnsCheckTest, RefusedTcpConnectionIsConnectRefused) {
  for (const char* host : {"127.0.0.1", "::1"}) {
    const bool v6 = std::string(host) == "::1";
    const int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_storage addr{};
    socklen_t len = v6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    addr.ss_family = static_cast<sa_family_t>(v6 ? AF_INET6 : AF_INET);
    ASSERT_EQ(inet_pton(addr.ss_family, host,
                        v6 ? static_cast<void*>(&reinterpret_cast<sockaddr_in6*>(&addr)->sin6_addr)
                           : static_cast<void*>(&reinterpret_cast<sockaddr_in*>(&addr)->sin_addr)),
              1);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
    ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    const uint16_t port = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                                   : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
    const std::string server = (v6 ? "[::1]:" : "127.0.0.1:") + std::to_string(port);
    const CheckResult r =
        RunOnce(Yaml("name: api.example.test, transport: tcp, query_timeout: 2s", server));
    close(fd);
    EXPECT_EQ(r.health, Health::kUnhealthy);
    EXPECT_EQ(r.detail, "connection refused by " + server);
    EXPECT_EQ(r.reason, FailureReason::kConnectRefused);
    EXPECT_EQ(r.address, server);
  }
}

// Without query_timeout the query gives up just before the check's timeout
// (here 1s: 0.9s), so the check itself says what happened.
TEST_F(DnsCheckTest, SilentServerIsReportedJustBeforeTheCheckTimeout) {
  SilentUdpServer silent;
  auto spec = Spec(Yaml("name: api.example.test", silent.address()), std::chrono::seconds(1));
  ASSERT_NE(spec, nullptr);
  auto check = spec->CreateCheck(io());
  Outcome outcome;
  const auto started = std::chrono::steady_clock::now();
  check->Start(outcome.Callback());
  ASSERT_TRUE(RunUntil([&] { return outcome.calls > 0; }, milliseconds(5000)));
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(outcome.result.health, Health::kUnhealthy);
  EXPECT_EQ(outcome.result.detail, "no answer within 0.9s");
  EXPECT_EQ(outcome.result.reason, FailureReason::kDnsTimeout);
  EXPECT_GE(took, milliseconds(890));
  EXPECT_LT(took, milliseconds(1000) + milliseconds(500));
}

// When the scheduler's timeout comes first, Cancel()
// must stop the callback and leave nothing behind on the loop (TearDown).
TEST_F(DnsCheckTest, CancelWhileTheServerIsSilentReportsNothing) {
  SilentUdpServer silent;
  auto spec = Spec(Yaml("name: api.example.test", silent.address()));
  ASSERT_NE(spec, nullptr);
  auto check = spec->CreateCheck(io());
  Outcome outcome;
  check->Start(outcome.Callback());
  RunUntil([] { return false; }, milliseconds(200));
  check->Cancel();
  RunUntil([] { return false; }, milliseconds(100));
  EXPECT_EQ(outcome.calls, 0);
  // Destroying a check with a query in flight is the same.
  check->Start(outcome.Callback());
  RunUntil([] { return false; }, milliseconds(50));
  check.reset();
  RunUntil([] { return false; }, milliseconds(100));
  EXPECT_EQ(outcome.calls, 0);
  io().Shutdown();
}

// The resolver is one event loop's c-ares, not a thread pool: a query that
// hangs must not hold up another check's query.
TEST_F(DnsCheckTest, HungQueryDoesNotDelayAnotherCheck) {
  SilentUdpServer silent;
  std::vector<std::unique_ptr<Check>> hung;
  std::vector<Outcome> hung_outcomes(8);
  for (int i = 0; i < 8; ++i) {
    auto spec = Spec(Yaml("name: h" + std::to_string(i) + ".example.test", silent.address()));
    hung.push_back(spec->CreateCheck(io()));
    hung.back()->Start(hung_outcomes[i].Callback());
  }
  for (int round = 0; round < 5; ++round) {
    const auto started = std::chrono::steady_clock::now();
    const CheckResult r = RunOnce(Yaml("name: api.example.test"));
    EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
    EXPECT_LT(std::chrono::steady_clock::now() - started, milliseconds(500));
  }
  for (const Outcome& o : hung_outcomes) EXPECT_EQ(o.calls, 0);
  hung.clear();
  io().Shutdown();
}

}  // namespace
}  // namespace hx
