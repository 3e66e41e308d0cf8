#pragma once
// The public side of the web server: one libuv loop on a thread of its own
// accepts every client connection (plain HTTP or TLS), reads one complete
// request under a deadline, validates it strictly (request_parser.h) and
// only then hands it to CivetWeb over a fresh connection to CivetWeb's
// internal 127.0.0.1 port. CivetWeb's response is read in full (bounded)
// and written to the client under a deadline, so a slow or idle client costs
// a socket and a few KiB here and never holds one of CivetWeb's few workers:
// slow senders (slowloris), slow readers of /metrics and silent TLS clients
// wait on this loop, not in CivetWeb.
//
// TLS is terminated here with OpenSSL memory BIOs (the SSL_CTX from the web
// config). Not CivetWeb's own TLS: Debian's CivetWeb 1.15 dlopen()s
// "libssl.so" (only present with libssl-dev) and calls
// SSL_get_peer_certificate, which OpenSSL 3 no longer exports, after every
// handshake, and crashes.
//
// Deadlines, each for the whole phase (not reset by a trickle of bytes):
// TLS handshake, request head, request body, response write. Over the
// connection limits (in total, per client address) a new connection is
// closed at once, before a byte is read: a fast 503 would need a TLS
// handshake first, i.e. the very work the limit is there to refuse.
//
// Every request ends with the response written; errors found by the parser
// are answered here (400, 413, 431, 501, 505) with "Connection: close".
// A request that never completes (a body shorter than declared, then EOF or
// the deadline) is dropped: nothing reaches CivetWeb.

#include <openssl/ssl.h>
#include <uv.h>

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include "http/request_parser.h"
#include "util/duration.h"

namespace hx {

struct FrontDoorOptions {
  /// Public address to bind: IPv4 host ("" = all interfaces) and port (0 = any).
  std::string host;
  int port = 0;
  /// Terminates TLS with this context when set; plain HTTP otherwise.
  std::shared_ptr<SSL_CTX> tls;
  /// What a request may be (head size, header count, body size).
  RequestLimits limits;
  /// Per-phase deadlines.
  Duration handshake_timeout = std::chrono::seconds(10);
  Duration head_timeout = std::chrono::seconds(10);
  Duration body_timeout = std::chrono::seconds(10);
  Duration write_timeout = std::chrono::seconds(10);
  /// Longest CivetWeb may take to answer a forwarded request (a reload
  /// waits for the daemon's loop at most its own deadline); then 504.
  Duration backend_timeout = std::chrono::minutes(2);
  /// Client connections held at once, and from one client address; beyond
  /// either, a new connection is closed at once. The total is also kept
  /// below the process's descriptor limit (RLIMIT_NOFILE; Start() raises
  /// the soft limit towards the hard one, up to 65536) minus a reserve for
  /// the checks.
  int max_connections = 16384;
  int max_connections_per_client = 64;
  /// Requests handed to CivetWeb at once; more (complete) requests wait here.
  int max_backend_connections = 32;
  /// Largest response read from CivetWeb; a larger one is a 502.
  size_t max_response_bytes = 256 * 1024 * 1024;
  /// Answers a request on the loop itself when it returns a complete HTTP
  /// response (with Content-Length); nullopt forwards it to CivetWeb. Must
  /// be fast and thread-safe (it runs on the front door's thread).
  std::function<std::optional<std::string>(const ParsedRequest&)> answer_locally;
};

/// Accepts client connections and hands complete requests to CivetWeb.
///
/// Thread-safety: Start() and Stop() from one thread; ClientAddress() and
/// IsRelayPort() from any thread (a mutex guards the port map). Everything
/// else runs on the front door's own loop thread.
class FrontDoor {
 public:
  explicit FrontDoor(FrontDoorOptions options);
  ~FrontDoor();
  FrontDoor(const FrontDoor&) = delete;
  FrontDoor& operator=(const FrontDoor&) = delete;

  /// Binds and starts serving, forwarding to 127.0.0.1:`backend_port`;
  /// returns an error message on failure (e.g. `cannot bind to
  /// 127.0.0.1:9841: 98 (Address already in use)`).
  std::optional<std::string> Start(int backend_port);
  /// Closes the listener and every connection and joins the thread. Idempotent.
  void Stop();
  /// The bound public port, 0 before Start().
  int port() const { return port_; }
  /// The total connection limit in force (after the descriptor limit).
  int connection_limit() const { return connection_limit_; }

  /// The client address ("192.0.2.7") of the connection whose forwarded
  /// request reaches CivetWeb from 127.0.0.1:`local_port`, or nullopt when
  /// no connection of ours uses that port.
  std::optional<std::string> ClientAddress(int local_port) const;
  bool IsRelayPort(int local_port) const { return ClientAddress(local_port).has_value(); }

 private:
  struct Client;
  struct Backend;
  friend struct Client;
  friend struct Backend;

  static void OnConnection(uv_stream_t* server, int status);
  static void OnStop(uv_async_t* async);
  void Accept();
  void Dispatch(Client* client);
  void StartBackend(Client* client);
  void BackendDone(Backend* backend);
  void RegisterPort(int port, const std::string& address);
  void UnregisterPort(int port);

  const FrontDoorOptions options_;
  uv_loop_t loop_{};
  uv_tcp_t listener_{};
  uv_async_t stop_{};
  std::thread thread_;
  bool running_ = false;
  int port_ = 0;
  int backend_port_ = 0;
  int connection_limit_ = 0;
  char read_buffer_[64 * 1024] = {};  // shared: every read is consumed at once

  // Loop thread only.
  bool stopping_ = false;
  int connections_ = 0;
  std::unordered_map<uint32_t, int> per_client_;
  int backends_ = 0;
  std::deque<Client*> waiting_;  // complete requests waiting for a backend slot
  std::unordered_map<Client*, std::unique_ptr<Client>> clients_;

  mutable std::mutex ports_mutex_;
  std::unordered_map<int, std::string> ports_;  // backend local port -> client address
};

}  // namespace hx
