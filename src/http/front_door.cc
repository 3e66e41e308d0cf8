#include "http/front_door.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

namespace hx {
namespace {

// Lingering close: after a response that ends the connection, unread bytes
// from the client are read and dropped for this long, so that closing with
// them unread does not reset the connection and lose the response.
constexpr uint64_t kLingerMs = 1000;
// How often the loop collects verification outcomes while connections wait
// for bcrypt (which takes 50 ms or more per check).
constexpr uint64_t kAuthPollMs = 5;
// Descriptors kept free for the checks when sizing the connection limit.
constexpr int kReservedDescriptors = 256;
// The soft descriptor limit Start() raises to (at most the hard limit).
constexpr rlim_t kWantedDescriptors = 65536;

uint64_t Millis(Duration duration) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(duration).count();
  return ms <= 0 ? 1 : static_cast<uint64_t>(ms);
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 413:
      return "Content Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Error";
  }
}

std::string ErrorResponse(int status, const std::string& reason) {
  const std::string body =
      std::to_string(status) + " " + ReasonPhrase(status) + ": " + reason + "\n";
  return "HTTP/1.1 " + std::to_string(status) + " " + ReasonPhrase(status) +
         "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nCache-Control: no-store\r\n\r\n" + body;
}

bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) ==
                  std::tolower(static_cast<unsigned char>(b));
         });
}

// Replaces the Connection header of a complete response (head and body) with
// one that says whether the connection stays open. Keep-alive needs a
// Content-Length (every handler of ours sends one); `*keep_alive` is cleared
// otherwise. Returns nullopt for something that is not an HTTP response.
std::optional<std::string> WithConnectionHeader(const std::string& response, bool* keep_alive) {
  const size_t head_end = response.find("\r\n\r\n");
  if (head_end == std::string::npos || response.rfind("HTTP/1.", 0) != 0) return std::nullopt;
  std::string out;
  out.reserve(response.size() + 32);
  size_t start = 0;
  bool has_length = false;
  bool first = true;
  while (start < head_end + 2) {
    const size_t end = response.find("\r\n", start);
    const std::string_view line(response.data() + start, end - start);
    start = end + 2;
    if (!first &&
        (StartsWithIgnoreCase(line, "Connection:") || StartsWithIgnoreCase(line, "Keep-Alive:"))) {
      continue;
    }
    if (StartsWithIgnoreCase(line, "Content-Length:")) has_length = true;
    first = false;
    out.append(line);
    out += "\r\n";
  }
  if (!has_length) *keep_alive = false;
  out += *keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  out.append(response, head_end + 4, std::string::npos);
  return out;
}

}  // namespace

// Where bcrypt threads leave the outcomes of verifications for the loop: a
// lock-free stack. Thread-safe. No mutex on purpose: a bcrypt thread runs at
// the lowest priority (SCHED_IDLE), and one preempted while holding a lock
// the loop wants would stall the loop until it got a CPU again, hundreds of
// ms on a busy machine (measured: /healthz p99 155 ms with a mutex and a
// uv_async here, whose wake-up preempted the sender inside its lock). The
// loop polls it (kAuthPollMs) while connections wait for bcrypt; no
// uv_async either, whose handle could be closed under a late sender.
struct FrontDoor::AuthMailbox {
  struct Outcome {
    uint64_t ticket = 0;
    AuthDecision decision;
    Outcome* next = nullptr;
  };
  std::atomic<Outcome*> head{nullptr};

  AuthMailbox() = default;
  AuthMailbox(const AuthMailbox&) = delete;
  AuthMailbox& operator=(const AuthMailbox&) = delete;
  ~AuthMailbox() { Free(TakeAll()); }

  void Push(uint64_t ticket, AuthDecision decision) {
    auto* outcome = new Outcome{ticket, decision, head.load(std::memory_order_relaxed)};
    while (!head.compare_exchange_weak(outcome->next, outcome, std::memory_order_release,
                                       std::memory_order_relaxed)) {
    }
  }
  Outcome* TakeAll() { return head.exchange(nullptr, std::memory_order_acquire); }
  static void Free(Outcome* outcome) {
    while (outcome != nullptr) delete std::exchange(outcome, outcome->next);
  }
};

// One client connection. Its phases follow one another; each has a deadline.
// Thread-safety: none; only the front door's loop thread touches it.
struct FrontDoor::Client {
  enum class Phase {
    kHandshake,
    kHead,
    kBody,
    kAuthorizing,  // waiting for bcrypt (its ticket in door->authorizing_)
    kWaiting,
    kBackend,
    kWriting,
    kLingering
  };

  FrontDoor* door = nullptr;
  uv_tcp_t tcp{};
  uv_timer_t timer{};
  int open_handles = 2;
  bool closing = false;
  Phase phase = Phase::kHead;
  uint32_t ip = 0;
  std::string address;
  SSL* ssl = nullptr;
  BIO* in = nullptr;   // ciphertext from the client (owned by ssl)
  BIO* out = nullptr;  // ciphertext to the client (owned by ssl)
  RequestParser parser;
  std::string input;  // plaintext received, not yet parsed
  bool peer_closed = false;
  bool close_after_write = false;
  int pending_writes = 0;
  Backend* backend = nullptr;
  uint64_t auth_ticket = 0;

  struct WriteRequest {
    uv_write_t req{};
    std::string data;
    Client* client = nullptr;
  };

  void SetDeadline(Duration timeout) {
    uv_timer_start(&timer, &Client::OnTimer, Millis(timeout), 0);
  }
  static void OnTimer(uv_timer_t* timer);
  static void OnAlloc(uv_handle_t* handle, size_t, uv_buf_t* buf);
  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void OnClosed(uv_handle_t* handle);
  void Received(const char* data, size_t size);
  void Process();
  void Respond(const std::string& response, bool keep_alive);
  void WriteRaw(std::string data);
  void FlushTls();
  void Written();
  void Close();
};

// One forwarded request: a connection to CivetWeb's internal port.
// Thread-safety: none; only the front door's loop thread touches it.
struct FrontDoor::Backend {
  FrontDoor* door = nullptr;
  Client* client = nullptr;  // null once the client is gone
  uv_tcp_t tcp{};
  uv_connect_t connect{};
  uv_write_t write{};
  uv_shutdown_t shutdown{};
  std::string request;
  std::string response;
  int local_port = 0;
  uint64_t registration = 0;  // of local_port, see FrontDoor::ports_
  bool done = false;
  int error = 0;  // a libuv error that kept us from reaching CivetWeb

  static void OnConnect(uv_connect_t* req, int status);
  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  void Finish(bool ok);
};

FrontDoor::FrontDoor(FrontDoorOptions options)
    : options_(std::move(options)), auth_mailbox_(std::make_shared<AuthMailbox>()) {}

FrontDoor::~FrontDoor() { Stop(); }

std::optional<std::string> FrontDoor::Start(int backend_port) {
  if (running_) return std::nullopt;
  backend_port_ = backend_port;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(options_.port));
  address.sin_addr.s_addr = htonl(INADDR_ANY);
  if (!options_.host.empty() && inet_pton(AF_INET, options_.host.c_str(), &address.sin_addr) != 1) {
    return "host must be an IPv4 address";
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return std::string("cannot create a socket: ") + std::strerror(errno);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0 ||
      ::listen(fd, 1024) != 0) {
    const int saved = errno;
    ::close(fd);
    return "cannot bind to " + (options_.host.empty() ? "0.0.0.0" : options_.host) + ":" +
           std::to_string(options_.port) + ": " + std::to_string(saved) + " (" +
           std::strerror(saved) + ")";
  }
  sockaddr_in bound{};
  socklen_t length = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);

  // Idle clients must not take the descriptors the checks need: each client
  // costs one, each forwarded request two more.
  connection_limit_ = std::max(1, options_.max_connections);
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max &&
      nofile.rlim_cur < kWantedDescriptors) {
    // The soft limit is often 1024 (systemd's default), the hard one far
    // higher: take what we need, as Go programs and nginx
    // (worker_rlimit_nofile) do. Nothing here uses select(), so descriptors
    // above 1024 are fine.
    rlimit raised = nofile;
    raised.rlim_cur = std::min<rlim_t>(nofile.rlim_max, kWantedDescriptors);
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) nofile = raised;
  }
  if (nofile.rlim_cur != RLIM_INFINITY) {
    const int budget = static_cast<int>(std::min<rlim_t>(nofile.rlim_cur, 1 << 30)) -
                       kReservedDescriptors - 2 * options_.max_backend_connections;
    connection_limit_ = std::min(connection_limit_, std::max(16, budget));
  }

  uv_loop_init(&loop_);
  uv_tcp_init(&loop_, &listener_);
  listener_.data = this;
  if (const int error = uv_tcp_open(&listener_, fd); error != 0) {
    ::close(fd);
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
    return std::string("cannot listen: ") + uv_strerror(error);
  }
  if (const int error =
          uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 1024, &FrontDoor::OnConnection);
      error != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
    return std::string("cannot listen: ") + uv_strerror(error);
  }
  uv_async_init(&loop_, &stop_, &FrontDoor::OnStop);
  stop_.data = this;
  uv_timer_init(&loop_, &auth_poll_);
  auth_poll_.data = this;
  AuthMailbox::Free(auth_mailbox_->TakeAll());  // a previous run's late outcomes
  port_ = ntohs(bound.sin_port);
  running_ = true;
  thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
  return std::nullopt;
}

void FrontDoor::Stop() {
  if (!running_) return;
  uv_async_send(&stop_);
  thread_.join();
  uv_loop_close(&loop_);
  running_ = false;
  port_ = 0;
}

void FrontDoor::OnStop(uv_async_t* async) {
  auto* door = static_cast<FrontDoor*>(async->data);
  door->stopping_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&door->listener_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&door->stop_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&door->auth_poll_), nullptr);
  std::vector<Client*> clients;
  for (auto& [raw, owned] : door->clients_) clients.push_back(raw);
  for (Client* client : clients) client->Close();
  // Backends of closed clients close themselves (see Client::Close).
}

std::optional<std::string> FrontDoor::ClientAddress(int local_port) const {
  std::lock_guard lock(ports_mutex_);
  const auto it = ports_.find(local_port);
  if (it == ports_.end()) return std::nullopt;
  return it->second.second;
}

uint64_t FrontDoor::RegisterPort(int port, const std::string& address) {
  std::lock_guard lock(ports_mutex_);
  const uint64_t id = ++next_registration_;
  ports_[port] = {id, address};
  return id;
}

void FrontDoor::UnregisterPort(int port, uint64_t id) {
  std::lock_guard lock(ports_mutex_);
  const auto it = ports_.find(port);
  if (it != ports_.end() && it->second.first == id) ports_.erase(it);
}

void FrontDoor::OnConnection(uv_stream_t* server, int status) {
  auto* door = static_cast<FrontDoor*>(server->data);
  if (status != 0) {
    // Out of descriptors: libuv has already accepted and closed the waiting
    // connections, so the listener does not spin.
    spdlog::warn("web: cannot accept a connection: {}", uv_strerror(status));
    return;
  }
  door->Accept();
}

void FrontDoor::Accept() {
  auto owned = std::make_unique<Client>();
  Client* client = owned.get();
  client->door = this;
  uv_tcp_init(&loop_, &client->tcp);
  client->tcp.data = client;
  if (uv_accept(reinterpret_cast<uv_stream_t*>(&listener_),
                reinterpret_cast<uv_stream_t*>(&client->tcp)) != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&client->tcp),
             [](uv_handle_t* handle) { delete static_cast<Client*>(handle->data); });
    static_cast<void>(owned.release());  // the close callback deletes it
    return;
  }
  sockaddr_storage peer{};
  int length = sizeof(peer);
  uv_tcp_getpeername(&client->tcp, reinterpret_cast<sockaddr*>(&peer), &length);
  const auto* peer4 = reinterpret_cast<const sockaddr_in*>(&peer);
  client->ip = peer4->sin_addr.s_addr;
  char text[INET_ADDRSTRLEN] = "";
  inet_ntop(AF_INET, &peer4->sin_addr, text, sizeof(text));
  client->address = text;

  int& from_this_client = per_client_[client->ip];
  if (connections_ >= connection_limit_ ||
      from_this_client >= std::max(1, options_.max_connections_per_client)) {
    // Over a limit: closed before a byte is read (see front_door.h).
    if (from_this_client == 0) per_client_.erase(client->ip);
    spdlog::debug("web: connection from {} refused: over the connection limit", client->address);
    uv_close(reinterpret_cast<uv_handle_t*>(&client->tcp),
             [](uv_handle_t* handle) { delete static_cast<Client*>(handle->data); });
    static_cast<void>(owned.release());  // the close callback deletes it
    return;
  }
  ++from_this_client;
  ++connections_;
  uv_timer_init(&loop_, &client->timer);
  client->timer.data = client;
  uv_tcp_nodelay(&client->tcp, 1);
  client->parser = RequestParser(options_.limits);
  if (options_.tls) {
    client->ssl = SSL_new(options_.tls.get());
    client->in = BIO_new(BIO_s_mem());
    client->out = BIO_new(BIO_s_mem());
    if (client->ssl == nullptr || client->in == nullptr || client->out == nullptr) {
      BIO_free(client->in);
      BIO_free(client->out);
      client->in = client->out = nullptr;
      clients_.emplace(client, std::move(owned));
      client->Close();
      return;
    }
    SSL_set_bio(client->ssl, client->in, client->out);
    // An idle TLS connection keeps no 16 KiB record buffers.
    SSL_set_mode(client->ssl, SSL_MODE_RELEASE_BUFFERS);
    SSL_set_accept_state(client->ssl);
    client->phase = Client::Phase::kHandshake;
    client->SetDeadline(options_.handshake_timeout);
  } else {
    client->SetDeadline(options_.head_timeout);
  }
  clients_.emplace(client, std::move(owned));
  uv_read_start(reinterpret_cast<uv_stream_t*>(&client->tcp), &Client::OnAlloc, &Client::OnRead);
}

void FrontDoor::Client::OnAlloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* client = static_cast<Client*>(handle->data);
  buf->base = client->door->read_buffer_;
  buf->len = sizeof(client->door->read_buffer_);
}

void FrontDoor::Client::OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* client = static_cast<Client*>(stream->data);
  if (nread == 0) return;
  if (nread < 0) {
    client->peer_closed = true;
    // A request still being answered is answered (a client may half-close
    // after sending it); one still being read is dropped, never forwarded.
    if (client->phase == Phase::kAuthorizing || client->phase == Phase::kWaiting ||
        client->phase == Phase::kBackend || client->phase == Phase::kWriting) {
      uv_read_stop(stream);
      client->close_after_write = true;
      return;
    }
    client->Close();
    return;
  }
  if (client->phase == Phase::kLingering) return;  // dropped
  client->Received(buf->base, static_cast<size_t>(nread));
}

void FrontDoor::Client::Received(const char* data, size_t size) {
  if (ssl == nullptr) {
    input.append(data, size);
    Process();
    return;
  }
  BIO_write(in, data, static_cast<int>(size));
  if (phase == Phase::kHandshake) {
    ERR_clear_error();
    const int result = SSL_do_handshake(ssl);
    if (result != 1) {
      const int error = SSL_get_error(ssl, result);
      FlushTls();  // an alert, or the next handshake flight
      if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) {
        // Plain HTTP to the TLS port, a wrong or missing client
        // certificate, a refused version: the client learns it from the alert.
        const unsigned long code = ERR_peek_last_error();
        const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
        spdlog::debug("web: TLS handshake with {} failed: {}", address,
                      reason != nullptr ? reason : "connection closed");
        ERR_clear_error();
        close_after_write = true;
        if (pending_writes == 0) Close();
        phase = Phase::kLingering;
      }
      return;
    }
    FlushTls();
    phase = Phase::kHead;
    SetDeadline(door->options_.head_timeout);
  }
  char plain[16 * 1024];
  for (;;) {
    ERR_clear_error();
    const int n = SSL_read(ssl, plain, sizeof(plain));
    if (n > 0) {
      input.append(plain, static_cast<size_t>(n));
      continue;
    }
    const int error = SSL_get_error(ssl, n);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) break;
    // close_notify or a TLS error: like EOF.
    FlushTls();
    ERR_clear_error();
    peer_closed = true;
    if (phase == Phase::kHead || phase == Phase::kBody) {
      Close();
      return;
    }
    close_after_write = true;
    break;
  }
  FlushTls();  // e.g. session tickets
  Process();
}

void FrontDoor::Client::Process() {
  if (phase != Phase::kHead && phase != Phase::kBody) return;
  const size_t used = parser.Feed(input);
  input.erase(0, used);
  switch (parser.state()) {
    case RequestParser::State::kError:
      uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp));
      spdlog::debug("web: {} from {}: {}", parser.error_status(), address, parser.error_reason());
      Respond(ErrorResponse(parser.error_status(), parser.error_reason()), false);
      return;
    case RequestParser::State::kNeedMore:
      if (phase == Phase::kHead && parser.head_complete()) {
        phase = Phase::kBody;
        SetDeadline(door->options_.body_timeout);
        if (parser.request().expect_continue) WriteRaw("HTTP/1.1 100 Continue\r\n\r\n");
      }
      if (peer_closed) Close();
      return;
    case RequestParser::State::kComplete:
      // One request at a time: what follows waits in `input` (at most one
      // read) until this one is answered.
      uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp));
      door->Dispatch(this);
      return;
  }
}

void FrontDoor::Dispatch(Client* client) {
  const ParsedRequest& request = client->parser.request();
  if (options_.answer_locally) {
    if (auto response = options_.answer_locally(request)) {
      client->Respond(*response, request.keep_alive);
      return;
    }
  }
  if (options_.basic_auth && options_.needs_credentials && options_.needs_credentials(request)) {
    Authorize(client);
    return;
  }
  Forward(client);
}

void FrontDoor::Authorize(Client* client) {
  const std::string* header = client->parser.request().Header("Authorization");
  const uint64_t ticket = ++next_ticket_;
  // The completion runs on a bcrypt thread: it only leaves the outcome in
  // the mailbox (lock-free), never touching a Client or the loop; the
  // mailbox outlives the front door if need be.
  auto done = [mailbox = auth_mailbox_, ticket](AuthDecision decision) {
    mailbox->Push(ticket, decision);
  };
  const std::optional<AuthDecision> now =
      header == nullptr
          ? std::optional<AuthDecision>(AuthDecision{})
          : options_.basic_auth->CheckHeaderAsync(client->address, *header, std::move(done));
  if (now) {
    Authorized(client, *now);
    return;
  }
  client->phase = Client::Phase::kAuthorizing;
  client->auth_ticket = ticket;
  authorizing_.emplace(ticket, client);
  client->SetDeadline(options_.auth_timeout);
  if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&auth_poll_))) {
    uv_timer_start(&auth_poll_, &FrontDoor::OnAuthPoll, kAuthPollMs, kAuthPollMs);
  }
}

void FrontDoor::OnAuthPoll(uv_timer_t* timer) {
  auto* door = static_cast<FrontDoor*>(timer->data);
  AuthMailbox::Outcome* outcomes = door->auth_mailbox_->TakeAll();
  for (AuthMailbox::Outcome* outcome = outcomes; outcome != nullptr; outcome = outcome->next) {
    const auto it = door->authorizing_.find(outcome->ticket);
    // Not there: the client left or its deadline passed (a success is
    // cached all the same).
    if (it == door->authorizing_.end()) continue;
    Client* client = it->second;
    door->authorizing_.erase(it);
    client->auth_ticket = 0;
    if (!door->stopping_ && !client->closing) door->Authorized(client, outcome->decision);
  }
  AuthMailbox::Free(outcomes);
  // Outcomes of connections already answered may still come; they are
  // collected by the next poll, when one is waiting again.
  if (door->authorizing_.empty()) uv_timer_stop(&door->auth_poll_);
}

void FrontDoor::Authorized(Client* client, const AuthDecision& decision) {
  const ParsedRequest& request = client->parser.request();
  if (decision.outcome == AuthOutcome::kAllowed) {
    Forward(client);
    return;
  }
  spdlog::debug(
      "web: {} {} from {}: {}", request.method, request.path(), client->address,
      decision.outcome == AuthOutcome::kThrottled ? "429 (authentication throttled)" : "401");
  client->Respond(options_.refusal(request, decision), request.keep_alive);
}

void FrontDoor::Forward(Client* client) {
  client->phase = Client::Phase::kWaiting;
  client->SetDeadline(options_.backend_timeout);
  if (backends_ < std::max(1, options_.max_backend_connections)) {
    StartBackend(client);
  } else {
    waiting_.push_back(client);
  }
}

void FrontDoor::StartBackend(Client* client) {
  ++backends_;
  auto* backend = new Backend();
  backend->door = this;
  backend->client = client;
  backend->request = client->parser.Forwardable();
  client->backend = backend;
  client->phase = Client::Phase::kBackend;
  uv_tcp_init(&loop_, &backend->tcp);
  backend->tcp.data = backend;
  // Bound first, so the local port is registered before CivetWeb can see a
  // byte from it (CivetWeb answers only registered ports).
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sockaddr_in remote = local;
  remote.sin_port = htons(static_cast<uint16_t>(backend_port_));
  int error = uv_tcp_bind(&backend->tcp, reinterpret_cast<const sockaddr*>(&local), 0);
  if (error == 0) {
    sockaddr_storage bound{};
    int length = sizeof(bound);
    error = uv_tcp_getsockname(&backend->tcp, reinterpret_cast<sockaddr*>(&bound), &length);
    if (error == 0) {
      backend->local_port = ntohs(reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
      backend->registration = RegisterPort(backend->local_port, client->address);
    }
  }
  if (error == 0) {
    error = uv_tcp_connect(&backend->connect, &backend->tcp,
                           reinterpret_cast<const sockaddr*>(&remote), &Backend::OnConnect);
  }
  if (error != 0) {
    spdlog::warn("web: cannot reach the HTTP server: {}", uv_strerror(error));
    backend->error = error;
    backend->Finish(false);
  }
}

void FrontDoor::Backend::OnConnect(uv_connect_t* req, int status) {
  auto* backend = static_cast<Backend*>(req->handle->data);
  if (status != 0) {
    if (status != UV_ECANCELED) {
      spdlog::warn("web: cannot reach the HTTP server: {}", uv_strerror(status));
    }
    backend->Finish(false);
    return;
  }
  uv_tcp_nodelay(&backend->tcp, 1);
  auto* stream = reinterpret_cast<uv_stream_t*>(&backend->tcp);
  uv_buf_t buf =
      uv_buf_init(backend->request.data(), static_cast<unsigned>(backend->request.size()));
  uv_write(&backend->write, stream, &buf, 1, [](uv_write_t*, int) {});
  // The half-close tells CivetWeb no other request follows on this
  // connection: it closes after the response, which ends it for us.
  uv_shutdown(&backend->shutdown, stream, [](uv_shutdown_t*, int) {});
  uv_read_start(
      stream,
      [](uv_handle_t* handle, size_t, uv_buf_t* buf) {
        auto* b = static_cast<Backend*>(handle->data);
        buf->base = b->door->read_buffer_;
        buf->len = sizeof(b->door->read_buffer_);
      },
      &Backend::OnRead);
}

void FrontDoor::Backend::OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* backend = static_cast<Backend*>(stream->data);
  if (nread == 0) return;
  if (nread < 0) {
    backend->Finish(nread == UV_EOF && !backend->response.empty());
    return;
  }
  if (backend->response.size() + static_cast<size_t>(nread) >
      backend->door->options_.max_response_bytes) {
    spdlog::warn("web: response larger than {} bytes dropped",
                 backend->door->options_.max_response_bytes);
    backend->Finish(false);
    return;
  }
  backend->response.append(buf->base, static_cast<size_t>(nread));
}

void FrontDoor::Backend::Finish(bool ok) {
  if (done) return;
  done = true;
  if (local_port != 0) door->UnregisterPort(local_port, registration);
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp),
           [](uv_handle_t* handle) { delete static_cast<Backend*>(handle->data); });
  Client* owner = client;
  client = nullptr;
  if (owner != nullptr) {
    owner->backend = nullptr;
    if (ok) {
      owner->Respond(response, owner->parser.request().keep_alive && !owner->peer_closed);
    } else if (error == UV_EMFILE || error == UV_ENFILE) {
      // The daemon's own problem, said as such (the client holds a
      // connection already; a new one to CivetWeb cannot be had).
      owner->Respond(ErrorResponse(503, "health_exporter is out of file descriptors"), false);
    } else {
      owner->Respond(ErrorResponse(502, "no answer from the HTTP server"), false);
    }
  }
  door->BackendDone(this);
}

void FrontDoor::BackendDone(Backend*) {
  --backends_;
  while (!stopping_ && !waiting_.empty() &&
         backends_ < std::max(1, options_.max_backend_connections)) {
    Client* next = waiting_.front();
    waiting_.pop_front();
    StartBackend(next);
  }
}

void FrontDoor::Client::Respond(const std::string& response, bool keep_alive) {
  keep_alive = keep_alive && !peer_closed && parser.state() == RequestParser::State::kComplete;
  std::optional<std::string> rewritten = WithConnectionHeader(response, &keep_alive);
  if (!rewritten) {
    keep_alive = false;
    rewritten = WithConnectionHeader(ErrorResponse(502, "malformed answer from the HTTP server"),
                                     &keep_alive);
  }
  phase = Phase::kWriting;
  close_after_write = close_after_write || !keep_alive;
  SetDeadline(door->options_.write_timeout);
  if (ssl == nullptr) {
    WriteRaw(std::move(*rewritten));
  } else {
    const std::string& plain = *rewritten;
    size_t sent = 0;
    while (sent < plain.size()) {
      ERR_clear_error();
      const int chunk = static_cast<int>(std::min<size_t>(plain.size() - sent, 1 << 20));
      const int n = SSL_write(ssl, plain.data() + sent, chunk);
      if (n <= 0) break;  // memory BIOs do not block; this is a TLS error
      sent += static_cast<size_t>(n);
    }
    if (close_after_write) {
      ERR_clear_error();
      SSL_shutdown(ssl);  // close_notify
    }
    FlushTls();
  }
  if (pending_writes == 0) Written();
}

void FrontDoor::Client::FlushTls() {
  if (out == nullptr) return;
  const size_t pending = BIO_ctrl_pending(out);
  if (pending == 0) return;
  std::string data(pending, '\0');
  const int n = BIO_read(out, data.data(), static_cast<int>(pending));
  if (n <= 0) return;
  data.resize(static_cast<size_t>(n));
  WriteRaw(std::move(data));
}

void FrontDoor::Client::WriteRaw(std::string data) {
  if (closing) return;
  auto* request = new WriteRequest();
  request->data = std::move(data);
  request->client = this;
  request->req.data = request;
  uv_buf_t buf = uv_buf_init(request->data.data(), static_cast<unsigned>(request->data.size()));
  ++pending_writes;
  const int error = uv_write(&request->req, reinterpret_cast<uv_stream_t*>(&tcp), &buf, 1,
                             [](uv_write_t* req, int status) {
                               auto* request = static_cast<WriteRequest*>(req->data);
                               Client* client = request->client;
                               delete request;
                               --client->pending_writes;
                               if (status != 0) {
                                 client->Close();
                               } else if (client->pending_writes == 0) {
                                 client->Written();
                               }
                             });
  if (error != 0) {
    --pending_writes;
    delete request;
    Close();
  }
}

void FrontDoor::Client::Written() {
  if (closing) return;
  if (phase == Phase::kLingering && close_after_write) {
    Close();  // a failed handshake's alert is out
    return;
  }
  if (phase != Phase::kWriting) return;
  if (close_after_write) {
    phase = Phase::kLingering;
    uv_timer_start(&timer, &Client::OnTimer, kLingerMs, 0);
    auto* shutdown = new uv_shutdown_t();
    shutdown->data = this;
    if (uv_shutdown(shutdown, reinterpret_cast<uv_stream_t*>(&tcp),
                    [](uv_shutdown_t* req, int) { delete req; }) != 0) {
      delete shutdown;
      Close();
      return;
    }
    if (!peer_closed) {
      uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp), &Client::OnAlloc, &Client::OnRead);
    } else {
      // Nothing left to drain; close once the FIN is queued.
      uv_timer_start(&timer, &Client::OnTimer, 1, 0);
    }
    return;
  }
  // Keep-alive: the next request, perhaps already in `input`.
  parser.Reset();
  phase = Phase::kHead;
  SetDeadline(door->options_.head_timeout);
  uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp), &Client::OnAlloc, &Client::OnRead);
  if (!input.empty()) Process();
}

void FrontDoor::Client::OnTimer(uv_timer_t* timer) {
  auto* client = static_cast<Client*>(timer->data);
  switch (client->phase) {
    case Phase::kAuthorizing:
      // bcrypt is slower than the deadline (a busy machine): come back
      // later. The verification still finishes and caches a success.
      client->door->authorizing_.erase(client->auth_ticket);
      client->auth_ticket = 0;
      client->door->Authorized(client, {AuthOutcome::kThrottled, std::chrono::seconds(1)});
      return;
    case Phase::kWaiting:
    case Phase::kBackend:
      // CivetWeb did not answer in time: the client learns it, the
      // backend connection is dropped.
      if (client->backend != nullptr) {
        Backend* backend = client->backend;
        client->backend = nullptr;
        backend->client = nullptr;
        backend->Finish(false);
      } else {
        auto& waiting = client->door->waiting_;
        waiting.erase(std::remove(waiting.begin(), waiting.end(), client), waiting.end());
      }
      client->Respond(ErrorResponse(504, "the HTTP server did not answer in time"), false);
      return;
    default:
      // Handshake, head, body or write deadline passed, or lingering is over.
      client->Close();
  }
}

void FrontDoor::Client::Close() {
  if (closing) return;
  closing = true;
  FrontDoor* d = door;
  auto& waiting = d->waiting_;
  waiting.erase(std::remove(waiting.begin(), waiting.end(), this), waiting.end());
  if (auth_ticket != 0) d->authorizing_.erase(auth_ticket);
  if (backend != nullptr) {
    // Closing the backend connection frees CivetWeb's worker at once.
    Backend* b = backend;
    backend = nullptr;
    b->client = nullptr;
    b->Finish(false);
  }
  --d->connections_;
  if (--d->per_client_[ip] <= 0) d->per_client_.erase(ip);
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp), &Client::OnClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer), &Client::OnClosed);
}

void FrontDoor::Client::OnClosed(uv_handle_t* handle) {
  auto* client = static_cast<Client*>(handle->data);
  if (--client->open_handles > 0) return;
  if (client->ssl != nullptr) SSL_free(client->ssl);  // frees both BIOs
  client->door->clients_.erase(client);
}

}  // namespace hx
