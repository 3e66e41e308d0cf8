// Parsing of the `tcp:` mapping, from inline YAML.

#include <gtest/gtest.h>
#include <re2/re2.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "checks/tcp/tcp_check.h"
#include "config/parse_context.h"

namespace hx {
namespace {

struct Parsed {
  std::shared_ptr<const TcpCheckSpec> spec;
  std::vector<std::string> errors;
};

Parsed Parse(const std::string& yaml) {
  config::ParseContext ctx("inline.yml", [](const std::string& name) -> std::optional<std::string> {
    if (name == "SMTP_PORT") return "2525";
    return std::nullopt;
  });
  YAML::Node root = YAML::Load(yaml);
  config::MapReader reader(root, "tcp", ctx);
  Parsed out;
  out.spec = ParseTcpCheckSpec(reader);
  for (const auto& e : ctx.errors()) out.errors.push_back(e.ToString());
  return out;
}

TEST(TcpConfigTest, AddressOnly) {
  Parsed p = Parse("address: 127.0.0.1:25");
  ASSERT_NE(p.spec, nullptr) << ::testing::PrintToString(p.errors);
  EXPECT_EQ(p.spec->settings().host, "127.0.0.1");
  EXPECT_EQ(p.spec->settings().port, 25);
  EXPECT_EQ(p.spec->settings().send, "");
  EXPECT_EQ(p.spec->settings().expect, nullptr);
  EXPECT_FALSE(p.spec->settings().tls.has_value());
  EXPECT_EQ(p.spec->settings().ip_policy, IpPolicy::kFirst);
  EXPECT_EQ(p.spec->Target(), "127.0.0.1:25");
}

TEST(TcpConfigTest, IpPolicy) {
  Parsed p = Parse("address: mail.internal:25\nip_policy: all");
  ASSERT_NE(p.spec, nullptr) << ::testing::PrintToString(p.errors);
  EXPECT_EQ(p.spec->settings().ip_policy, IpPolicy::kAll);
  p = Parse("address: mail.internal:25\nip_policy: first");
  ASSERT_NE(p.spec, nullptr) << ::testing::PrintToString(p.errors);
  EXPECT_EQ(p.spec->settings().ip_policy, IpPolicy::kFirst);
  p = Parse("address: mail.internal:25\nip_policy: each");
  EXPECT_EQ(p.spec, nullptr);
  EXPECT_EQ(p.errors, (std::vector<std::string>{
                          "inline.yml:2:12: tcp.ip_policy: must be first or all, got \"each\""}));
}

TEST(TcpConfigTest, EveryKey) {
  Parsed p = Parse(R"(
address: "mail.internal:${SMTP_PORT}"
send: "QUIT\r\n"
expect: "^220"
tls: true
)");
  ASSERT_NE(p.spec, nullptr) << ::testing::PrintToString(p.errors);
  const TcpCheckSettings& s = p.spec->settings();
  EXPECT_EQ(s.host, "mail.internal");
  EXPECT_EQ(s.port, 2525);
  EXPECT_EQ(s.send, "QUIT\r\n");
  ASSERT_NE(s.expect, nullptr);
  EXPECT_EQ(s.expect->pattern(), "^220");
  ASSERT_TRUE(s.tls.has_value());
  EXPECT_FALSE(s.tls->insecure_skip_verify);
  EXPECT_EQ(p.spec->Target(), "tls://mail.internal:2525");
}

TEST(TcpConfigTest, TlsFalseMeansPlain) {
  Parsed p = Parse("{address: 'db:5432', tls: false}");
  ASSERT_NE(p.spec, nullptr);
  EXPECT_FALSE(p.spec->settings().tls.has_value());
}

TEST(TcpConfigTest, TlsMapping) {
  Parsed p = Parse(R"(
address: "[::1]:6379"
tls:
  server_name: redis.internal
  insecure_skip_verify: true
)");
  ASSERT_NE(p.spec, nullptr) << ::testing::PrintToString(p.errors);
  EXPECT_EQ(p.spec->settings().host, "::1");
  EXPECT_EQ(p.spec->settings().port, 6379);
  ASSERT_TRUE(p.spec->settings().tls.has_value());
  EXPECT_EQ(p.spec->settings().tls->server_name, "redis.internal");
  EXPECT_TRUE(p.spec->settings().tls->insecure_skip_verify);
  EXPECT_EQ(p.spec->Target(), "tls://[::1]:6379");
}

TEST(TcpConfigTest, MissingAddress) {
  Parsed p = Parse("send: hi");
  EXPECT_EQ(p.spec, nullptr);
  EXPECT_EQ(p.errors,
            std::vector<std::string>{"inline.yml:1:1: tcp: missing required key \"address\""});
}

TEST(TcpConfigTest, BadAddresses) {
  struct Case {
    std::string address;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"localhost", "must be host:port or [ipv6]:port"},
      {":25", "host must not be empty"},
      {"host:", "port must be a number from 1 to 65535"},
      {"host:0", "port must be a number from 1 to 65535"},
      {"host:65536", "port must be a number from 1 to 65535"},
      {"host:123456", "port must be a number from 1 to 65535"},
      {"host:-1", "port must be a number from 1 to 65535"},
      {"host:smtp", "port must be a number from 1 to 65535"},
      {"::1:25", "an IPv6 address must be in brackets, e.g. [::1]:25"},
      {"[::1]25", "must be host:port or [ipv6]:port"},
      {"[::1", "must be host:port or [ipv6]:port"},
      {"[]:25", "host must not be empty"},
  };
  for (const Case& c : cases) {
    Parsed p = Parse("address: \"" + c.address + "\"");
    EXPECT_EQ(p.spec, nullptr) << c.address;
    EXPECT_EQ(p.errors, std::vector<std::string>{"inline.yml:1:10: tcp.address: " + c.message})
        << c.address;
  }
}

TEST(TcpConfigTest, PortBoundsAccepted) {
  for (const std::string port : {"1", "65535"}) {
    Parsed p = Parse("address: host:" + port);
    ASSERT_NE(p.spec, nullptr) << port;
    EXPECT_EQ(std::to_string(p.spec->settings().port), port);
  }
}

TEST(TcpConfigTest, EveryErrorIsReportedAtOnce) {
  Parsed p = Parse(R"(
adress: x
expect: "("
tls: maybe
)");
  EXPECT_EQ(p.spec, nullptr);
  EXPECT_EQ(p.errors, (std::vector<std::string>{
                          "inline.yml:2:1: tcp: missing required key \"address\"",
                          "inline.yml:3:9: tcp.expect: invalid regular expression: missing ): (",
                          "inline.yml:4:6: tcp.tls: expected true or false, got \"maybe\"",
                          "inline.yml:2:1: tcp: unknown key \"adress\" (did you mean \"address\"?)",
                      }));
}

TEST(TcpConfigTest, TlsMustBeBoolOrMapping) {
  Parsed p = Parse("address: h:1\ntls: [a]");
  EXPECT_EQ(p.spec, nullptr);
  EXPECT_EQ(p.errors,
            std::vector<std::string>{"inline.yml:2:6: tcp.tls: must be true, false or a mapping"});
}

TEST(TcpConfigTest, TlsMappingErrorsFailTheCheck) {
  Parsed p = Parse(R"(
address: h:1
tls:
  ca_file: /nonexistent/ca.pem
  insecure: true
)");
  EXPECT_EQ(p.spec, nullptr);
  EXPECT_EQ(p.errors, (std::vector<std::string>{
                          "inline.yml:4:12: tcp.tls.ca_file: cannot read file "
                          "\"/nonexistent/ca.pem\"",
                          "inline.yml:5:3: tcp.tls: unknown key \"insecure\"",
                      }));
}

}  // namespace
}  // namespace hx
