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
// Basic auth (when configured) is verified here too, before a request is
// forwarded, so that no client without valid credentials ever holds one of
// CivetWeb's workers: a cache hit is forwarded at once; no or malformed
// credentials are answered 401 here; unknown ones go to the bcrypt pool
// (BasicAuthenticator::CheckHeaderAsync) while the connection waits here,
// under a deadline, costing a socket and a few KiB. The pool's completion
// only leaves the outcome in a lock-free mailbox that this loop polls while
// connections wait (no lock shared with the low-priority bcrypt threads: see
// AuthMailbox). A success fills the cache and the request is forwarded (CivetWeb
// checks again and hits the cache); a wrong password is 401; a refusal by the
// rate limit or a full pool, or the deadline, is 429 with Retry-After. No
// header tells CivetWeb a request was verified: a header can be forged.
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

#include "http/basic_auth.h"
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

  /// Basic auth verified here before a request is forwarded (see the top of
  /// this file); null forwards every request as it is. With it:
  std::shared_ptr<const BasicAuthenticator> basic_auth;
  /// Whether a request needs credentials: the web server's own rule. Must be
  /// fast and thread-safe (it runs on the front door's thread).
  std::function<bool(const ParsedRequest&)> needs_credentials;
  /// The complete response (with Content-Length) refusing a request: 401
  /// for kDenied, 429 with Retry-After for kThrottled. Same requirements.
  std::function<std::string(const ParsedRequest&, const AuthDecision&)> refusal;
  /// Longest a connection waits here for its verification; then 429.
  Duration auth_timeout = std::chrono::seconds(5);
};

/// Accepts client connections and hands complete requests to CivetWeb.
///
/// Thread-safety: Start() and Stop() from one thread; ClientAddress() and
/// IsRelayPort() from any thread (a mutex guards the port map); bcrypt
/// threads only push to the auth mailbox (lock-free).
/// Everything else runs on the front door's own loop thread.
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
  struct AuthMailbox;
  friend struct Client;
  friend struct Backend;

  static void OnConnection(uv_stream_t* server, int status);
  static void OnStop(uv_async_t* async);
  static void OnAuthPoll(uv_timer_t* timer);
  void Accept();
  void Dispatch(Client* client);
  void Authorize(Client* client);
  void Authorized(Client* client, const AuthDecision& decision);
  void Forward(Client* client);
  void StartBackend(Client* client);
  void BackendDone(Backend* backend);
  // Returns the registration's id, which UnregisterPort() wants back.
  uint64_t RegisterPort(int port, const std::string& address);
  void UnregisterPort(int port, uint64_t id);

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
  uint64_t next_ticket_ = 0;
  std::unordered_map<uint64_t, Client*> authorizing_;  // waiting for bcrypt, by ticket

  // Outcomes of verifications, left by bcrypt threads (shared with their
  // completions, which may outlive the loop), and the loop's poll of it.
  std::shared_ptr<AuthMailbox> auth_mailbox_;
  uv_timer_t auth_poll_{};

  mutable std::mutex ports_mutex_;
  // Backend local port -> (registration id, client address). The id keeps a
  // finished backend from removing a newer backend's entry for the same port:
  // a port bound with bind(0) goes back to the kernel as soon as its
  // connection is reset, while the backend is still waiting to learn it, and
  // a new backend may be given that port before then (checked with a 4-port
  // range: bind(0) hands out a reset socket's port while its descriptor is
  // still open). Removing the newer entry makes CivetWeb answer the newer
  // request 403: what clients saw in the hostile bench (2 and 10 times, right
  // after stalls of the loop).
  std::unordered_map<int, std::pair<uint64_t, std::string>> ports_;
  uint64_t next_registration_ = 0;
};

}  // namespace hx
