// Parsing of the `grpc:` mapping into GrpcCheckSpec (no network).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <string>

#include "checks/grpc/grpc_check.h"
#include "config/parse_context.h"

namespace hx {
namespace {

class GrpcCheckSpecTest : public ::testing::Test {
 protected:
  std::shared_ptr<const GrpcCheckSpec> Parse(const std::string& yaml) {
    ctx_ = std::make_unique<config::ParseContext>(
        "test.yml", [this](const std::string& name) -> std::optional<std::string> {
          if (auto it = env_.find(name); it != env_.end()) return it->second;
          return std::nullopt;
        });
    node_ = YAML::Load(yaml);
    config::MapReader reader(node_, "checks[0].grpc", *ctx_);
    return ParseGrpcCheckSpec(reader);
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

TEST_F(GrpcCheckSpecTest, Defaults) {
  auto spec = Parse("address: 127.0.0.1:50051");
  ASSERT_NE(spec, nullptr) << ::testing::PrintToString(Errors());
  EXPECT_EQ(spec->host, "127.0.0.1");
  EXPECT_EQ(spec->port, 50051);
  EXPECT_EQ(spec->service, "");
  EXPECT_FALSE(spec->tls.has_value());
  EXPECT_TRUE(spec->metadata.empty());
  EXPECT_EQ(spec->request_url, "http://127.0.0.1:50051/grpc.health.v1.Health/Check");
  EXPECT_TRUE(spec->host_is_ip);
  EXPECT_EQ(spec->request_host, "127.0.0.1");
  EXPECT_EQ(spec->fixed_resolve, "");
  EXPECT_EQ(spec->ip_protocol, IpProtocol::kAuto);
  // An empty HealthCheckRequest: a frame header announcing 0 bytes.
  EXPECT_EQ(spec->request_body, std::string(5, '\0'));
  EXPECT_EQ(spec->Target(), "grpc://127.0.0.1:50051/");
}

TEST_F(GrpcCheckSpecTest, ServiceGoesIntoTheRequestAndTarget) {
  auto spec = Parse("address: orders.internal:50051\nservice: orders.v1.Orders");
  ASSERT_NE(spec, nullptr);
  EXPECT_EQ(spec->service, "orders.v1.Orders");
  EXPECT_EQ(spec->request_body, grpc_wire::EncodeHealthCheckRequest("orders.v1.Orders"));
  EXPECT_EQ(spec->Target(), "grpc://orders.internal:50051/orders.v1.Orders");
  // A name: resolved at every attempt, then handed to curl under that name.
  EXPECT_FALSE(spec->host_is_ip);
  EXPECT_EQ(spec->request_host, "orders.internal");
  EXPECT_EQ(spec->fixed_resolve, "");
}

TEST_F(GrpcCheckSpecTest, IpProtocol) {
  auto v6 = Parse("address: orders.internal:50051\nip_protocol: ip6");
  ASSERT_NE(v6, nullptr) << ::testing::PrintToString(Errors());
  EXPECT_EQ(v6->ip_protocol, IpProtocol::kIp6);
  auto v4 = Parse("address: orders.internal:50051\nip_protocol: ip4");
  ASSERT_NE(v4, nullptr) << ::testing::PrintToString(Errors());
  EXPECT_EQ(v4->ip_protocol, IpProtocol::kIp4);
}

TEST_F(GrpcCheckSpecTest, IpPolicy) {
  auto spec = Parse("address: orders.internal:50051");
  ASSERT_NE(spec, nullptr) << ::testing::PrintToString(Errors());
  EXPECT_EQ(spec->ip_policy, IpPolicy::kFirst);
  auto all = Parse("address: orders.internal:50051\nip_policy: all");
  ASSERT_NE(all, nullptr) << ::testing::PrintToString(Errors());
  EXPECT_EQ(all->ip_policy, IpPolicy::kAll);
  auto first = Parse("address: orders.internal:50051\nip_policy: first");
  ASSERT_NE(first, nullptr) << ::testing::PrintToString(Errors());
  EXPECT_EQ(first->ip_policy, IpPolicy::kFirst);
  EXPECT_EQ(Parse("address: orders.internal:50051\nip_policy: every"), nullptr);
  EXPECT_EQ(Errors(), (std::vector<std::string>{"test.yml:2:12: checks[0].grpc.ip_policy: must be "
                                                "first or all, got \"every\""}));
}

TEST_F(GrpcCheckSpecTest, TlsForms) {
  auto on = Parse("address: a.internal:443\ntls: true");
  ASSERT_NE(on, nullptr);
  ASSERT_TRUE(on->tls.has_value());
  EXPECT_EQ(on->request_url, "https://a.internal:443/grpc.health.v1.Health/Check");
  EXPECT_EQ(on->Target(), "grpcs://a.internal:443/");

  auto off = Parse("address: a.internal:443\ntls: false");
  ASSERT_NE(off, nullptr);
  EXPECT_FALSE(off->tls.has_value());
  EXPECT_EQ(off->request_url, "http://a.internal:443/grpc.health.v1.Health/Check");

  auto map = Parse("address: a.internal:443\ntls: {insecure_skip_verify: true}");
  ASSERT_NE(map, nullptr);
  ASSERT_TRUE(map->tls.has_value());
  EXPECT_TRUE(map->tls->insecure_skip_verify);
}

TEST_F(GrpcCheckSpecTest, ServerNameRequestsThatNameAndConnectsToTheAddress) {
  auto spec = Parse("address: 10.0.0.7:8443\ntls: {server_name: orders.internal}");
  ASSERT_NE(spec, nullptr) << ::testing::PrintToString(Errors());
  EXPECT_EQ(spec->request_url, "https://orders.internal:8443/grpc.health.v1.Health/Check");
  EXPECT_EQ(spec->request_host, "orders.internal");
  EXPECT_EQ(spec->fixed_resolve, "orders.internal:8443:10.0.0.7");
  EXPECT_EQ(spec->Target(), "grpcs://10.0.0.7:8443/");
}

TEST_F(GrpcCheckSpecTest, Ipv6AddressIsBracketedInUrlAndTarget) {
  auto spec = Parse("address: '[::1]:50051'\ntls: {server_name: h.internal}");
  ASSERT_NE(spec, nullptr) << ::testing::PrintToString(Errors());
  EXPECT_EQ(spec->host, "::1");
  EXPECT_EQ(spec->fixed_resolve, "h.internal:50051:[::1]");
  EXPECT_EQ(spec->Target(), "grpcs://[::1]:50051/");
}

TEST_F(GrpcCheckSpecTest, MetadataNamesAreFoldedToLowerCase) {
  env_["TOKEN"] = "tok-secret";
  auto spec = Parse(
      "address: a:1\nmetadata: {Authorization: 'Bearer ${TOKEN}', x-tenant: blue, "
      "trace.id-bin: 'AAEC'}");
  ASSERT_NE(spec, nullptr) << ::testing::PrintToString(Errors());
  const std::map<std::string, std::string> expected = {
      {"authorization", "Bearer tok-secret"}, {"x-tenant", "blue"}, {"trace.id-bin", "AAEC"}};
  EXPECT_EQ(spec->metadata, expected);
  EXPECT_EQ(spec->Target().find("tok-secret"), std::string::npos);
}

TEST_F(GrpcCheckSpecTest, BadMetadataIsReportedWithoutItsValue) {
  env_["TOKEN"] = "tok\nsecret";
  auto spec = Parse(
      "address: a:1\n"
      "metadata:\n"
      "  'x tenant': a\n"
      "  grpc-timeout: 1S\n"
      "  content-type: text/plain\n"
      "  authorization: '${TOKEN}'\n"
      "  X-A: one\n"
      "  x-a: two\n");
  EXPECT_EQ(spec, nullptr);
  // In name order (the mapping is read into a sorted map), all at the mapping.
  const std::vector<std::string> expected = {
      "test.yml:3:3: checks[0].grpc.metadata: value of \"authorization\" must be printable ASCII "
      "(no line breaks or control characters)",
      "test.yml:3:3: checks[0].grpc.metadata: metadata name \"content-type\" is set by the check "
      "itself",
      "test.yml:3:3: checks[0].grpc.metadata: metadata name \"grpc-timeout\" is reserved: names "
      "starting with grpc- belong to gRPC itself",
      "test.yml:3:3: checks[0].grpc.metadata: invalid metadata name \"x tenant\" (letters, "
      "digits, '-', '_' and '.' only)",
      "test.yml:3:3: checks[0].grpc.metadata: metadata name \"x-a\" is given twice (names are "
      "case-insensitive)",
  };
  EXPECT_EQ(Errors(), expected);
  for (const auto& e : Errors()) EXPECT_EQ(e.find("secret"), std::string::npos) << e;
}

TEST_F(GrpcCheckSpecTest, AddressErrors) {
  EXPECT_EQ(Parse("service: x"), nullptr);
  EXPECT_EQ(Errors(), std::vector<std::string>{
                          "test.yml:1:1: checks[0].grpc: missing required key \"address\""});
  EXPECT_EQ(Parse("address: orders.internal"), nullptr);
  EXPECT_EQ(Errors(), std::vector<std::string>{"test.yml:1:10: checks[0].grpc.address: must be "
                                               "host:port or [ipv6]:port"});
  EXPECT_EQ(Parse("address: 'bad host:50051'"), nullptr);
  EXPECT_EQ(Errors(), std::vector<std::string>{"test.yml:1:10: checks[0].grpc.address: is not a "
                                               "valid host name or IP address"});
}

TEST_F(GrpcCheckSpecTest, ServiceWithLineBreakIsRejected) {
  EXPECT_EQ(Parse("address: a:1\nservice: \"a\\nb\""), nullptr);
  EXPECT_EQ(Errors(), std::vector<std::string>{"test.yml:2:10: checks[0].grpc.service: must not "
                                               "contain control characters or line breaks"});
}

TEST_F(GrpcCheckSpecTest, UnknownKeysAndBadTlsShape) {
  EXPECT_EQ(Parse("address: a:1\ntls: [1]\nservise: x"), nullptr);
  const std::vector<std::string> expected = {
      "test.yml:2:6: checks[0].grpc.tls: must be true, false or a mapping",
      "test.yml:3:1: checks[0].grpc: unknown key \"servise\" (did you mean \"service\"?)",
  };
  EXPECT_EQ(Errors(), expected);
}

}  // namespace
}  // namespace hx
