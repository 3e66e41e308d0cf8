// The `dns:` mapping from inline YAML, and what a response means for the
// check (JudgeDnsResponse) on responses built by hand. The real server's
// answers are in tests/integration/dns_check_test.cc.

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <string>
#include <vector>

#include "checks/dns/dns_check.h"
#include "config/parse_context.h"
#include "support/dns_message.h"

namespace hx {
namespace {

using testing_dns::Bytes;
using testing_dns::Message;
using testing_dns::Name;

struct Parsed {
  std::shared_ptr<const DnsCheckSpec> spec;
  std::vector<std::string> errors;
};

Parsed Parse(const std::string& yaml, std::optional<Duration> check_timeout = std::nullopt) {
  config::ParseContext ctx("inline.yml", [](const std::string& name) -> std::optional<std::string> {
    if (name == "ZONE") return "example.test";
    return std::nullopt;
  });
  ctx.set_check_timeout(check_timeout);
  YAML::Node root = YAML::Load(yaml);
  config::MapReader reader(root, "dns", ctx);
  Parsed out;
  out.spec = ParseDnsCheckSpec(reader);
  for (const auto& e : ctx.errors()) out.errors.push_back(e.ToString());
  return out;
}

TEST(DnsCheckSpecTest, NameOnlyTakesTheDefaults) {
  Parsed p = Parse("name: api.internal");
  ASSERT_NE(p.spec, nullptr) << ::testing::PrintToString(p.errors);
  const DnsCheckSettings& s = p.spec->settings();
  EXPECT_EQ(s.name, "api.internal");
  EXPECT_EQ(s.query_name, "api.internal");
  EXPECT_EQ(s.type, dns::RecordType::kA);
  EXPECT_EQ(s.server_address, "");
  EXPECT_FALSE(s.tcp);
  EXPECT_TRUE(s.recursion_desired);
  EXPECT_EQ(s.expect_rcodes, std::vector<int>{0});
  EXPECT_TRUE(s.expect_answers.empty());
  EXPECT_TRUE(s.fail_if_answer_matches.empty());
  EXPECT_EQ(s.min_answers, 1);
  // The config's default check timeout (5s) less 100ms.
  EXPECT_EQ(s.query_timeout, std::chrono::milliseconds(4900));
  EXPECT_EQ(p.spec->Target(), "api.internal A @system");
}

// Unless given, the query gives up a little before the check's timeout, so
// a silent server is the check's own "no answer within ..." rather than the
// scheduler's "timeout after ...": the timeout less a tenth, at most 100ms.
TEST(DnsCheckSpecTest, QueryTimeoutDefaultsToJustUnderTheCheckTimeout) {
  using std::chrono::milliseconds;
  const std::pair<Duration, milliseconds> cases[] = {
      {std::chrono::seconds(2), milliseconds(1900)},
      {std::chrono::seconds(1), milliseconds(900)},
      {milliseconds(500), milliseconds(450)},
      {milliseconds(1), milliseconds(1)},              // never below 1ms
      {std::chrono::minutes(5), milliseconds(60000)},  // nor above the key's 1m
  };
  for (const auto& [timeout, expected] : cases) {
    Parsed p = Parse("name: api.internal", timeout);
    ASSERT_NE(p.spec, nullptr) << ::testing::PrintToString(p.errors);
    EXPECT_EQ(p.spec->settings().query_timeout, expected) << timeout.count();
  }
  // A query_timeout given is kept, also above the check's timeout.
  Parsed p = Parse("{name: api.internal, query_timeout: 3s}", std::chrono::seconds(2));
  ASSERT_NE(p.spec, nullptr) << ::testing::PrintToString(p.errors);
  EXPECT_EQ(p.spec->settings().query_timeout, milliseconds(3000));
}

TEST(DnsCheckSpecTest, EveryKey) {
  Parsed p = Parse(R"(
name: "api.${ZONE}"
type: aaaa
server: "[::1]:5353"
transport: tcp
recursion_desired: false
expect_rcode: [NOERROR, nxdomain]
expect_answers: ['^2001:db8:', '^fd']
fail_if_answer_matches: '^::1$'
min_answers: 2
query_timeout: 1500ms
)");
  ASSERT_NE(p.spec, nullptr) << ::testing::PrintToString(p.errors);
  const DnsCheckSettings& s = p.spec->settings();
  EXPECT_EQ(s.name, "api.example.test");
  EXPECT_EQ(s.type, dns::RecordType::kAaaa);
  EXPECT_EQ(s.server_address, "::1");
  EXPECT_EQ(s.server_port, 5353);
  EXPECT_TRUE(s.tcp);
  EXPECT_FALSE(s.recursion_desired);
  EXPECT_EQ(s.expect_rcodes, (std::vector<int>{0, 3}));
  ASSERT_EQ(s.expect_answers.size(), 2u);
  EXPECT_EQ(s.expect_answers[1]->pattern(), "^fd");
  ASSERT_EQ(s.fail_if_answer_matches.size(), 1u);
  EXPECT_EQ(s.min_answers, 2);
  EXPECT_EQ(s.query_timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(p.spec->Target(), "api.example.test AAAA @[::1]:5353 over tcp");
}

TEST(DnsCheckSpecTest, ServerForms) {
  auto server = [](const std::string& text) {
    Parsed p = Parse("{name: a.test, server: '" + text + "'}");
    if (!p.spec) return p.errors.empty() ? std::string("?") : p.errors[0];
    return p.spec->settings().ServerText();
  };
  EXPECT_EQ(server("127.0.0.1"), "127.0.0.1:53");
  EXPECT_EQ(server("127.0.0.1:5353"), "127.0.0.1:5353");
  EXPECT_EQ(server("::1"), "[::1]:53");
  EXPECT_EQ(server("[::1]"), "[::1]:53");
  EXPECT_EQ(server("[fe80::1]:853"), "[fe80::1]:853");
  const std::string form =
      "must be an IP address with an optional port, e.g. \"127.0.0.1:5353\", \"::1\" or "
      "\"[::1]:53\"";
  EXPECT_EQ(server("ns1.example:53"), "inline.yml:1:24: dns.server: " + form);
  EXPECT_EQ(server("[127.0.0.1]:53"), "inline.yml:1:24: dns.server: " + form);
  EXPECT_EQ(server("[::1]5353"), "inline.yml:1:24: dns.server: " + form);
  EXPECT_EQ(server("127.0.0.1:0"),
            "inline.yml:1:24: dns.server: port must be a number from 1 to 65535");
  EXPECT_EQ(server("127.0.0.1:"),
            "inline.yml:1:24: dns.server: port must be a number from 1 to 65535");
}

TEST(DnsCheckSpecTest, PtrOfAnAddressAsksForItsReverseName) {
  Parsed p = Parse("{name: 10.0.0.1, type: PTR}");
  ASSERT_NE(p.spec, nullptr) << ::testing::PrintToString(p.errors);
  EXPECT_EQ(p.spec->settings().query_name, "1.0.0.10.in-addr.arpa.");
  EXPECT_EQ(p.spec->Target(), "10.0.0.1 PTR @system");
  // An A check of the same text asks for it as written.
  p = Parse("{name: 10.0.0.1, type: A}");
  ASSERT_NE(p.spec, nullptr);
  EXPECT_EQ(p.spec->settings().query_name, "10.0.0.1");
}

TEST(DnsCheckSpecTest, ErrorsNameTheKey) {
  Parsed p = Parse(R"(
type: ANY
transport: quic
expect_rcode: [NOERROR, NOERR]
expect_answers: ['ok', '(']
min_answers: -1
query_timeout: 0s
servr: 127.0.0.1
)");
  EXPECT_EQ(p.spec, nullptr);
  EXPECT_EQ(p.errors,
            (std::vector<std::string>{
                "inline.yml:2:1: dns: missing required key \"name\"",
                "inline.yml:2:7: dns.type: unknown record type \"ANY\": expected one of A, AAAA, "
                "CNAME, MX, TXT, NS, SRV, SOA, PTR, CAA",
                "inline.yml:3:12: dns.transport: must be udp or tcp, got \"quic\"",
                "inline.yml:4:25: dns.expect_rcode[1]: unknown rcode \"NOERR\": expected NOERROR, "
                "FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED, YXDOMAIN, YXRRSET, NXRRSET, "
                "NOTAUTH or NOTZONE",
                "inline.yml:5:24: dns.expect_answers[1]: invalid regular expression: missing ): (",
                "inline.yml:6:14: dns.min_answers: must be an integer from 0 to 65535, got \"-1\"",
                "inline.yml:7:16: dns.query_timeout: must be at least 1ms",
                "inline.yml:8:1: dns: unknown key \"servr\" (did you mean \"server\"?)",
            }));
}

// --- JudgeDnsResponse -------------------------------------------------------

DnsCheckSettings Settings(const std::string& yaml) {
  Parsed p = Parse(yaml);
  EXPECT_NE(p.spec, nullptr) << ::testing::PrintToString(p.errors);
  return p.spec ? p.spec->settings() : DnsCheckSettings{};
}

CheckResult Judge(const DnsCheckSettings& s, const Bytes& message) {
  return JudgeDnsResponse(s, message.data(), message.size(), 1'200'000);
}

Message ARecords(std::initializer_list<Bytes> addresses, int rcode = 0) {
  Message m("api.internal", 1, rcode, static_cast<unsigned>(addresses.size()));
  uint32_t ttl = 300;
  for (const Bytes& a : addresses) m.Answer(1, ttl++, a);
  return m;
}

std::string ObservationsText(const CheckResult& r) {
  std::string out;
  for (const Observation& o : r.observations) {
    out += std::string(o.name());
    if (!o.label_name().empty())
      out += "{" + std::string(o.label_name()) + "=" + o.label_value + "}";
    out += "=" + std::to_string(static_cast<long long>(o.value)) + " ";
  }
  return out;
}

TEST(DnsCheckSpecTest, HealthyAnswerListsAndObservesIt) {
  const DnsCheckSettings s =
      Settings("{name: api.internal, server: '127.0.0.1:5353', expect_answers: ['^10\\.1\\.']}");
  const CheckResult r = Judge(s, ARecords({{10, 1, 0, 1}, {10, 1, 0, 2}}).bytes);
  EXPECT_EQ(r.health, Health::kHealthy);
  EXPECT_EQ(r.detail, "2 A records in 1.2ms: \"10.1.0.1\", \"10.1.0.2\"");
  EXPECT_EQ(r.reason, FailureReason::kNone);
  EXPECT_EQ(ObservationsText(r),
            "dns_rcode_info{rcode=NOERROR}=1 dns_answers=2 dns_answer_ttl_seconds=300 ");
}

TEST(DnsCheckSpecTest, DetailsInTheIssuesWords) {
  const DnsCheckSettings s =
      Settings("{name: api.internal, server: '127.0.0.1:5353', expect_answers: ['^10\\.1\\.']}");
  CheckResult r = Judge(s, ARecords({}, 3).bytes);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "NXDOMAIN for api.internal");
  EXPECT_EQ(r.reason, FailureReason::kDnsNxdomain);
  EXPECT_EQ(ObservationsText(r), "dns_rcode_info{rcode=NXDOMAIN}=1 dns_answers=0 ");

  r = Judge(s, ARecords({}, 2).bytes);
  EXPECT_EQ(r.detail, "SERVFAIL from 127.0.0.1:5353");
  EXPECT_EQ(r.reason, FailureReason::kDnsError);
  r = Judge(s, ARecords({}, 5).bytes);
  EXPECT_EQ(r.detail, "REFUSED from 127.0.0.1:5353");
  EXPECT_EQ(r.reason, FailureReason::kDnsError);
  r = Judge(s, ARecords({}, 4).bytes);
  EXPECT_EQ(r.detail, "NOTIMP from 127.0.0.1:5353");
  EXPECT_EQ(r.reason, FailureReason::kDnsError);
  r = Judge(s, ARecords({}, 6).bytes);
  EXPECT_EQ(r.detail, "YXDOMAIN for api.internal");
  EXPECT_EQ(r.reason, FailureReason::kAnswerMismatch) << "an answer about the name";

  r = Judge(s, ARecords({{10, 1, 0, 1}, {10, 0, 0, 9}}).bytes);
  EXPECT_EQ(r.detail, "answer \"10.0.0.9\" does not match \"^10\\.1\\.\"");
  EXPECT_EQ(r.reason, FailureReason::kAnswerMismatch);
  EXPECT_EQ(ObservationsText(r),
            "dns_rcode_info{rcode=NOERROR}=1 dns_answers=2 dns_answer_ttl_seconds=300 ");

  r = Judge(s, ARecords({}).bytes);
  EXPECT_EQ(r.detail, "no A record for api.internal");
  EXPECT_EQ(r.reason, FailureReason::kAnswerMismatch);
}

TEST(DnsCheckSpecTest, MatchingRules) {
  DnsCheckSettings s = Settings(
      "{name: api.internal, expect_answers: ['^10\\.1\\.', '^10\\.2\\.'], "
      "fail_if_answer_matches: ['\\.99$'], min_answers: 2}");
  EXPECT_EQ(Judge(s, ARecords({{10, 1, 0, 1}, {10, 2, 0, 1}}).bytes).health, Health::kHealthy);
  for (const auto& [addresses, detail] : std::vector<std::pair<std::vector<Bytes>, std::string>>{
           {{{10, 1, 0, 1}, {10, 3, 0, 1}},
            "answer \"10.3.0.1\" matches none of \"^10\\.1\\.\", \"^10\\.2\\.\""},
           {{{10, 1, 0, 1}, {10, 1, 0, 99}}, "answer \"10.1.0.99\" matches \"\\.99$\""},
           {{{10, 1, 0, 1}}, "1 A record for api.internal, expected at least 2"}}) {
    Message m("api.internal", 1, 0, static_cast<unsigned>(addresses.size()));
    for (const Bytes& a : addresses) m.Answer(1, 300, a);
    const CheckResult r = Judge(s, m.bytes);
    EXPECT_EQ(r.detail, detail);
    EXPECT_EQ(r.reason, FailureReason::kAnswerMismatch) << detail;
  }

  // Expecting NXDOMAIN: healthy on NXDOMAIN, and NOERROR is the failure.
  s = Settings("{name: gone.internal, expect_rcode: NXDOMAIN}");
  Message nx("gone.internal", 1, 3, 0);
  CheckResult r = Judge(s, nx.bytes);
  EXPECT_EQ(r.health, Health::kHealthy);
  EXPECT_EQ(r.detail, "NXDOMAIN for gone.internal in 1.2ms");
  r = Judge(s, ARecords({{10, 1, 0, 1}}).bytes);
  EXPECT_EQ(r.detail, "NOERROR for gone.internal (expected NXDOMAIN)");
  EXPECT_EQ(r.reason, FailureReason::kAnswerMismatch);

  // min_answers 0: NOERROR without records (NODATA) is fine.
  s = Settings("{name: api.internal, type: AAAA, min_answers: 0}");
  Message nodata("api.internal", 28, 0, 0);
  EXPECT_EQ(Judge(s, nodata.bytes).detail, "0 AAAA records in 1.2ms");
}

TEST(DnsCheckSpecTest, LongAnswersAreCutInDetails) {
  const DnsCheckSettings s = Settings("{name: t.internal, type: TXT, expect_answers: '^v=spf1'}");
  Message m("t.internal", 16, 0, 1);
  Bytes rdata = {200};
  rdata.insert(rdata.end(), 200, 'x');
  m.Answer(16, 60, rdata);
  const CheckResult r = Judge(s, m.bytes);
  EXPECT_EQ(r.detail, "answer \"" + std::string(120, 'x') + "\"... does not match \"^v=spf1\"");
}

TEST(DnsCheckSpecTest, MalformedResponseSaysWhy) {
  const DnsCheckSettings s = Settings("{name: api.internal, server: 127.0.0.1}");
  Message m("api.internal", 1, 0, 1);
  const CheckResult r = Judge(s, m.bytes);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail,
            "malformed response from 127.0.0.1:53: answer 1: a name runs past the end of its data");
  EXPECT_EQ(r.reason, FailureReason::kProtocolError);
  EXPECT_TRUE(r.observations.empty());
}

}  // namespace
}  // namespace hx
