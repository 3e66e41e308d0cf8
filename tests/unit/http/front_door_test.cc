// FrontDoor in front of a stand-in for CivetWeb (a blocking loopback server
// on a thread): what the backend receives, and the client address it can
// look up for the connection it serves.

#include "http/front_door.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <string>
#include <thread>

namespace hx {
namespace {

// Answers each connection with what FrontDoor::ClientAddress() says about
// its peer port, and remembers the last request it read.
class Backend {
 public:
  explicit Backend(const FrontDoor* door) : door_(door) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    ::listen(fd_, 16);
    socklen_t length = sizeof(address);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~Backend() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  std::string last_request() const {
    std::lock_guard lock(mutex_);
    return last_request_;
  }

 private:
  void Serve() {
    for (;;) {
      sockaddr_in peer{};
      socklen_t length = sizeof(peer);
      const int client = ::accept(fd_, reinterpret_cast<sockaddr*>(&peer), &length);
      if (client < 0) return;
      std::string request;
      char buffer[4096];
      // The front door half-closes after the request: read to EOF.
      for (ssize_t n; (n = ::recv(client, buffer, sizeof(buffer), 0)) > 0;) {
        request.append(buffer, static_cast<size_t>(n));
      }
      {
        std::lock_guard lock(mutex_);
        last_request_ = request;
      }
      const std::string body = door_->ClientAddress(ntohs(peer.sin_port)).value_or("unknown");
      const std::string reply =
          "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
          "\r\nConnection: close\r\n\r\n" + body;
      (void)::send(client, reply.data(), reply.size(), MSG_NOSIGNAL);
      ::close(client);
    }
  }

  const FrontDoor* door_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::string last_request_;
};

// Sends `request` from `source` and returns everything until the server closes.
std::string Exchange(int port, const std::string& source, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  inet_pton(AF_INET, source.c_str(), &local.sin_addr);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string reply;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) == 0 &&
      ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0) {
    (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    timeval timeout{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    char buffer[4096];
    for (ssize_t n; (n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0;) {
      reply.append(buffer, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return reply;
}

TEST(FrontDoorBackendTest, HandlersLearnTheRealClientAddress) {
  FrontDoorOptions options;
  options.host = "127.0.0.1";
  FrontDoor door(options);
  Backend backend(&door);
  ASSERT_FALSE(door.Start(backend.port()).has_value());
  const std::string reply =
      Exchange(door.port(), "127.5.0.9", "GET /status HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(reply.substr(reply.size() - 9), "127.5.0.9") << reply;
  EXPECT_NE(reply.find("Connection: close\r\n"), std::string::npos) << reply;
}

TEST(FrontDoorBackendTest, ChunkedBodiesReachTheBackendDechunked) {
  FrontDoorOptions options;
  options.host = "127.0.0.1";
  FrontDoor door(options);
  Backend backend(&door);
  ASSERT_FALSE(door.Start(backend.port()).has_value());
  const std::string reply =
      Exchange(door.port(), "127.0.0.1",
               "POST /heartbeat/x HTTP/1.1\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n"
               "\r\n2\r\nok\r\n3\r\n!!!\r\n0\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 200 OK", 0), 0u) << reply;
  EXPECT_EQ(backend.last_request(),
            "POST /heartbeat/x HTTP/1.1\r\nConnection: close\r\nContent-Length: 5\r\n\r\nok!!!");
}

TEST(FrontDoorBackendTest, AnswersLocallyWithoutTheBackend) {
  FrontDoorOptions options;
  options.host = "127.0.0.1";
  options.answer_locally = [](const ParsedRequest& request) -> std::optional<std::string> {
    if (request.path() != "/healthz") return std::nullopt;
    return std::string("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
  };
  FrontDoor door(options);
  ASSERT_FALSE(door.Start(/*backend_port=*/1).has_value());  // nothing listens there
  EXPECT_EQ(Exchange(door.port(), "127.0.0.1", "GET /healthz HTTP/1.0\r\n\r\n"),
            "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n");
  EXPECT_EQ(
      Exchange(door.port(), "127.0.0.1", "GET /status HTTP/1.0\r\n\r\n").rfind("HTTP/1.1 502 ", 0),
      0u);
}

}  // namespace
}  // namespace hx
