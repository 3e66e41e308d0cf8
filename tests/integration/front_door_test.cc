// The front door (src/http/front_door.h) against the real daemon: slow and
// hostile clients cost the front door a socket, never one of CivetWeb's
// four workers, so /healthz, /metrics and /status keep answering; requests
// whose framing two parsers could read differently are refused, and a
// request that never arrives in full reaches no handler.
//
// Many client addresses: all of 127/8 is loopback, so the slow clients bind
// to 127.1.x.y and stay under the per-client limit (64), as clients on many
// hosts would.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/daemon_process.h"
#include "support/status_json.h"

namespace hx {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char* kToken = "front-door-heartbeat-token-9c1f";

// A client connection from a chosen loopback address.
class Client {
 public:
  Client(int port, const std::string& source = "127.0.0.1", int receive_buffer = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (receive_buffer > 0) {
      setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
    }
    sockaddr_in local{};
    local.sin_family = AF_INET;
    inet_pton(AF_INET, source.c_str(), &local.sin_addr);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) return;
    // Non-blocking, so that a server whose backlog is full (SYNs dropped)
    // costs a second here, not the kernel's two minutes of retries.
    const int flags = fcntl(fd_, F_GETFL);
    fcntl(fd_, F_SETFL, flags | O_NONBLOCK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      pollfd p = {fd_, POLLOUT, 0};
      int error = 0;
      socklen_t length = sizeof(error);
      if (errno != EINPROGRESS || ::poll(&p, 1, 1000) != 1 ||
          getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) {
        return;
      }
    }
    fcntl(fd_, F_SETFL, flags);
    connected_ = true;
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  void Send(std::string_view text) { (void)::send(fd_, text.data(), text.size(), MSG_NOSIGNAL); }
  void ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }
  /// Everything the server sends until it closes or `timeout` passes;
  /// *closed says which.
  std::string ReadUntilClosed(std::chrono::milliseconds timeout, bool* closed) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string all;
    char buffer[4096];
    *closed = false;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p = {fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) {
        *closed = true;
        break;
      }
      all.append(buffer, static_cast<size_t>(n));
    }
    return all;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

// `count` connections from 127.1.x.y (at most 10 per address), each having
// sent the start of a request that it never finishes.
std::vector<std::unique_ptr<Client>> SlowClients(int port, int count) {
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < count; ++i) {
    const std::string source =
        "127.1." + std::to_string(i / 2500) + "." + std::to_string(1 + (i / 10) % 250);
    auto client = std::make_unique<Client>(port, source);
    if (!client->connected()) break;
    client->Send("GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
    clients.push_back(std::move(client));
  }
  return clients;
}

struct Timed {
  HttpReply reply;
  std::chrono::milliseconds took;
};

Timed TimedGet(const DaemonProcess& daemon, const std::string& path) {
  const auto start = std::chrono::steady_clock::now();
  Timed timed{HttpRequest(daemon.Url(path)), {}};
  timed.took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  return timed;
}

// Heartbeat state goes to a directory of each test's own.
std::unique_ptr<DaemonProcess> StartDaemon(const TempDir& storage, int disk_checks = 1) {
  std::string yaml =
      "global: {interval: 200ms, timeout: 150ms}\n"
      "checks:\n"
      "  - name: backup\n"
      "    heartbeat: {ttl: 1h, token: '${HB_TOKEN}'}\n";
  for (int i = 0; i < disk_checks; ++i) {
    yaml += "  - name: disk-" + std::to_string(i) + "\n    interval: 1h\n    disk: {path: /}\n";
  }
  return std::make_unique<DaemonProcess>(
      yaml, std::vector<std::string>{"--storage.path=" + storage.path()},
      std::map<std::string, std::string>{{"HB_TOKEN", kToken}});
}

std::string HeartbeatDetail(const DaemonProcess& daemon) {
  const nlohmann::json status = StatusOf(daemon);
  const nlohmann::json* check = FindCheck(status, "backup");
  if (check == nullptr || !(*check)["last_result"].is_object()) return "";
  return (*check)["last_result"]["detail"].get<std::string>();
}

class FrontDoorTest : public ::testing::Test {
 protected:
  TempDir storage_;
};

TEST_F(FrontDoorTest, ThousandSlowlorisConnectionsDoNotDelayHealthz) {
  auto daemon = StartDaemon(storage_);
  ASSERT_TRUE(daemon->started()) << daemon->Logs();
  auto slow = SlowClients(daemon->port(), 1000);
  EXPECT_EQ(slow.size(), 1000u) << "connections the server took";
  // One byte every second from each, well inside the 10 s head deadline.
  for (int round = 0; round < 5; ++round) {
    for (auto& client : slow) client->Send("x");
    const Timed healthz = TimedGet(*daemon, "/healthz");
    EXPECT_EQ(healthz.reply.status, 200) << healthz.reply.error;
    // Behaviour, with a bound generous for a loaded 2-CPU machine; the
    // 50 ms figure is measured in bench/.
    EXPECT_LT(healthz.took, kSanitized ? 3000ms : 1000ms);
    const Timed metrics = TimedGet(*daemon, "/metrics");
    EXPECT_EQ(metrics.reply.status, 200) << metrics.reply.error;
    const Timed status = TimedGet(*daemon, "/status");
    EXPECT_EQ(status.reply.status, 200) << status.reply.error;
    std::this_thread::sleep_for(1s);
  }
}

TEST_F(FrontDoorTest, FourAndThreeHundredSlowClientsDoNotBlockMetricsOrStatus) {
  auto daemon = StartDaemon(storage_);
  ASSERT_TRUE(daemon->started()) << daemon->Logs();
  for (int count : {4, 300}) {
    auto slow = SlowClients(daemon->port(), count);
    EXPECT_EQ(slow.size(), static_cast<size_t>(count)) << "connections the server took";
    for (const char* path : {"/metrics", "/status", "/healthz", "/readyz"}) {
      const Timed timed = TimedGet(*daemon, path);
      // /readyz answers 503 while the heartbeat waits for its first ping.
      EXPECT_EQ(timed.reply.status, std::string(path) == "/readyz" ? 503 : 200)
          << count << " slow clients, " << path << ": " << timed.reply.error;
      EXPECT_LT(timed.took, kSanitized ? 3000ms : 1000ms) << count << " slow clients, " << path;
    }
  }
}

TEST_F(FrontDoorTest, SlowReadersOfMetricsHoldNoWorker) {
  // About 1.3 KiB of /metrics per check: more than the kernel buffers on
  // loopback take (net.ipv4.tcp_wmem allows 4 MiB), so the writer waits for
  // a reader with a tiny window.
  auto daemon = StartDaemon(storage_, 5000);
  ASSERT_TRUE(daemon->started()) << daemon->Logs();
  const HttpReply full = HttpRequest(daemon->Url("/metrics"));
  ASSERT_EQ(full.status, 200);
  ASSERT_GT(full.body.size(), 5u << 20);
  // Twice as many readers as CivetWeb has workers; none reads a byte.
  std::vector<std::unique_ptr<Client>> readers;
  for (int i = 0; i < 8; ++i) {
    auto reader = std::make_unique<Client>(daemon->port(), "127.2.0." + std::to_string(1 + i),
                                           /*receive_buffer=*/4096);
    ASSERT_TRUE(reader->connected());
    reader->Send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    readers.push_back(std::move(reader));
  }
  std::this_thread::sleep_for(500ms);  // every response is being written
  for (int i = 0; i < 3; ++i) {
    for (const char* path : {"/status", "/readyz", "/healthz"}) {
      const Timed timed = TimedGet(*daemon, path);
      EXPECT_EQ(timed.reply.status, std::string(path) == "/readyz" ? 503 : 200)
          << path << ": " << timed.reply.error;
      EXPECT_LT(timed.took, kSanitized ? 4000ms : 2000ms) << path;
    }
  }
}

TEST_F(FrontDoorTest, AHeartbeatWithAShortBodyIsNotRecorded) {
  auto daemon = StartDaemon(storage_);
  ASSERT_TRUE(daemon->started()) << daemon->Logs();
  ASSERT_THAT(HeartbeatDetail(*daemon), StartsWith("waiting for the first heartbeat"));
  {
    Client client(daemon->port());
    client.Send(std::string("POST /heartbeat/backup/fail HTTP/1.1\r\nHost: 127.0.0.1\r\n") +
                "Authorization: Bearer " + kToken + "\r\nContent-Length: 100\r\n\r\nshort");
    client.ShutdownWrite();
    bool closed = false;
    EXPECT_EQ(client.ReadUntilClosed(3s, &closed), "");
    EXPECT_TRUE(closed);
  }
  std::this_thread::sleep_for(500ms);
  EXPECT_THAT(HeartbeatDetail(*daemon), StartsWith("waiting for the first heartbeat"));
}

TEST_F(FrontDoorTest, ContentLengthWithChunkedIs400AndCloses) {
  auto daemon = StartDaemon(storage_);
  ASSERT_TRUE(daemon->started()) << daemon->Logs();
  Client client(daemon->port());
  client.Send(std::string("POST /heartbeat/backup/fail HTTP/1.1\r\nHost: 127.0.0.1\r\n") +
              "Authorization: Bearer " + kToken +
              "\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nboom\r\n0\r\n\r\n"
              "GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  bool closed = false;
  const std::string reply = client.ReadUntilClosed(5s, &closed);
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 400 "));
  EXPECT_THAT(reply, HasSubstr("Connection: close"));
  EXPECT_EQ(reply.find("HTTP/1.1 200"), std::string::npos) << "the next request was served";
  EXPECT_TRUE(closed);
  EXPECT_THAT(HeartbeatDetail(*daemon), StartsWith("waiting for the first heartbeat"));
}

TEST_F(FrontDoorTest, ConflictingContentLengthsAre400) {
  auto daemon = StartDaemon(storage_);
  ASSERT_TRUE(daemon->started()) << daemon->Logs();
  Client client(daemon->port());
  client.Send(std::string("POST /heartbeat/backup HTTP/1.1\r\nHost: 127.0.0.1\r\n") +
              "Authorization: Bearer " + kToken +
              "\r\nContent-Length: 2\r\nContent-Length: 4\r\n\r\nokok");
  bool closed = false;
  EXPECT_THAT(client.ReadUntilClosed(5s, &closed), StartsWith("HTTP/1.1 400 "));
  EXPECT_TRUE(closed);
  EXPECT_THAT(HeartbeatDetail(*daemon), StartsWith("waiting for the first heartbeat"));
}

TEST_F(FrontDoorTest, BadChunkSizesAre400AndGoodChunksAreRecorded) {
  auto daemon = StartDaemon(storage_);
  ASSERT_TRUE(daemon->started()) << daemon->Logs();
  const std::string head =
      std::string("POST /heartbeat/backup/fail HTTP/1.1\r\nHost: 127.0.0.1\r\n") +
      "Authorization: Bearer " + kToken + "\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (const char* body : {"zz\r\nboom\r\n0\r\n\r\n", "4\r\nboomboom\r\n0\r\n\r\n"}) {
    Client client(daemon->port());
    client.Send(head + body);
    bool closed = false;
    EXPECT_THAT(client.ReadUntilClosed(5s, &closed), StartsWith("HTTP/1.1 400 ")) << body;
    EXPECT_TRUE(closed);
  }
  EXPECT_THAT(HeartbeatDetail(*daemon), StartsWith("waiting for the first heartbeat"));
  // A well-formed chunked body arrives de-chunked.
  Client client(daemon->port());
  client.Send(head + "4\r\nboom\r\n0\r\n\r\n");
  client.ShutdownWrite();
  bool closed = false;
  EXPECT_THAT(client.ReadUntilClosed(5s, &closed), StartsWith("HTTP/1.1 200 "));
  const HttpReply after = daemon->PollUntil(
      "/status", [](const HttpReply& r) { return r.body.find("boom") != std::string::npos; }, 3s);
  EXPECT_THAT(HeartbeatDetail(*daemon), HasSubstr("boom"));
}

TEST_F(FrontDoorTest, PerClientLimitClosesTheExtraConnectionAndServesOthers) {
  auto daemon = StartDaemon(storage_);
  ASSERT_TRUE(daemon->started()) << daemon->Logs();
  std::vector<std::unique_ptr<Client>> held;
  for (int i = 0; i < 64; ++i) {
    held.push_back(std::make_unique<Client>(daemon->port(), "127.3.0.1"));
    ASSERT_TRUE(held.back()->connected());
  }
  Client extra(daemon->port(), "127.3.0.1");
  bool closed = false;
  EXPECT_EQ(extra.ReadUntilClosed(2s, &closed), "");
  EXPECT_TRUE(closed) << "the 65th connection from one address is closed at once";
  EXPECT_EQ(HttpRequest(daemon->Url("/healthz")).status, 200);
}

TEST_F(FrontDoorTest, HealthzAnswersWhileScrapesReloadsAndHeartbeatFloodsRun) {
  auto daemon = StartDaemon(storage_, 500);
  ASSERT_TRUE(daemon->started()) << daemon->Logs();
  std::atomic<bool> stop{false};
  std::atomic<int> served{0};
  std::vector<std::thread> load;
  for (int i = 0; i < 2; ++i) {
    load.emplace_back([&] {
      while (!stop) served += HttpRequest(daemon->Url("/metrics")).status == 200;
    });
    load.emplace_back([&] {
      while (!stop) {
        served += HttpPost(daemon->Url("/heartbeat/backup"), std::string("Bearer ") + kToken,
                           "flood") == 200;
      }
    });
  }
  load.emplace_back([&] {
    while (!stop) served += HttpRequest(daemon->Url("/-/reload"), "POST").status == 200;
  });
  auto slow = SlowClients(daemon->port(), 300);
  for (int i = 0; i < 20; ++i) {
    const Timed healthz = TimedGet(*daemon, "/healthz");
    EXPECT_EQ(healthz.reply.status, 200) << healthz.reply.error;
    EXPECT_LT(healthz.took, kSanitized ? 3000ms : 1000ms);
    std::this_thread::sleep_for(100ms);
  }
  stop = true;
  for (auto& thread : load) thread.join();
  EXPECT_GT(served.load(), 20) << "the load ran";
}

}  // namespace
}  // namespace hx
