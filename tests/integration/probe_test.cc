// The debug run (docs/debug-run.md) end to end with the real binary:
// `health_exporter --probe-once` against the project's test servers (HTTP,
// TLS with an expired certificate, DNS), with golden traces whose times,
// ports and dates are normalised; its exit codes; secrets never printed; and
// POST /-/probe/<check> on a running daemon (JSON and text, 404, 405, 429,
// basic auth, nothing recorded).

#include <arpa/inet.h>
#include <crypt.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "checks/failure_reason.h"
#include "support/credentials.h"
#include "support/daemon_process.h"
#include "support/knot_server.h"
#include "support/test_http_server.h"

extern char** environ;

namespace hx {
namespace {

using namespace std::chrono_literals;

// Times, ports and dates vary from run to run; everything else is golden.
std::string Normalise(std::string text, const std::vector<uint16_t>& ports) {
  for (const uint16_t port : ports) {
    text = std::regex_replace(text, std::regex(std::to_string(port)), "PORT");
  }
  text = std::regex_replace(text, std::regex(R"( *\+[0-9]+\.[0-9]ms  )"), "+T  ");
  text = std::regex_replace(text, std::regex(R"([0-9]+\.[0-9]+ ?ms)"), "Nms");
  text = std::regex_replace(text, std::regex(R"(Date: [^\n]*)"), "Date: D");
  text = std::regex_replace(text, std::regex(R"(health_exporter/[^\s]*)"), "health_exporter/V");
  text = std::regex_replace(text, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"), "DATE");
  // The reason of a failure is the network types' (another change names
  // them); the verdict's reason is asserted separately.
  text = std::regex_replace(text, std::regex(R"(unhealthy \([a-z_]+\))"), "unhealthy (REASON)");
  return text;
}

CommandResult ProbeOnce(const std::string& config, const std::string& check,
                        std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {HX_BINARY, "--probe-once=" + check, "--config.file=" + config};
  for (auto& a : extra) argv.push_back(std::move(a));
  return RunCommand(argv);
}

// --- An HTTPS server whose certificate expired: `openssl s_server`. ---

std::string Pem(X509* cert, EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (cert != nullptr) PEM_write_bio_X509(bio, cert);
  if (key != nullptr) PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

// Self-signed, CN=localhost, valid from 3 days ago until yesterday.
void WriteExpiredCertificate(const std::string& cert_file, const std::string& key_file) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 7);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3 * 86400);
  X509_gmtime_adj(X509_getm_notAfter(cert), -86400);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* san =
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  X509_add_ext(cert, san, -1);
  X509_EXTENSION_free(san);
  X509_sign(cert, key, EVP_sha256());
  std::ofstream(cert_file) << Pem(cert, nullptr);
  std::ofstream(key_file) << Pem(nullptr, key);
  X509_free(cert);
  EVP_PKEY_free(key);
}

uint16_t FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

bool Accepts(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

class ExpiredTlsServer {
 public:
  ExpiredTlsServer() {
    const std::string cert = dir_.path() + "/cert.pem";
    const std::string key = dir_.path() + "/key.pem";
    WriteExpiredCertificate(cert, key);
    port_ = FreePort();
    std::vector<std::string> args = {
        "openssl", "s_server", "-quiet", "-www", "-accept", "127.0.0.1:" + std::to_string(port_),
        "-cert",   cert,       "-key",   key};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    posix_spawnp(&pid_, "openssl", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    for (int i = 0; i < 200 && !Accepts(port_); ++i) std::this_thread::sleep_for(10ms);
  }
  ~ExpiredTlsServer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  uint16_t port() const { return port_; }
  /// The certificate, to trust as a CA: verification then fails on its
  /// dates alone.
  std::string cert_file() const { return dir_.path() + "/cert.pem"; }

 private:
  TempDir dir_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

// --- --probe-once ---

// A config of one http check, "api", on `url`.
std::string ApiCheckConfig(const TempDir& dir, const std::string& url) {
  return dir.Write("c.yml", "checks:\n  - name: api\n    http:\n      url: " + url + "\n");
}

TEST(ProbeOnceTest, HealthyHttpGolden) {
  TestHttpServer server;
  TempDir dir;
  const std::string config = ApiCheckConfig(dir, server.Url("/status/200"));
  const CommandResult r = ProbeOnce(config, "api", {"--storage.path=" + dir.path() + "/data"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(Normalise(r.output, {server.port()}),
            "probe of check api (http): GET http://127.0.0.1:PORT/status/200\n"
            "+T  start       check api (http) GET http://127.0.0.1:PORT/status/200, timeout 5s\n"
            "+T  connect     Trying 127.0.0.1:PORT...\n"
            "+T  connect     Connected to 127.0.0.1 (127.0.0.1) port PORT (#0)\n"
            "+T  request     GET /status/200 HTTP/1.1\n"
            "+T  request     Host: 127.0.0.1:PORT\n"
            "+T  request     User-Agent: health_exporter/V\n"
            "+T  request     Accept: */*\n"
            "+T  response    HTTP/1.1 200 OK\n"
            "+T  response    Content-Length: 10\n"
            "+T  response    Connection: close\n"
            "+T  response    Content-Type: text/plain\n"
            "+T  body        first 10 of 10 bytes:\n"
            "                       status 200\n"
            "+T  observation http_status_code 200\n"
            "+T  phase       dns Nms\n"
            "+T  phase       connect Nms\n"
            "+T  phase       tls Nms\n"
            "+T  phase       processing Nms\n"
            "+T  phase       transfer Nms\n"
            "+T  observation http_redirects 0\n"
            "+T  result      healthy: HTTP 200 (attempt took Nms)\n"
            "verdict: healthy: HTTP 200\n");
}

TEST(ProbeOnceTest, FailingHttpGoldenExitsOneWithAReason) {
  TestHttpServer server;
  TempDir dir;
  const std::string config = ApiCheckConfig(dir, server.Url("/status/503"));
  const CommandResult r = ProbeOnce(config, "api", {"--storage.path=" + dir.path() + "/data"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  const std::string out = Normalise(r.output, {server.port()});
  EXPECT_NE(out.find("+T  response    HTTP/1.1 503 Service Unavailable\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("+T  body        first 10 of 10 bytes:\n"
                     "                       status 503\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("\nverdict: unhealthy (REASON): HTTP 503, expected 2xx\n"), std::string::npos)
      << out;
  // The verdict names the type's reason.
  EXPECT_NE(r.output.find("\nverdict: unhealthy (http_status): "), std::string::npos) << r.output;

  // The same attempt as JSON: the reason is one of the fixed set.
  const CommandResult j = ProbeOnce(config, "api", {"--output=json"});
  EXPECT_EQ(j.exit_code, 1) << j.output;
  const auto json = nlohmann::json::parse(j.output);
  EXPECT_EQ(json["check"], "api");
  EXPECT_EQ(json["health"], "unhealthy");
  EXPECT_EQ(json["detail"], "HTTP 503, expected 2xx");
  ASSERT_TRUE(json["reason"].is_string());
  EXPECT_TRUE(ParseFailureReason(json["reason"].get<std::string>()).has_value()) << json["reason"];
  bool saw_status_line = false;
  for (const auto& e : json["events"]) {
    EXPECT_TRUE(e["at_seconds"].is_number());
    if (e["step"] == "response" && e["text"] == "HTTP/1.1 503 Service Unavailable") {
      saw_status_line = true;
    }
  }
  EXPECT_TRUE(saw_status_line) << j.output;
}

TEST(ProbeOnceTest, ConnectionRefusedTracesTheConnect) {
  const uint16_t port = FreePort();  // nobody listens
  TempDir dir;
  const std::string config = dir.Write("c.yml",
                                       "checks:\n"
                                       "  - name: gone\n"
                                       "    tcp:\n"
                                       "      address: 127.0.0.1:" +
                                           std::to_string(port) + "\n");
  const CommandResult r = ProbeOnce(config, "gone");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(Normalise(r.output, {port}),
            "probe of check gone (tcp): 127.0.0.1:PORT\n"
            "+T  start       check gone (tcp) 127.0.0.1:PORT, timeout 5s\n"
            "+T  connect     connect to 127.0.0.1:PORT failed: connection refused\n"
            "+T  result      address 127.0.0.1:PORT\n"
            "+T  result      unhealthy (REASON): connection refused (attempt took Nms)\n"
            "verdict: unhealthy (REASON): connection refused\n");
  EXPECT_NE(r.output.find("\nverdict: unhealthy (connect_refused): "), std::string::npos)
      << r.output;
}

TEST(ProbeOnceTest, ExpiredCertificateGoldenForOurTlsClientAndForCurl) {
  ExpiredTlsServer server;
  ASSERT_TRUE(Accepts(server.port())) << "openssl s_server did not start";
  TempDir dir;
  const std::string port = std::to_string(server.port());
  const std::string config = dir.Write("c.yml",
                                       "checks:\n"
                                       "  - name: cert\n"
                                       "    tls:\n"
                                       "      address: localhost:" +
                                           port +
                                           "\n"
                                           "      ca_file: " +
                                           server.cert_file() +
                                           "\n"
                                           "  - name: site\n"
                                           "    http:\n"
                                           "      url: https://localhost:" +
                                           port +
                                           "/\n"
                                           "      tls:\n"
                                           "        ca_file: " +
                                           server.cert_file() + "\n");
  const CommandResult tls = ProbeOnce(config, "cert");
  EXPECT_EQ(tls.exit_code, 1) << tls.output;
  const std::string tls_out = Normalise(tls.output, {server.port()});
  EXPECT_NE(tls_out.find("+T  resolve     looking up localhost (ip_protocol auto)\n"
                         "+T  resolve     addresses "),
            std::string::npos)
      << tls_out;
  EXPECT_NE(tls_out.find("+T  connect     connected to "), std::string::npos) << tls_out;
  EXPECT_NE(tls_out.find("+T  tls         handshake failed: certificate verify failed: "
                         "certificate has expired\n"
                         "+T  tls         certificate 0: subject CN=localhost; issuer "
                         "CN=localhost; not after DATE (expired)\n"
                         "+T  tls         chain verification failed: certificate has expired\n"),
            std::string::npos)
      << tls_out;
  EXPECT_NE(tls.output.find("\nverdict: unhealthy (tls_expired): "), std::string::npos)
      << tls.output;

  const CommandResult http = ProbeOnce(config, "site");
  EXPECT_EQ(http.exit_code, 1) << http.output;
  const std::string http_out = Normalise(http.output, {server.port()});
  EXPECT_NE(http_out.find("+T  tls         certificate 0: subject CN=localhost; issuer "
                          "CN=localhost; not after DATE (expired)\n"
                          "+T  tls         chain verification failed: certificate has expired\n"),
            std::string::npos)
      << http_out;
  EXPECT_EQ(http_out.find("+T  request "), std::string::npos)
      << "no request goes out over a connection that failed verification\n"
      << http_out;
  EXPECT_NE(http.output.find("\nverdict: unhealthy (tls_expired): "), std::string::npos)
      << http.output;
}

TEST(ProbeOnceTest, DnsQueryAndAnswerGolden) {
  KnotServer knot(std::vector<KnotServer::Zone>{
      {"example.test",
       "$TTL 300\n"
       "@ IN SOA ns1.example.test. hostmaster.example.test. 1 3600 900 604800 60\n"
       "@ IN NS ns1.example.test.\n"
       "ns1 IN A 127.0.0.1\n"
       "api 120 IN A 10.1.0.1\n"}});
  ASSERT_TRUE(knot.ok()) << knot.error();
  TempDir dir;
  const std::string config = dir.Write("c.yml",
                                       "checks:\n"
                                       "  - name: api-dns\n"
                                       "    dns:\n"
                                       "      name: api.example.test\n"
                                       "      server: " +
                                           knot.address() + "\n");
  const CommandResult r = ProbeOnce(config, "api-dns");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const std::string out = Normalise(r.output, {knot.port()});
  EXPECT_NE(out.find("+T  dns         query api.example.test class 1 type 1 (recursion desired) "
                     "to 127.0.0.1:PORT\n"
                     "+T  dns         response NOERROR, authoritative: 1 answers, 0 authority, "
                     "0 additional, "),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("+T  dns         answer api.example.test. 120 A 10.1.0.1\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("verdict: healthy"), std::string::npos) << out;
}

TEST(ProbeOnceTest, UnknownCheckAndBadConfigExitTwo) {
  TempDir dir;
  const std::string config = dir.Write("c.yml",
                                       "checks:\n"
                                       "  - name: api-primary\n"
                                       "    tcp:\n"
                                       "      address: 127.0.0.1:1\n"
                                       "  - name: db\n"
                                       "    tcp:\n"
                                       "      address: 127.0.0.1:1\n");
  const CommandResult unknown = ProbeOnce(config, "api-primar");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(unknown.output, "--probe-once: no check named \"api-primar\" in " + config +
                                "; did you mean api-primary?\n");
  const CommandResult far = ProbeOnce(config, "zzzzzz");
  EXPECT_EQ(far.exit_code, 2);
  EXPECT_EQ(far.output, "--probe-once: no check named \"zzzzzz\" in " + config + "\n");

  const std::string bad = dir.Write("bad.yml",
                                    "checks:\n"
                                    "  - name: x\n"
                                    "    tcp: {}\n");
  const CommandResult invalid = ProbeOnce(bad, "x");
  EXPECT_EQ(invalid.exit_code, 2);
  EXPECT_NE(invalid.output.find(bad + ": 1 error"), std::string::npos) << invalid.output;
}

TEST(ProbeOnceTest, SecretsAreNeverPrinted) {
  TestHttpServer server;
  TempDir dir;
  // /echo answers with the request it saw, headers included: the body
  // excerpt would repeat every secret if the trace did not mask them.
  const std::string url = "http://alice:pw-SECRET-0@127.0.0.1:" + std::to_string(server.port()) +
                          "/echo?api_key=qk-SECRET-1&mode=full";
  const std::string config = dir.Write("c.yml",
                                       "checks:\n"
                                       "  - name: api\n"
                                       "    http:\n"
                                       "      url: " +
                                           url +
                                           "\n"
                                           "      headers:\n"
                                           "        X-Api-Key: hk-SECRET-2\n"
                                           "        Cookie: session=ck-SECRET-3\n"
                                           "        Authorization: Bearer ${PROBE_TEST_TOKEN}\n");
  setenv("PROBE_TEST_TOKEN", "tk-SECRET-4", 1);
  for (const std::string output : {"text", "json"}) {
    const CommandResult r = ProbeOnce(config, "api", {"--output=" + output});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    for (const char* secret :
         {"SECRET", "pw-SECRET-0", "qk-SECRET-1", "hk-SECRET-2", "ck-SECRET-3", "tk-SECRET-4",
          "YWxpY2U6cHctU0VDUkVULTA" /* base64 of alice:pw-SECRET-0 */}) {
      EXPECT_EQ(r.output.find(secret), std::string::npos) << secret << " in\n" << r.output;
    }
    // Masked, not missing: the trace still shows what was sent.
    EXPECT_NE(r.output.find("X-Api-Key: <masked>"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("?api_key=<masked>&mode=<masked>"), std::string::npos) << r.output;
  }
  unsetenv("PROBE_TEST_TOKEN");
  // They were sent: the server saw every one (else this test proves nothing).
  const auto requests = server.requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests.back().Header("X-Api-Key"), "hk-SECRET-2");
  EXPECT_EQ(requests.back().Header("Authorization"), "Bearer tk-SECRET-4");
  EXPECT_EQ(requests.back().query, "api_key=qk-SECRET-1&mode=full");
}

// --- POST /-/probe/<check> ---

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

struct Reply {
  long status = 0;
  std::string body;
  std::string head;
};

Reply Call(const std::string& method, const std::string& url, const std::string& userpwd,
           const std::string& accept = "") {
  Reply reply;
  CURL* curl = curl_easy_init();
  curl_slist* headers = nullptr;
  if (!accept.empty()) headers = curl_slist_append(headers, ("Accept: " + accept).c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 15000L);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "POST") curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L);
  if (!userpwd.empty()) curl_easy_setopt(curl, CURLOPT_USERPWD, userpwd.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply.head);
  if (curl_easy_perform(curl) == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return reply;
}

// The lines of /metrics about `check`'s runs and last run.
std::string RunLines(const std::string& metrics, const std::string& check) {
  std::string out;
  size_t start = 0;
  while (start < metrics.size()) {
    size_t end = metrics.find('\n', start);
    if (end == std::string::npos) end = metrics.size();
    const std::string line = metrics.substr(start, end - start);
    if ((line.starts_with("health_check_runs_total{") ||
         line.starts_with("health_check_last_run_timestamp_seconds{")) &&
        line.find("check=\"" + check + "\"") != std::string::npos) {
      out += line + "\n";
    }
    start = end + 1;
  }
  return out;
}

TEST(ProbeOnceTest, HardTimeoutEndsTheAttempt) {
  TestHttpServer::Options options;
  options.never_answer = true;
  TestHttpServer server(options);
  TempDir dir;
  const std::string config = dir.Write("c.yml",
                                       "checks:\n"
                                       "  - name: stuck\n"
                                       "    timeout: 300ms\n"
                                       "    http:\n"
                                       "      url: " +
                                           server.Url("/") + "\n");
  const auto started = std::chrono::steady_clock::now();
  const CommandResult r = ProbeOnce(config, "stuck", {"--output=json"});
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  const auto json = nlohmann::json::parse(r.output);
  EXPECT_EQ(json["timed_out"], true);
  EXPECT_EQ(json["reason"], "timeout");
  EXPECT_EQ(json["detail"], "timeout after 300ms");
  EXPECT_TRUE(server.WaitForClientCloses(1, 2s)) << "the connection is closed, not left open";
}

// Heartbeats are judged from the stored state, which the run never writes.
TEST(ProbeOnceTest, HeartbeatReadsTheStoredStateAndWritesNothing) {
  TempDir storage;
  const std::string yaml =
      "checks:\n"
      "  - name: nightly\n"
      "    heartbeat:\n"
      "      ttl: 26h\n"
      "      token: \"static-token-0123456789abcdef\"\n";
  {
    DaemonProcess daemon(yaml, {"--storage.path=" + storage.path()});
    ASSERT_TRUE(daemon.started()) << daemon.Logs();
    CURL* curl = curl_easy_init();
    curl_slist* headers =
        curl_slist_append(nullptr, "Authorization: Bearer static-token-0123456789abcdef");
    const std::string url = daemon.Url("/heartbeat/nightly");
    std::string sink;
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    ASSERT_EQ(curl_easy_perform(curl), CURLE_OK);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    EXPECT_EQ(status, 200);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    EXPECT_EQ(daemon.Stop(SIGTERM, 10s), 0);
  }
  // Every file but SQLite's shared-memory index and empty WAL, which a
  // read-only connection creates when the daemon is not running: name, size
  // and a hash of the bytes (a failure stays readable).
  auto snapshot = [&storage] {
    std::string all;
    for (const auto& entry : std::filesystem::directory_iterator(storage.path())) {
      const std::string name = entry.path().filename().string();
      if (name.ends_with("-shm") || name.ends_with("-wal")) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      const std::string bytes(std::istreambuf_iterator<char>(in), {});
      all += name + ": " + std::to_string(bytes.size()) + " bytes, hash " +
             std::to_string(std::hash<std::string>{}(bytes)) + "\n";
    }
    return all;
  };
  const std::string before = snapshot();
  TempDir dir;
  const std::string config = dir.Write("c.yml", yaml);
  const CommandResult r = ProbeOnce(config, "nightly", {"--storage.path=" + storage.path()});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("verdict: healthy: last heartbeat "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("observation heartbeat_last_ping_timestamp_seconds "), std::string::npos)
      << r.output;
  EXPECT_EQ(snapshot(), before);
}

TEST(ProbeEndpointTest, RunsALiveCheckBehindBasicAuthAndRecordsNothing) {
  TestHttpServer server;
  TempDir dir;
  const std::string web =
      dir.Write("web.yml", "basic_auth_users:\n  ops: " + Bcrypt("s3cret") + "\n");
  DaemonProcess daemon(
      "global:\n"
      "  startup_spread: 0s\n"
      "checks:\n"
      "  - name: api\n"
      "    interval: 1h\n"
      "    http:\n"
      "      url: " +
          server.Url("/status/503") + "\n",
      {"--web.config.file=" + web});
  ASSERT_TRUE(daemon.started()) << daemon.Logs();
  const std::string auth = "ops:s3cret";
  const std::string probe = daemon.Url("/-/probe/api");

  // The scheduled run happened once.
  std::string before;
  for (int i = 0; i < 200; ++i) {
    before = RunLines(Call("GET", daemon.Url("/metrics"), auth).body, "api");
    if (before.find("health_check_runs_total{") != std::string::npos) break;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_NE(before.find("health_check_runs_total{"), std::string::npos) << before;
  const size_t requests_before = server.request_count();

  // Basic auth like every endpoint: no credentials, no run.
  const Reply anonymous = Call("POST", probe, "");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(server.request_count(), requests_before);

  const Reply json = Call("POST", probe, auth, "application/json");
  ASSERT_EQ(json.status, 200) << json.body;
  EXPECT_NE(json.head.find("Content-Type: application/json"), std::string::npos) << json.head;
  const auto report = nlohmann::json::parse(json.body);
  EXPECT_EQ(report["check"], "api");
  EXPECT_EQ(report["health"], "unhealthy");
  EXPECT_EQ(report["detail"], "HTTP 503, expected 2xx");
  EXPECT_EQ(server.request_count(), requests_before + 1);

  // One start per 5 s per check.
  const Reply again = Call("POST", probe, auth);
  EXPECT_EQ(again.status, 429) << again.body;
  EXPECT_NE(again.head.find("Retry-After: "), std::string::npos) << again.head;
  EXPECT_EQ(server.request_count(), requests_before + 1);

  EXPECT_EQ(Call("POST", daemon.Url("/-/probe/nope"), auth).status, 404);
  const Reply get = Call("GET", probe, auth);
  EXPECT_EQ(get.status, 405);
  EXPECT_NE(get.head.find("Allow: POST"), std::string::npos) << get.head;

  // Text after the gap.
  std::this_thread::sleep_for(5100ms);
  const Reply text = Call("POST", probe, auth);
  ASSERT_EQ(text.status, 200) << text.body;
  EXPECT_TRUE(
      text.body.starts_with("probe of check api (http): GET " + server.Url("/status/503") + "\n"))
      << text.body;
  EXPECT_NE(text.body.find("\nverdict: unhealthy ("), std::string::npos) << text.body;

  // Nothing of the probes was recorded.
  EXPECT_EQ(RunLines(Call("GET", daemon.Url("/metrics"), auth).body, "api"), before);
}

}  // namespace
}  // namespace hx
