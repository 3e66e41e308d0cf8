// TcpCheck against real loopback servers on a real libuv loop.

#include "checks/tcp/tcp_check.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <re2/re2.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "io/io_context.h"
#include "support/daemon_process.h"
#include "support/dnsmasq_server.h"
#include "support/loop_test.h"
#include "support/tcp_test_server.h"

namespace hx {
namespace {

using std::chrono::milliseconds;
using Mode = TcpTestServer::Mode;

constexpr milliseconds kWait{5000};

std::shared_ptr<const TcpCheckSettings> Settings(const std::string& host, uint16_t port,
                                                 std::string send = "",
                                                 const std::string& expect = "",
                                                 std::optional<TlsOptions> tls = std::nullopt) {
  auto s = std::make_shared<TcpCheckSettings>();
  s->host = host;
  s->port = port;
  s->send = std::move(send);
  if (!expect.empty()) s->expect = std::make_shared<const re2::RE2>(expect);
  s->tls = std::move(tls);
  return s;
}

bool HasTcpHandle(uv_loop_t* loop) {
  bool found = false;
  uv_walk(
      loop,
      [](uv_handle_t* h, void* arg) {
        if (h->type == UV_TCP && !uv_is_closing(h)) *static_cast<bool*>(arg) = true;
      },
      &found);
  return found;
}

class TcpCheckTest : public LoopTest {
 protected:
  TcpCheckTest() : LoopTest(kWait) {}

  std::unique_ptr<Check> Make(std::shared_ptr<const TcpCheckSettings> settings) {
    return std::make_unique<TcpCheck>(io(), std::move(settings));
  }

  /// Starts one attempt and runs the loop until it reports.
  CheckResult RunOnce(std::shared_ptr<const TcpCheckSettings> settings) {
    auto check = Make(std::move(settings));
    return RunAttempt(*check).value_or(CheckResult{});
  }
};

TEST_F(TcpCheckTest, ConnectWithoutExpectIsHealthyAndClosesTheConnection) {
  TcpTestServer server({.mode = Mode::kHold});
  CheckResult r = RunOnce(Settings("127.0.0.1", server.port()));
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_TRUE(r.detail.starts_with("connected in ")) << r.detail;
  EXPECT_TRUE(r.detail.ends_with("ms")) << r.detail;
  EXPECT_EQ(r.reason, FailureReason::kNone);
  EXPECT_EQ(r.address, "");  // evidence is for failures
  EXPECT_TRUE(r.observations.empty());
  EXPECT_TRUE(server.WaitForClientCloses(1, kWait));
}

TEST_F(TcpCheckTest, PortWithoutListenerIsConnectionRefused) {
  // A bound socket that never listens answers SYNs with RST: a closed port
  // that no other process can grab while the test runs.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);

  CheckResult r = RunOnce(Settings("127.0.0.1", ntohs(addr.sin_port)));
  close(fd);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "connection refused");
  EXPECT_EQ(r.reason, FailureReason::kConnectRefused);
  EXPECT_EQ(r.address, "127.0.0.1:" + std::to_string(ntohs(addr.sin_port)));
}

TEST_F(TcpCheckTest, BannerMatchingExpectIsHealthy) {
  TcpTestServer server({.mode = Mode::kBanner, .banner = "220 mail.example ESMTP\r\n"});
  CheckResult r = RunOnce(Settings("127.0.0.1", server.port(), "", "^220 "));
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_TRUE(r.detail.starts_with("expect \"^220 \" matched in ")) << r.detail;
}

TEST_F(TcpCheckTest, ServerClosingBeforeMatchReportsWhatItSent) {
  TcpTestServer server(
      {.mode = Mode::kBanner, .banner = "500 go away\r\n", .close_after_banner = true});
  CheckResult r = RunOnce(Settings("127.0.0.1", server.port(), "", "^220"));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "connection closed before \"^220\" matched (got \"500 go away\\r\\n\")");
  EXPECT_EQ(r.reason, FailureReason::kConnectionClosed);
}

TEST_F(TcpCheckTest, ServerClosingAtOnceReportsNothingReceived) {
  TcpTestServer server({.mode = Mode::kCloseImmediately});
  CheckResult r = RunOnce(Settings("127.0.0.1", server.port(), "", "^220"));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  // The close may arrive as an orderly FIN or, if the kernel saw unread data, a reset.
  EXPECT_TRUE(r.detail == "connection closed before \"^220\" matched (got nothing)" ||
              r.detail == "read failed: connection reset by peer")
      << r.detail;
  EXPECT_EQ(r.reason, FailureReason::kConnectionClosed);
}

TEST_F(TcpCheckTest, ReceivedTextInDetailIsEscapedAndCapped) {
  std::string banner = "\x01\x7f";
  banner += std::string(100, 'a');
  TcpTestServer server({.mode = Mode::kBanner, .banner = banner, .close_after_banner = true});
  CheckResult r = RunOnce(Settings("127.0.0.1", server.port(), "", "^220"));
  EXPECT_EQ(r.detail, "connection closed before \"^220\" matched (got \"\\x01\\x7f" +
                          std::string(62, 'a') + "\"...)");
}

TEST_F(TcpCheckTest, SendIsWrittenAndEchoMatchesExpect) {
  TcpTestServer server({.mode = Mode::kEcho});
  CheckResult r = RunOnce(Settings("127.0.0.1", server.port(), "PING 42\r\n", "^PING 42\r\n$"));
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
}

TEST_F(TcpCheckTest, SendWithoutExpectIsHealthyOnceWritten) {
  TcpTestServer server({.mode = Mode::kHold});
  CheckResult r = RunOnce(Settings("127.0.0.1", server.port(), "QUIT\r\n"));
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_TRUE(r.detail.starts_with("connected in ")) << r.detail;
}

TEST_F(TcpCheckTest, GivesUpAfter64KiBWithoutMatch) {
  TcpTestServer server({.mode = Mode::kEcho});
  CheckResult r = RunOnce(Settings("127.0.0.1", server.port(), std::string(100 * 1024, 'x'), "^y"));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "no match for \"^y\" in the first 64 KiB");
  EXPECT_EQ(r.reason, FailureReason::kBodyMismatch);
}

TEST_F(TcpCheckTest, CancelReleasesTheSocketAndSuppressesTheCallback) {
  TcpTestServer server({.mode = Mode::kHold});
  auto check = Make(Settings("127.0.0.1", server.port(), "", "^never"));
  Outcome outcome;
  check->Start(outcome.Callback());
  ASSERT_TRUE(RunUntil([&] { return server.accepted() == 1; }));
  // The check owns an open socket now (the lookup is over).
  ASSERT_TRUE(RunUntil([&] { return HasTcpHandle(loop()); }));
  check->Cancel();
  EXPECT_TRUE(server.WaitForClientCloses(1, kWait)) << "the server never saw the close";
  EXPECT_TRUE(RunUntilIdle());
  EXPECT_EQ(outcome.calls, 0);
  check->Cancel();  // a second Cancel is a no-op
}

TEST_F(TcpCheckTest, CheckCanBeStartedAgainAfterCancel) {
  TcpTestServer server({.mode = Mode::kBanner});
  auto check = Make(Settings("127.0.0.1", server.port(), "", "^220"));
  Outcome first;
  check->Start(first.Callback());
  check->Cancel();
  Outcome second;
  check->Start(second.Callback());
  ASSERT_TRUE(RunUntil([&] { return second.done(); }));
  EXPECT_EQ(second.result.health, Health::kHealthy) << second.result.detail;
  EXPECT_EQ(first.calls, 0);
}

TEST_F(TcpCheckTest, HostNamesAreResolvedOnTheLoopInIpProtocolOrder) {
  // The server listens on 127.0.0.1 only, so ::1 refuses.
  TcpTestServer server({.mode = Mode::kBanner});
  DnsmasqServer dns({"--host-record=dual.test,127.0.0.1,::1", "--host-record=v4.test,127.0.0.1"});
  ASSERT_TRUE(dns.ok()) << dns.error();
  io().set_resolver_options(dns.ResolverOptions());
  auto with = [&](const std::string& host, IpProtocol protocol) {
    auto s = std::make_shared<TcpCheckSettings>(*Settings(host, server.port(), "", "^220"));
    s->ip_protocol = protocol;
    return RunOnce(s);
  };
  const CheckResult v6 = with("dual.test", IpProtocol::kIp6);
  EXPECT_EQ(v6.detail, "connection refused");
  EXPECT_EQ(v6.reason, FailureReason::kConnectRefused);
  EXPECT_EQ(v6.address, "[::1]:" + std::to_string(server.port()));
  EXPECT_EQ(with("dual.test", IpProtocol::kIp4).health, Health::kHealthy);
  // auto: ::1 first (refused), then 127.0.0.1.
  const CheckResult any = with("dual.test", IpProtocol::kAuto);
  EXPECT_EQ(any.health, Health::kHealthy) << any.detail;
  const CheckResult no6 = with("v4.test", IpProtocol::kIp6);
  EXPECT_EQ(no6.detail, "no IPv6 address");
  EXPECT_EQ(no6.reason, FailureReason::kDnsError);
  const CheckResult nxdomain = with("nothere.test", IpProtocol::kAuto);
  EXPECT_EQ(nxdomain.detail, "no such host");
  EXPECT_EQ(nxdomain.reason, FailureReason::kDnsNxdomain);
  EXPECT_EQ(nxdomain.address, "");
  EXPECT_NE(dns.Log().find("dual.test"), std::string::npos) << dns.Log();
}

// ip_policy: one name, two addresses (a hosts file of the test's own): the
// banner server listens on 127.0.0.1 only, so 127.0.0.2 (listed first)
// refuses. first: the refusal is skipped and the name is healthy; all: each
// address gets the whole dialogue and the refusing one is named.
TEST_F(TcpCheckTest, IpPolicyAllProbesEveryAddressAndNamesTheFailingOnes) {
  TempDir dir;
  ResolveFromHostsFileOnly(dir.Write("hosts", "127.0.0.2 two.test\n127.0.0.1 two.test\n"));
  TcpTestServer server({.mode = Mode::kBanner});
  const std::string port = std::to_string(server.port());
  auto s = std::make_shared<TcpCheckSettings>(*Settings("two.test", server.port(), "", "^220"));
  s->ip_protocol = IpProtocol::kIp4;

  CheckResult r = RunOnce(s);
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_TRUE(r.detail.starts_with("expect \"^220\" matched in ")) << r.detail;

  s->ip_policy = IpPolicy::kAll;
  r = RunOnce(s);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "1 of 2 addresses failed: 127.0.0.2:" + port + ": connection refused");
  // The failing address's reason and address, not the healthy one's.
  EXPECT_EQ(r.reason, FailureReason::kConnectRefused);
  EXPECT_EQ(r.address, "127.0.0.2:" + port);
  EXPECT_TRUE(server.WaitForAccepted(2, kWait));  // once per policy: 127.0.0.1 too

  // Something listening on 127.0.0.2 too (the kernel completes the
  // handshake from the backlog): every address connects.
  auto listen_on_second = [&server] {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_in second{};
    second.sin_family = AF_INET;
    second.sin_port = htons(server.port());
    inet_pton(AF_INET, "127.0.0.2", &second.sin_addr);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&second), sizeof second), 0);
    EXPECT_EQ(listen(fd, 8), 0);
    return fd;
  };
  int listener = listen_on_second();
  s->expect = nullptr;
  r = RunOnce(s);
  close(listener);
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_TRUE(r.detail.starts_with("connected in ")) << r.detail;
  EXPECT_TRUE(r.detail.ends_with(" (all 2 addresses)")) << r.detail;

  // With expect, the silent 127.0.0.2 closing on us fails by itself.
  s->expect = std::make_shared<const re2::RE2>("^220");
  listener = listen_on_second();
  std::thread closer([listener] {
    const int fd = accept(listener, nullptr, nullptr);
    if (fd >= 0) close(fd);
  });
  r = RunOnce(s);
  closer.join();
  close(listener);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "1 of 2 addresses failed: 127.0.0.2:" + port +
                          ": connection closed before \"^220\" matched (got nothing)");
  EXPECT_EQ(r.reason, FailureReason::kConnectionClosed);
  EXPECT_EQ(r.address, "127.0.0.2:" + port);
}

TEST_F(TcpCheckTest, CancelWhileTheDnsServerIsSilent) {
  const int silent = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(silent, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(getsockname(silent, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  Resolver::Options options;
  options.servers = {"127.0.0.1:" + std::to_string(ntohs(addr.sin_port))};
  options.hosts_file = "";
  options.timeout = milliseconds(300);
  options.tries = 1;
  io().set_resolver_options(options);
  TcpTestServer server({.mode = Mode::kBanner});
  // Many attempts wait on the silent server at once (with the thread pool,
  // the fifth would have waited for a free thread), none is called back after
  // Cancel(), and a literal address is checked meanwhile.
  std::vector<std::unique_ptr<Check>> hung;
  std::vector<Outcome> outcomes(20);
  for (auto& o : outcomes) {
    hung.push_back(Make(Settings("hung.test", server.port())));
    hung.back()->Start(o.Callback());
  }
  const CheckResult literal = RunOnce(Settings("127.0.0.1", server.port(), "", "^220"));
  EXPECT_EQ(literal.health, Health::kHealthy) << literal.detail;
  for (auto& c : hung) c->Cancel();
  ASSERT_TRUE(RunUntil([&] { return io().resolver().pending() == 0; }, milliseconds(3000)));
  for (const auto& o : outcomes) EXPECT_EQ(o.calls, 0);
  // Left to run, an attempt reports the timeout.
  const CheckResult timed_out = RunOnce(Settings("hung.test", server.port()));
  EXPECT_EQ(timed_out.detail, "DNS timeout after 0.3s");
  EXPECT_EQ(timed_out.reason, FailureReason::kDnsTimeout);
  close(silent);
}

TEST_F(TcpCheckTest, DestroyWhileResolving) {
  TcpTestServer server({.mode = Mode::kHold});
  Outcome outcome;
  {
    // A host name (an IP literal skips the resolver): the resolver answers
    // on a later turn of the loop, so the lookup is still in flight here.
    auto check = Make(Settings("localhost", server.port()));
    check->Start(outcome.Callback());
  }
  EXPECT_TRUE(RunUntilIdle());
  EXPECT_EQ(outcome.calls, 0);
  EXPECT_EQ(server.accepted(), 0);
}

TEST_F(TcpCheckTest, DestroyWhileConnecting) {
  TcpTestServer server({.mode = Mode::kNeverAccept});
  Outcome outcome;
  auto check = Make(Settings("127.0.0.1", server.port()));
  check->Start(outcome.Callback());
  // The socket exists once the lookup is done; the full accept queue keeps
  // the connect from completing.
  ASSERT_TRUE(RunUntil([&] { return HasTcpHandle(loop()); }));
  uv_run(loop(), UV_RUN_NOWAIT);
  ASSERT_EQ(outcome.calls, 0) << outcome.result.detail;
  check.reset();
  EXPECT_TRUE(RunUntilIdle());
  EXPECT_EQ(outcome.calls, 0);
}

TEST_F(TcpCheckTest, DestroyingTheCheckInsideItsCallbackIsSafe) {
  TcpTestServer server({.mode = Mode::kBanner});
  auto check = Make(Settings("127.0.0.1", server.port(), "", "^220"));
  int calls = 0;
  check->Start([&](CheckResult r) {
    ++calls;
    EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
    check.reset();
  });
  ASSERT_TRUE(RunUntil([&] { return calls > 0; }));
  EXPECT_EQ(check, nullptr);
  EXPECT_EQ(calls, 1);
}

TEST_F(TcpCheckTest, HundredConcurrentChecksOnOneLoop) {
  TcpTestServer server({.mode = Mode::kBanner});
  constexpr int kChecks = 100;
  std::vector<std::unique_ptr<Check>> checks;
  std::vector<Outcome> outcomes(kChecks);
  for (int i = 0; i < kChecks; ++i) {
    checks.push_back(Make(Settings("127.0.0.1", server.port(), "", "^220")));
    checks.back()->Start(outcomes[i].Callback());
  }
  ASSERT_TRUE(RunUntil([&] {
    for (const auto& o : outcomes) {
      if (!o.done()) return false;
    }
    return true;
  }));
  for (const auto& o : outcomes) {
    EXPECT_EQ(o.calls, 1);
    EXPECT_EQ(o.result.health, Health::kHealthy) << o.result.detail;
  }
  EXPECT_EQ(server.accepted(), kChecks);
}

// --- TLS ---------------------------------------------------------------------

TlsOptions TrustingCa(const TcpTestServer& server) {
  TlsOptions tls;
  tls.ca_file = server.ca_file();
  return tls;
}

void ExpectExpiry(const CheckResult& r, const TcpTestServer& server) {
  ASSERT_EQ(r.observations.size(), 1u);
  EXPECT_EQ(r.observations[0].name(), "tls_cert_expiry_timestamp_seconds");
  EXPECT_EQ(r.observations[0].value, static_cast<double>(server.cert_not_after()));
  EXPECT_GT(server.cert_not_after(), 0);
}

TEST_F(TcpCheckTest, TlsHandshakeWithTrustedCaIsHealthyAndReportsExpiry) {
  TcpTestServer server({.mode = Mode::kHold, .tls = true});
  CheckResult r = RunOnce(Settings("127.0.0.1", server.port(), "", "", TrustingCa(server)));
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_TRUE(r.detail.starts_with("connected in ")) << r.detail;
  ExpectExpiry(r, server);
}

TEST_F(TcpCheckTest, TlsBannerAndEchoGoThroughTheEncryptedStream) {
  TcpTestServer banner({.mode = Mode::kBanner, .tls = true});
  CheckResult r = RunOnce(Settings("127.0.0.1", banner.port(), "", "^220", TrustingCa(banner)));
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  ExpectExpiry(r, banner);

  TcpTestServer echo({.mode = Mode::kEcho, .tls = true});
  r = RunOnce(Settings("127.0.0.1", echo.port(), "HELLO\n", "^HELLO\n", TrustingCa(echo)));
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
}

TEST_F(TcpCheckTest, TlsUntrustedCertificateFails) {
  TcpTestServer server({.mode = Mode::kHold, .tls = true});
  // The system store does not know the test's self-signed certificate.
  CheckResult r = RunOnce(Settings("127.0.0.1", server.port(), "", "", TlsOptions{}));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "TLS handshake failed: certificate verify failed: self-signed certificate");
  EXPECT_EQ(r.reason, FailureReason::kTlsUntrusted);
}

TEST_F(TcpCheckTest, TlsServerNameMustMatchTheCertificate) {
  TcpTestServer server({.mode = Mode::kHold, .tls = true});
  TlsOptions tls = TrustingCa(server);
  tls.server_name = "localhost";  // in the certificate's subjectAltName
  CheckResult r = RunOnce(Settings("127.0.0.1", server.port(), "", "", tls));
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;

  tls.server_name = "db.example";
  r = RunOnce(Settings("127.0.0.1", server.port(), "", "", tls));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "TLS handshake failed: certificate verify failed: hostname mismatch");
  EXPECT_EQ(r.reason, FailureReason::kTlsHostname);
}

TEST_F(TcpCheckTest, TlsInsecureSkipVerifyAcceptsAnyCertificateAndReportsExpiry) {
  TcpTestServer server({.mode = Mode::kHold, .tls = true});
  TlsOptions tls;
  tls.insecure_skip_verify = true;
  CheckResult r = RunOnce(Settings("127.0.0.1", server.port(), "", "", tls));
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  ExpectExpiry(r, server);
}

TEST_F(TcpCheckTest, TlsClientCertificateIsPresented) {
  TcpTestServer server({.mode = Mode::kBanner, .tls = true, .require_client_cert = true});
  TlsOptions tls = TrustingCa(server);
  tls.cert_file = server.ca_file();
  tls.key_file = server.key_file();
  CheckResult r = RunOnce(Settings("127.0.0.1", server.port(), "", "^220", tls));
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;

  // Without it the server rejects the connection. With TLS 1.3 the client's
  // handshake is already over when the server's alert arrives.
  r = RunOnce(Settings("127.0.0.1", server.port(), "", "^220", TrustingCa(server)));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "TLS error: tlsv13 alert certificate required") << r.detail;
  EXPECT_EQ(r.reason, FailureReason::kTlsHandshake);
}

TEST_F(TcpCheckTest, TlsAgainstPlainServerFailsTheHandshake) {
  TcpTestServer server({.mode = Mode::kBanner});
  TlsOptions tls;
  tls.insecure_skip_verify = true;
  CheckResult r = RunOnce(Settings("127.0.0.1", server.port(), "", "", tls));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_TRUE(r.detail.starts_with("TLS handshake failed: ")) << r.detail;
  EXPECT_EQ(r.reason, FailureReason::kTlsHandshake);
  EXPECT_TRUE(r.observations.empty());
}

TEST_F(TcpCheckTest, TlsSetupErrorIsReportedBeforeConnecting) {
  TcpTestServer server({.mode = Mode::kHold, .tls = true});
  TlsOptions tls;
  tls.ca_file = "/nonexistent/ca.pem";  // the loader checks this; a file can vanish later
  CheckResult r = RunOnce(Settings("127.0.0.1", server.port(), "", "", tls));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_TRUE(r.detail.starts_with("TLS setup failed: cannot load CA file \"/nonexistent/ca.pem\""))
      << r.detail;
  EXPECT_EQ(r.reason, FailureReason::kInternal);
  EXPECT_EQ(server.accepted(), 0);
}

TEST_F(TcpCheckTest, TlsCancelDuringHandshakeReleasesEverything) {
  // A plain silent server never answers the ClientHello: the handshake hangs.
  TcpTestServer server({.mode = Mode::kHold});
  TlsOptions tls;
  tls.insecure_skip_verify = true;
  auto check = Make(Settings("127.0.0.1", server.port(), "", "", tls));
  Outcome outcome;
  check->Start(outcome.Callback());
  ASSERT_TRUE(RunUntil([&] { return server.accepted() == 1 && HasTcpHandle(loop()); }));
  check.reset();
  EXPECT_TRUE(server.WaitForClientCloses(1, kWait));
  EXPECT_TRUE(RunUntilIdle());
  EXPECT_EQ(outcome.calls, 0);
}

TEST(TcpCheckSpecTest, TargetNamesAddressAndTls) {
  TcpCheckSettings plain;
  plain.host = "127.0.0.1";
  plain.port = 25;
  EXPECT_EQ(TcpCheckSpec(plain).Target(), "127.0.0.1:25");

  TcpCheckSettings v6;
  v6.host = "::1";
  v6.port = 6379;
  v6.tls = TlsOptions{};
  EXPECT_EQ(TcpCheckSpec(v6).Target(), "tls://[::1]:6379");
}

}  // namespace
}  // namespace hx
