// The web config loader (--web.config.file); the authenticator is in
// basic_auth_test.cc.
//
// Bad configs live in tests/testdata/web/bad/X.yml with the exact expected
// messages in X.yml.errors; no message may contain a hash or password.
// Good configs with TLS are written at test time with certificates made by
// the openssl CLI.
#include "http/web_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/daemon_process.h"

namespace hx {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

const fs::path kWeb = fs::path(HX_TESTDATA) / "web";

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::shared_ptr<const WebSecurity> Load(const std::string& yaml, std::string* error,
                                        const std::string& base_dir = "") {
  return LoadWebConfigString(yaml, "web.yml", base_dir, error);
}

TEST(WebConfigTestdata, EveryBadFileFailsWithExactlyItsErrors) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(kWeb / "bad")) {
    if (entry.path().extension() == ".yml") names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  ASSERT_GE(names.size(), 5u);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    const std::string yaml = ReadFile(kWeb / "bad" / name);
    std::string error;
    // Relative paths stay relative (base "") so messages are machine-independent.
    EXPECT_EQ(LoadWebConfigString(yaml, "bad/" + name, "", &error), nullptr);
    std::string expected = ReadFile(kWeb / "bad" / (name + ".errors"));
    while (!expected.empty() && expected.back() == '\n') expected.pop_back();
    EXPECT_EQ(error, expected);
    // No hash or password from the files is ever echoed.
    for (const char* secret : {"gH3t4vZ6SpZ95", "shortsalt", "md5crypt", "plaintext-password"}) {
      EXPECT_THAT(error, Not(HasSubstr(secret)));
    }
  }
}

TEST(WebConfigTestdata, GoodBasicAuthFileLoads) {
  std::string error;
  auto security = LoadWebConfigFile((kWeb / "good" / "basic_auth.yml").string(), &error);
  ASSERT_NE(security, nullptr) << error;
  EXPECT_FALSE(security->tls.has_value());
  ASSERT_NE(security->basic_auth, nullptr);
  EXPECT_EQ(security->basic_auth->Check("127.0.0.1", "alice", "correct horse").outcome,
            AuthOutcome::kAllowed);
  EXPECT_FALSE(security->open_probe_endpoints);
  EXPECT_EQ(security->headers,
            (std::vector<std::pair<std::string, std::string>>{
                {"X-Frame-Options", "deny"}, {"Content-Security-Policy", "default-src 'self'"}}));
}

TEST(WebConfig, EmptyFileMeansNoTlsAndNoAuth) {
  std::string error;
  auto security = Load("", &error);
  ASSERT_NE(security, nullptr) << error;
  EXPECT_FALSE(security->tls.has_value());
  EXPECT_EQ(security->basic_auth, nullptr);
  EXPECT_TRUE(security->open_probe_endpoints);
}

TEST(WebConfig, UnreadableFileIsOneClearError) {
  std::string error;
  EXPECT_EQ(LoadWebConfigFile("/nonexistent/web.yml", &error), nullptr);
  EXPECT_EQ(error, "/nonexistent/web.yml: cannot read web config file: No such file or directory");
  // Not a regular file: refused before a read that would never end.
  EXPECT_EQ(LoadWebConfigFile("/dev/zero", &error), nullptr);
  EXPECT_EQ(error,
            "/dev/zero: cannot read web config file: a character device, not a regular file");
  EXPECT_EQ(LoadWebConfigFile("/tmp", &error), nullptr);
  EXPECT_EQ(error, "/tmp: cannot read web config file: a directory, not a regular file");
}

TEST(WebConfig, ATlsFileThatIsNotARegularFileIsRefusedAtItsKey) {
  std::string error;
  auto security =
      Load("tls_server_config:\n  cert_file: /dev/zero\n  key_file: /dev/null\n", &error);
  EXPECT_EQ(security, nullptr);
  EXPECT_EQ(error,
            "web.yml:2:14: tls_server_config.cert_file: cannot read certificate \"/dev/zero\": a "
            "character device, not a regular file\n"
            "web.yml:3:13: tls_server_config.key_file: cannot read private key \"/dev/null\": a "
            "character device, not a regular file");
}

TEST(WebConfig, StrayCommaIsAnErrorNotAHang) {
  // yaml-cpp 0.7's LoadAll() loops forever on these (fuzz/crashes-found/).
  for (const char* yaml : {",", "- a\n,\n", "basic_auth_users: {}\n,\n"}) {
    SCOPED_TRACE(yaml);
    std::string error;
    EXPECT_EQ(Load(yaml, &error), nullptr);
    EXPECT_THAT(error, HasSubstr("invalid YAML"));
  }
}

TEST(WebConfig, YamlSyntaxErrorHasAPosition) {
  std::string error;
  EXPECT_EQ(Load("basic_auth_users:\n  alice: [unclosed\n", &error), nullptr);
  EXPECT_THAT(error, testing::StartsWith("web.yml:3:1: invalid YAML: "));
}

class WebConfigTls : public ::testing::Test {
 protected:
  void SetUp() override {
    // A CA, a server certificate it signed, and an unrelated self-signed one.
    const std::string d = "'" + dir_.path() + "'";
    const std::string script =
        "set -e; cd " + d +
        "; openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
        " -keyout ca.key -out ca.crt -days 2 -subj /CN=test-ca"
        "; openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
        " -keyout server.key -out server.csr -subj /CN=127.0.0.1"
        "; openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial"
        " -out server.crt -days 2"
        "; openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
        " -keyout other.key -out other.crt -days 2 -subj /CN=other";
    const CommandResult result = RunCommand({"/bin/sh", "-c", script + " 2>&1"});
    ASSERT_EQ(result.exit_code, 0) << result.output;
  }
  TempDir dir_;
};

TEST_F(WebConfigTls, RelativePathsResolveAgainstTheConfigFileDirectory) {
  const std::string path = dir_.Write("web.yml",
                                      "tls_server_config:\n"
                                      "  cert_file: server.crt\n"
                                      "  key_file: server.key\n"
                                      "  client_ca_file: ca.crt\n"
                                      "  client_auth_type: RequireAndVerifyClientCert\n"
                                      "  min_version: TLS13\n");
  std::string error;
  auto security = LoadWebConfigFile(path, &error);
  ASSERT_NE(security, nullptr) << error;
  ASSERT_TRUE(security->tls.has_value());
  EXPECT_EQ(security->tls->cert_file, dir_.path() + "/server.crt");
  EXPECT_EQ(security->tls->client_auth, ClientAuthType::kRequireAndVerifyClientCert);
  ASSERT_NE(security->tls->context, nullptr);
  SSL_CTX* ctx = security->tls->context.get();
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx), TLS1_3_VERSION);
  EXPECT_EQ(SSL_CTX_get_verify_mode(ctx), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
}

TEST_F(WebConfigTls, DefaultsAreTls12AndNoClientCertificate) {
  std::string error;
  auto security = Load("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n",
                       &error, dir_.path());
  ASSERT_NE(security, nullptr) << error;
  EXPECT_EQ(security->tls->client_auth, ClientAuthType::kNoClientCert);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(security->tls->context.get()), TLS1_2_VERSION);
  EXPECT_EQ(SSL_CTX_get_verify_mode(security->tls->context.get()), SSL_VERIFY_NONE);
}

TEST_F(WebConfigTls, KeyOfAnotherCertificateIsRejectedAtTheKey) {
  std::string error;
  EXPECT_EQ(Load("tls_server_config:\n  cert_file: server.crt\n  key_file: other.key\n", &error,
                 dir_.path()),
            nullptr);
  EXPECT_EQ(error, "web.yml:3:13: tls_server_config.key_file: cannot load private key \"" +
                       dir_.path() + "/other.key\": key values mismatch");
}

TEST_F(WebConfigTls, GarbageCertificateFileIsRejectedAtTheCertificate) {
  dir_.Write("garbage.crt", "not a certificate\n");
  std::string error;
  EXPECT_EQ(Load("tls_server_config:\n  cert_file: garbage.crt\n  key_file: server.key\n", &error,
                 dir_.path()),
            nullptr);
  EXPECT_THAT(error, testing::StartsWith("web.yml:2:14: tls_server_config.cert_file: cannot load "
                                         "certificate \"" +
                                         dir_.path() + "/garbage.crt\": "));
}

}  // namespace
}  // namespace hx
