#include "http/web_server.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "exposition/negotiation.h"
#include "http/check_panel.h"
#include "http/dependency_map.h"
#include "http/front_door.h"
#include "http/gzip.h"
#include "http/landing_page.h"
#include "http/public_page.h"
#include "http/request_parser.h"
#include "http/web_config.h"
#include "status/status_json.h"
#include "store/store.h"
#include "util/quote.h"

namespace hx {
namespace {

constexpr const char* kAllowedMethods = "GET, HEAD";
constexpr const char* kReloadPath = "/-/reload";
constexpr std::string_view kCheckStatusPrefix = "/status/";
constexpr std::string_view kCheckPanelPrefix = "/check/";
constexpr std::string_view kProbePrefix = "/-/probe/";
// Requests the FrontDoor hands CivetWeb at once (each on its own
// connection); more complete requests wait in the FrontDoor.
constexpr int kBackendConnections = 32;

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct Response {
  int status = 200;
  const char* content_type = "text/plain; charset=utf-8";
  std::string body;
  const char* content_encoding = nullptr;
  bool vary_accept_encoding = false;
  const char* allow = kAllowedMethods;  // for 405
  bool ask_for_credentials = false;     // 401: WWW-Authenticate
  int64_t retry_after_seconds = 0;      // 429: Retry-After
};

Response Text(int status, std::string body) {
  Response response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

// CivetWeb's pieces (TLS, Lua, ...) are initialised once per process; only
// the plain HTTP server is used, so no TLS library is loaded: TLS is done in
// front of it by the FrontDoor (see front_door.h for why).
void InitCivetwebOnce() {
  static std::once_flag once;
  std::call_once(once, [] { mg_init_library(0); });
}

// While Start() runs on a thread, CivetWeb's messages on that thread are
// collected here: mg_start2's own error text is only "Failed to setup server
// ports", the reason (e.g. "Address already in use") is logged beside it.
thread_local std::vector<std::string>* start_messages = nullptr;

// CivetWeb would print its messages to stderr.
int RouteCivetwebLog(const mg_connection*, const char* message) {
  if (start_messages != nullptr) {
    start_messages->emplace_back(message);
  } else {
    spdlog::debug("civetweb: {}", message);
  }
  return 1;
}

// `extra` are the web config's http_server_config.headers.
// Errors CivetWeb answers itself (a request it cannot parse, too large a
// head): its own page puts the client's HTTP-version text into the status
// line, and for a request line it could not parse that text can run on over
// CR LF into header lines of the response (found by http_server_fuzzer).
// Answered here with a fixed status line instead; 0 = handled.
int SendFixedError(mg_connection* connection, int status, const char*) {
  const char* reason = mg_get_response_code_text(connection, status);
  const std::string body = std::to_string(status) + " " + reason + "\n";
  const std::string head = "HTTP/1.1 " + std::to_string(status) + " " + reason +
                           "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  mg_write(connection, head.data(), head.size());
  mg_write(connection, body.data(), body.size());
  return 0;
}

void Send(mg_connection* connection, const Response& response, bool head_only,
          const HeaderList* extra) {
  mg_response_header_start(connection, response.status);
  mg_response_header_add(connection, "Content-Type", response.content_type, -1);
  const std::string length = std::to_string(response.body.size());
  mg_response_header_add(connection, "Content-Length", length.c_str(), -1);
  // Every endpoint is a view of the present; a cached copy would be a lie.
  mg_response_header_add(connection, "Cache-Control", "no-store", -1);
  mg_response_header_add(connection, "X-Content-Type-Options", "nosniff", -1);
  if (response.content_encoding != nullptr) {
    mg_response_header_add(connection, "Content-Encoding", response.content_encoding, -1);
  }
  if (response.vary_accept_encoding) {
    mg_response_header_add(connection, "Vary", "Accept-Encoding", -1);
  }
  if (response.status == 405) mg_response_header_add(connection, "Allow", response.allow, -1);
  if (response.ask_for_credentials) {
    mg_response_header_add(connection, "WWW-Authenticate", "Basic realm=\"health_exporter\"", -1);
  }
  if (response.retry_after_seconds > 0) {
    const std::string seconds = std::to_string(response.retry_after_seconds);
    mg_response_header_add(connection, "Retry-After", seconds.c_str(), -1);
  }
  if (extra != nullptr) {
    for (const auto& [name, value] : *extra) {
      mg_response_header_add(connection, name.c_str(), value.c_str(), -1);
    }
  }
  mg_response_header_send(connection);
  if (!head_only && !response.body.empty()) {
    mg_write(connection, response.body.data(), response.body.size());
  }
}

double SystemWallSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// "?verbose=1" (or true/yes) asks /readyz for every check's name and detail;
// anything else, or no query, gives the overall state only.
bool VerboseRequested(std::string_view query) {
  if (query.empty()) return false;
  char value[8];
  const int length = mg_get_var(query.data(), query.size(), "verbose", value, sizeof(value));
  if (length < 0) return false;
  const std::string_view v(value, static_cast<size_t>(length));
  return v == "1" || v == "true" || v == "yes";
}

// The path CivetWeb's handler will see (local_uri) for a path as sent, when
// that is certain: URL-decoded with CivetWeb's own function, and only when
// CivetWeb's clean-up (dot segments, "//", backslashes) would leave it
// unchanged and it holds no control character. nullopt otherwise.
std::optional<std::string> HandlerPath(std::string_view sent) {
  if (sent.empty() || sent.front() != '/' || sent.size() > 8192) return std::nullopt;
  std::string decoded(sent.size() + 1, '\0');
  const int n = mg_url_decode(sent.data(), static_cast<int>(sent.size()), decoded.data(),
                              static_cast<int>(decoded.size()), /*is_form_url_encoded=*/0);
  if (n < 0) return std::nullopt;
  decoded.resize(static_cast<size_t>(n));
  for (const char c : decoded) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '\\') return std::nullopt;
  }
  if (decoded.find("//") != std::string::npos) return std::nullopt;
  // "." and ".." segments, wherever they are.
  for (size_t at = 0; at != std::string::npos; at = decoded.find('/', at + 1)) {
    const std::string_view segment =
        std::string_view(decoded).substr(at + 1, decoded.find('/', at + 1) - at - 1);
    if (segment == "." || segment == "..") return std::nullopt;
  }
  return decoded;
}

// 405 with Allow: POST, for the endpoints that only act (/-/reload, /-/probe/).
int RefuseUnlessPost(mg_connection* connection, std::string_view method, const HeaderList* extra) {
  Response response = Text(405, "method not allowed\n");
  response.allow = "POST";
  Send(connection, response, method == "HEAD", extra);
  return 405;
}

}  // namespace

std::optional<std::string> ToCivetwebPorts(const std::string& listen_address, std::string* error) {
  const size_t colon = listen_address.rfind(':');
  if (colon == std::string::npos) {
    *error = "expected host:port or :port";
    return std::nullopt;
  }
  const std::string host = listen_address.substr(0, colon);
  const std::string port_text = listen_address.substr(colon + 1);
  int port = -1;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port < 0 || port > 65535) {
    *error = "port must be a number from 0 to 65535";
    return std::nullopt;
  }
  // CivetWeb reads ',' as a list separator and a trailing 's'/'r' as TLS or
  // redirect flags, cannot resolve names, and Debian's build has no IPv6:
  // accept only what it will bind as written.
  in_addr parsed{};
  if (!host.empty() && inet_pton(AF_INET, host.c_str(), &parsed) != 1) {
    *error = "host must be an IPv4 address (names and IPv6 are not supported)";
    return std::nullopt;
  }
  return host.empty() ? port_text : host + ":" + port_text;
}

WebServer::WebServer(WebServerOptions options, const StatusBoard& board,
                     const CheckMetrics& metrics, std::function<bool()> is_alive,
                     std::function<double()> wall_clock)
    : options_(std::move(options)),
      board_(board),
      metrics_(metrics),
      is_alive_(std::move(is_alive)),
      wall_clock_(wall_clock ? std::move(wall_clock) : SystemWallSeconds) {}

WebServer::~WebServer() { Stop(); }

std::optional<std::string> WebServer::Start() {
  if (context_ != nullptr) return std::nullopt;
  const std::string prefix = "cannot listen on \"" + options_.listen_address + "\": ";
  std::string error;
  const auto public_ports = ToCivetwebPorts(options_.listen_address, &error);
  if (!public_ports) return prefix + error;
  const bool tls = options_.security && options_.security->tls;
  // CivetWeb listens on an internal loopback port; the FrontDoor on the
  // public address.
  const std::optional<std::string> ports = std::string("127.0.0.1:0");

  InitCivetwebOnce();
  const int thread_count = std::max(1, options_.threads);
  const std::string threads = std::to_string(thread_count);
  // Every connection CivetWeb sees carries one complete request from the
  // FrontDoor, which opens at most kBackendConnections at once.
  const std::string queue = std::to_string(kBackendConnections);
  const std::string timeout_ms = std::to_string(
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.request_timeout).count());
  // The FrontDoor enforces max_request_size; a forwarded head may grow by a
  // few bytes ("Name:value" becomes "Name: value"), which CivetWeb must take.
  const std::string max_request = std::to_string(2 * options_.max_request_size + 1024);
  const char* config[] = {
      "listening_ports",
      ports->c_str(),
      "num_threads",
      threads.c_str(),
      "connection_queue",
      queue.c_str(),
      "request_timeout_ms",
      timeout_ms.c_str(),
      "max_request_size",
      max_request.c_str(),
      "enable_keep_alive",
      "yes",
      // Headers and body go out in separate writes; with Nagle's algorithm
      // the body then waits for the client's delayed ACK (~40 ms per
      // request on a kept-alive connection, i.e. every Prometheus scrape).
      "tcp_nodelay",
      "1",
      // No CORS pre-flight answers and no file serving: every request
      // reaches HandleRequest.
      "access_control_allow_origin",
      "",
      nullptr,
  };
  mg_callbacks callbacks{};
  callbacks.log_message = RouteCivetwebLog;
  callbacks.http_error = SendFixedError;
  mg_init_data init{};
  init.callbacks = &callbacks;
  init.user_data = this;
  init.configuration_options = config;
  char error_text[256] = "";
  mg_error_data error_data{};
  error_data.text = error_text;
  error_data.text_buffer_size = sizeof(error_text);

  {
    // Made before CivetWeb's threads exist, which read front_door_ without a
    // lock; it lives until they are gone (see Stop()).
    FrontDoorOptions door;
    const size_t colon = options_.listen_address.rfind(':');
    door.host = options_.listen_address.substr(0, colon);
    door.port = std::stoi(options_.listen_address.substr(colon + 1));
    if (tls) door.tls = options_.security->tls->context;
    door.limits.max_head_bytes = options_.max_request_size;
    door.limits.max_headers = std::min(options_.max_header_count, MG_MAX_HEADERS - 1);
    door.limits.max_body_bytes = options_.max_body_size;
    door.handshake_timeout = door.head_timeout = door.body_timeout = door.write_timeout =
        options_.request_timeout;
    door.max_connections = options_.max_connections;
    door.max_connections_per_client = options_.max_connections_per_client;
    door.max_backend_connections = kBackendConnections;
    door.answer_locally = [this](const ParsedRequest& request) { return AnswerLocally(request); };
    if (options_.security && options_.security->basic_auth) {
      // Credentials are verified in the FrontDoor, so that no client
      // without valid ones holds a worker (see front_door.h); the handler
      // checks again (Serve()).
      door.basic_auth = options_.security->basic_auth;
      door.needs_credentials = [this](const ParsedRequest& request) {
        return NeedsCredentials(request);
      };
      door.refusal = [this](const ParsedRequest& request, const AuthDecision& decision) {
        return Refusal(request, decision);
      };
      door.auth_timeout =
          std::chrono::duration_cast<Duration>(options_.security->basic_auth->options().max_wait);
    }
    front_door_ = std::make_unique<FrontDoor>(std::move(door));
  }

  std::vector<std::string> messages;
  start_messages = &messages;
  context_ = mg_start2(&init, &error_data);
  start_messages = nullptr;
  if (context_ == nullptr) {
    front_door_.reset();
    // Prefer the specific messages ("cannot bind to ...: 98 (Address already
    // in use)") over the generic error text.
    std::string reason;
    for (const auto& message : messages) {
      if (message == error_text) continue;
      reason += (reason.empty() ? "" : "; ") + message;
    }
    if (reason.empty()) reason = error_text[0] != '\0' ? error_text : "unknown error";
    return prefix + reason;
  }
  // "**" matches every path, so unknown paths get our 404 rather than
  // CivetWeb's.
  mg_set_request_handler(context_, "**", &WebServer::HandleRequest, this);

  mg_server_port bound{};
  if (mg_get_server_ports(context_, 1, &bound) == 1) civetweb_port_ = bound.port;
  if (auto door_error = front_door_->Start(civetweb_port_)) {
    Stop();
    return prefix + *door_error;
  }
  port_ = front_door_->port();
  spdlog::debug("web: at most {} client connections, {} per client address",
                front_door_->connection_limit(), options_.max_connections_per_client);
  return std::nullopt;
}

void WebServer::Stop() {
  // Client connections first, so that no client waits on CivetWeb.
  if (front_door_) front_door_->Stop();
  if (context_ == nullptr) {
    front_door_.reset();
    return;
  }
  // CivetWeb's accept loop looks at its stop flag only between polls of up to
  // 2 s, so mg_stop() alone takes that long. A connection to our own listener
  // wakes the loop at once; keep poking until mg_stop() has returned.
  std::mutex mutex;
  std::condition_variable stopped_changed;
  bool stopped = false;
  std::thread stopper([&] {
    mg_stop(context_);
    std::lock_guard lock(mutex);
    stopped = true;
    stopped_changed.notify_all();
  });
  std::unique_lock lock(mutex);
  while (!stopped) {
    lock.unlock();
    PokeListener();
    lock.lock();
    stopped_changed.wait_for(lock, std::chrono::milliseconds(20), [&] { return stopped; });
  }
  lock.unlock();
  stopper.join();
  context_ = nullptr;
  front_door_.reset();  // no handler can be using it any more
  civetweb_port_ = 0;
  port_ = 0;
}

void WebServer::PokeListener() const {
  // CivetWeb's own listener is the internal one on loopback.
  const std::string host = "127.0.0.1";
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(civetweb_port_));
  if (civetweb_port_ == 0 || inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) return;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  // Failure is fine: the listener may already be closed.
  (void)::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  ::close(fd);
}

// Pushes (heartbeats) are the one write path: the body is read (bounded) and
// handed to the endpoint, which checks the token and records the push. The
// Authorization header is never logged.
int WebServer::ServePush(mg_connection* connection, const PushEndpoint& endpoint,
                         std::string_view method, std::string_view path) const {
  std::string body;
  const size_t limit = endpoint.max_body_bytes + 1;
  char buffer[1024];
  while (body.size() < limit) {
    const int n = mg_read(connection, buffer, std::min(sizeof(buffer), limit - body.size()));
    if (n <= 0) break;
    body.append(buffer, static_cast<size_t>(n));
  }
  const char* authorization = mg_get_header(connection, "Authorization");
  const PushResponse reply =
      endpoint.handle(method, path, authorization ? authorization : "", body);
  mg_response_header_start(connection, reply.status);
  mg_response_header_add(connection, "Content-Type", "text/plain; charset=utf-8", -1);
  const std::string length = std::to_string(reply.body.size());
  mg_response_header_add(connection, "Content-Length", length.c_str(), -1);
  mg_response_header_add(connection, "Cache-Control", "no-store", -1);
  for (const auto& [name, value] : reply.headers) {
    mg_response_header_add(connection, name.c_str(), value.c_str(), -1);
  }
  if (options_.security) {
    for (const auto& [name, value] : options_.security->headers) {
      mg_response_header_add(connection, name.c_str(), value.c_str(), -1);
    }
  }
  mg_response_header_send(connection);
  if (method != "HEAD" && !reply.body.empty()) {
    mg_write(connection, reply.body.data(), reply.body.size());
  }
  return reply.status;
}

// The handler runs on this CivetWeb thread; the daemon posts the reload to
// its loop and waits for the outcome, at most its reload deadline.
int WebServer::ServeReload(mg_connection* connection, std::string_view method) const {
  const HeaderList* extra = options_.security ? &options_.security->headers : nullptr;
  if (method != "POST") return RefuseUnlessPost(connection, method, extra);
  const ReloadReply reply = reload_();
  const Response response = reply.status == 200 ? Text(200, "config reloaded\n")
                                                : Text(reply.status, reply.message + "\n");
  Send(connection, response, false, extra);
  return response.status;
}

int WebServer::ServeCheck(mg_connection* connection, std::string_view method,
                          std::string_view path) const {
  const HeaderList* extra = options_.security ? &options_.security->headers : nullptr;
  const bool head_only = method == "HEAD";
  if (method != "GET" && !head_only) {
    Send(connection, Text(405, "method not allowed\n"), false, extra);
    return 405;
  }
  const bool panel = path.starts_with(kCheckPanelPrefix);
  // local_uri is already percent-decoded: the rest is the check's name.
  const std::string_view name =
      path.substr(panel ? kCheckPanelPrefix.size() : kCheckStatusPrefix.size());
  const BoardSnapshot snapshot = board_.Snapshot();
  const std::optional<size_t> index = FindCheck(snapshot, name);
  if (!index) {
    Send(connection, Text(404, "no check named " + QuoteEscaped(name) + "\n"), head_only, extra);
    return 404;
  }
  CheckPanelInput input;
  if (store_ != nullptr) {
    input.journal_capacity = store_->options().journal_per_check;
    input.journal = store_->Journal(name, input.journal_capacity);
    input.journal_storage = std::string(store::StoreModeName(store_->mode()));
  }
  Response response;
  if (panel) {
    input.history = history_;
    response.content_type = "text/html; charset=utf-8";
    response.body = RenderCheckPanel(snapshot, *index, wall_clock_(), input);
  } else {
    response.content_type = "application/json";
    response.body = RenderCheckStatusJson(snapshot, *index, wall_clock_(), input.journal,
                                          input.journal_storage);
  }
  Send(connection, response, head_only, extra);
  return response.status;
}

// The debug run: the handler (the daemon) runs the attempt on its loop and
// waits for it, bounded by the check's timeout. The name is only looked up
// among the configured checks.
int WebServer::ServeProbe(mg_connection* connection, std::string_view method,
                          std::string_view path) const {
  const HeaderList* extra = options_.security ? &options_.security->headers : nullptr;
  if (method != "POST") return RefuseUnlessPost(connection, method, extra);
  const std::string check(path.substr(kProbePrefix.size()));
  if (check.empty() || check.find('/') != std::string::npos) {
    Send(connection, Text(404, "not found\n"), false, extra);
    return 404;
  }
  const char* accept = mg_get_header(connection, "Accept");
  const bool json =
      accept != nullptr && std::string_view(accept).find("application/json") != std::string::npos;
  const ProbeReply reply = probe_(check, json);
  Response response = Text(reply.status, reply.body);
  response.content_type = reply.content_type.c_str();
  response.retry_after_seconds = reply.retry_after_seconds;
  Send(connection, response, false, extra);
  return response.status;
}

std::string WebServer::ClientAddress(const mg_connection* connection) const {
  const mg_request_info* request = mg_get_request_info(connection);
  if (front_door_ && request->remote_addr == std::string_view("127.0.0.1")) {
    if (auto address = front_door_->ClientAddress(request->remote_port)) return *address;
  }
  return request->remote_addr;
}

// Liveness is answered on the FrontDoor's own loop (as Envoy's health-check
// filter answers without reaching its upstream): a kubelet's probe must not
// wait for a CivetWeb worker, which a scrape, a reload or a flood of
// heartbeats may all be holding. Only when /healthz needs basic auth does it
// go to CivetWeb, whose handler checks credentials. is_alive_ is thread-safe
// (see the class comment); the headers are those Send() writes.
std::optional<std::string> WebServer::AnswerLocally(const ParsedRequest& request) const {
  if (options_.public_only || request.path() != "/healthz" ||
      (request.method != "GET" && request.method != "HEAD")) {
    return std::nullopt;
  }
  if (NeedsCredentials(request)) return std::nullopt;
  const bool alive = !is_alive_ || is_alive_();
  return LocalResponse(alive ? 200 : 503, alive ? "ok\n" : "event loop is not turning\n",
                       request.method == "HEAD", {});
}

std::string WebServer::Refusal(const ParsedRequest& request, const AuthDecision& decision) const {
  const bool head_only = request.method == "HEAD";
  if (decision.outcome == AuthOutcome::kThrottled) {
    const int64_t seconds = std::max<int64_t>(1, decision.retry_after.count());
    return LocalResponse(429, "too many authentication attempts; retry later\n", head_only,
                         {{"Retry-After", std::to_string(seconds)}});
  }
  return LocalResponse(401, "unauthorized\n", head_only,
                       {{"WWW-Authenticate", "Basic realm=\"health_exporter\""}});
}

std::string WebServer::LocalResponse(int status, const std::string& body, bool head_only,
                                     const HeaderList& headers) const {
  std::string response = "HTTP/1.1 " + std::to_string(status) + " " +
                         mg_get_response_code_text(nullptr, status) + "\r\n";
  response +=
      "Content-Type: text/plain; charset=utf-8\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n";
  for (const auto& [name, value] : headers) {
    response.append(name).append(": ").append(value).append("\r\n");
  }
  if (options_.security != nullptr) {
    for (const auto& [name, value] : options_.security->headers) {
      response.append(name).append(": ").append(value).append("\r\n");
    }
  }
  response += "\r\n";
  if (!head_only) response += body;
  return response;
}

const PushEndpoint* WebServer::PushEndpointFor(std::string_view path) const {
  const PushEndpoint* push = nullptr;
  for (const PushEndpoint& endpoint : push_endpoints_) {
    if (path.starts_with(endpoint.path_prefix)) push = &endpoint;
  }
  return push;
}

bool WebServer::NeedsCredentials(std::string_view path, std::string_view query) const {
  const WebSecurity* security = options_.security.get();
  if (security == nullptr || !security->basic_auth) return false;
  // The public page is for customers, who have no credentials: its paths
  // are open by design, and show only what it was built to show.
  if (IsOpenPublicPath(path)) return false;
  // Push endpoints (heartbeats) keep their own bearer tokens: cron jobs
  // that have only the token must keep working.
  if (PushEndpointFor(path) != nullptr) return false;
  // Probes of kubelets and load balancers cannot send credentials, so
  // /healthz and /readyz stay open unless configured. The open /readyz shows
  // the overall state only: check names and details (?verbose=1) are what
  // basic auth protects on /status, so they need credentials.
  if (!security->open_probe_endpoints) return true;
  return !(path == "/healthz" || (path == "/readyz" && !VerboseRequested(query)));
}

bool WebServer::NeedsCredentials(const ParsedRequest& request) const {
  if (!options_.security || !options_.security->basic_auth) return false;
  const std::string_view target = request.target;
  const std::optional<std::string> path = HandlerPath(request.path());
  if (!path || target.find('#') != std::string_view::npos) return true;
  const size_t question = target.find('?');
  return NeedsCredentials(
      *path, question == std::string_view::npos ? std::string_view() : target.substr(question + 1));
}

bool WebServer::IsOpenPublicPath(std::string_view path) const {
  return public_page_ != nullptr && IsPublicPath(path) && public_page_->Get() != nullptr;
}

// The public page: rendered from a projection that holds only what a
// customer may see (status/public_view.h), with an ETag from the bytes, so
// that a status page behind a CDN or polled by many browsers answers 304
// while nothing changed; the projection and its renderings are kept a few
// seconds (PublicPageCache), so that a flood of requests costs one build.
int WebServer::ServePublic(mg_connection* connection, std::string_view method,
                           std::string_view path, std::string_view query) const {
  const bool head_only = method == "HEAD";
  const HeaderList* extra = options_.security ? &options_.security->headers : nullptr;
  if (method != "GET" && !head_only) {
    Send(connection, Text(405, "method not allowed\n"), false, extra);
    return 405;
  }
  const std::shared_ptr<const PublicPageConfig> page = public_page_->Get();
  if (page == nullptr) {
    Send(connection, Text(404, "not found\n"), head_only, extra);
    return 404;
  }
  const double now = wall_clock_();
  const std::shared_ptr<const PublicResponse> cached = public_cache_.Respond(
      page, now, [&] { return BuildPublicView(*page, board_.Snapshot(), history_, now); }, path,
      query);
  const PublicResponse& reply = *cached;
  if (reply.etag.empty()) {
    Send(connection, Text(reply.status, reply.body), head_only, extra);
    return reply.status;
  }
  const char* if_none_match = mg_get_header(connection, "If-None-Match");
  const int status =
      if_none_match != nullptr && EtagMatches(if_none_match, reply.etag) ? 304 : reply.status;
  mg_response_header_start(connection, status);
  mg_response_header_add(connection, "Content-Type", reply.content_type.c_str(), -1);
  // A 304 carries the length a 200 would have (RFC 9110 8.6) and no body.
  const std::string length = std::to_string(reply.body.size());
  mg_response_header_add(connection, "Content-Length", length.c_str(), -1);
  mg_response_header_add(connection, "ETag", reply.etag.c_str(), -1);
  mg_response_header_add(connection, "Cache-Control", "public, max-age=30", -1);
  mg_response_header_add(connection, "X-Content-Type-Options", "nosniff", -1);
  bool has_csp = false;
  if (extra != nullptr) {
    for (const auto& [name, value] : *extra) {
      has_csp = has_csp || strcasecmp(name.c_str(), "Content-Security-Policy") == 0;
      mg_response_header_add(connection, name.c_str(), value.c_str(), -1);
    }
  }
  // The HTML page carries its own policy (a <meta> with its style's hash);
  // JSON and SVG need none of anything.
  if (!has_csp && path != "/public") {
    mg_response_header_add(connection, "Content-Security-Policy", "default-src 'none'", -1);
  }
  // Anyone may show the status on their own site.
  if (path == "/public.json") {
    mg_response_header_add(connection, "Access-Control-Allow-Origin", "*", -1);
  }
  mg_response_header_send(connection);
  if (status == 200 && !head_only) mg_write(connection, reply.body.data(), reply.body.size());
  return status;
}

int WebServer::HandleRequest(mg_connection* connection, void* server) {
  // A non-zero return tells CivetWeb the request was handled, with this status.
  return static_cast<const WebServer*>(server)->Serve(connection);
}

int WebServer::Serve(mg_connection* connection) const {
  const mg_request_info* request = mg_get_request_info(connection);
  const std::string_view method = request->request_method ? request->request_method : "";
  const std::string_view path = request->local_uri ? request->local_uri : "";
  const bool head_only = method == "HEAD";
  const WebSecurity* security = options_.security.get();
  const HeaderList* extra = security ? &security->headers : nullptr;

  // CivetWeb's port is internal: a request that did not come through the
  // FrontDoor skipped its limits and deadlines, strict parsing, the TLS
  // handshake and any client certificate.
  if (!(request->remote_addr == std::string_view("127.0.0.1") &&
        front_door_->IsRelayPort(request->remote_port))) {
    // Also what a request sees whose front-door connection was dropped
    // before CivetWeb got to it (its client left, or its deadline passed):
    // the port is unregistered then, and the answer goes nowhere. Logged
    // (at most once a minute), so that a 403 a client did see can be traced.
    static std::atomic<int64_t> last_logged{0};
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    int64_t last = last_logged.load();
    if (now - last >= 60 && last_logged.compare_exchange_strong(last, now)) {
      spdlog::warn("web: 403 for a request on the internal port not from the front door ({}:{})",
                   request->remote_addr, request->remote_port);
    }
    Send(connection, Text(403, "forbidden: use the public port\n"), head_only, extra);
    return 403;
  }
  // CivetWeb keeps at most MG_MAX_HEADERS and silently drops the rest: a
  // full table may hide more.
  if (request->num_headers > std::min(options_.max_header_count, MG_MAX_HEADERS - 1)) {
    Send(connection, Text(431, "too many request headers\n"), head_only, extra);
    return 431;
  }

  const PushEndpoint* push = PushEndpointFor(path);
  const std::string_view query = request->query_string ? request->query_string : "";
  const bool readyz_verbose = path == "/readyz" && VerboseRequested(query);
  if (NeedsCredentials(path, query)) {
    // Defence in depth: the FrontDoor verified these credentials already
    // (same rule), so this normally hits the success cache. The blocking
    // wait in CheckHeader() is a fallback only (e.g. the cache dropped the
    // entry in between); it is rate limited per client and bounded.
    const char* authorization = mg_get_header(connection, "Authorization");
    const AuthDecision decision =
        authorization == nullptr
            ? AuthDecision{}
            : security->basic_auth->CheckHeader(ClientAddress(connection), authorization);
    if (decision.outcome == AuthOutcome::kThrottled) {
      Response response = Text(429, "too many authentication attempts; retry later\n");
      response.retry_after_seconds = decision.retry_after.count();
      Send(connection, response, head_only, extra);
      return 429;
    }
    if (decision.outcome != AuthOutcome::kAllowed) {
      Response response = Text(401, "unauthorized\n");
      response.ask_for_credentials = true;
      Send(connection, response, head_only, extra);
      return 401;
    }
  }
  if (IsOpenPublicPath(path)) return ServePublic(connection, method, path, query);
  if (options_.public_only) {
    Send(connection, Text(404, "not found\n"), head_only, extra);
    return 404;
  }
  if (push != nullptr) return ServePush(connection, *push, method, path);
  if (reload_ && path == kReloadPath) return ServeReload(connection, method);
  if (probe_ && path.substr(0, kProbePrefix.size()) == kProbePrefix) {
    return ServeProbe(connection, method, path);
  }

  if (path.starts_with(kCheckStatusPrefix) || path.starts_with(kCheckPanelPrefix)) {
    return ServeCheck(connection, method, path);
  }

  enum class Endpoint { kIndex, kMap, kMetrics, kHealthz, kReadyz, kStatus, kUnknown };
  const Endpoint endpoint = path == "/"          ? Endpoint::kIndex
                            : path == "/map"     ? Endpoint::kMap
                            : path == "/metrics" ? Endpoint::kMetrics
                            : path == "/healthz" ? Endpoint::kHealthz
                            : path == "/readyz"  ? Endpoint::kReadyz
                            : path == "/status"  ? Endpoint::kStatus
                                                 : Endpoint::kUnknown;
  if (endpoint == Endpoint::kUnknown) {
    Send(connection, Text(404, "not found\n"), head_only, extra);
    return 404;
  }
  if (method != "GET" && !head_only) {
    Send(connection, Text(405, "method not allowed\n"), false, extra);
    return 405;
  }

  Response response;
  metrics::NegotiatedFormat negotiated;  // /metrics: owns response.content_type
  switch (endpoint) {
    case Endpoint::kMetrics: {
      const char* accept_type = mg_get_header(connection, "Accept");
      negotiated = metrics::NegotiateFormat(accept_type != nullptr ? accept_type : "");
      response.content_type = negotiated.content_type.c_str();
      response.vary_accept_encoding = true;
      // One snapshot for the whole scrape: every family agrees with every
      // other, and with a /status taken from the same snapshot.
      response.body = metrics_.Render(board_.Snapshot(), negotiated.format);
      const char* accept = mg_get_header(connection, "Accept-Encoding");
      if (accept != nullptr && AcceptsGzip(accept)) {
        if (auto compressed = GzipCompress(response.body)) {
          response.body = std::move(*compressed);
          response.content_encoding = "gzip";
        }
      }
      break;
    }
    case Endpoint::kHealthz: {
      const bool alive = !is_alive_ || is_alive_();
      response = alive ? Text(200, "ok\n") : Text(503, "event loop is not turning\n");
      break;
    }
    case Endpoint::kReadyz: {
      const BoardSnapshot snapshot = board_.Snapshot();
      const bool ready = snapshot.overall == OverallStatus::kHealthy ||
                         snapshot.overall == OverallStatus::kDegraded;
      response.status = ready ? 200 : 503;
      response.content_type = "application/json";
      response.body = RenderReadinessJson(snapshot, readyz_verbose);
      break;
    }
    case Endpoint::kStatus:
      response.content_type = "application/json";
      response.body = RenderStatusJson(board_.Snapshot(), wall_clock_());
      break;
    case Endpoint::kIndex:
      response.content_type = "text/html; charset=utf-8";
      response.body = RenderLandingPage(
          board_.Snapshot(), wall_clock_(),
          ParseLandingPageQuery(request->query_string ? request->query_string : ""), history_);
      // 90 uptime cells a card: ~9 KiB of markup each, which gzip cuts ~17x.
      response.vary_accept_encoding = true;
      if (const char* accept = mg_get_header(connection, "Accept-Encoding");
          accept != nullptr && AcceptsGzip(accept)) {
        if (auto compressed = GzipCompress(response.body)) {
          response.body = std::move(*compressed);
          response.content_encoding = "gzip";
        }
      }
      break;
    case Endpoint::kMap:
      response.content_type = "text/html; charset=utf-8";
      response.body = RenderDependencyMapPage(board_.Snapshot(), wall_clock_(),
                                              ParseDependencyMapQuery(query));
      break;
    case Endpoint::kUnknown:
      break;
  }
  Send(connection, response, head_only, extra);
  return response.status;
}

}  // namespace hx
