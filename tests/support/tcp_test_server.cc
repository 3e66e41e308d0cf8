#include "support/tcp_test_server.h"

#include <arpa/inet.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <stdexcept>

namespace hx {
namespace {

void ThrowIfNot(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error("TcpTestServer: " + what + ": " + std::strerror(errno));
}

// Blocking byte stream over either a plain socket or an SSL connection.
class Connection {
 public:
  Connection(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}
  // >0 bytes, 0 on orderly close, <0 on error.
  ssize_t Read(char* buf, size_t len) {
    if (ssl_ != nullptr) return SSL_read(ssl_, buf, static_cast<int>(len));
    return recv(fd_, buf, len, 0);
  }
  bool WriteAll(const char* buf, size_t len) {
    while (len > 0) {
      const ssize_t n = ssl_ != nullptr ? SSL_write(ssl_, buf, static_cast<int>(len))
                                        : send(fd_, buf, len, MSG_NOSIGNAL);
      if (n <= 0) return false;
      buf += n;
      len -= static_cast<size_t>(n);
    }
    return true;
  }

 private:
  int fd_;
  SSL* ssl_;
};

}  // namespace

TcpTestServer::TcpTestServer(Options options) : options_(std::move(options)) {
  signal(SIGPIPE, SIG_IGN);
  if (options_.tls) GenerateCertificate();

  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ThrowIfNot(listen_fd_ >= 0, "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ThrowIfNot(bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0, "bind");
  const bool never_accept = options_.mode == Mode::kNeverAccept;
  // Backlog 0 lets exactly one connection wait; the filler takes that place.
  ThrowIfNot(listen(listen_fd_, never_accept ? 0 : 256) == 0, "listen");
  socklen_t len = sizeof(addr);
  ThrowIfNot(getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0, "getsockname");
  port_ = ntohs(addr.sin_port);

  if (never_accept) {
    filler_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ThrowIfNot(filler_fd_ >= 0, "socket");
    ThrowIfNot(connect(filler_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0,
               "connect");
    return;
  }
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

TcpTestServer::~TcpTestServer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    // Wakes the blocking accept() and every blocking read.
    shutdown(listen_fd_, SHUT_RDWR);
    for (int fd : connection_fds_) shutdown(fd, SHUT_RDWR);
  }
  if (acceptor_.joinable()) acceptor_.join();
  // No new handlers can start now; join outside the lock they need.
  std::vector<std::thread> handlers;
  {
    std::lock_guard lock(mu_);
    handlers.swap(handlers_);
  }
  for (auto& t : handlers) t.join();
  if (filler_fd_ >= 0) close(filler_fd_);
  close(listen_fd_);
  if (ssl_ctx_ != nullptr) SSL_CTX_free(ssl_ctx_);
  if (!temp_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(temp_dir_, ignored);
  }
}

std::string TcpTestServer::address() const { return "127.0.0.1:" + std::to_string(port_); }

void TcpTestServer::GenerateCertificate() {
  char dir_template[] = "/tmp/hx_tcp_test_XXXXXX";
  ThrowIfNot(mkdtemp(dir_template) != nullptr, "mkdtemp");
  temp_dir_ = dir_template;
  cert_file_ = temp_dir_ + "/cert.pem";
  key_file_ = temp_dir_ + "/key.pem";
  const std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30"
      " -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost"
      " -keyout " +
      key_file_ + " -out " + cert_file_ + " 2>/dev/null";
  if (std::system(command.c_str()) != 0) {
    throw std::runtime_error("TcpTestServer: openssl req failed");
  }

  FILE* f = std::fopen(cert_file_.c_str(), "r");
  ThrowIfNot(f != nullptr, "open " + cert_file_);
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (cert == nullptr) throw std::runtime_error("TcpTestServer: cannot parse certificate");
  struct tm tm {};
  ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm);
  cert_not_after_ = timegm(&tm);
  X509_free(cert);

  ssl_ctx_ = SSL_CTX_new(TLS_server_method());
  if (ssl_ctx_ == nullptr ||
      SSL_CTX_use_certificate_file(ssl_ctx_, cert_file_.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_use_PrivateKey_file(ssl_ctx_, key_file_.c_str(), SSL_FILETYPE_PEM) != 1) {
    throw std::runtime_error("TcpTestServer: cannot set up the TLS server context");
  }
  if (options_.require_client_cert) {
    SSL_CTX_set_verify(ssl_ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    if (SSL_CTX_load_verify_locations(ssl_ctx_, cert_file_.c_str(), nullptr) != 1) {
      throw std::runtime_error("TcpTestServer: cannot load the client CA");
    }
  }
}

void TcpTestServer::AcceptLoop() {
  while (true) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    std::lock_guard lock(mu_);
    if (stopping_) {
      if (fd >= 0) close(fd);
      return;
    }
    if (fd < 0) continue;  // e.g. the client reset before we accepted
    ++accepted_;
    changed_.notify_all();
    if (options_.mode == Mode::kCloseImmediately) {
      close(fd);
      continue;
    }
    connection_fds_.push_back(fd);
    handlers_.emplace_back([this, fd] { Serve(fd); });
  }
}

void TcpTestServer::Serve(int fd) {
  SSL* ssl = nullptr;
  bool ok = true;
  if (options_.tls) {
    ssl = SSL_new(ssl_ctx_);
    SSL_set_fd(ssl, fd);
    ok = SSL_accept(ssl) == 1;
  }
  Connection conn(fd, ssl);
  if (ok && options_.mode == Mode::kBanner) {
    ok = conn.WriteAll(options_.banner.data(), options_.banner.size()) &&
         !options_.close_after_banner;
  }
  if (ok) {
    // Every remaining mode reads until the client goes away.
    char buf[4096];
    while (true) {
      const ssize_t n = conn.Read(buf, sizeof(buf));
      if (n <= 0) break;
      if (options_.mode == Mode::kEcho && !conn.WriteAll(buf, static_cast<size_t>(n))) break;
    }
  }
  std::lock_guard lock(mu_);
  if (ok && !stopping_) ++client_closes_;
  std::erase(connection_fds_, fd);
  if (ssl != nullptr) SSL_free(ssl);
  close(fd);
  changed_.notify_all();
}

int TcpTestServer::accepted() const {
  std::lock_guard lock(mu_);
  return accepted_;
}

int TcpTestServer::client_closes() const {
  std::lock_guard lock(mu_);
  return client_closes_;
}

bool TcpTestServer::WaitForAccepted(int count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return changed_.wait_for(lock, timeout, [&] { return accepted_ >= count; });
}

bool TcpTestServer::WaitForClientCloses(int count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return changed_.wait_for(lock, timeout, [&] { return client_closes_ >= count; });
}

}  // namespace hx
