#pragma once
// A loopback TCP server (127.0.0.1, kernel-chosen port) for TCP check tests,
// with optional TLS using a self-signed certificate generated at start-up
// with the `openssl` command into a temp dir.

#include <netinet/in.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

typedef struct ssl_ctx_st SSL_CTX;

namespace hx {

/// Serves every connection on its own thread with blocking I/O. Public
/// methods are thread-safe (tests call them while the loop thread connects).
/// Ignores SIGPIPE process-wide, so a client that vanishes cannot kill the test.
class TcpTestServer {
 public:
  enum class Mode {
    kBanner,            ///< send `banner` on accept, then read until the client closes
    kEcho,              ///< write back whatever arrives until the client closes
    kHold,              ///< accept and stay silent until the client closes
    kCloseImmediately,  ///< close each connection right after accepting it
    /// Never accept, with the accept queue already full, so a client's
    /// connect stays in progress (SYNs are dropped) until it gives up.
    kNeverAccept,
  };

  struct Options {
    Mode mode = Mode::kBanner;
    std::string banner = "220 ready\r\n";
    bool close_after_banner = false;  ///< kBanner: close right after sending it
    bool tls = false;                 ///< TLS handshake first (not for kCloseImmediately)
    /// With tls: demand a client certificate signed by ca_file() (the
    /// server's own self-signed certificate, so a client can present it).
    bool require_client_cert = false;
  };

  explicit TcpTestServer(Options options);
  TcpTestServer() : TcpTestServer(Options{}) {}
  ~TcpTestServer();
  TcpTestServer(const TcpTestServer&) = delete;
  TcpTestServer& operator=(const TcpTestServer&) = delete;

  uint16_t port() const { return port_; }
  /// "127.0.0.1:PORT".
  std::string address() const;
  /// The self-signed certificate (PEM), usable as ca_file; empty without TLS.
  const std::string& ca_file() const { return cert_file_; }
  /// Its private key (PEM); empty without TLS.
  const std::string& key_file() const { return key_file_; }
  /// The certificate's NotAfter as unix seconds; 0 without TLS.
  int64_t cert_not_after() const { return cert_not_after_; }

  int accepted() const;
  /// Connections whose client closed (or reset) its end.
  int client_closes() const;
  bool WaitForAccepted(int count, std::chrono::milliseconds timeout) const;
  bool WaitForClientCloses(int count, std::chrono::milliseconds timeout) const;

 private:
  void GenerateCertificate();
  void AcceptLoop();
  void Serve(int fd);

  Options options_;
  int listen_fd_ = -1;
  int filler_fd_ = -1;  // kNeverAccept: the connection occupying the accept queue
  uint16_t port_ = 0;
  std::string temp_dir_;
  std::string cert_file_;
  std::string key_file_;
  int64_t cert_not_after_ = 0;
  SSL_CTX* ssl_ctx_ = nullptr;

  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  bool stopping_ = false;
  int accepted_ = 0;
  int client_closes_ = 0;
  std::vector<int> connection_fds_;  // open connections, to shut down on stop
  std::vector<std::thread> handlers_;
  std::thread acceptor_;
};

}  // namespace hx
