#pragma once
// TLS termination in front of the CivetWeb server, in-process, with the
// OpenSSL the daemon links.
//
// Why not CivetWeb's own TLS: Debian's CivetWeb 1.15 dlopen()s "libssl.so"
// (only present with libssl-dev) and looks up SSL_get_peer_certificate,
// which OpenSSL 3 no longer exports; it then calls the missing function
// after every handshake and crashes. So CivetWeb serves plain HTTP on an
// internal 127.0.0.1 port, and this class accepts the public connections,
// does the handshake (certificate, client certificates, versions from the
// SSL_CTX) and relays bytes both ways. CivetWeb answers only connections that
// come from here (see IsRelayPort), so the internal port is no way around TLS.

#include <openssl/ssl.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "util/duration.h"

namespace hx {

struct TlsFrontendOptions {
  /// Public address to bind: IPv4 host ("" = all interfaces) and port (0 = any).
  std::string host;
  int port = 0;
  /// Connections relayed at once; further ones wait in the listen backlog.
  int max_connections = 64;
  /// Longest a handshake may take, and longest a relayed connection may
  /// stay without any byte moving in either direction.
  Duration timeout = std::chrono::seconds(10);
};

/// Accepts TLS connections and relays them to a local plain-HTTP server.
///
/// Thread-safety: Start() and Stop() from one thread; IsRelayPort() from any
/// thread. One thread accepts; each connection has its own thread (bounded
/// by max_connections).
class TlsFrontend {
 public:
  TlsFrontend(std::shared_ptr<SSL_CTX> context, TlsFrontendOptions options);
  ~TlsFrontend();
  TlsFrontend(const TlsFrontend&) = delete;
  TlsFrontend& operator=(const TlsFrontend&) = delete;

  /// Binds and starts accepting, relaying to the plain-HTTP server on
  /// 127.0.0.1:`backend_port`; returns an error message on failure.
  std::optional<std::string> Start(int backend_port);
  /// Closes the listener and every relayed connection, and waits for their
  /// threads. Idempotent.
  void Stop();
  /// The bound public port, 0 before Start().
  int port() const { return port_; }

  /// True when `local_port` is the source port of one of our connections to
  /// the backend, i.e. a request on the backend with that remote port came
  /// through TLS.
  bool IsRelayPort(int local_port) const;

 private:
  void AcceptLoop();
  void Relay(int client_fd);
  bool Handshake(SSL* ssl, int fd);
  int ConnectBackend();

  const std::shared_ptr<SSL_CTX> context_;
  const TlsFrontendOptions options_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;  // eventfd, readable once Stop() begins
  int port_ = 0;
  int backend_port_ = 0;
  std::thread acceptor_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  int active_ = 0;             // relay threads alive
  std::set<int> relay_ports_;  // local ports of our backend connections
};

}  // namespace hx
