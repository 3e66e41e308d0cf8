// The daemon out of file descriptors (its RLIMIT_NOFILE lowered with
// prlimit(2) while it runs, below every descriptor number it could get):
// checks must not blame their targets ("could not connect") but say that the
// daemon itself is out of descriptors, one warning says so in the log, and
// process_open_fds is still exported. The endpoints are read over
// connections opened (and accepted by the daemon) before the limit drops.

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "support/daemon_process.h"
#include "support/status_json.h"
#include "support/test_http_server.h"

namespace hx {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// A connection to the daemon, opened now, used later for one request.
class PreparedConnection {
 public:
  explicit PreparedConnection(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~PreparedConnection() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0; }

  // GET `path`; the body ("" when the answer is not a 200).
  std::string Get(const std::string& path) {
    const std::string reply = GetRaw(path);
    if (reply.rfind("HTTP/1.1 200", 0) != 0) return "";
    const size_t body = reply.find("\r\n\r\n");
    return body == std::string::npos ? "" : reply.substr(body + 4);
  }

  // GET `path`; the whole answer, head and body.
  std::string GetRaw(const std::string& path) {
    const std::string request =
        "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (send(fd_, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
      return "";
    }
    timeval timeout{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    std::string reply;
    char buffer[8192];
    for (ssize_t n; (n = recv(fd_, buffer, sizeof(buffer), 0)) > 0;) reply.append(buffer, n);
    return reply;
  }

 private:
  int fd_ = -1;
};

size_t Count(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

TEST(FdExhaustionTest, ChecksBlameTheDaemonNotTheTargetAndOpenFdsStaysExported) {
  TestHttpServer web;
  const std::string port = std::to_string(web.port());
  DaemonProcess d(
      "global: {interval: 100ms, timeout: 90ms}\n"
      "checks:\n"
      "  - name: web\n"
      "    http: {url: '" +
      web.Url("/status/200") +
      "'}\n"
      "  - name: port\n"
      "    tcp: {address: '127.0.0.1:" +
      port +
      "'}\n"
      "  - name: memory\n"
      "    memory: {degraded_above: 100%, unhealthy_above: 100%}\n"
      "  - name: plugin\n"
      "    exec: {command: [/bin/true]}\n");
  ASSERT_TRUE(d.started()) << d.Logs();
  const auto healthy = d.PollUntil(
      "/status",
      [](const HttpReply& r) {
        if (r.status != 200) return false;
        for (const auto& c : json::parse(r.body)["checks"]) {
          if (c["state"] != "healthy") return false;
        }
        return true;
      },
      10s);
  for (const auto& c : json::parse(healthy.body)["checks"]) ASSERT_EQ(c["state"], "healthy") << c;

  PreparedConnection status_connection(d.port());
  PreparedConnection metrics_connection(d.port());
  ASSERT_TRUE(status_connection.ok() && metrics_connection.ok());
  std::this_thread::sleep_for(300ms);  // accepted by the daemon

  // Descriptors 0-2 are always open: with a soft limit of 3 no new one can
  // be had, whatever holes the daemon's descriptor table has.
  rlimit starved{3, 0};
  rlimit old{};
  ASSERT_EQ(prlimit(d.pid(), RLIMIT_NOFILE, nullptr, &old), 0);
  starved.rlim_max = old.rlim_max;
  ASSERT_EQ(prlimit(d.pid(), RLIMIT_NOFILE, &starved, nullptr), 0);
  std::this_thread::sleep_for(1500ms);  // every check runs several times
  // The front door holds the client connection but cannot open one to
  // CivetWeb: it says whose problem that is.
  const std::string starved_reply = status_connection.GetRaw("/status");
  EXPECT_EQ(starved_reply.rfind("HTTP/1.1 503", 0), 0u) << starved_reply;
  EXPECT_THAT(starved_reply, ::testing::HasSubstr("out of file descriptors")) << starved_reply;
  ASSERT_EQ(prlimit(d.pid(), RLIMIT_NOFILE, &old, nullptr), 0);
  // Read at once: the last 20 results (2 s at 100 ms) still hold the
  // starved runs.
  const std::string status_text = metrics_connection.Get("/status");
  const std::string metrics = HttpRequest(d.Url("/metrics")).body;

  ASSERT_FALSE(status_text.empty()) << d.Logs();
  const json status = json::parse(status_text);
  for (const char* name : {"web", "port", "memory", "plugin"}) {
    SCOPED_TRACE(name);
    const json* check = FindCheck(status, name);
    ASSERT_NE(check, nullptr);
    size_t starved_runs = 0;
    for (const auto& entry : (*check)["history"]) {
      const std::string detail = entry["detail"];
      if (detail.rfind("health_exporter out of file descriptors (EMFILE): ", 0) == 0)
        ++starved_runs;
      EXPECT_EQ(detail.find("could not connect"), std::string::npos) << detail;
    }
    EXPECT_GT(starved_runs, 0u) << *check;
  }
  EXPECT_TRUE(std::regex_search(metrics, std::regex("\nprocess_open_fds [0-9]+\n"))) << metrics;

  // One warning for many failures (four checks, ten runs each per second).
  EXPECT_EQ(Count(d.Logs(), "health_exporter is out of file descriptors"), 1u) << d.Logs();

  // With descriptors back, the checks recover by themselves.
  const auto recovered = d.PollUntil(
      "/status",
      [](const HttpReply& r) {
        if (r.status != 200) return false;
        for (const auto& c : json::parse(r.body)["checks"]) {
          if (c["last_result"]["health"] != "healthy") return false;
        }
        return true;
      },
      10s);
  for (const auto& c : json::parse(recovered.body)["checks"]) {
    EXPECT_EQ(c["last_result"]["health"], "healthy") << c;
  }
}

}  // namespace
}  // namespace hx
