// Fuzzes the daemon's own HTTP endpoints end to end: one WebServer is started
// in-process on 127.0.0.1:0 (two checks on its board and metrics, one with a
// result, and a heartbeat receiver), and every input is written as raw bytes
// to a fresh loopback connection, whose write side is then shut down; the
// response is read until the server closes. The input may hold any request,
// several pipelined ones, or garbage.
//
// CivetWeb itself comes from Debian and is not instrumented: coverage guides
// the fuzzer through our handlers (routing, /metrics with gzip, /status,
// /readyz, the landing page and its query string, heartbeats), while ASan
// still sees what CivetWeb does through the libc calls it makes.
//
// Properties: the server answers in time and with HTTP, one status line; the heartbeat token
// never appears in a response to a request without it; after every input the server still answers
// GET /healthz (answered by the front door) and GET /status (which needs a
// CivetWeb worker: none is wedged).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "checks/heartbeat/heartbeat_check.h"
#include "checks/heartbeat/heartbeat_store.h"
#include "store/store.h"
#include "fuzz_check.h"
#include "http/web_server.h"
#include "metrics/check_metrics.h"
#include "status/status_board.h"
#include "util/log.h"

namespace {

constexpr std::string_view kToken = "s3cr3t-token";
// A request the server never completes within this is a hang.
constexpr int kReadTimeoutMs = 4000;

struct Server {
  std::unique_ptr<hx::store::Store> db;  // memory-only: heartbeat state
  hx::StatusBoard board;
  hx::CheckMetrics metrics;
  std::unique_ptr<hx::WebServer> web;
};
Server* g_server = nullptr;

void StopServer() {
  if (g_server == nullptr) return;
  g_server->web.reset();
  delete g_server;
  g_server = nullptr;
}

hx::CheckInfo Info(std::string name, bool critical) {
  hx::CheckInfo info;
  info.name = std::move(name);
  info.type = "tcp";
  info.target = "127.0.0.1:5432";
  info.critical = critical;
  info.labels = {{"team", "core"}};
  info.interval = std::chrono::seconds(15);
  info.timeout = std::chrono::seconds(3);
  return info;
}

// Writes `request` to a new connection, half-closes it and returns all the
// server sent until it closed. Aborts when the server does not finish in time.
std::string Exchange(std::string_view request) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  HX_FUZZ_CHECK(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(g_server->web->port()));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // Closing with a reset leaves no TIME_WAIT behind: tens of thousands of
  // connections a minute would otherwise run out of ephemeral ports.
  const linger reset{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  int attempts = 0;
  while (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    // A full accept queue or a momentary port shortage is not a finding;
    // a server that stays unreachable for a second is.
    if (++attempts == 100) {
      std::fprintf(stderr, "cannot connect to the server: %s\n", std::strerror(errno));
      std::abort();
    }
    usleep(10000);
  }

  // The server may answer (and close) before it has read everything; a
  // failed send is then fine, the response is what counts.
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  shutdown(fd, SHUT_WR);

  std::string response;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kReadTimeoutMs);
  char buffer[16384];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
    if (ready == 0) {
      std::fprintf(stderr, "the server did not close the connection within %d ms\n",
                   kReadTimeoutMs);
      std::abort();
    }
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;  // closed (or reset, e.g. unread request bytes)
    response.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return response;
}

// The first 400 bytes of `text` with non-printable bytes as \xNN, for reports.
std::string Printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 400)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f && byte != '\\') {
      out += c;
    } else {
      char escaped[5];
      std::snprintf(escaped, sizeof(escaped), "\\x%02x", byte);
      out += escaped;
    }
  }
  return out;
}

// The version text of a status line "HTTP/<version> <3 digits> ...": the
// bytes up to the first " NNN ", which may span lines (see below).
std::string_view StatusLineVersion(std::string_view response) {
  constexpr size_t kStart = 5;  // after "HTTP/"
  for (size_t i = kStart; i + 4 < response.size(); ++i) {
    const auto digit = [&](size_t k) { return response[k] >= '0' && response[k] <= '9'; };
    if (response[i] == ' ' && digit(i + 1) && digit(i + 2) && digit(i + 3) &&
        response[i + 4] == ' ') {
      return response.substr(kStart, i - kStart);
    }
  }
  return response.substr(kStart);
}

// Debian's CivetWeb 1.15 puts the client's version text into the status line
// of its error responses ("HTTP/0.1 505 ...", harmless), and for some
// malformed request lines that text runs on over the request's following
// lines, CR LF included, so the client's bytes become header lines of the
// response (fuzz/crashes-found/README.md). Third-party and known, so it is
// tolerated unless HX_FUZZ_STRICT_CIVETWEB_ECHO=1; anything else is checked.
bool IsKnownCivetwebVersionEcho(std::string_view request, std::string_view version) {
  return version.find_first_of("\r\n") != std::string_view::npos &&
         request.find(version) != std::string_view::npos;
}

const bool g_strict_echo = [] {
  const char* value = std::getenv("HX_FUZZ_STRICT_CIVETWEB_ECHO");
  return value != nullptr && std::string(value) == "1";
}();

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  hx::log::Init(spdlog::level::off, hx::log::Format::kLogfmt);
  g_server = new Server;

  g_server->board.AddCheck(0, Info("api", true));
  g_server->board.AddCheck(1, Info("cache", false));
  hx::RunRecord run;
  run.check_id = 0;
  run.result = hx::CheckResult{hx::Health::kUnhealthy, "connection refused <b>&\"'", {}};
  run.state = hx::Health::kUnhealthy;
  run.duration = std::chrono::milliseconds(12);
  run.started_at = 1714564800;
  run.finished_at = 1714564800.012;
  g_server->board.Record(run);

  g_server->db = hx::store::Store::Open(hx::store::StoreOptions{});  // memory-only
  auto store =
      std::make_shared<hx::HeartbeatStore>(g_server->db.get(), [] { return 1714564800.0; });
  store->Watch({{"backup", nullptr}});
  auto receiver = std::make_shared<hx::HeartbeatReceiver>(
      std::map<std::string, std::string, std::less<>>{{"backup", std::string(kToken)}}, store);

  hx::WebServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.threads = 2;
  options.request_timeout = std::chrono::seconds(2);
  g_server->web = std::make_unique<hx::WebServer>(
      options, g_server->board, g_server->metrics, [] { return true; },
      [] { return 1714564804.0; });
  g_server->web->set_push_endpoints({hx::HeartbeatReceiver::Endpoint(receiver)});
  if (const auto error = g_server->web->Start()) {
    std::fprintf(stderr, "cannot start the web server: %s\n", error->c_str());
    std::abort();
  }
  std::atexit(StopServer);
  // Warm-up: CivetWeb initialises OpenSSL and each worker its per-thread
  // state on first use; done here, those one-time allocations are not
  // mistaken for a leak of the first input.
  for (int i = 0; i < 2 * options.threads; ++i) {
    // /status: /healthz is answered by the front door and reaches no worker.
    HX_FUZZ_CHECK(Exchange("GET /status HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 200", 0) == 0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view request(reinterpret_cast<const char*>(data), size);
  const std::string response = Exchange(request);
  if (!response.empty()) {
    if (response.rfind("HTTP/", 0) != 0) {
      std::fprintf(stderr, "response does not start with HTTP/: %s\n", Printable(response).c_str());
      std::abort();
    }
    const std::string_view version = StatusLineVersion(response);
    if (version.find_first_of("\r\n") != std::string_view::npos) {
      if (!IsKnownCivetwebVersionEcho(request, version) || g_strict_echo) {
        std::fprintf(stderr, "status line spans lines: %s\n", Printable(response).c_str());
        std::abort();
      }
      return 0;  // the rest of this response is the client's bytes
    }
  }
  // Echoing what the client sent is no leak; the server revealing it is.
  if (request.find(kToken) == std::string_view::npos) {
    HX_FUZZ_CHECK(response.find(kToken) == std::string::npos);
  }

  const std::string health = Exchange("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  if (health.rfind("HTTP/1.1 200", 0) != 0) {
    std::fprintf(stderr, "GET /healthz after the input: %s\n", Printable(health).c_str());
    HX_FUZZ_CHECK(health.rfind("HTTP/1.1 200", 0) == 0);
  }
  const std::string status = Exchange("GET /status HTTP/1.1\r\nHost: x\r\n\r\n");
  if (status.rfind("HTTP/1.1 200", 0) != 0) {
    std::fprintf(stderr, "GET /status after the input: %s\n", Printable(status).c_str());
    HX_FUZZ_CHECK(status.rfind("HTTP/1.1 200", 0) == 0);
  }
  return 0;
}
