// Hostile clients against basic auth (issue 12): 50 clients, each from its
// own loopback address, send wrong passwords (bcrypt cost 10, ~0.1-0.3 s per
// verification here) to /metrics as fast as they get answers, a few per
// second each. Meanwhile /healthz and an authorised /metrics (credentials
// known from an earlier scrape, as Prometheus' are) must keep answering
// quickly, and the attackers must be told 429 with Retry-After instead of
// being verified one by one on the server's four workers. Before the fix,
// 8 such clients made /healthz take 4.3 s. The bound asserted is generous
// (behaviour, not the 50 ms figure, which bench/ measures).

#include <arpa/inet.h>
#include <crypt.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/credentials.h"
#include "support/daemon_process.h"
#include "util/base64.h"

namespace hx {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kUser = "prometheus";
constexpr const char* kPassword = "scrape-secret-5d0c1f";
constexpr const char* kWrongPrefix = "guess-9a7e-";

// One request on a new connection from `source` (a 127.0.0.0/8 address);
// returns the status (0 when none came within `timeout`) and the raw head.
std::pair<int, std::string> RawGet(const std::string& source, int port, const std::string& path,
                                   const std::string& authorization,
                                   std::chrono::milliseconds timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {0, ""};
  sockaddr_in local{};
  local.sin_family = AF_INET;
  inet_pton(AF_INET, source.c_str(), &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(static_cast<uint16_t>(port));
  remote.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string head;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) == 0 &&
      ::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof(remote)) == 0) {
    const std::string request = "GET " + path +
                                " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                                "Authorization: " +
                                authorization + "\r\n\r\n";
    (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    const auto deadline = Clock::now() + timeout;
    char buffer[2048];
    while (head.find("\r\n\r\n") == std::string::npos && Clock::now() < deadline) {
      pollfd p = {fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
      if (n <= 0) break;
      head.append(buffer, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  int status = 0;
  if (head.rfind("HTTP/1.1 ", 0) == 0 && head.size() >= 12) status = std::stoi(head.substr(9, 3));
  return {status, head};
}

struct Timed {
  long status = 0;
  Clock::duration took{};
};

Timed TimedGet(const std::string& url) {
  const auto start = Clock::now();
  const HttpReply reply = HttpRequest(url);
  return {reply.status, Clock::now() - start};
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

TEST(AuthFlood, WrongPasswordsGet429AndNeitherProbesNorKnownScrapesWait) {
  TempDir dir;
  const std::string web = dir.Write("web.yml", std::string("basic_auth_users:\n  ") + kUser + ": " +
                                                   Bcrypt(kPassword, 10) + "\n");
  DaemonProcess daemon(
      "global: {interval: 1s, timeout: 500ms}\n"
      "checks:\n"
      "  - name: disk-root\n"
      "    disk: {path: /}\n",
      {"--web.config.file=" + web});
  ASSERT_TRUE(daemon.started()) << daemon.Logs();
  const std::string authorised = "http://" + std::string(kUser) + ":" + kPassword +
                                 "@127.0.0.1:" + std::to_string(daemon.port());
  // Prometheus' first scrape, before the attack: its credentials are known.
  // On a loaded machine the low-priority bcrypt may outlast the wait (429,
  // or the client's own timeout);
  // it finishes anyway and caches the success, so a retry passes, as
  // Prometheus' next scrape would.
  long first = 0;
  for (const auto deadline = Clock::now() + 60s; first != 200 && Clock::now() < deadline;) {
    first = HttpRequest(authorised + "/metrics").status;
    // 0: the client gave up first (its timeout is the server's wait, 5 s).
    if (first == 429 || first == 0) std::this_thread::sleep_for(500ms);
    if (first != 429 && first != 0 && first != 200) break;
  }
  ASSERT_EQ(first, 200);

  constexpr int kAttackers = 50;
  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::map<int, int> statuses;  // attackers' answers by status
  int retry_after_seen = 0;
  std::vector<std::thread> attackers;
  for (int i = 0; i < kAttackers; ++i) {
    attackers.emplace_back([&, i] {
      const std::string source = "127.0.0." + std::to_string(10 + i);
      for (int n = 0; !stop; ++n) {
        const std::string header =
            "Basic " + Base64(std::string(kUser) + ":" + kWrongPrefix + std::to_string(n));
        const auto [status, head] = RawGet(source, daemon.port(), "/metrics", header, 20s);
        {
          std::lock_guard lock(mutex);
          ++statuses[status];
          if (status == 429 && head.find("\r\nRetry-After: ") != std::string::npos) {
            ++retry_after_seen;
          }
        }
        std::this_thread::sleep_for(200ms);  // a few attempts per second each
      }
    });
  }

  // What the operator needs meanwhile: liveness and the scrape.
  std::vector<Timed> healthz, metrics;
  const auto end = Clock::now() + 10s;
  std::this_thread::sleep_for(500ms);  // let the flood build up
  while (Clock::now() < end) {
    healthz.push_back(TimedGet("http://127.0.0.1:" + std::to_string(daemon.port()) + "/healthz"));
    metrics.push_back(TimedGet(authorised + "/metrics"));
    std::this_thread::sleep_for(100ms);
  }
  stop = true;
  for (std::thread& t : attackers) t.join();

  // Generous: on a busy 2-CPU machine (sanitized builds: slower still) this
  // is far above what the fix gives (~ms) and far below what the old code
  // gave (seconds: every wrong password a bcrypt on one of four workers).
  const auto bound = kSanitized ? 2000ms : 1000ms;
  ASSERT_FALSE(healthz.empty());
  for (const auto& [name, samples] : {std::pair{"/healthz", &healthz}, {"/metrics", &metrics}}) {
    std::vector<double> ms;
    for (const Timed& t : *samples) {
      EXPECT_EQ(t.status, 200) << name;
      ms.push_back(Ms(t.took));
    }
    std::sort(ms.begin(), ms.end());
    std::cout << name << ": " << ms.size() << " requests, median " << ms[ms.size() / 2]
              << " ms, slowest " << ms.back() << " ms\n";
    const double bound_ms = std::chrono::duration<double, std::milli>(bound).count();
    EXPECT_LT(ms.back(), bound_ms) << name << ": slowest of " << ms.size() << " took " << ms.back()
                                   << " ms (median " << ms[ms.size() / 2] << " ms)";
  }

  // The attackers were told to come back later, with a Retry-After, and
  // some of their guesses were verified (and refused).
  std::string seen;
  for (const auto& [status, count] : statuses) {
    seen += std::to_string(status) + ":" + std::to_string(count) + " ";
  }
  std::cout << "attackers' answers by status: " << seen << "\n";
  EXPECT_GT(statuses[429], 0) << seen;
  EXPECT_GT(statuses[401], 0) << seen;
  EXPECT_EQ(retry_after_seen, statuses[429]) << seen;
  EXPECT_EQ(statuses[0], 0) << "attackers left unanswered: " << seen;

  // Throttling is logged at most once per client per minute, and no
  // password, right or wrong, reaches the log.
  const std::string logs = daemon.Logs();
  size_t lines = 0;
  for (size_t at = logs.find("too many basic-auth attempts"); at != std::string::npos;
       at = logs.find("too many basic-auth attempts", at + 1)) {
    ++lines;
  }
  EXPECT_GT(lines, 0u);
  EXPECT_LE(lines, static_cast<size_t>(kAttackers)) << logs;
  EXPECT_EQ(logs.find(kPassword), std::string::npos);
  EXPECT_EQ(logs.find(kWrongPrefix), std::string::npos);

  // And afterwards the daemon is all there.
  EXPECT_EQ(HttpRequest(authorised + "/metrics").status, 200);
}

}  // namespace
}  // namespace hx
