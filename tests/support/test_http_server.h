#pragma once
// A real HTTP(S) server on 127.0.0.1 (kernel-chosen port) for tests: a small
// HTTP/1.1 server (one thread per connection, `Connection: close`, TLS through
// OpenSSL) with built-in routes and room for custom ones. Not CivetWeb:
// Debian's CivetWeb looks up SSL_get_peer_certificate, which OpenSSL 3 no
// longer exports, and crashes after every TLS handshake.
//
//
//   /status/<code>[?body=<text>]  that status, body <text> (default "status <code>")
//   /delay/<ms>                   waits <ms> (cut short when the server stops), then 200 "delayed"
//   /redirect/<n>                 301 to /redirect/<n-1>; /redirect/0 answers 200 "redirected"
//   /bytes/<n>                    200 with a body of <n> 'x' bytes
//   /echo                         200 whose body is the request (method, path, headers, body)
//   anything else                 404 (unless Route() added it)
//
// Options::never_answer instead runs a raw listener that accepts connections
// and never reads or writes, counting accepts and client closes: for cancel
// and timeout tests.
//
// HTTPS: a self-signed certificate is generated at start-up with the
// `openssl` command into a temp dir (removed by the destructor); ca_file() is
// the certificate to trust, cert_not_after() its NotAfter.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

typedef struct ssl_ctx_st SSL_CTX;

namespace hx {

/// A self-signed certificate and its key, generated with the openssl CLI into
/// a fresh temp dir that the destructor removes. Immutable; thread-safe.
class TestCertificate {
 public:
  struct Options {
    std::string common_name = "localhost";
    /// subjectAltName DNS entries.
    std::vector<std::string> dns_names = {"localhost"};
    /// Also put IP:127.0.0.1 into subjectAltName.
    bool loopback_ip = true;
    int days = 30;
  };
  explicit TestCertificate(const Options& options);
  TestCertificate() : TestCertificate(Options{}) {}
  ~TestCertificate();
  TestCertificate(const TestCertificate&) = delete;
  TestCertificate& operator=(const TestCertificate&) = delete;

  const std::string& dir() const { return dir_; }
  const std::string& cert_file() const { return cert_file_; }  ///< PEM certificate
  const std::string& key_file() const { return key_file_; }    ///< PEM private key
  /// Key and certificate in one PEM file (what CivetWeb wants).
  const std::string& combined_file() const { return combined_file_; }
  /// NotAfter as unix seconds.
  int64_t not_after() const { return not_after_; }

 private:
  std::string dir_;
  std::string cert_file_;
  std::string key_file_;
  std::string combined_file_;
  int64_t not_after_ = 0;
};

/// A request as the test server saw it.
struct TestHttpRequest {
  std::string method;
  std::string path;   ///< decoded, without the query
  std::string query;  ///< raw, without '?'
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  /// First header with this name (case-insensitive), or "".
  std::string Header(std::string_view name) const;
};

/// What a route answers.
struct TestHttpResponse {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

/// See the file comment. Public methods are thread-safe: tests call them while
/// the server's threads serve requests. Ignores SIGPIPE process-wide, so a
/// client that goes away cannot kill the test.
class TestHttpServer {
 public:
  using Handler = std::function<TestHttpResponse(const TestHttpRequest&)>;

  struct Options {
    bool tls = false;
    /// Certificate used when tls is set.
    TestCertificate::Options certificate;
    /// Accept connections and never answer (no HTTP at all).
    bool never_answer = false;
    /// The loopback address to listen on (e.g. "127.0.0.2").
    std::string address = "127.0.0.1";
    /// The port to listen on; 0 picks a free one.
    uint16_t port = 0;
  };

  explicit TestHttpServer(Options options);
  TestHttpServer() : TestHttpServer(Options{}) {}
  /// Stops serving; cuts /delay waits short.
  ~TestHttpServer();
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  uint16_t port() const { return port_; }
  /// "http://127.0.0.1:PORT" or "https://127.0.0.1:PORT" (the address listened on).
  std::string base_url() const;
  /// base_url() + path; `path` starts with '/'.
  std::string Url(std::string_view path) const;

  /// TLS only: the certificate to trust, and its NotAfter (unix seconds).
  const std::string& ca_file() const;
  int64_t cert_not_after() const;

  /// Serves `path` (exact match, without query) with `handler`, which runs on
  /// a server thread. Replaces a built-in or earlier route.
  void Route(std::string path, Handler handler);

  /// Every request served so far, in arrival order.
  std::vector<TestHttpRequest> requests() const;
  size_t request_count() const;
  bool WaitForRequests(size_t count, std::chrono::milliseconds timeout) const;

  /// Connections accepted, and those the client closed (counted in
  /// never_answer mode, where the server never closes first).
  int accepted() const;
  int client_closes() const;
  bool WaitForAccepted(int count, std::chrono::milliseconds timeout) const;
  bool WaitForClientCloses(int count, std::chrono::milliseconds timeout) const;

 private:
  class Connection;

  void AcceptLoop();
  void Serve(int fd);
  void Hold(Connection& conn);
  void Answer(Connection& conn);
  TestHttpResponse Dispatch(const TestHttpRequest& request);

  Options options_;
  std::unique_ptr<TestCertificate> certificate_;
  SSL_CTX* ssl_ctx_ = nullptr;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread accept_thread_;
  std::vector<std::thread> connection_threads_;  // guarded by mu_
  std::vector<int> open_fds_;                    // guarded by mu_; shut down on stop

  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  bool stopping_ = false;
  std::map<std::string, Handler> routes_;
  std::vector<TestHttpRequest> requests_;
  int accepted_ = 0;
  int client_closes_ = 0;
};

}  // namespace hx
