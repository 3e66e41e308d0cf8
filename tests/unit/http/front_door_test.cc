// FrontDoor in front of a stand-in for CivetWeb (a blocking loopback server
// on a thread): what the backend receives, the client address it can look
// up for the connection it serves, and basic auth decided before anything
// reaches it.

#include "http/front_door.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <string>
#include <thread>

#include "support/credentials.h"
#include "util/base64.h"

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
  int requests() const { return requests_; }

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
      ++requests_;
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
  std::atomic<int> requests_{0};
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

using namespace std::chrono_literals;

std::string Get(const std::string& path, const std::string& credentials = "") {
  std::string request = "GET " + path + " HTTP/1.1\r\nConnection: close\r\n";
  if (!credentials.empty()) request += "Authorization: Basic " + Base64(credentials) + "\r\n";
  return request + "\r\n";
}

// A front door that asks for basic auth on every path but /open, with
// `users` and `auth_options`, answering its refusals with a short page.
struct AuthFixture {
  AuthFixture(std::map<std::string, std::string> users, BasicAuthenticator::Options auth_options,
              Duration auth_timeout = 5s)
      : auth(std::make_shared<BasicAuthenticator>(std::move(users), auth_options)) {
    FrontDoorOptions options;
    options.host = "127.0.0.1";
    options.basic_auth = auth;
    options.needs_credentials = [](const ParsedRequest& request) {
      return request.path() != "/open";
    };
    options.refusal = [](const ParsedRequest&, const AuthDecision& decision) {
      if (decision.outcome == AuthOutcome::kThrottled) {
        return "HTTP/1.1 429 Too Many Requests\r\nRetry-After: " +
               std::to_string(decision.retry_after.count()) + "\r\nContent-Length: 0\r\n\r\n";
      }
      return std::string("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
    };
    options.auth_timeout = auth_timeout;
    door = std::make_unique<FrontDoor>(options);
    backend = std::make_unique<Backend>(door.get());
    started = !door->Start(backend->port()).has_value();
  }
  ~AuthFixture() {
    door->Stop();
    backend.reset();
  }
  std::string Send(const std::string& request, const std::string& source = "127.0.0.1") {
    return Exchange(door->port(), source, request);
  }

  std::shared_ptr<BasicAuthenticator> auth;
  std::unique_ptr<FrontDoor> door;
  std::unique_ptr<Backend> backend;
  bool started = false;
};

BasicAuthenticator::Options Unlimited() {
  BasicAuthenticator::Options options;
  options.per_client.burst = 1e9;
  options.per_client.tokens_per_second = 1e9;
  return options;
}

int Status(const std::string& reply) {
  return reply.rfind("HTTP/1.1 ", 0) == 0 && reply.size() >= 12 ? std::stoi(reply.substr(9, 3)) : 0;
}

TEST(FrontDoorAuthTest, RefusesMissingMalformedAndWrongCredentialsWithoutTheBackend) {
  AuthFixture f({{"alice", Bcrypt("correct horse", 4)}}, Unlimited());
  ASSERT_TRUE(f.started);
  EXPECT_EQ(Status(f.Send(Get("/metrics"))), 401);
  EXPECT_EQ(Status(f.Send("GET /metrics HTTP/1.1\r\nAuthorization: Bearer x\r\n"
                          "Connection: close\r\n\r\n")),
            401);
  EXPECT_EQ(Status(f.Send(Get("/metrics", "alice:wrong"))), 401);
  EXPECT_EQ(Status(f.Send(Get("/metrics", "nobody:correct horse"))), 401);
  EXPECT_EQ(f.backend->requests(), 0);
  // What needs no credentials goes through as before.
  EXPECT_EQ(Status(f.Send(Get("/open"))), 200);
  EXPECT_EQ(f.backend->requests(), 1);
}

TEST(FrontDoorAuthTest, VerifiedCredentialsAreForwardedAndCached) {
  AuthFixture f({{"alice", Bcrypt("correct horse", 4)}}, Unlimited());
  ASSERT_TRUE(f.started);
  EXPECT_EQ(f.auth->cached(), 0u);
  const std::string reply = f.Send(Get("/metrics", "alice:correct horse"), "127.6.0.1");
  EXPECT_EQ(Status(reply), 200) << reply;
  EXPECT_EQ(reply.substr(reply.size() - 9), "127.6.0.1");  // the backend's answer
  // The backend's own check (defence in depth) now hits the cache.
  EXPECT_EQ(f.auth->cached(), 1u);
  EXPECT_EQ(f.auth->Check("127.6.0.1", "alice", "correct horse").outcome, AuthOutcome::kAllowed);
  // The forwarded request carries the header as sent: nothing says
  // "verified" to the backend.
  EXPECT_NE(f.backend->last_request().find("Authorization: Basic " + Base64("alice:correct horse")),
            std::string::npos);
  EXPECT_EQ(Status(f.Send(Get("/metrics", "alice:correct horse"))), 200);
  EXPECT_EQ(f.backend->requests(), 2);
}

TEST(FrontDoorAuthTest, RateLimitAndFullPoolAre429WithRetryAfter) {
  BasicAuthenticator::Options options;
  options.per_client.burst = 1;
  options.per_client.tokens_per_second = 0.01;
  AuthFixture f({{"alice", Bcrypt("correct horse", 4)}}, options);
  ASSERT_TRUE(f.started);
  EXPECT_EQ(Status(f.Send(Get("/metrics", "alice:wrong 1"))), 401);
  const std::string throttled = f.Send(Get("/metrics", "alice:wrong 2"));
  EXPECT_EQ(Status(throttled), 429) << throttled;
  EXPECT_NE(throttled.find("Retry-After: 100\r\n"), std::string::npos) << throttled;
  EXPECT_EQ(f.backend->requests(), 0);
}

TEST(FrontDoorAuthTest, TheWaitForBcryptIsBoundedAndItsSuccessStillCounts) {
  // Cost 12: half a second or more per verification; the connection waits 50 ms.
  BasicAuthenticator::Options options = Unlimited();
  AuthFixture f({{"alice", Bcrypt("correct horse", 12)}}, options, 50ms);
  ASSERT_TRUE(f.started);
  const auto start = std::chrono::steady_clock::now();
  const std::string reply = f.Send(Get("/metrics", "alice:correct horse"));
  EXPECT_EQ(Status(reply), 429) << reply;
  EXPECT_NE(reply.find("Retry-After: 1\r\n"), std::string::npos) << reply;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(f.backend->requests(), 0);
  for (const auto deadline = std::chrono::steady_clock::now() + 60s;
       f.auth->cached() == 0 && std::chrono::steady_clock::now() < deadline;) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(f.auth->cached(), 1u);
  EXPECT_EQ(Status(f.Send(Get("/metrics", "alice:correct horse"))), 200);
}

TEST(FrontDoorAuthTest, WaitingConnectionsCostNoBackendAndOthersAreServed) {
  // Four slow verifications in flight: the backend sees none of them, and a
  // request that needs no verification is answered meanwhile.
  BasicAuthenticator::Options options = Unlimited();
  options.bcrypt_threads = 2;
  options.max_in_flight = 4;
  AuthFixture f({{"alice", Bcrypt("correct horse", 12)}}, options, 60s);
  ASSERT_TRUE(f.started);
  std::vector<std::future<std::string>> waiting;
  for (int i = 0; i < 4; ++i) {
    waiting.push_back(std::async(std::launch::async, [&f, i] {
      return f.Send(Get("/metrics", "alice:wrong " + std::to_string(i)),
                    "127.7.0." + std::to_string(i + 1));
    }));
  }
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(Status(f.Send(Get("/open"))), 200);
  EXPECT_EQ(f.backend->requests(), 1);
  for (auto& reply : waiting) {
    // Exchange() gives up after 5 s without an answer: a machine too busy
    // to finish cost 12 by then leaves "" (the point was made above).
    const std::string text = reply.get();
    if (!text.empty()) {
      EXPECT_EQ(Status(text), 401) << text;
    }
  }
  EXPECT_EQ(f.backend->requests(), 1);
}

TEST(FrontDoorAuthTest, StoppingWhileVerificationsRunIsSafe) {
  BasicAuthenticator::Options options = Unlimited();
  options.bcrypt_threads = 1;
  options.max_in_flight = 2;
  AuthFixture f({{"alice", Bcrypt("correct horse", 12)}}, options, 60s);
  ASSERT_TRUE(f.started);
  std::vector<std::thread> clients;
  for (int i = 0; i < 2; ++i) {
    clients.emplace_back([&f, i] { f.Send(Get("/metrics", "alice:x" + std::to_string(i))); });
  }
  std::this_thread::sleep_for(100ms);
  f.door->Stop();  // the completions find the mailbox closed
  for (std::thread& client : clients) client.join();
  // Both verifications still finish on the pool; nothing touches the
  // stopped door.
  std::this_thread::sleep_for(100ms);
}

}  // namespace
}  // namespace hx
