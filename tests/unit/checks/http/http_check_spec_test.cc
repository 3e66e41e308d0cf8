// Parsing of the `http:` mapping into HttpCheckSpec (no network).
#include <gtest/gtest.h>
#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>

#include "checks/http/http_check.h"
#include "config/parse_context.h"

namespace hx {
namespace {

class HttpCheckSpecTest : public ::testing::Test {
 protected:
  std::shared_ptr<const HttpCheckSpec> Parse(const std::string& yaml) {
    ctx_ = std::make_unique<config::ParseContext>(
        "test.yml", [this](const std::string& name) -> std::optional<std::string> {
          if (auto it = env_.find(name); it != env_.end()) return it->second;
          return std::nullopt;
        });
    node_ = YAML::Load(yaml);
    config::MapReader reader(node_, "checks[0].http", *ctx_);
    return ParseHttpCheckSpec(reader);
  }

  std::vector<std::string> Errors() const {
    std::vector<std::string> out;
    for (const auto& e : ctx_->errors()) out.push_back(e.ToString());
    return out;
  }

  std::map<std::string, std::string> env_;
  std::unique_ptr<config::ParseContext> ctx_;
  YAML::Node node_;
};

TEST_F(HttpCheckSpecTest, Defaults) {
  auto spec = Parse("url: http://127.0.0.1:8080/healthz");
  ASSERT_NE(spec, nullptr);
  EXPECT_EQ(spec->method, "GET");
  EXPECT_EQ(spec->expect_status.ToString(), "2xx");
  EXPECT_TRUE(spec->degraded_status.empty());
  EXPECT_TRUE(spec->follow_redirects);
  EXPECT_EQ(spec->max_body_bytes, 1024u * 1024u);
  EXPECT_EQ(spec->expect_body, nullptr);
  EXPECT_FALSE(spec->https);
  EXPECT_FALSE(spec->tls.has_value());
  EXPECT_EQ(spec->request_url, "http://127.0.0.1:8080/healthz");
  EXPECT_EQ(spec->fixed_resolve, "");
  EXPECT_TRUE(spec->connect_host_is_ip);
  EXPECT_EQ(spec->ip_protocol, IpProtocol::kAuto);
  EXPECT_EQ(spec->ip_policy, IpPolicy::kFirst);
  EXPECT_EQ(spec->Target(), "GET http://127.0.0.1:8080/healthz");
}

TEST_F(HttpCheckSpecTest, IpPolicy) {
  auto all = Parse("url: https://api.internal/health\nip_policy: all");
  ASSERT_NE(all, nullptr) << ::testing::PrintToString(Errors());
  EXPECT_EQ(all->ip_policy, IpPolicy::kAll);
  auto first = Parse("url: https://api.internal/health\nip_policy: first");
  ASSERT_NE(first, nullptr) << ::testing::PrintToString(Errors());
  EXPECT_EQ(first->ip_policy, IpPolicy::kFirst);
  EXPECT_EQ(Parse("url: https://api.internal/health\nip_policy: every"), nullptr);
  EXPECT_EQ(Errors(), std::vector<std::string>{
                          "test.yml:2:12: checks[0].http.ip_policy: must be first or all, got "
                          "\"every\""});
}

TEST_F(HttpCheckSpecTest, TargetHidesUserInfoQueryAndFragment) {
  env_["PASS"] = "pw-secret";
  auto spec = Parse("url: HTTPS://user:${PASS}@api.internal:8443/health?token=q-secret#top");
  ASSERT_NE(spec, nullptr);
  EXPECT_EQ(spec->Target(), "GET https://api.internal:8443/health");
  EXPECT_TRUE(spec->https);
  // The request itself keeps them.
  EXPECT_NE(spec->url.find("pw-secret"), std::string::npos);
  EXPECT_NE(spec->url.find("token=q-secret"), std::string::npos);
}

TEST_F(HttpCheckSpecTest, TargetOmitsDefaultPortAndShowsRootPath) {
  auto spec = Parse("url: https://api.internal\nmethod: head");
  ASSERT_NE(spec, nullptr);
  EXPECT_EQ(spec->Target(), "HEAD https://api.internal/");
}

TEST_F(HttpCheckSpecTest, ServerNameRewritesRequestAndConnectsToRealHost) {
  auto spec = Parse(
      "url: https://10.0.0.7/ready?x=1\n"
      "tls: {server_name: ready.internal, insecure_skip_verify: true}");
  ASSERT_NE(spec, nullptr) << ::testing::PrintToString(Errors());
  EXPECT_EQ(spec->request_url, "https://ready.internal/ready?x=1");
  // The name is pinned to the literal address: no lookup, Host/SNI keep the name.
  EXPECT_EQ(spec->fixed_resolve, "ready.internal:443:10.0.0.7");
  EXPECT_TRUE(spec->connect_host_is_ip);
  EXPECT_EQ(spec->Target(), "GET https://10.0.0.7/ready");
  ASSERT_TRUE(spec->tls);
  EXPECT_TRUE(spec->tls->insecure_skip_verify);
}

TEST_F(HttpCheckSpecTest, NamesAreResolvedWithTheIpProtocol) {
  auto spec = Parse("url: https://api.internal:8443/health\nip_protocol: ip6");
  ASSERT_NE(spec, nullptr) << ::testing::PrintToString(Errors());
  EXPECT_FALSE(spec->connect_host_is_ip);
  EXPECT_EQ(spec->connect_host, "api.internal");
  EXPECT_EQ(spec->request_host, "api.internal");
  EXPECT_EQ(spec->port, "8443");
  EXPECT_EQ(spec->ip_protocol, IpProtocol::kIp6);

  auto named = Parse(
      "url: https://lb.internal/ready\n"
      "tls: {server_name: ready.internal}\n"
      "ip_protocol: ip4");
  ASSERT_NE(named, nullptr) << ::testing::PrintToString(Errors());
  EXPECT_EQ(named->connect_host, "lb.internal");
  EXPECT_EQ(named->request_host, "ready.internal");
  EXPECT_EQ(named->port, "443");
  EXPECT_EQ(named->fixed_resolve, "");
  EXPECT_EQ(named->ip_protocol, IpProtocol::kIp4);

  auto v6 = Parse("url: http://[::1]:8080/");
  ASSERT_NE(v6, nullptr);
  EXPECT_TRUE(v6->connect_host_is_ip);
  EXPECT_EQ(v6->connect_host, "::1");
}

TEST_F(HttpCheckSpecTest, StatusSetsBodyPatternsAndLimits) {
  auto spec = Parse(
      "url: http://h/\n"
      "expect_status: [200-204, 301]\n"
      "degraded_status: 429\n"
      "expect_body: 'ok$'\n"
      "expect_body_absent: maintenance\n"
      "follow_redirects: false\n"
      "max_body_bytes: 4KiB");
  ASSERT_NE(spec, nullptr) << ::testing::PrintToString(Errors());
  EXPECT_EQ(spec->expect_status.ToString(), "200-204, 301");
  EXPECT_TRUE(spec->degraded_status.Contains(429));
  ASSERT_NE(spec->expect_body, nullptr);
  EXPECT_EQ(spec->expect_body->pattern(), "ok$");
  ASSERT_NE(spec->expect_body_absent, nullptr);
  EXPECT_FALSE(spec->follow_redirects);
  EXPECT_EQ(spec->max_body_bytes, 4096u);
}

TEST_F(HttpCheckSpecTest, UrlErrorsNeverQuoteTheUrl) {
  env_["TOKEN"] = "tok-secret";
  EXPECT_EQ(Parse("url: ftp://tok-secret@host/"), nullptr);
  ASSERT_EQ(Errors().size(), 1u);
  EXPECT_EQ(Errors()[0], "test.yml:1:6: checks[0].http.url: must start with http:// or https://");
  EXPECT_EQ(Parse("url: \"http://${TOKEN} host/\""), nullptr);
  for (const auto& e : Errors()) EXPECT_EQ(e.find("tok-secret"), std::string::npos) << e;
  ASSERT_EQ(Errors().size(), 1u);
  EXPECT_EQ(Errors()[0], "test.yml:1:6: checks[0].http.url: is not a valid URL: bad hostname");
}

TEST_F(HttpCheckSpecTest, HeaderValueWithLineBreakIsRejectedWithoutQuotingIt) {
  env_["TOKEN"] = "tok-secret\r\nX-Evil: 1";
  EXPECT_EQ(Parse("url: http://h/\nheaders: {Authorization: \"${TOKEN}\"}"), nullptr);
  ASSERT_EQ(Errors().size(), 1u);
  EXPECT_EQ(Errors()[0],
            "test.yml:2:10: checks[0].http.headers: value of header \"Authorization\" must not "
            "contain line breaks");
}

// What a body excerpt masks: every form in which a server could echo what
// this check was configured with.
TEST_F(HttpCheckSpecTest, SecretsAreEveryFormOfHeaderValuesUserInfoAndQueryValues) {
  env_["TOKEN"] = "tok-SECRET-1";
  auto spec = Parse(
      "url: 'http://user:pw%2DSECRET@127.0.0.1:8080/h?token=qs%2DSECRET&page=1&flag'\n"
      "headers: {Authorization: 'Bearer ${TOKEN}', X-Basic: 'Basic dXNlcjpiYXNpYy1wdw==',"
      " X-Short: abc}");
  ASSERT_NE(spec, nullptr);
  const std::vector<std::string>& s = spec->secrets;
  auto has = [&s](const std::string& v) { return std::find(s.begin(), s.end(), v) != s.end(); };
  EXPECT_TRUE(has("Bearer tok-SECRET-1"));
  EXPECT_TRUE(has("tok-SECRET-1"));
  EXPECT_TRUE(has("Basic dXNlcjpiYXNpYy1wdw=="));
  EXPECT_TRUE(has("dXNlcjpiYXNpYy1wdw=="));
  EXPECT_TRUE(has("user:basic-pw"));  // decoded
  EXPECT_TRUE(has("basic-pw"));
  EXPECT_TRUE(has("user"));
  EXPECT_TRUE(has("pw%2DSECRET"));
  EXPECT_TRUE(has("pw-SECRET"));
  EXPECT_TRUE(has("user:pw-SECRET"));
  EXPECT_TRUE(has("dXNlcjpwdy1TRUNSRVQ="));  // base64("user:pw-SECRET"), what curl sends
  EXPECT_TRUE(has("qs%2DSECRET"));
  EXPECT_TRUE(has("qs-SECRET"));
  // Shorter than 4 bytes: ordinary words, never masked.
  EXPECT_FALSE(has("abc"));
  EXPECT_FALSE(has("1"));
  for (size_t i = 1; i < s.size(); ++i) EXPECT_GE(s[i - 1].size(), s[i].size());  // longest first
  EXPECT_EQ(spec->excerpt_capture_bytes, kBodyExcerptBytes + s.front().size());

  auto plain = Parse("url: http://127.0.0.1:8080/healthz");
  ASSERT_NE(plain, nullptr);
  EXPECT_TRUE(plain->secrets.empty());
  EXPECT_EQ(plain->excerpt_capture_bytes, kBodyExcerptBytes);
}

TEST(BodyExcerptTest, MasksEverySecretLongestFirstThenCuts) {
  EXPECT_EQ(BodyExcerpt("token=tok-1234 again tok-1234", {"tok-1234"}),
            "token=<redacted> again <redacted>");
  // The longer secret goes first, so no piece of it stays readable.
  EXPECT_EQ(BodyExcerpt("Bearer tok-1234!", {"Bearer tok-1234", "tok-1234"}), "<redacted>!");
  EXPECT_EQ(BodyExcerpt(std::string(600, 'x'), {}), std::string(kBodyExcerptBytes, 'x'));
  EXPECT_EQ(BodyExcerpt("", {"secret"}), "");
}

}  // namespace
}  // namespace hx
