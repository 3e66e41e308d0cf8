// TlsCheck against real servers on 127.0.0.1: a TLS server of this test's own
// (plain TLS, or STARTTLS in SMTP, IMAP and POP3, or silent) presenting
// certificates made here with OpenSSL's API (a root CA, an intermediate and
// leaves: valid, expiring, expired, wrong host, self-signed, short chain), a
// real PostgreSQL with ssl=on for STARTTLS postgres, and the real daemon for
// the metrics and the hard timeout.

#include "checks/tls/tls_check.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "io/io_context.h"
#include "support/daemon_process.h"
#include "support/loop_test.h"
#include "support/postgres_server.h"

namespace hx {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr milliseconds kWait{5000};

int64_t Now() {
  return std::chrono::duration_cast<seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---------------------------------------------------------------------------
// Certificates, made with OpenSSL's API (the CLI cannot back-date one).

using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using CertPtr = std::unique_ptr<X509, decltype(&X509_free)>;

KeyPtr NewKey() { return KeyPtr(EVP_EC_gen("P-256"), &EVP_PKEY_free); }

struct CertSpec {
  std::string common_name;
  std::vector<std::string> dns_names;  // leaves only
  bool loopback_ip = false;            // IP:127.0.0.1 in subjectAltName
  bool ca = false;
  seconds not_before = -hours(24);
  seconds not_after = hours(24 * 90);
};

void AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  ASSERT_NE(ext, nullptr) << value;
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// Signed by (issuer, issuer_key), or self-signed when issuer is null.
CertPtr MakeCert(const CertSpec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
  static std::atomic<long> serial{1};
  CertPtr cert(X509_new(), &X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), spec.not_before.count());
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), spec.not_after.count());
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1,
                             -1, 0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  if (spec.ca) {
    AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    AddExtension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    AddExtension(cert.get(), signer, NID_basic_constraints, "CA:FALSE");
    std::string san;
    for (const auto& dns : spec.dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + dns;
    if (spec.loopback_ip) san += san.empty() ? "IP:127.0.0.1" : ",IP:127.0.0.1";
    if (!san.empty()) AddExtension(cert.get(), signer, NID_subject_alt_name, san);
  }
  AddExtension(cert.get(), signer, NID_subject_key_identifier, "hash");
  if (issuer != nullptr) AddExtension(cert.get(), signer, NID_authority_key_identifier, "keyid");
  X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256());
  return cert;
}

std::string Pem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

std::string Pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

int64_t NotAfter(X509* cert) {
  struct tm tm {};
  ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm);
  return static_cast<int64_t>(timegm(&tm));
}

/// A root CA and an intermediate; leaves issued by the intermediate are
/// written as (chain file: leaf [+ intermediate], key file) into a temp dir
/// readable by the postgres user. Test-thread only.
class TestPki {
 public:
  /// What a server presents.
  struct Served {
    std::string chain_file;  // leaf first, then what the server sends with it
    std::string key_file;
    int64_t earliest_not_after = 0;  // of the certificates in chain_file
  };

  explicit TestPki(seconds intermediate_not_after = hours(24 * 365))
      : root_key_(NewKey()),
        root_(MakeCert({.common_name = "Test Root CA",
                        .dns_names = {},
                        .ca = true,
                        .not_after = hours(24 * 3650)},
                       root_key_.get(), nullptr, nullptr)),
        intermediate_key_(NewKey()),
        intermediate_(MakeCert({.common_name = "Test Intermediate CA",
                                .dns_names = {},
                                .ca = true,
                                .not_after = intermediate_not_after},
                               intermediate_key_.get(), root_.get(), root_key_.get())) {
    ca_file_ = dir_.Write("root.pem", Pem(root_.get()));
    chmod(dir_.path().c_str(), 0755);
  }

  const std::string& ca_file() const { return ca_file_; }

  /// A leaf for `spec` issued by the intermediate, served with it unless
  /// `short_chain`.
  Served Leaf(const CertSpec& spec, bool short_chain = false) {
    KeyPtr key = NewKey();
    CertPtr leaf = MakeCert(spec, key.get(), intermediate_.get(), intermediate_key_.get());
    std::string chain = Pem(leaf.get());
    int64_t earliest = NotAfter(leaf.get());
    if (!short_chain) {
      chain += Pem(intermediate_.get());
      earliest = std::min(earliest, NotAfter(intermediate_.get()));
    }
    return Write(chain, Pem(key.get()), earliest);
  }

  /// A self-signed leaf (not issued by this PKI).
  Served SelfSigned(const CertSpec& spec) {
    KeyPtr key = NewKey();
    CertPtr leaf = MakeCert(spec, key.get(), nullptr, nullptr);
    return Write(Pem(leaf.get()), Pem(key.get()), NotAfter(leaf.get()));
  }

 private:
  Served Write(const std::string& chain, const std::string& key, int64_t earliest) {
    const std::string n = std::to_string(++files_);
    Served s{dir_.Write("chain" + n + ".pem", chain), dir_.Write("key" + n + ".pem", key),
             earliest};
    if (const passwd* pg = getpwnam("postgres")) {
      // PostgreSQL insists that its key is its own and private.
      chown(s.key_file.c_str(), pg->pw_uid, pg->pw_gid);
      chmod(s.key_file.c_str(), 0600);
      chmod(s.chain_file.c_str(), 0644);
    }
    return s;
  }

  TempDir dir_;
  KeyPtr root_key_;
  CertPtr root_;
  KeyPtr intermediate_key_;
  CertPtr intermediate_;
  std::string ca_file_;
  int files_ = 0;
};

// ---------------------------------------------------------------------------
// A TLS server: one thread per connection, blocking I/O, an optional clear-text
// STARTTLS dialogue first. Public methods are thread-safe. Ignores SIGPIPE
// process-wide.

class TestTlsServer {
 public:
  enum class Dialogue {
    kNone,            // TLS at once
    kSmtp,            // 220, EHLO -> 250-STARTTLS, STARTTLS -> 220, TLS
    kSmtpNoStartTls,  // EHLO's answer lacks STARTTLS
    kSmtpInjection,   // STARTTLS answered with "220 go\r\n" plus extra bytes
    kSmtpEndless,     // answers EHLO with "250-" lines that never end
    kImap,
    kPop3,
    kSilent,  // accept, never say a word, until the client goes
  };

  /// Listens on `ip` (a loopback address) and `port` (0: the kernel's choice).
  TestTlsServer(Dialogue dialogue, const TestPki::Served& served,
                const std::string& ip = "127.0.0.1", uint16_t port = 0)
      : dialogue_(dialogue), ip_(ip) {
    // A client that hangs up mid-write must not kill the test.
    signal(SIGPIPE, SIG_IGN);
    ctx_ = SSL_CTX_new(TLS_server_method());
    if (!served.chain_file.empty()) {
      EXPECT_EQ(SSL_CTX_use_certificate_chain_file(ctx_, served.chain_file.c_str()), 1);
      EXPECT_EQ(SSL_CTX_use_PrivateKey_file(ctx_, served.key_file.c_str(), SSL_FILETYPE_PEM), 1);
    }
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
    addr.sin_port = htons(port);
    EXPECT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    socklen_t len = sizeof(addr);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    listen(listen_fd_, 64);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }

  ~TestTlsServer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
      for (int fd : fds_) shutdown(fd, SHUT_RDWR);
    }
    shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    close(listen_fd_);
    for (auto& t : handlers_) t.join();
    SSL_CTX_free(ctx_);
  }

  uint16_t port() const { return port_; }
  std::string address() const { return ip_ + ":" + std::to_string(port_); }

  /// Lines the client sent in clear text, in order.
  std::vector<std::string> commands() const {
    std::lock_guard<std::mutex> lock(mu_);
    return commands_;
  }
  bool WaitForClientCloses(int count, milliseconds timeout) const {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, timeout, [&] { return client_closes_ >= count; });
  }
  bool WaitForAccepted(int count, milliseconds timeout) const {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, timeout, [&] { return accepted_ >= count; });
  }

 private:
  void AcceptLoop() {
    while (true) {
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) {
        close(fd);
        return;
      }
      ++accepted_;
      fds_.push_back(fd);
      handlers_.emplace_back([this, fd] { Serve(fd); });
      changed_.notify_all();
    }
  }

  // One clear-text line from the client, "" on close.
  std::string ReadLine(int fd) {
    std::string line;
    char c;
    while (recv(fd, &c, 1, 0) == 1) {
      if (c == '\n') break;
      if (c != '\r') line += c;
    }
    std::lock_guard<std::mutex> lock(mu_);
    commands_.push_back(line);
    return line;
  }

  static void Send(int fd, const std::string& text) { send(fd, text.data(), text.size(), 0); }

  void Serve(int fd) {
    bool tls = true;
    switch (dialogue_) {
      case Dialogue::kNone:
        break;
      case Dialogue::kSilent:
        tls = false;
        break;
      case Dialogue::kSmtpEndless: {
        Send(fd, "220 ready\r\n");
        ReadLine(fd);  // EHLO
        const std::string line = "250-" + std::string(60, 'x') + "\r\n";
        while (send(fd, line.data(), line.size(), MSG_NOSIGNAL) > 0) {
        }
        tls = false;
        break;
      }
      case Dialogue::kSmtp:
      case Dialogue::kSmtpNoStartTls:
      case Dialogue::kSmtpInjection:
        Send(fd, "220-mail.test ESMTP\r\n220 ready\r\n");
        ReadLine(fd);  // EHLO
        Send(fd, dialogue_ == Dialogue::kSmtpNoStartTls
                     ? "250-mail.test\r\n250 SIZE 1000\r\n"
                     : "250-mail.test\r\n250-SIZE 1000\r\n250 STARTTLS\r\n");
        if (ReadLine(fd) != "STARTTLS") {
          tls = false;
          break;
        }
        Send(fd,
             dialogue_ == Dialogue::kSmtpInjection ? "220 go\r\nMAIL FROM:<x>\r\n" : "220 go\r\n");
        break;
      case Dialogue::kImap:
        Send(fd, "* OK IMAP4rev1 ready\r\n");
        if (ReadLine(fd) != "a1 STARTTLS") return Done(fd);
        Send(fd, "* CAPABILITY IMAP4rev1\r\na1 OK begin TLS\r\n");
        break;
      case Dialogue::kPop3:
        Send(fd, "+OK POP3 ready\r\n");
        if (ReadLine(fd) != "STLS") return Done(fd);
        Send(fd, "+OK begin TLS\r\n");
        break;
    }
    if (tls) {
      SSL* ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, fd);
      if (SSL_accept(ssl) == 1) {
        char buf[256];
        while (SSL_read(ssl, buf, sizeof(buf)) > 0) {
        }
      }
      SSL_free(ssl);
    }
    Done(fd);
  }

  // Waits for the client to go, then counts it.
  void Done(int fd) {
    char buf[256];
    while (recv(fd, buf, sizeof(buf), 0) > 0) {
    }
    std::lock_guard<std::mutex> lock(mu_);
    ++client_closes_;
    changed_.notify_all();
  }

  const Dialogue dialogue_;
  const std::string ip_;
  SSL_CTX* ctx_ = nullptr;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread acceptor_;
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  bool stopping_ = false;
  int accepted_ = 0;
  int client_closes_ = 0;
  std::vector<int> fds_;
  std::vector<std::thread> handlers_;
  std::vector<std::string> commands_;
};

using Dialogue = TestTlsServer::Dialogue;

// ---------------------------------------------------------------------------

std::shared_ptr<const TlsCheckSettings> Settings(const std::string& address, StartTls starttls,
                                                 const std::string& ca_file,
                                                 const std::string& server_name = "localhost") {
  auto s = std::make_shared<TlsCheckSettings>();
  const size_t colon = address.rfind(':');
  s->host = address.substr(0, colon);
  s->port = static_cast<uint16_t>(std::stoi(address.substr(colon + 1)));
  s->starttls = starttls;
  s->tls.ca_file = ca_file;
  s->tls.server_name = server_name;
  return s;
}

std::optional<double> Expiry(const CheckResult& r) {
  for (const auto& o : r.observations) {
    if (o.id == ObservationId::kTlsCertExpiryTimestampSeconds) return o.value;
  }
  return std::nullopt;
}

std::string Version(const CheckResult& r) {
  for (const auto& o : r.observations) {
    if (o.id == ObservationId::kTlsVersionInfo) return o.label_value;
  }
  return "";
}

class TlsCheckTest : public LoopTest {
 protected:
  TlsCheckTest() : LoopTest(kWait) {}

  CheckResult RunOnce(std::shared_ptr<const TlsCheckSettings> settings) {
    TlsCheck check(io(), std::move(settings));
    return RunAttempt(check).value_or(CheckResult{});
  }

  TestPki pki_;
  const CertSpec localhost_{
      .common_name = "localhost", .dns_names = {"localhost"}, .loopback_ip = true};
};

TEST_F(TlsCheckTest, ValidChainIsHealthyWithVersionAndExpiry) {
  const auto served = pki_.Leaf(localhost_);
  TestTlsServer server(Dialogue::kNone, served);
  CheckResult r = RunOnce(Settings(server.address(), StartTls::kNone, pki_.ca_file()));
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_TRUE(std::regex_match(
      r.detail, std::regex(R"(TLSv1\.3, certificate for localhost expires in (89d 23h|90d 0h) )"
                           R"(\(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\))")))
      << r.detail;
  EXPECT_EQ(Expiry(r), static_cast<double>(served.earliest_not_after));
  EXPECT_EQ(Version(r), "TLSv1.3");
  EXPECT_EQ(r.reason, FailureReason::kNone);
  EXPECT_EQ(r.address, "");  // evidence is for failures
  EXPECT_TRUE(server.WaitForClientCloses(1, kWait));
}

TEST_F(TlsCheckTest, TheChainsEarliestNotAfterIsReported) {
  TestPki pki(hours(24 * 10));  // the intermediate expires long before the leaf (90d)
  const auto served = pki.Leaf(localhost_);
  TestTlsServer server(Dialogue::kNone, served);
  CheckResult r = RunOnce(Settings(server.address(), StartTls::kNone, pki.ca_file()));
  EXPECT_EQ(r.health, Health::kDegraded) << r.detail;
  EXPECT_EQ(r.reason, FailureReason::kTlsExpiring);
  EXPECT_TRUE(std::regex_search(r.detail, std::regex("expires in (9d 23h|10d 0h)"))) << r.detail;
  EXPECT_EQ(Expiry(r), static_cast<double>(served.earliest_not_after));
}

TEST_F(TlsCheckTest, ExpiryThresholds) {
  struct Case {
    seconds not_after;
    Health health;
    FailureReason reason;
  };
  for (const Case& c : {Case{hours(24 * 10), Health::kDegraded, FailureReason::kTlsExpiring},
                        Case{hours(24 * 2 + 5), Health::kUnhealthy, FailureReason::kTlsExpiring},
                        Case{hours(24 * 20), Health::kHealthy, FailureReason::kNone}}) {
    CertSpec spec = localhost_;
    spec.not_after = c.not_after;
    const auto served = pki_.Leaf(spec);
    TestTlsServer server(Dialogue::kNone, served);
    CheckResult r = RunOnce(Settings(server.address(), StartTls::kNone, pki_.ca_file()));
    EXPECT_EQ(r.health, c.health) << r.detail;
    EXPECT_EQ(r.reason, c.reason) << r.detail;
    EXPECT_EQ(Expiry(r), static_cast<double>(served.earliest_not_after));
  }
}

TEST_F(TlsCheckTest, ExpiringDetailNamesTimeLeftAndDate) {
  CertSpec spec = localhost_;
  spec.not_after = hours(24 * 2 + 3) + std::chrono::minutes(30);
  const auto served = pki_.Leaf(spec);
  TestTlsServer server(Dialogue::kNone, served);
  CheckResult r = RunOnce(Settings(server.address(), StartTls::kNone, pki_.ca_file()));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  char date[32];
  const time_t t = served.earliest_not_after;
  std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  EXPECT_EQ(r.detail,
            std::string("TLSv1.3, certificate for localhost expires in 2d 3h (") + date + ")");
}

TEST_F(TlsCheckTest, ThresholdsOffLeaveAnExpiringChainHealthy) {
  CertSpec spec = localhost_;
  spec.not_after = hours(5);
  TestTlsServer server(Dialogue::kNone, pki_.Leaf(spec));
  auto s = std::const_pointer_cast<TlsCheckSettings>(
      Settings(server.address(), StartTls::kNone, pki_.ca_file()));
  s->degraded_expires_within = Duration(0);
  s->unhealthy_expires_within = Duration(0);
  CheckResult r = RunOnce(s);
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_TRUE(std::regex_search(r.detail, std::regex("expires in (4h 59m|5h 0m)"))) << r.detail;
}

// blackbox #1119: the expiry must stay exported when verification fails.
TEST_F(TlsCheckTest, ExpiredCertificateIsUnhealthyAndStillReportsItsExpiry) {
  CertSpec spec = localhost_;
  spec.not_before = -hours(24 * 30);
  spec.not_after = -hours(24 * 2 + 3);
  const auto served = pki_.Leaf(spec);
  TestTlsServer server(Dialogue::kNone, served);
  CheckResult r = RunOnce(Settings(server.address(), StartTls::kNone, pki_.ca_file()));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_TRUE(
      r.detail.starts_with("TLS handshake failed: certificate verify failed: certificate "
                           "has expired; certificate for localhost expired 2d 3h ago ("))
      << r.detail;
  EXPECT_EQ(r.reason, FailureReason::kTlsExpired);
  EXPECT_EQ(r.address, server.address());
  EXPECT_EQ(Expiry(r), static_cast<double>(served.earliest_not_after));
  EXPECT_LT(*Expiry(r), static_cast<double>(Now()));
}

TEST_F(TlsCheckTest, WrongHostNameIsUnhealthyAndStillReportsExpiry) {
  const auto served =
      pki_.Leaf({.common_name = "other.test", .dns_names = {"other.test"}, .loopback_ip = false});
  TestTlsServer server(Dialogue::kNone, served);
  CheckResult r = RunOnce(Settings(server.address(), StartTls::kNone, pki_.ca_file(), "mail.test"));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_TRUE(
      r.detail.starts_with("TLS handshake failed: certificate verify failed: hostname "
                           "mismatch; certificate for mail.test expires in "))
      << r.detail;
  EXPECT_EQ(r.reason, FailureReason::kTlsHostname);
  EXPECT_EQ(Expiry(r), static_cast<double>(served.earliest_not_after));
}

TEST_F(TlsCheckTest, SelfSignedCertificateIsUntrusted) {
  const auto served = pki_.SelfSigned(localhost_);
  TestTlsServer server(Dialogue::kNone, served);
  CheckResult r = RunOnce(Settings(server.address(), StartTls::kNone, pki_.ca_file()));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_TRUE(r.detail.starts_with(
      "TLS handshake failed: certificate verify failed: self-signed certificate; certificate for "
      "localhost expires in "))
      << r.detail;
  EXPECT_EQ(r.reason, FailureReason::kTlsUntrusted);
  EXPECT_EQ(Expiry(r), static_cast<double>(served.earliest_not_after));
}

TEST_F(TlsCheckTest, ShortChainIsUntrusted) {
  const auto served = pki_.Leaf(localhost_, /*short_chain=*/true);
  TestTlsServer server(Dialogue::kNone, served);
  CheckResult r = RunOnce(Settings(server.address(), StartTls::kNone, pki_.ca_file()));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_TRUE(
      r.detail.starts_with("TLS handshake failed: certificate verify failed: unable to get "
                           "local issuer certificate; certificate for localhost expires "))
      << r.detail;
  EXPECT_EQ(r.reason, FailureReason::kTlsUntrusted);
  EXPECT_EQ(Expiry(r), static_cast<double>(served.earliest_not_after));
}

TEST_F(TlsCheckTest, InsecureSkipVerifyStillJudgesExpiry) {
  CertSpec spec = localhost_;
  spec.not_before = -hours(48);
  spec.not_after = -hours(1);
  const auto served = pki_.SelfSigned(spec);
  TestTlsServer server(Dialogue::kNone, served);
  auto s =
      std::const_pointer_cast<TlsCheckSettings>(Settings(server.address(), StartTls::kNone, ""));
  s->tls.insecure_skip_verify = true;
  CheckResult r = RunOnce(s);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_TRUE(r.detail.starts_with("TLSv1.3, certificate for localhost expired 1h 0m ago ("))
      << r.detail;
  EXPECT_EQ(r.reason, FailureReason::kTlsExpired);
  EXPECT_EQ(Expiry(r), static_cast<double>(served.earliest_not_after));
}

TEST_F(TlsCheckTest, SmtpStartTls) {
  const auto served = pki_.Leaf(localhost_);
  TestTlsServer server(Dialogue::kSmtp, served);
  CheckResult r = RunOnce(Settings(server.address(), StartTls::kSmtp, pki_.ca_file()));
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_EQ(Expiry(r), static_cast<double>(served.earliest_not_after));
  EXPECT_EQ(server.commands(), (std::vector<std::string>{"EHLO health-exporter", "STARTTLS"}));
}

TEST_F(TlsCheckTest, SmtpWithoutStartTlsIsNamed) {
  TestTlsServer server(Dialogue::kSmtpNoStartTls, pki_.Leaf(localhost_));
  CheckResult r = RunOnce(Settings(server.address(), StartTls::kSmtp, pki_.ca_file()));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "SMTP: the server does not offer STARTTLS");
  EXPECT_EQ(r.reason, FailureReason::kProtocolError);
  EXPECT_TRUE(r.observations.empty());
}

TEST_F(TlsCheckTest, BytesAfterTheStartTlsAnswerAreRefused) {
  TestTlsServer server(Dialogue::kSmtpInjection, pki_.Leaf(localhost_));
  CheckResult r = RunOnce(Settings(server.address(), StartTls::kSmtp, pki_.ca_file()));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "SMTP: unexpected data after the STARTTLS answer");
  EXPECT_EQ(r.reason, FailureReason::kProtocolError);
}

TEST_F(TlsCheckTest, EndlessDialogueIsCutAt16KiB) {
  TestTlsServer server(Dialogue::kSmtpEndless, pki_.Leaf(localhost_));
  CheckResult r = RunOnce(Settings(server.address(), StartTls::kSmtp, pki_.ca_file()));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "SMTP: more than 16 KiB of dialogue, no STARTTLS answer");
  EXPECT_EQ(r.reason, FailureReason::kProtocolError);
}

TEST_F(TlsCheckTest, SmtpAgainstAPlainTlsServerFailsInTheGreeting) {
  // The server waits for a ClientHello; an SMTP client waits for a greeting.
  // Neither speaks: only a timeout ends it, so use a server that hangs up.
  TestTlsServer server(Dialogue::kImap, pki_.Leaf(localhost_));
  CheckResult r = RunOnce(Settings(server.address(), StartTls::kSmtp, pki_.ca_file()));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "SMTP: expected a 220 greeting, got \"* OK IMAP4rev1 ready\"");
  EXPECT_EQ(r.reason, FailureReason::kProtocolError);
}

TEST_F(TlsCheckTest, ImapStartTls) {
  const auto served = pki_.Leaf(localhost_);
  TestTlsServer server(Dialogue::kImap, served);
  CheckResult r = RunOnce(Settings(server.address(), StartTls::kImap, pki_.ca_file()));
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_EQ(server.commands(), (std::vector<std::string>{"a1 STARTTLS"}));
}

TEST_F(TlsCheckTest, Pop3StartTls) {
  const auto served = pki_.Leaf(localhost_);
  TestTlsServer server(Dialogue::kPop3, served);
  CheckResult r = RunOnce(Settings(server.address(), StartTls::kPop3, pki_.ca_file()));
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_EQ(server.commands(), (std::vector<std::string>{"STLS"}));
}

// Names go through the loop's resolver (here with a hosts file of the test's
// own and a DNS server address where nothing listens): the name is also the
// default server_name, and with ip_protocol auto the IPv6 address is tried
// first and refused (the server listens on 127.0.0.1 only), then IPv4.
TEST_F(TlsCheckTest, NameIsResolvedAndVerifiedAndEachAddressTried) {
  TempDir dir;
  ResolveFromHostsFileOnly(dir.Write("hosts", "::1 mail.test\n127.0.0.1 mail.test\n"));
  const auto served = pki_.Leaf({.common_name = "mail.test", .dns_names = {"mail.test"}});
  TestTlsServer server(Dialogue::kSmtp, served);
  const std::string port = std::to_string(server.port());
  auto s = std::const_pointer_cast<TlsCheckSettings>(
      Settings("mail.test:" + port, StartTls::kSmtp, pki_.ca_file(), "mail.test"));
  CheckResult r = RunOnce(s);
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_TRUE(r.detail.starts_with("TLSv1.3, certificate for mail.test expires in ")) << r.detail;

  s->ip_protocol = IpProtocol::kIp6;  // only ::1, where nothing listens
  r = RunOnce(s);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "connection refused");
  EXPECT_EQ(r.reason, FailureReason::kConnectRefused);
  EXPECT_EQ(r.address, "[::1]:" + port);

  s->host = "nowhere.test";
  s->ip_protocol = IpProtocol::kAuto;
  r = RunOnce(s);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  // No hosts entry and no DNS server answering: the lookup timed out, and
  // the resolver's text is the detail, as for every type.
  EXPECT_TRUE(r.detail.starts_with("DNS timeout after ")) << r.detail;
  EXPECT_EQ(r.reason, FailureReason::kDnsTimeout) << r.detail;
  EXPECT_TRUE(r.observations.empty());
}

// ip_policy all: one name, two addresses (one port on 127.0.0.1 and on
// 127.0.0.2), the second presenting an expired certificate.
TEST_F(TlsCheckTest, IpPolicyAllChecksEveryAddressAndNamesTheFailingOnes) {
  TempDir dir;
  ResolveFromHostsFileOnly(dir.Write("hosts", "127.0.0.1 mail.test\n127.0.0.2 mail.test\n"));
  const CertSpec name{.common_name = "mail.test", .dns_names = {"mail.test"}};
  CertSpec old = name;
  old.not_before = -hours(72);
  old.not_after = -hours(24);
  const auto valid = pki_.Leaf(name);
  const auto expired = pki_.Leaf(old);
  TestTlsServer first(Dialogue::kNone, valid);
  auto second =
      std::make_unique<TestTlsServer>(Dialogue::kNone, expired, "127.0.0.2", first.port());
  const std::string port = std::to_string(first.port());
  auto s = std::const_pointer_cast<TlsCheckSettings>(
      Settings("mail.test:" + port, StartTls::kNone, pki_.ca_file(), "mail.test"));
  s->ip_protocol = IpProtocol::kIp4;

  // first: 127.0.0.1 answers, the expired certificate behind 127.0.0.2 goes unseen.
  CheckResult r = RunOnce(s);
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_EQ(Expiry(r), static_cast<double>(valid.earliest_not_after));

  s->ip_policy = IpPolicy::kAll;
  r = RunOnce(s);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_TRUE(r.detail.starts_with(
      "1 of 2 addresses failed: 127.0.0.2:" + port +
      ": TLS handshake failed: certificate verify failed: certificate has expired; certificate "
      "for mail.test expired 1d 0h ago ("))
      << r.detail;
  EXPECT_EQ(Expiry(r), static_cast<double>(expired.earliest_not_after));  // the earliest
  // The failing address's reason and address, not the healthy one's.
  EXPECT_EQ(r.reason, FailureReason::kTlsExpired);
  EXPECT_EQ(r.address, "127.0.0.2:" + port);
  EXPECT_EQ(Version(r), "TLSv1.3");

  // Both valid: healthy, and the detail says every address was checked.
  second.reset();  // frees the port first
  second = std::make_unique<TestTlsServer>(Dialogue::kNone, valid, "127.0.0.2", first.port());
  r = RunOnce(s);
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_TRUE(r.detail.ends_with(" (all 2 addresses)")) << r.detail;

  // Nothing at 127.0.0.2: named, with the connection's error.
  second.reset();
  r = RunOnce(s);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "1 of 2 addresses failed: 127.0.0.2:" + port + ": connection refused");
  EXPECT_EQ(r.reason, FailureReason::kConnectRefused);
}

// Cancelled while the resolver still works on the name: its answer never
// arrives, nothing is reported, the loop drains.
TEST_F(TlsCheckTest, CancelWhileResolving) {
  ResolveFromHostsFileOnly("");
  TlsCheck check(io(), Settings("nowhere.test:443", StartTls::kNone, pki_.ca_file()));
  Outcome outcome;
  check.Start(outcome.Callback());
  check.Cancel();
  RunUntil([] { return false; }, milliseconds(400));
  EXPECT_EQ(outcome.calls, 0);
}

TEST_F(TlsCheckTest, ConnectionRefused) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  CheckResult r = RunOnce(Settings("127.0.0.1:" + std::to_string(ntohs(addr.sin_port)),
                                   StartTls::kNone, pki_.ca_file()));
  close(fd);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "connection refused");
  EXPECT_EQ(r.reason, FailureReason::kConnectRefused);
  EXPECT_EQ(r.address, "127.0.0.1:" + std::to_string(ntohs(addr.sin_port)));
}

TEST_F(TlsCheckTest, UnreadableCaFileFailsBeforeConnecting) {
  TempDir dir;
  const std::string bad = dir.Write("ca.pem", "not a certificate\n");
  CheckResult r = RunOnce(Settings("127.0.0.1:1", StartTls::kNone, bad));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.reason, FailureReason::kInternal);
  EXPECT_TRUE(r.detail.starts_with("TLS setup failed: cannot load CA file \"" + bad + "\""))
      << r.detail;
}

// The scheduler's hard timeout is a Cancel(): against a server that accepts
// and never speaks, nothing is reported afterwards, the socket is closed
// (the server sees the client go) and the loop drains (LoopTest's TearDown),
// while a check beside it completes undisturbed.
TEST_F(TlsCheckTest, CancelAgainstASilentServerReleasesEverything) {
  TestTlsServer silent(Dialogue::kSilent, {});
  TestTlsServer good(Dialogue::kNone, pki_.Leaf(localhost_));
  int accepted = 0;
  for (StartTls protocol : {StartTls::kNone, StartTls::kSmtp, StartTls::kPostgres}) {
    TlsCheck stuck(io(), Settings(silent.address(), protocol, pki_.ca_file()));
    Outcome stuck_outcome;
    stuck.Start(stuck_outcome.Callback());
    ++accepted;
    ASSERT_TRUE(RunUntil([&] { return silent.WaitForAccepted(accepted, milliseconds(0)); }));
    TlsCheck other(io(), Settings(good.address(), StartTls::kNone, pki_.ca_file()));
    Outcome other_outcome;
    other.Start(other_outcome.Callback());
    ASSERT_TRUE(RunUntil([&] { return other_outcome.done(); }));
    EXPECT_EQ(other_outcome.result.health, Health::kHealthy) << other_outcome.result.detail;
    RunUntil([] { return false; }, milliseconds(50));
    EXPECT_FALSE(stuck_outcome.done());
    stuck.Cancel();
    RunUntil([] { return false; }, milliseconds(50));
    EXPECT_EQ(stuck_outcome.calls, 0);
  }
  EXPECT_TRUE(silent.WaitForClientCloses(3, kWait));
}

TEST_F(TlsCheckTest, DestroyingTheCheckMidHandshakeIsSafe) {
  TestTlsServer silent(Dialogue::kSilent, {});
  auto check =
      std::make_unique<TlsCheck>(io(), Settings(silent.address(), StartTls::kNone, pki_.ca_file()));
  Outcome outcome;
  check->Start(outcome.Callback());
  ASSERT_TRUE(RunUntil([&] { return silent.WaitForAccepted(1, milliseconds(0)); }));
  RunUntil([] { return false; }, milliseconds(20));  // connected, ClientHello written
  check.reset();
  EXPECT_TRUE(silent.WaitForClientCloses(1, kWait));
  EXPECT_EQ(outcome.calls, 0);
}

// ---------------------------------------------------------------------------
// PostgreSQL's SSLRequest against a real server.

class TlsCheckPostgresTest : public TlsCheckTest {};

TEST_F(TlsCheckPostgresTest, SslOnIsHealthyAndSslOffIsNamed) {
  PostgresServer pg;
  const std::string address = "127.0.0.1:" + std::to_string(pg.port());
  CheckResult off = RunOnce(Settings(address, StartTls::kPostgres, pki_.ca_file()));
  EXPECT_EQ(off.health, Health::kUnhealthy);
  EXPECT_EQ(off.detail, "PostgreSQL server refused SSL (ssl is off)");
  EXPECT_EQ(off.reason, FailureReason::kProtocolError);

  const auto served = pki_.Leaf(localhost_);
  pg.Execute("ALTER SYSTEM SET ssl_cert_file = '" + served.chain_file + "'");
  pg.Execute("ALTER SYSTEM SET ssl_key_file = '" + served.key_file + "'");
  pg.Execute("ALTER SYSTEM SET ssl = on");
  pg.Execute("SELECT pg_reload_conf()");
  for (int i = 0; i < 100 && pg.Execute("SHOW ssl") != "on"; ++i) {
    std::this_thread::sleep_for(milliseconds(50));
  }
  ASSERT_EQ(pg.Execute("SHOW ssl"), "on");
  CheckResult on = RunOnce(Settings(address, StartTls::kPostgres, pki_.ca_file()));
  EXPECT_EQ(on.health, Health::kHealthy) << on.detail;
  EXPECT_TRUE(on.detail.starts_with("TLSv1.3, certificate for localhost expires in ")) << on.detail;
  EXPECT_EQ(Expiry(on), static_cast<double>(served.earliest_not_after));
}

// ---------------------------------------------------------------------------
// The real daemon: the expiry series of an expired certificate, the version
// info, and a silent server's attempt ended by the hard timeout.

TEST(TlsCheckDaemonTest, MetricsAndHardTimeout) {
  TestPki pki;
  const auto valid = pki.Leaf({.common_name = "localhost", .dns_names = {"localhost"}});
  const auto expired = pki.Leaf({.common_name = "localhost",
                                 .dns_names = {"localhost"},
                                 .not_before = -hours(48),
                                 .not_after = -hours(24)});
  TestTlsServer good(Dialogue::kSmtp, valid);
  TestTlsServer old(Dialogue::kNone, expired);
  TestTlsServer silent(Dialogue::kSilent, {});
  const std::string common = ", server_name: localhost, ca_file: '" + pki.ca_file() + "'}\n";
  DaemonProcess d(
      "global: {interval: 300ms, timeout: 200ms}\n"
      "checks:\n"
      "  - name: good\n"
      "    tls: {address: '" +
      good.address() + "', starttls: smtp" + common +
      "  - name: expired\n"
      "    tls: {address: '" +
      old.address() + "'" + common +
      "  - name: silent\n"
      "    tls: {address: '" +
      silent.address() + "'" + common);
  ASSERT_TRUE(d.started()) << d.Logs();
  const std::regex two_timeouts(R"(health_check_timeouts_total\{check="silent"\} ([2-9]|\d\d))");
  HttpReply m = d.PollUntil(
      "/metrics",
      [&](const HttpReply& r) {
        return std::regex_search(r.body, two_timeouts) &&
               r.body.find("health_check_status{check=\"expired\"") != std::string::npos;
      },
      kWait);
  const std::string& text = m.body;
  EXPECT_TRUE(std::regex_search(text, two_timeouts)) << text;
  EXPECT_NE(text.find("health_check_tls_cert_expiry_timestamp_seconds{check=\"good\"} " +
                      std::to_string(valid.earliest_not_after)),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("health_check_tls_cert_expiry_timestamp_seconds{check=\"expired\"} " +
                      std::to_string(expired.earliest_not_after)),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("health_check_tls_version_info{check=\"good\",version=\"TLSv1.3\"} 1"),
            std::string::npos)
      << text;
  EXPECT_TRUE(std::regex_search(text, std::regex(R"(health_check_status\{check="good"[^}]*\} 1)")))
      << text;
  EXPECT_TRUE(
      std::regex_search(text, std::regex(R"(health_check_status\{check="expired"[^}]*\} 0)")))
      << text;
  // Every timed-out attempt closed its connection.
  EXPECT_TRUE(silent.WaitForClientCloses(2, kWait));
  auto promtool = RunCommand({"promtool", "check", "metrics"}, text);
  EXPECT_EQ(promtool.exit_code, 0) << promtool.output;
}

}  // namespace
}  // namespace hx
