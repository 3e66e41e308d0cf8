// --web.config.file end to end: TLS (server and client certificates,
// versions), basic auth, which endpoints stay open, request limits, and the
// reload hook. The client is the real curl CLI; certificates are made by the
// openssl CLI into a temp dir; bcrypt hashes by libxcrypt at test time.
//
// The WebServer tests run the server in-process (to set limits the daemon has
// no flags for); the DaemonTls tests run the real binary.
#include <arpa/inet.h>
#include <crypt.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include "http/request_parser.h"
#include "http/web_config.h"
#include "http/web_server.h"
#include "support/credentials.h"
#include "support/daemon_process.h"
#include "util/base64.h"

namespace hx {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kUser = "prometheus";
constexpr const char* kPassword = "s3cret-scrape-password-7d1e";

struct CurlResult {
  std::string code;  // "200", or "000" when no HTTP response came
  std::string body;
  std::string output;  // everything curl printed, for failure messages
};

// Runs the curl CLI; `args` go before the URL.
CurlResult Curl(const TempDir& dir, std::vector<std::string> args, const std::string& url) {
  const std::string body_file = dir.path() + "/body";
  std::remove(body_file.c_str());
  std::vector<std::string> argv = {"curl", "-sS",     "--max-time", "20",
                                   "-o",   body_file, "-w",         "\n%{http_code}"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(url);
  CurlResult result;
  result.output = RunCommand(argv).output;
  const size_t newline = result.output.rfind('\n');
  result.code = newline == std::string::npos ? result.output : result.output.substr(newline + 1);
  std::ifstream in(body_file, std::ios::binary);
  std::stringstream body;
  body << in.rdbuf();
  result.body = body.str();
  return result;
}

// A TCP connection that says nothing (or only part of a request).
class RawConnection {
 public:
  explicit RawConnection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~RawConnection() { Close(); }
  bool connected() const { return connected_; }
  void Send(const std::string& text) { (void)::send(fd_, text.data(), text.size(), MSG_NOSIGNAL); }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  /// True once the server closed the connection (reads EOF or a reset),
  /// waiting up to `timeout`. Anything the server sent first is skipped.
  bool ClosedByServerWithin(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char buffer[4096];
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p = {fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) return true;
    }
    return false;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

// A CA, a server certificate for 127.0.0.1 it signed, a client certificate
// it signed, and a self-signed client certificate it did not.
class Certificates {
 public:
  explicit Certificates(const TempDir& dir) : dir_(dir.path()) {
    const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    const std::string script =
        "set -e; cd '" + dir_ + "'" + "; openssl req -x509" + ec +
        " -keyout ca.key -out ca.crt -days 2 -subj /CN=test-ca" + "; openssl req" + ec +
        " -keyout server.key -out server.csr -subj /CN=127.0.0.1" +
        "; printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext" +
        "; openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial"
        " -extfile san.ext -out server.crt -days 2" +
        "; openssl req" + ec + " -keyout client.key -out client.csr -subj /CN=scraper" +
        "; openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial"
        " -out client.crt -days 2" +
        "; openssl req -x509" + ec + " -keyout rogue.key -out rogue.crt -days 2 -subj /CN=rogue";
    result_ = RunCommand({"/bin/sh", "-c", script + " 2>&1"});
  }
  bool ok() const { return result_.exit_code == 0; }
  const std::string& output() const { return result_.output; }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
  CommandResult result_;
};

std::shared_ptr<const WebSecurity> MustLoad(const std::string& yaml, const std::string& dir) {
  std::string error;
  auto security = LoadWebConfigString(yaml, "web.yml", dir, &error);
  EXPECT_NE(security, nullptr) << error;
  return security;
}

class WebSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(certs_.ok()) << certs_.output(); }

  // Starts a server with `web_yaml` (paths relative to the temp dir).
  void Start(const std::string& web_yaml, WebServerOptions options = {}) {
    options.listen_address = "127.0.0.1:0";
    options.security = web_yaml.empty() ? nullptr : MustLoad(web_yaml, dir_.path());
    server_ = std::make_unique<WebServer>(options, board_, metrics_, [] { return true; });
    const auto error = server_->Start();
    ASSERT_FALSE(error.has_value()) << *error;
  }

  std::string Https(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(server_->port()) + path;
  }
  std::string Http(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
  }
  std::string Ca() const { return certs_.Path("ca.crt"); }

  static std::string TlsYaml(const std::string& extra = "") {
    return "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n" + extra;
  }
  static std::string AuthYaml() {
    return std::string("basic_auth_users:\n  ") + kUser + ": " + Bcrypt(kPassword) + "\n";
  }
  static std::string Credentials() { return std::string(kUser) + ":" + kPassword; }

  TempDir dir_;
  Certificates certs_{dir_};
  StatusBoard board_;
  CheckMetrics metrics_;
  std::unique_ptr<WebServer> server_;
};

TEST_F(WebSecurityTest, HttpsWithTheRightCa) {
  Start(TlsYaml());
  const CurlResult ok = Curl(dir_, {"--cacert", Ca()}, Https("/healthz"));
  EXPECT_EQ(ok.code, "200") << ok.output;
  EXPECT_EQ(ok.body, "ok\n");
  const CurlResult metrics = Curl(dir_, {"--cacert", Ca()}, Https("/metrics"));
  EXPECT_EQ(metrics.code, "200") << metrics.output;
  // Without the CA, curl does not trust the server.
  const CurlResult untrusted = Curl(dir_, {}, Https("/healthz"));
  EXPECT_EQ(untrusted.code, "000") << untrusted.output;
  EXPECT_THAT(untrusted.output, HasSubstr("certificate"));
}

TEST_F(WebSecurityTest, PlainHttpToTheTlsPortGetsNoAnswer) {
  Start(TlsYaml());
  const CurlResult plain = Curl(dir_, {}, Http("/healthz"));
  EXPECT_EQ(plain.code, "000") << plain.output;
  EXPECT_EQ(plain.body, "");
}

TEST_F(WebSecurityTest, KeepAliveAndSeveralRequestsOnOneTlsConnection) {
  Start(TlsYaml());
  // Two URLs in one curl run: the second reuses the connection (0 connects).
  const CommandResult both = RunCommand(
      {"curl", "-sS", "--max-time", "20", "--cacert", Ca(), "-o", "/dev/null", "-o", "/dev/null",
       "-w", "%{http_code} %{num_connects}\n", Https("/healthz"), Https("/status")});
  EXPECT_EQ(both.output, "200 1\n200 0\n");
}

TEST_F(WebSecurityTest, LargeResponseCrossesTheRelayIntact) {
  Start(TlsYaml());
  // The landing page is tens of kilobytes: several TLS records and relay reads.
  const CurlResult direct = Curl(dir_, {"--cacert", Ca()}, Https("/"));
  ASSERT_EQ(direct.code, "200") << direct.output;
  EXPECT_THAT(direct.body, HasSubstr("</html>"));
}

TEST_F(WebSecurityTest, RequireAndVerifyClientCert) {
  Start(TlsYaml("  client_ca_file: ca.crt\n  client_auth_type: RequireAndVerifyClientCert\n"));
  const CurlResult none = Curl(dir_, {"--cacert", Ca()}, Https("/healthz"));
  EXPECT_EQ(none.code, "000") << none.output;
  const CurlResult rogue = Curl(
      dir_,
      {"--cacert", Ca(), "--cert", certs_.Path("rogue.crt"), "--key", certs_.Path("rogue.key")},
      Https("/healthz"));
  EXPECT_EQ(rogue.code, "000") << rogue.output;
  const CurlResult good = Curl(
      dir_,
      {"--cacert", Ca(), "--cert", certs_.Path("client.crt"), "--key", certs_.Path("client.key")},
      Https("/healthz"));
  EXPECT_EQ(good.code, "200") << good.output;
}

TEST_F(WebSecurityTest, VerifyClientCertIfGivenRejectsOnlyBadCertificates) {
  Start(TlsYaml("  client_ca_file: ca.crt\n  client_auth_type: VerifyClientCertIfGiven\n"));
  EXPECT_EQ(Curl(dir_, {"--cacert", Ca()}, Https("/healthz")).code, "200");
  EXPECT_EQ(Curl(dir_,
                 {"--cacert", Ca(), "--cert", certs_.Path("rogue.crt"), "--key",
                  certs_.Path("rogue.key")},
                 Https("/healthz"))
                .code,
            "000");
}

TEST_F(WebSecurityTest, MinVersionTls13RefusesATls12Client) {
  Start(TlsYaml("  min_version: TLS13\n"));
  const CurlResult old = Curl(dir_, {"--cacert", Ca(), "--tls-max", "1.2"}, Https("/healthz"));
  EXPECT_EQ(old.code, "000") << old.output;
  const CurlResult current = Curl(dir_, {"--cacert", Ca(), "--tlsv1.3"}, Https("/healthz"));
  EXPECT_EQ(current.code, "200") << current.output;
}

TEST_F(WebSecurityTest, MaxVersionTls12RefusesATls13OnlyClient) {
  Start(TlsYaml("  max_version: TLS12\n"));
  EXPECT_EQ(Curl(dir_, {"--cacert", Ca(), "--tlsv1.3"}, Https("/healthz")).code, "000");
  EXPECT_EQ(Curl(dir_, {"--cacert", Ca(), "--tls-max", "1.2"}, Https("/healthz")).code, "200");
}

TEST_F(WebSecurityTest, TheInternalPlainPortAnswersOnlyTheTlsRelay) {
  Start(TlsYaml());
  ASSERT_GT(server_->internal_port(), 0);
  ASSERT_NE(server_->internal_port(), server_->port());
  const CurlResult direct =
      Curl(dir_, {}, "http://127.0.0.1:" + std::to_string(server_->internal_port()) + "/status");
  EXPECT_EQ(direct.code, "403") << direct.output;
  EXPECT_THAT(direct.body, Not(HasSubstr("checks")));
}

TEST_F(WebSecurityTest, BasicAuthProtectsEverythingButTheProbes) {
  Start(AuthYaml());
  for (const char* path : {"/metrics", "/status", "/", "/nonexistent"}) {
    SCOPED_TRACE(path);
    const CurlResult none = Curl(dir_, {"-D", "-"}, Http(path));
    EXPECT_EQ(none.code, "401");
    EXPECT_THAT(none.output, HasSubstr("WWW-Authenticate: Basic realm=\"health_exporter\""));
    EXPECT_EQ(Curl(dir_, {"-u", std::string(kUser) + ":wrong"}, Http(path)).code, "401");
    EXPECT_EQ(Curl(dir_, {"-u", std::string("nobody:") + kPassword}, Http(path)).code, "401");
  }
  EXPECT_EQ(Curl(dir_, {"-u", Credentials()}, Http("/metrics")).code, "200");
  EXPECT_EQ(Curl(dir_, {"-u", Credentials()}, Http("/status")).code, "200");
  EXPECT_EQ(Curl(dir_, {"-u", Credentials()}, Http("/nonexistent")).code, "404");
  // kubelet probes and load balancers cannot send credentials.
  EXPECT_EQ(Curl(dir_, {}, Http("/healthz")).code, "200");
  EXPECT_NE(Curl(dir_, {}, Http("/readyz")).code, "401");
}

TEST_F(WebSecurityTest, ProbesCanBeProtectedToo) {
  Start(AuthYaml() + "health_exporter:\n  open_probe_endpoints: false\n");
  EXPECT_EQ(Curl(dir_, {}, Http("/healthz")).code, "401");
  EXPECT_EQ(Curl(dir_, {}, Http("/readyz")).code, "401");
  EXPECT_EQ(Curl(dir_, {"-u", Credentials()}, Http("/healthz")).code, "200");
}

TEST_F(WebSecurityTest, ConfiguredHeadersAreSent) {
  Start("http_server_config:\n  headers:\n    X-Frame-Options: deny\n");
  const CurlResult reply = Curl(dir_, {"-D", "-"}, Http("/healthz"));
  EXPECT_THAT(reply.output, HasSubstr("X-Frame-Options: deny"));
}

TEST_F(WebSecurityTest, ReloadIsPostOnlyAndBehindAuth) {
  WebServerOptions options;
  options.threads = 2;
  std::atomic<bool> succeed{true};
  std::atomic<int> calls{0};
  // set_reload_handler must come before Start().
  options.listen_address = "127.0.0.1:0";
  options.security = MustLoad(AuthYaml(), dir_.path());
  server_ = std::make_unique<WebServer>(options, board_, metrics_, [] { return true; });
  server_->set_reload_handler([&]() -> WebServer::ReloadReply {
    ++calls;
    if (succeed) return {200, "config reloaded: 1 added"};
    return {500, "config.yml:3:5: checks[0].http.url: missing required key"};
  });
  ASSERT_FALSE(server_->Start().has_value());

  EXPECT_EQ(Curl(dir_, {"-X", "POST"}, Http("/-/reload")).code, "401");
  EXPECT_EQ(calls, 0);
  const CurlResult get = Curl(dir_, {"-D", "-", "-u", Credentials()}, Http("/-/reload"));
  EXPECT_EQ(get.code, "405");
  EXPECT_THAT(get.output, HasSubstr("Allow: POST"));
  EXPECT_EQ(calls, 0);
  const CurlResult ok = Curl(dir_, {"-X", "POST", "-u", Credentials()}, Http("/-/reload"));
  EXPECT_EQ(ok.code, "200");
  EXPECT_EQ(ok.body, "config reloaded\n");
  succeed = false;
  const CurlResult failed = Curl(dir_, {"-X", "POST", "-u", Credentials()}, Http("/-/reload"));
  EXPECT_EQ(failed.code, "500");
  EXPECT_EQ(failed.body, "config.yml:3:5: checks[0].http.url: missing required key\n");
  EXPECT_EQ(calls, 2);
}

TEST_F(WebSecurityTest, ReloadIsNotFoundWithoutAHandler) {
  Start("");
  EXPECT_EQ(Curl(dir_, {"-X", "POST"}, Http("/-/reload")).code, "404");
}

TEST_F(WebSecurityTest, TooManyHeadersAreRefused) {
  WebServerOptions options;
  options.max_header_count = 20;
  Start("", options);
  std::vector<std::string> args;
  for (int i = 0; i < 30; ++i) {
    args.push_back("-H");
    args.push_back("X-Filler-" + std::to_string(i) + ": x");
  }
  EXPECT_EQ(Curl(dir_, args, Http("/healthz")).code, "431");
  args.resize(2 * 10);
  EXPECT_EQ(Curl(dir_, args, Http("/healthz")).code, "200");
}

TEST_F(WebSecurityTest, MoreHeadersThanCivetwebKeepsAreRefused) {
  WebServerOptions options;
  options.max_header_count = 1000;  // acts as CivetWeb's own limit
  Start("", options);
  std::vector<std::string> args;
  for (int i = 0; i < 100; ++i) {
    args.push_back("-H");
    args.push_back("X-Filler-" + std::to_string(i) + ": x");
  }
  const CurlResult reply = Curl(dir_, args, Http("/healthz"));
  EXPECT_EQ(reply.code, "431") << reply.output;
  // curl adds Host, User-Agent and Accept: 60 of ours make 63 in all.
  args.resize(2 * 60);
  EXPECT_EQ(Curl(dir_, args, Http("/healthz")).code, "200");
}

TEST_F(WebSecurityTest, OversizedRequestHeadIsRefused) {
  WebServerOptions options;
  options.max_request_size = 2048;
  Start("", options);
  const CurlResult reply = Curl(dir_, {"-H", "X-Big: " + std::string(4096, 'a')}, Http("/healthz"));
  EXPECT_NE(reply.code, "200") << reply.output;
}

TEST_F(WebSecurityTest, SlowClientDoesNotBlockOthersBeyondTheRequestTimeout) {
  WebServerOptions options;
  options.threads = 1;  // the slow client holds the only worker
  options.request_timeout = 1s;
  Start("", options);
  RawConnection slow(server_->port());
  ASSERT_TRUE(slow.connected());
  slow.Send("GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
  // Served once the slow request times out (curl's own limit is 20 s).
  const CurlResult other = Curl(dir_, {}, Http("/healthz"));
  EXPECT_EQ(other.code, "200") << other.output;
  EXPECT_TRUE(slow.ClosedByServerWithin(15s));
}

// One request on a new connection; the whole answer ("" when none came
// within `timeout`), and when it came.
struct TimedAnswer {
  std::string text;
  std::chrono::steady_clock::time_point at;
};
TimedAnswer Ask(int port, const std::string& request, std::chrono::seconds timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  TimedAnswer answer;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0) {
    (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char buffer[4096];
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p = {fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
      if (n <= 0) break;
      answer.text.append(buffer, static_cast<size_t>(n));
    }
  }
  answer.at = std::chrono::steady_clock::now();
  ::close(fd);
  return answer;
}

std::string GetWith(const std::string& path, const std::string& credentials) {
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
         "Authorization: Basic " + Base64(credentials) + "\r\n\r\n";
}

// Issue 12's done-criterion: no client behaviour reachable without
// credentials may hold a worker. Credentials the server has not verified
// yet (wrong ones, and right ones not yet cached) wait for bcrypt in the
// front door; CivetWeb's four workers stay free for everyone else. Before,
// each such request held a worker for its whole verification, so five of
// them (cost 14: seconds each) held all four and an authorised scrape
// waited seconds for a worker.
TEST_F(WebSecurityTest, UnverifiedCredentialsHoldNoWorkerWhileBcryptRuns) {
  BasicAuthenticator::Options auth;
  auth.bcrypt_threads = 4;
  auth.max_in_flight = 8;
  auth.max_wait = 20s;
  auth.per_client.burst = 1e9;
  auth.per_client.tokens_per_second = 1e9;
  auto security = std::make_shared<WebSecurity>();
  security->basic_auth = std::make_shared<BasicAuthenticator>(
      std::map<std::string, std::string>{{kUser, Bcrypt(kPassword)},
                                         {"alice", Bcrypt("correct horse", 14)}},
      auth);
  WebServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.security = security;
  ASSERT_EQ(options.threads, 4);
  server_ = std::make_unique<WebServer>(options, board_, metrics_, [] { return true; });
  ASSERT_FALSE(server_->Start().has_value());
  const int port = server_->port();
  // The scraper's credentials are known (cost 4: verified at once).
  ASSERT_THAT(Ask(port, GetWith("/status", Credentials()), 20s).text,
              ::testing::StartsWith("HTTP/1.1 200 "));

  // Four wrong passwords and one right one not verified yet.
  std::vector<std::future<TimedAnswer>> slow;
  for (int i = 0; i < 5; ++i) {
    const std::string credentials =
        i == 0 ? std::string("alice:correct horse") : "alice:wrong " + std::to_string(i);
    slow.push_back(std::async(std::launch::async, [port, credentials] {
      return Ask(port, GetWith("/status", credentials), 120s);
    }));
  }
  std::this_thread::sleep_for(300ms);  // all five are waiting for bcrypt now

  // Four authorised requests at once, each needing a worker, and liveness.
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::future<TimedAnswer>> scrapes;
  for (int i = 0; i < 4; ++i) {
    scrapes.push_back(std::async(
        std::launch::async, [port] { return Ask(port, GetWith("/status", Credentials()), 20s); }));
  }
  const TimedAnswer healthz = Ask(port, "GET /healthz HTTP/1.0\r\n\r\n", 20s);
  auto last = healthz.at;
  for (auto& scrape : scrapes) {
    const TimedAnswer answer = scrape.get();
    EXPECT_THAT(answer.text, ::testing::StartsWith("HTTP/1.1 200 "));
    last = std::max(last, answer.at);
  }
  EXPECT_THAT(healthz.text, ::testing::StartsWith("HTTP/1.1 200 "));
  const auto bound = kSanitized ? 2s : 1s;
  EXPECT_LT(last - start, bound) << "the four workers were not free: "
                                 << std::chrono::duration<double>(last - start).count() << " s";

  // bcrypt was still busy when they were answered (else this proved nothing),
  // and then every verification got its answer, or 429 where the
  // low-priority bcrypt threads got too little CPU to finish within max_wait
  // (a test run beside other tests on a 2-CPU machine).
  int still_waiting = 0;
  for (size_t i = 0; i < slow.size(); ++i) {
    const TimedAnswer answer = slow[i].get();
    if (answer.at > last) ++still_waiting;
    EXPECT_THAT(answer.text,
                ::testing::AnyOf(::testing::StartsWith(i == 0 ? "HTTP/1.1 200 " : "HTTP/1.1 401 "),
                                 ::testing::StartsWith("HTTP/1.1 429 ")))
        << i;
  }
  EXPECT_GT(still_waiting, 0);
}

// The front door decides which requests need credentials by the web
// server's own rule, on the path CivetWeb's handler will see; a path
// CivetWeb would still rewrite needs credentials, so that nothing it then
// protects gets past the front door unverified.
TEST_F(WebSecurityTest, TheFrontDoorAppliesTheHandlersRuleForCredentials) {
  Start(AuthYaml());
  const auto needs = [this](const std::string& target) {
    ParsedRequest request;
    request.method = "GET";
    request.target = target;
    return server_->NeedsCredentials(request);
  };
  EXPECT_FALSE(needs("/healthz"));
  EXPECT_FALSE(needs("/%68ealthz"));  // CivetWeb decodes it to /healthz
  EXPECT_FALSE(needs("/readyz"));
  EXPECT_FALSE(needs("/readyz?verbose=0"));
  EXPECT_TRUE(needs("/readyz?verbose=1"));
  EXPECT_TRUE(needs("/readyz?verbose=%31"));
  EXPECT_TRUE(needs("/metrics"));
  EXPECT_TRUE(needs("/nonexistent"));
  for (const char* rewritten :
       {"/healthz/../metrics", "/x/../healthz", "/./healthz", "//healthz", "/healthz%00",
        "/%2e%2e/healthz", "/healthz\\", "healthz", "http://127.0.0.1/healthz", "/healthz#x"}) {
    EXPECT_TRUE(needs(rewritten)) << rewritten;
  }
  EXPECT_FALSE(server_->NeedsCredentials("/healthz", ""));
  EXPECT_TRUE(server_->NeedsCredentials("/heartbeat/x", ""));  // no heartbeat receiver here

  // And end to end: a rewritten path without credentials is refused.
  const TimedAnswer none =
      Ask(server_->port(), "GET /x/../healthz HTTP/1.1\r\nConnection: close\r\n\r\n", 20s);
  EXPECT_THAT(none.text, ::testing::StartsWith("HTTP/1.1 401 "));
  EXPECT_THAT(none.text, HasSubstr("WWW-Authenticate: Basic realm=\"health_exporter\"\r\n"));
  // CivetWeb answers this one (the front door answers only "/healthz" as
  // sent), in the request's HTTP version.
  EXPECT_THAT(Ask(server_->port(), "GET /%68ealthz HTTP/1.0\r\n\r\n", 20s).text,
              ::testing::StartsWith("HTTP/1.0 200 "));
}

TEST_F(WebSecurityTest, SilentTlsClientIsDroppedAfterTheTimeoutAndBlocksNobody) {
  WebServerOptions options;
  options.threads = 1;
  options.request_timeout = 1s;
  Start(TlsYaml(), options);
  RawConnection silent(server_->port());  // never starts a handshake
  ASSERT_TRUE(silent.connected());
  RawConnection slow(server_->port());
  slow.Send("\x16\x03\x01");  // the first bytes of a ClientHello, then nothing
  EXPECT_EQ(Curl(dir_, {"--cacert", Ca()}, Https("/healthz")).code, "200");
  EXPECT_TRUE(silent.ClosedByServerWithin(15s));
  EXPECT_TRUE(slow.ClosedByServerWithin(15s));
}

TEST_F(WebSecurityTest, TlsConnectionsBeyondTheLimitAreClosedAtOnce) {
  WebServerOptions options;
  options.threads = 1;
  options.max_connections = 1;
  options.request_timeout = 60s;  // far longer than this test waits
  Start(TlsYaml(), options);
  auto holder = std::make_unique<RawConnection>(server_->port());
  ASSERT_TRUE(holder->connected());
  // Closed before the handshake: curl fails at once instead of waiting.
  const auto before = std::chrono::steady_clock::now();
  const CurlResult refused = Curl(dir_, {"--cacert", Ca(), "--max-time", "5"}, Https("/healthz"));
  EXPECT_EQ(refused.code, "000") << refused.output;
  EXPECT_LT(std::chrono::steady_clock::now() - before, 3s);
  holder.reset();
  const CurlResult served = Curl(dir_, {"--cacert", Ca()}, Https("/healthz"));
  EXPECT_EQ(served.code, "200") << served.output;
}

TEST_F(WebSecurityTest, ConnectionsBeyondThePerClientLimitAreClosedOthersServed) {
  WebServerOptions options;
  options.max_connections_per_client = 2;
  Start("", options);
  RawConnection first(server_->port());
  RawConnection second(server_->port());
  ASSERT_TRUE(first.connected() && second.connected());
  RawConnection third(server_->port());
  EXPECT_TRUE(third.ClosedByServerWithin(2s));
  EXPECT_FALSE(first.ClosedByServerWithin(200ms));
  // Another client address (all of 127/8 is loopback) is served.
  const CurlResult other = Curl(dir_, {"--interface", "127.0.0.2"}, Http("/healthz"));
  EXPECT_EQ(other.code, "200") << other.output;
  first.Close();
  const CurlResult again = Curl(dir_, {}, Http("/healthz"));
  EXPECT_EQ(again.code, "200") << again.output;
}

// The real daemon with --web.config.file.
class DaemonWebSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(certs_.ok()) << certs_.output(); }

  std::unique_ptr<DaemonProcess> StartDaemon(const std::string& web_yaml) {
    const std::string web = dir_.Write("web.yml", web_yaml);
    return std::make_unique<DaemonProcess>(
        "global: {interval: 200ms, timeout: 150ms}\n"
        "checks:\n"
        "  - name: disk-root\n"
        "    disk: {path: /}\n",
        std::vector<std::string>{"--web.config.file=" + web});
  }

  TempDir dir_;
  Certificates certs_{dir_};
};

TEST_F(DaemonWebSecurityTest, TlsAndBasicAuthEndToEnd) {
  auto daemon = StartDaemon(
      "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
      "basic_auth_users:\n  " +
      std::string(kUser) + ": " + Bcrypt(kPassword) + "\n");
  ASSERT_TRUE(daemon->started()) << daemon->Logs();
  const std::string base = "https://127.0.0.1:" + std::to_string(daemon->port());
  const std::string ca = certs_.Path("ca.crt");
  const std::string credentials = std::string(kUser) + ":" + kPassword;

  EXPECT_EQ(Curl(dir_, {"--cacert", ca}, base + "/metrics").code, "401");
  EXPECT_EQ(
      Curl(dir_, {"--cacert", ca, "-u", std::string(kUser) + ":nope"}, base + "/metrics").code,
      "401");
  const CurlResult metrics = Curl(dir_, {"--cacert", ca, "-u", credentials}, base + "/metrics");
  EXPECT_EQ(metrics.code, "200") << metrics.output;
  EXPECT_THAT(metrics.body, HasSubstr("health_exporter_build_info"));
  const CurlResult status = Curl(dir_, {"--cacert", ca, "-u", credentials}, base + "/status");
  EXPECT_EQ(status.code, "200") << status.output;
  EXPECT_EQ(Curl(dir_, {"--cacert", ca}, base + "/healthz").code, "200");
  EXPECT_NE(Curl(dir_, {"--cacert", ca}, base + "/readyz").code, "401");
  EXPECT_EQ(Curl(dir_, {}, "http://127.0.0.1:" + std::to_string(daemon->port()) + "/healthz").code,
            "000");

  // The password shows up nowhere: not in logs, metrics or status.
  EXPECT_EQ(daemon->Stop(SIGTERM, 10s), 0);
  EXPECT_THAT(daemon->Logs(), Not(HasSubstr(kPassword)));
  EXPECT_THAT(metrics.body, Not(HasSubstr(kPassword)));
  EXPECT_THAT(status.body, Not(HasSubstr(kPassword)));
}

TEST_F(DaemonWebSecurityTest, HeartbeatsKeepTheirTokenAndNeedNoBasicAuth) {
  const std::string token = "hb-token-for-web-security-0123";
  TempDir storage;
  const std::string web = dir_.Write(
      "web.yml", std::string("basic_auth_users:\n  ") + kUser + ": " + Bcrypt(kPassword) + "\n");
  DaemonProcess d(
      "checks:\n"
      "  - name: nightly-backup\n"
      "    interval: 100ms\n"
      "    timeout: 100ms\n"
      "    heartbeat: {ttl: 1h, token: '${HB_TOKEN}'}\n",
      {"--web.config.file=" + web, "--storage.path=" + storage.path()}, {{"HB_TOKEN", token}});
  ASSERT_TRUE(d.started()) << d.Logs();
  // A cron job with only the token: no basic auth credentials needed.
  EXPECT_EQ(HttpPost(d.Url("/heartbeat/nightly-backup"), "Bearer " + token, ""), 200);
  EXPECT_EQ(HttpPost(d.Url("/heartbeat/nightly-backup"), "Bearer wrong-token-0123456789", ""), 401);
  EXPECT_EQ(HttpRequest(d.Url("/status")).status, 401);
}

TEST_F(DaemonWebSecurityTest, InvalidWebConfigStopsStartupWithExit2AndNoSecret) {
  auto daemon = StartDaemon("basic_auth_users:\n  alice: " + std::string(kPassword) +
                            "\ntls_server_config:\n  cert_file: server.crt\n");
  EXPECT_FALSE(daemon->started());
  EXPECT_EQ(daemon->WaitExit(10s), 2);
  EXPECT_THAT(daemon->Logs(),
              HasSubstr("web.yml:2:10: basic_auth_users.alice: expected a bcrypt hash"));
  EXPECT_THAT(daemon->Logs(),
              HasSubstr("web.yml:4:3: tls_server_config: missing required key \"key_file\""));
  EXPECT_THAT(daemon->Logs(), Not(HasSubstr(kPassword)));
}

}  // namespace
}  // namespace hx
