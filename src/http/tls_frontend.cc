#include "http/tls_frontend.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace hx {
namespace {

constexpr size_t kBufferSize = 16 * 1024;

int MillisUntil(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(std::min<int64_t>(left.count(), 1 << 30));
}

std::string LastOpenSslError() {
  const unsigned long code = ERR_peek_last_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  ERR_clear_error();
  return reason != nullptr ? reason : "connection closed";
}

void SetNoDelay(int fd) {
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

}  // namespace

TlsFrontend::TlsFrontend(std::shared_ptr<SSL_CTX> context, TlsFrontendOptions options)
    : context_(std::move(context)), options_(std::move(options)) {}

TlsFrontend::~TlsFrontend() { Stop(); }

std::optional<std::string> TlsFrontend::Start(int backend_port) {
  if (listen_fd_ >= 0) return std::nullopt;
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
      ::listen(fd, 128) != 0) {
    const int saved = errno;
    ::close(fd);
    return "cannot bind to " + (options_.host.empty() ? "0.0.0.0" : options_.host) + ":" +
           std::to_string(options_.port) + ": " + std::to_string(saved) + " (" +
           std::strerror(saved) + ")";
  }
  sockaddr_in bound{};
  socklen_t length = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
  stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) {
    ::close(fd);
    return std::string("eventfd: ") + std::strerror(errno);
  }
  listen_fd_ = fd;
  port_ = ntohs(bound.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
  return std::nullopt;
}

void TlsFrontend::Stop() {
  if (listen_fd_ < 0) return;
  // The eventfd stays readable from now on: every poll() below wakes up.
  const uint64_t one = 1;
  (void)::write(stop_fd_, &one, sizeof(one));
  {
    std::lock_guard lock(mutex_);
    changed_.notify_all();
  }
  acceptor_.join();
  {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return active_ == 0; });
  }
  ::close(listen_fd_);
  ::close(stop_fd_);
  listen_fd_ = stop_fd_ = -1;
  port_ = 0;
}

bool TlsFrontend::IsRelayPort(int local_port) const {
  std::lock_guard lock(mutex_);
  return relay_ports_.count(local_port) != 0;
}

void TlsFrontend::AcceptLoop() {
  const int limit = std::max(1, options_.max_connections);
  for (;;) {
    pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    {
      // At the limit, new connections wait in the kernel's listen backlog.
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] {
        pollfd stop = {stop_fd_, POLLIN, 0};
        return active_ < limit || ::poll(&stop, 1, 0) > 0;
      });
    }
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (fds[0].revents != 0) return;
    if ((fds[1].revents & POLLIN) == 0) continue;
    // The peer's address is not needed; accept4 allows null for both.
    // cppcheck-suppress nullPointer
    const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (client < 0) {
      // Out of descriptors: back off instead of spinning on a readable listener.
      if (errno == EMFILE || errno == ENFILE) {
        pollfd stop = {stop_fd_, POLLIN, 0};
        ::poll(&stop, 1, 100);
      }
      continue;
    }
    {
      std::lock_guard lock(mutex_);
      ++active_;
    }
    try {
      std::thread([this, client] { Relay(client); }).detach();
    } catch (const std::system_error& e) {
      // Out of threads: drop this client rather than the daemon.
      spdlog::warn("TLS relay: cannot start a thread: {}", e.what());
      ::close(client);
      std::lock_guard lock(mutex_);
      --active_;
    }
  }
}

bool TlsFrontend::Handshake(SSL* ssl, int fd) {
  const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  for (;;) {
    ERR_clear_error();
    const int result = SSL_accept(ssl);
    if (result == 1) return true;
    const int error = SSL_get_error(ssl, result);
    short events = 0;
    if (error == SSL_ERROR_WANT_READ) events = POLLIN;
    if (error == SSL_ERROR_WANT_WRITE) events = POLLOUT;
    if (events == 0) {
      // Plain HTTP to the TLS port, a wrong or missing client certificate,
      // a refused version: the client learns it from the alert.
      spdlog::debug("TLS handshake failed: {}", LastOpenSslError());
      return false;
    }
    pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {fd, events, 0}};
    const int ready = ::poll(fds, 2, MillisUntil(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0 || fds[0].revents != 0) return false;  // timed out or stopping
  }
}

int TlsFrontend::ConnectBackend() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(backend_port_));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sockaddr_in local{};
  socklen_t length = sizeof(local);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) != 0) {
    spdlog::debug("TLS relay cannot reach the HTTP server: {}", std::strerror(errno));
    ::close(fd);
    return -1;
  }
  // Registered before a byte is sent, so the backend can never see a request
  // from this port before it is known.
  {
    std::lock_guard lock(mutex_);
    relay_ports_.insert(ntohs(local.sin_port));
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  SetNoDelay(fd);
  return fd;
}

void TlsFrontend::Relay(int client_fd) {
  SetNoDelay(client_fd);
  SSL* ssl = SSL_new(context_.get());
  int backend = -1;
  int backend_port = 0;
  bool client_open = ssl != nullptr && SSL_set_fd(ssl, client_fd) == 1 && Handshake(ssl, client_fd);
  if (client_open) {
    backend = ConnectBackend();
    if (backend < 0) client_open = false;
    sockaddr_in local{};
    socklen_t length = sizeof(local);
    if (backend >= 0 && getsockname(backend, reinterpret_cast<sockaddr*>(&local), &length) == 0) {
      backend_port = ntohs(local.sin_port);
    }
  }

  // Bytes move both ways until the backend has answered and closed, the
  // client goes away, nothing moves for `timeout`, or Stop().
  std::string up;    // client -> backend
  std::string down;  // backend -> client
  size_t down_sent = 0;
  bool backend_open = backend >= 0;
  char buffer[kBufferSize];
  while (client_open) {
    bool progress = false;
    short client_events = 0;
    while (up.size() < 4 * kBufferSize) {
      ERR_clear_error();
      const int n = SSL_read(ssl, buffer, sizeof(buffer));
      if (n > 0) {
        up.append(buffer, static_cast<size_t>(n));
        progress = true;
        continue;
      }
      const int error = SSL_get_error(ssl, n);
      if (error == SSL_ERROR_WANT_READ) {
        client_events |= POLLIN;
      } else if (error == SSL_ERROR_WANT_WRITE) {
        client_events |= POLLOUT;
      } else {
        client_open = false;
      }
      break;
    }
    if (!client_open) break;  // nobody left to answer
    if (!up.empty() && backend_open) {
      const ssize_t n = ::send(backend, up.data(), up.size(), MSG_NOSIGNAL);
      if (n > 0) {
        up.erase(0, static_cast<size_t>(n));
        progress = true;
      } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        backend_open = false;
      }
    }
    if (down_sent == down.size() && backend_open) {
      down.clear();
      down_sent = 0;
      const ssize_t n = ::recv(backend, buffer, sizeof(buffer), 0);
      if (n > 0) {
        down.assign(buffer, static_cast<size_t>(n));
        progress = true;
      } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        backend_open = false;
      }
    }
    while (down_sent < down.size()) {
      ERR_clear_error();
      const int n =
          SSL_write(ssl, down.data() + down_sent, static_cast<int>(down.size() - down_sent));
      if (n > 0) {
        down_sent += static_cast<size_t>(n);
        progress = true;
        continue;
      }
      const int error = SSL_get_error(ssl, n);
      if (error == SSL_ERROR_WANT_WRITE) {
        client_events |= POLLOUT;
      } else if (error == SSL_ERROR_WANT_READ) {
        client_events |= POLLIN;
      } else {
        client_open = false;
      }
      break;
    }
    if (!client_open) break;
    if (!backend_open && down_sent == down.size()) {
      ERR_clear_error();
      SSL_shutdown(ssl);  // close_notify, best effort
      break;
    }
    if (progress) continue;
    pollfd fds[3] = {{stop_fd_, POLLIN, 0}, {client_fd, client_events, 0}, {backend, 0, 0}};
    if (backend_open) {
      if (down_sent == down.size()) fds[2].events |= POLLIN;
      if (!up.empty()) fds[2].events |= POLLOUT;
    } else {
      fds[2].fd = -1;
    }
    const int ready =
        ::poll(fds, 3, MillisUntil(std::chrono::steady_clock::now() + options_.timeout));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0 || fds[0].revents != 0) break;  // idle for `timeout`, or stopping
  }

  if (backend >= 0) {
    {
      std::lock_guard lock(mutex_);
      relay_ports_.erase(backend_port);
    }
    ::close(backend);
  }
  if (ssl != nullptr) SSL_free(ssl);
  ::close(client_fd);
  std::lock_guard lock(mutex_);
  --active_;
  changed_.notify_all();
}

}  // namespace hx
