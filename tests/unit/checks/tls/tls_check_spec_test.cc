// Parsing of the `tls:` mapping, from inline YAML, and the time-left format
// its details use. Bad configs with their exact messages live in
// tests/testdata/configs/bad/tls_*.yml.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "checks/tls/tls_check.h"
#include "config/parse_context.h"

namespace hx {
namespace {

using std::chrono::hours;

struct Parsed {
  std::shared_ptr<const TlsCheckSpec> spec;
  std::vector<std::string> errors;
};

Parsed Parse(const std::string& yaml) {
  config::ParseContext ctx("inline.yml", [](const std::string& name) -> std::optional<std::string> {
    if (name == "SMTP_PORT") return "2525";
    return std::nullopt;
  });
  YAML::Node root = YAML::Load(yaml);
  config::MapReader reader(root, "tls", ctx);
  Parsed out;
  out.spec = ParseTlsCheckSpec(reader);
  for (const auto& e : ctx.errors()) out.errors.push_back(e.ToString());
  return out;
}

TEST(TlsCheckSpecTest, AddressOnlyTakesTheDefaults) {
  Parsed p = Parse("address: 127.0.0.1:443");
  ASSERT_NE(p.spec, nullptr) << ::testing::PrintToString(p.errors);
  const TlsCheckSettings& s = p.spec->settings();
  EXPECT_EQ(s.host, "127.0.0.1");
  EXPECT_EQ(s.port, 443);
  EXPECT_EQ(s.starttls, StartTls::kNone);
  EXPECT_EQ(s.tls.server_name, "127.0.0.1");  // defaults to the host
  EXPECT_FALSE(s.tls.insecure_skip_verify);
  EXPECT_EQ(s.ip_protocol, IpProtocol::kAuto);
  EXPECT_EQ(s.ip_policy, IpPolicy::kFirst);
  EXPECT_EQ(s.degraded_expires_within, hours(14 * 24));
  EXPECT_EQ(s.unhealthy_expires_within, hours(3 * 24));
  EXPECT_EQ(p.spec->Target(), "tls://127.0.0.1:443");
}

TEST(TlsCheckSpecTest, EveryKey) {
  Parsed p = Parse(R"(
address: "mail.internal:${SMTP_PORT}"
starttls: smtp
server_name: smtp.example.org
degraded_expires_within: 30d
unhealthy_expires_within: 7d12h
ca_file: /dev/null
insecure_skip_verify: true
ip_protocol: ip4
ip_policy: all
)");
  ASSERT_NE(p.spec, nullptr) << ::testing::PrintToString(p.errors);
  const TlsCheckSettings& s = p.spec->settings();
  EXPECT_EQ(s.host, "mail.internal");
  EXPECT_EQ(s.port, 2525);
  EXPECT_EQ(s.starttls, StartTls::kSmtp);
  EXPECT_EQ(s.tls.server_name, "smtp.example.org");
  EXPECT_EQ(s.tls.ca_file, "/dev/null");
  EXPECT_TRUE(s.tls.insecure_skip_verify);
  EXPECT_EQ(s.ip_protocol, IpProtocol::kIp4);
  EXPECT_EQ(s.ip_policy, IpPolicy::kAll);
  EXPECT_EQ(s.degraded_expires_within, hours(30 * 24));
  EXPECT_EQ(s.unhealthy_expires_within, hours(7 * 24 + 12));
  EXPECT_EQ(p.spec->Target(), "tls+smtp://mail.internal:2525");
}

TEST(TlsCheckSpecTest, EveryStartTlsProtocol) {
  for (const auto& [name, protocol] :
       std::vector<std::pair<std::string, StartTls>>{{"smtp", StartTls::kSmtp},
                                                     {"imap", StartTls::kImap},
                                                     {"pop3", StartTls::kPop3},
                                                     {"postgres", StartTls::kPostgres}}) {
    Parsed p = Parse("{address: 'db:5432', starttls: " + name + "}");
    ASSERT_NE(p.spec, nullptr) << name << ::testing::PrintToString(p.errors);
    EXPECT_EQ(p.spec->settings().starttls, protocol) << name;
    EXPECT_EQ(StartTlsName(protocol), name);
  }
}

TEST(TlsCheckSpecTest, Ipv6TargetKeepsBrackets) {
  Parsed p = Parse("{address: '[::1]:993', starttls: imap}");
  ASSERT_NE(p.spec, nullptr) << ::testing::PrintToString(p.errors);
  EXPECT_EQ(p.spec->settings().host, "::1");
  EXPECT_EQ(p.spec->settings().tls.server_name, "::1");
  EXPECT_EQ(p.spec->Target(), "tls+imap://[::1]:993");
}

TEST(TlsCheckSpecTest, ZeroTurnsTheThresholdsOff) {
  Parsed p = Parse("{address: 'a:1', degraded_expires_within: 0, unhealthy_expires_within: 0s}");
  ASSERT_NE(p.spec, nullptr) << ::testing::PrintToString(p.errors);
  EXPECT_EQ(p.spec->settings().degraded_expires_within.count(), 0);
  EXPECT_EQ(p.spec->settings().unhealthy_expires_within.count(), 0);
}

TEST(TlsCheckSpecTest, UnhealthyMayExceedDegradedOnlyWhenDegradedIsOff) {
  Parsed off = Parse("{address: 'a:1', degraded_expires_within: 0, unhealthy_expires_within: 30d}");
  EXPECT_NE(off.spec, nullptr) << ::testing::PrintToString(off.errors);
  Parsed bad = Parse("{address: 'a:1', degraded_expires_within: 2d, unhealthy_expires_within: 3d}");
  EXPECT_EQ(bad.spec, nullptr);
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_EQ(bad.errors[0],
            "inline.yml:1:73: tls.unhealthy_expires_within: must not be longer than "
            "degraded_expires_within (2d)");
}

TEST(TlsCheckSpecTest, UnknownKeyIsReported) {
  Parsed p = Parse("{address: 'a:1', starttsl: smtp}");
  EXPECT_EQ(p.spec, nullptr);
  ASSERT_EQ(p.errors.size(), 1u) << ::testing::PrintToString(p.errors);
  EXPECT_NE(p.errors[0].find("unknown key \"starttsl\""), std::string::npos) << p.errors[0];
}

TEST(TlsCheckSpecTest, FormatTimeLeftShowsTheTwoLargestUnits) {
  EXPECT_EQ(FormatTimeLeft(0), "0s");
  EXPECT_EQ(FormatTimeLeft(42), "42s");
  EXPECT_EQ(FormatTimeLeft(200), "3m 20s");
  EXPECT_EQ(FormatTimeLeft(5 * 3600 + 12 * 60 + 7), "5h 12m");
  EXPECT_EQ(FormatTimeLeft(2 * 86400 + 3 * 3600 + 59 * 60), "2d 3h");
  EXPECT_EQ(FormatTimeLeft(400 * 86400), "400d 0h");
  EXPECT_EQ(FormatTimeLeft(-5), "0s");
}

}  // namespace
}  // namespace hx
