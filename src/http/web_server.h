#pragma once
// The HTTP face of health_exporter, on CivetWeb's C API:
//   GET /metrics  text 0.0.4, OpenMetrics 1.0.0 or protobuf, as Accept asks
//                 (exposition/negotiation.h); gzip when the client accepts it
//   GET /healthz  liveness: 200 "ok" while the daemon's loop is turning
//   GET /readyz   readiness: 200 when overall is healthy or degraded, else 503;
//                 the overall state only, every check with ?verbose=1
//   GET /status   every check in JSON
//   GET /status/<check>  one check in JSON with its failure journal
//   GET /check/<check>   one check's panel (HTML) with its failure journal
//   GET /         a small HTML page
//   GET /public, /public.json, /public/badge/<name>.svg
//                 the public page for customers, when configured
//                 (http/public_page.h): never behind basic auth, cacheable
//   POST /-/reload  when a reload handler is set
//   POST /-/probe/<check>  one traced attempt of a configured check (the
//                 debug run, docs/debug-run.md), when a probe handler is set
// HEAD is served like GET without a body; other methods get 405, other paths
// 404. Every client connection is accepted by the FrontDoor (front_door.h),
// which hands CivetWeb only complete, validated requests over its internal
// 127.0.0.1 port and answers GET/HEAD /healthz itself. With a WebSecurity
// (--web.config.file): TLS (terminated in the FrontDoor) and basic auth on every endpoint except
// /healthz and /readyz without ?verbose=1 (configurable), the push endpoints of check types
// (POST /heartbeat/<name>), which keep their own bearer tokens, and the public page's paths
// (open by design). See docs/web-security.md.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "checks/common/check_services.h"
#include "http/public_page.h"
#include "metrics/check_metrics.h"
#include "status/status_board.h"
#include "util/duration.h"

namespace hx {
class FrontDoor;
class HistoryView;
class PublicPageSource;
namespace store {
class Store;
}  // namespace store
struct AuthDecision;
struct ParsedRequest;
struct WebSecurity;
}  // namespace hx
struct mg_connection;
struct mg_context;

namespace hx {

struct WebServerOptions {
  /// "IPv4:port" or ":port" (all interfaces). Port 0 picks a free port; see
  /// WebServer::port(). No names, no IPv6 (Debian's CivetWeb has none).
  std::string listen_address = ":9841";
  /// Worker threads, i.e. requests served at once.
  int threads = 4;
  /// Longest a client may take for each phase of a request: the TLS
  /// handshake, sending the request head, sending the body, reading the
  /// response (each phase as a whole, not per byte).
  Duration request_timeout = std::chrono::seconds(10);
  /// Largest accepted request head (request line plus headers), in bytes.
  size_t max_request_size = 16384;
  /// Most request headers accepted; more get 431. CivetWeb keeps only the
  /// first 64 and drops the rest silently: values above 63 act as 63.
  int max_header_count = 63;
  /// Largest request body (after de-chunking); more gets 413.
  size_t max_body_size = 64 * 1024;
  /// Client connections held at once, in total and from one client address
  /// (idle, slow or being served); a connection beyond either is closed at
  /// once. The total is also kept below the descriptor limit (RLIMIT_NOFILE,
  /// whose soft value is raised towards the hard one, up to 65536) minus a
  /// reserve for the checks.
  int max_connections = 16384;
  int max_connections_per_client = 64;
  /// TLS and basic auth from --web.config.file; null serves plain HTTP to
  /// anyone.
  std::shared_ptr<const WebSecurity> security;
  /// Serve only the public page's paths (everything else, /healthz too, is
  /// 404): the public page's own listen address (status_page.public.
  /// listen_address).
  bool public_only = false;
};

/// Serves the endpoints above from CivetWeb's worker threads.
///
/// Thread-safety: Start() and Stop() must be called from one thread (the
/// daemon's main thread). Handlers run on CivetWeb's threads (and /healthz on
/// the FrontDoor's thread) and only read
/// (the WebSecurity's authenticator and the PublicPageSource have their own
/// locks; a HistoryView is thread-safe by contract):
/// StatusBoard::Snapshot() (an immutable snapshot; /metrics renders one scrape
/// from one), CheckMetrics::Render() (thread-safe), the store's Journal() (thread-safe: a
/// read-only connection under its own mutex, committed rows only) and the liveness function,
/// which must therefore
/// be safe to call from any thread (e.g. it reads an atomic timestamp).
class WebServer {
 public:
  /// `board` and `metrics` must outlive the server. `is_alive` answers
  /// /healthz. `wall_clock` gives "generated_at" of /status (seconds since
  /// the epoch); the system clock when empty.
  WebServer(WebServerOptions options, const StatusBoard& board, const CheckMetrics& metrics,
            std::function<bool()> is_alive, std::function<double()> wall_clock = {});
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  /// Serves the paths under each endpoint's prefix with its handler (e.g.
  /// POST /heartbeat/<name>[/fail]), past basic auth: the endpoint checks
  /// its own credentials. Call before Start(); without one those paths are
  /// 404.
  void set_push_endpoints(std::vector<PushEndpoint> endpoints) {
    push_endpoints_ = std::move(endpoints);
  }

  /// What POST /-/reload answers: 200 (body "config reloaded"), or another
  /// status (500 config errors, 503 refused, 504 timed out) with `message`.
  struct ReloadReply {
    int status = 200;
    std::string message;
  };

  /// Serves POST /-/reload with `handler`; GET/HEAD get 405. Called on a
  /// server thread, so it must be safe to call from any thread, and it holds
  /// that worker until it returns: it must return within a bounded time.
  /// Call before Start(); without a handler /-/reload is 404.
  void set_reload_handler(std::function<ReloadReply()> handler) { reload_ = std::move(handler); }

  /// What POST /-/probe/<check> answers (the handler decides every status:
  /// 200 with the trace, 404 unknown check, 429 with Retry-After, ...).
  struct ProbeReply {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
    int64_t retry_after_seconds = 0;
  };
  /// Serves POST /-/probe/<check> with handler(check, json), `json` when the
  /// request's Accept names application/json; other methods get 405. Behind
  /// basic auth like every endpoint. Called on a server thread and holds
  /// that worker until it returns: it must be thread-safe and bounded. Call
  /// before Start(); without a handler /-/probe/ is 404.
  void set_probe_handler(std::function<ProbeReply(const std::string& check, bool json)> handler) {
    probe_ = std::move(handler);
  }
  /// The daemon's store (the failure journal of GET /status/<check>); must
  /// outlive the server. Call before Start(); null: no journal is shown.
  void set_store(store::Store* store) { store_ = store; }

  /// Days of history per check (uptime bars, percentages, latency trends);
  /// must outlive the server. Call before Start(); null: none is shown.
  void set_history(const HistoryView* history) { history_ = history; }

  /// The public page's config, followed across reloads (its paths are
  /// served while it holds one). Call before Start(); without it the public
  /// paths are like any unknown path.
  void set_public_page(std::shared_ptr<const PublicPageSource> page) {
    public_page_ = std::move(page);
  }

  /// Binds and starts serving. Returns nullopt on success, otherwise a
  /// message such as `cannot listen on "127.0.0.1:9841": cannot bind to
  /// 127.0.0.1:9841: 98 (Address already in use)`.
  std::optional<std::string> Start();

  /// Stops serving and waits for the handlers in flight (well under a second
  /// unless a handler is slow). Idempotent; also done by the destructor.
  void Stop();

  /// The bound port once started (the real one when 0 was asked for), else 0.
  int port() const { return port_; }
  /// CivetWeb's own port: an internal 127.0.0.1 port that answers only the
  /// FrontDoor's connections (exposed for tests).
  int internal_port() const { return civetweb_port_; }

  /// Whether a request for `path` (URL-decoded and cleaned of dot segments,
  /// as CivetWeb's local_uri) with the raw query string `query` needs
  /// basic-auth credentials: every path except the push endpoints' paths
  /// (heartbeats: their own bearer tokens), the public page's paths while it
  /// is configured (exactly /public, /public.json and
  /// /public/badge/<name>.svg) and, while open_probe_endpoints is on, /healthz and
  /// /readyz without ?verbose=1. The one rule both the FrontDoor (which
  /// verifies credentials before forwarding) and the CivetWeb handler
  /// (which checks again) apply. False when basic auth is off.
  bool NeedsCredentials(std::string_view path, std::string_view query) const;

  /// The same rule on a request as the FrontDoor parsed it (path as sent):
  /// the path is URL-decoded as CivetWeb does; a path CivetWeb would still
  /// rewrite (dot segments, "//", a backslash, control characters, no
  /// leading '/') or a target with a '#' counts as needing credentials, so
  /// that the FrontDoor never lets through unverified what CivetWeb then
  /// protects.
  bool NeedsCredentials(const ParsedRequest& request) const;

  /// The push endpoint whose prefix `path` starts with (the last
  /// registered if several), or null.
  const PushEndpoint* PushEndpointFor(std::string_view path) const;

 private:
  static int HandleRequest(mg_connection* connection, void* server);
  int Serve(mg_connection* connection) const;
  int ServePush(mg_connection* connection, const PushEndpoint& endpoint, std::string_view method,
                std::string_view path) const;
  int ServeReload(mg_connection* connection, std::string_view method) const;
  /// GET /status/<check> and GET /check/<check>: the journal is read from
  /// the store on this worker thread (committed entries only).
  int ServeCheck(mg_connection* connection, std::string_view method, std::string_view path) const;
  /// Whether `path` is one of the public page's and the page is configured.
  bool IsOpenPublicPath(std::string_view path) const;
  int ServePublic(mg_connection* connection, std::string_view method, std::string_view path,
                  std::string_view query) const;
  int ServeProbe(mg_connection* connection, std::string_view method, std::string_view path) const;
  void PokeListener() const;
  /// The address of the client whose request `connection` serves (e.g. for
  /// per-client limits): the FrontDoor's record for the connection's local
  /// port, else CivetWeb's remote address. Safe from any handler thread.
  std::string ClientAddress(const mg_connection* connection) const;
  /// GET/HEAD /healthz answered on the FrontDoor's loop (see Start()).
  std::optional<std::string> AnswerLocally(const ParsedRequest& request) const;
  /// The FrontDoor's 401 or 429 for a request it did not let through.
  std::string Refusal(const ParsedRequest& request, const AuthDecision& decision) const;
  /// A complete plain-text response as Send() writes it, for the FrontDoor.
  std::string LocalResponse(int status, const std::string& body, bool head_only,
                            const std::vector<std::pair<std::string, std::string>>& headers) const;

  const WebServerOptions options_;
  const StatusBoard& board_;
  const CheckMetrics& metrics_;
  const std::function<bool()> is_alive_;
  const std::function<double()> wall_clock_;
  std::vector<PushEndpoint> push_endpoints_;
  std::function<ReloadReply()> reload_;
  std::function<ProbeReply(const std::string&, bool)> probe_;
  store::Store* store_ = nullptr;
  const HistoryView* history_ = nullptr;
  std::shared_ptr<const PublicPageSource> public_page_;
  mutable PublicPageCache public_cache_;
  std::unique_ptr<FrontDoor> front_door_;  // set while serving
  mg_context* context_ = nullptr;
  int civetweb_port_ = 0;  // CivetWeb's own, internal port
  int port_ = 0;
};

/// Validates a listen address and converts it to CivetWeb's listening_ports
/// syntax (":9841" -> "9841", "127.0.0.1:0" -> "127.0.0.1:0"). Returns nullopt
/// and sets *error (e.g. `expected host:port or :port`) when malformed.
std::optional<std::string> ToCivetwebPorts(const std::string& listen_address, std::string* error);

}  // namespace hx
