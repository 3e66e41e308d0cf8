#include "support/knot_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace hx {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr milliseconds kStartTimeout{10000};
constexpr milliseconds kStopGrace{5000};
constexpr milliseconds kPollInterval{20};
constexpr int kStartAttempts = 3;

// A port free for both TCP and UDP a moment ago (knotd binds both). Another
// process may take it before knotd binds it; start-up retries then.
uint16_t PickFreePort() {
  const int tcp = socket(AF_INET, SOCK_STREAM, 0);
  const int udp = socket(AF_INET, SOCK_DGRAM, 0);
  uint16_t port = 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (tcp >= 0 && udp >= 0 && bind(tcp, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(tcp, reinterpret_cast<sockaddr*>(&addr), &len) == 0 &&
      bind(udp, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    port = ntohs(addr.sin_port);
  }
  if (tcp >= 0) close(tcp);
  if (udp >= 0) close(udp);
  return port;
}

// A query for `name`/`type`, id 0x4242, RD clear.
std::string Query(const std::string& name, uint16_t type) {
  std::string q = {0x42, 0x42, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    q += static_cast<char>(dot - start);
    q += name.substr(start, dot - start);
    start = dot + 1;
  }
  q += '\0';
  q += static_cast<char>(type >> 8);
  q += static_cast<char>(type & 0xff);
  q += std::string{0, 1};
  return q;
}

}  // namespace

KnotServer::KnotServer(std::vector<Zone> zones) : zones_(std::move(zones)) {
  std::string pattern = (std::filesystem::temp_directory_path() / "hx-knot-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    error_ = "mkdtemp failed";
    return;
  }
  dir_ = pattern;
  for (int i = 0; i < kStartAttempts && !ok(); ++i) {
    if (StartOnce()) return;
  }
}

KnotServer::~KnotServer() {
  Stop();
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

std::string KnotServer::address() const { return "127.0.0.1:" + std::to_string(port_); }

bool KnotServer::StartOnce() {
  port_ = PickFreePort();
  if (port_ == 0) {
    error_ = "no free port";
    return false;
  }
  const std::string config = dir_ + "/knot.conf";
  {
    std::ofstream out(config);
    out << "server:\n"
        << "    listen: 127.0.0.1@" << port_ << "\n"
        << "    rundir: " << dir_ << "\n"
        << "    udp-workers: 1\n"
        << "    tcp-workers: 1\n"
        << "    background-workers: 1\n"
        << "log:\n"
        << "  - target: stderr\n"
        << "    any: info\n"
        << "database:\n"
        << "    storage: " << dir_ << "\n"
        << "zone:\n";
    for (const Zone& zone : zones_) {
      const std::string file = dir_ + "/" + zone.name + ".zone";
      std::ofstream(file) << "$ORIGIN " << zone.name << ".\n" << zone.text;
      out << "  - domain: " << zone.name << "\n    file: " << file << "\n";
    }
  }
  const std::string log = dir_ + "/knotd.log";
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    error_ = "fork failed";
    return false;
  }
  if (pid == 0) {
    // Never outlive the test, even if it crashes.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    const int null_fd = open("/dev/null", O_RDONLY);
    const int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    if (log_fd >= 0) {
      dup2(log_fd, STDOUT_FILENO);
      dup2(log_fd, STDERR_FILENO);
    }
    execlp("knotd", "knotd", "-c", config.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  pid_ = pid;
  if (WaitReady(kStartTimeout)) return true;
  error_ = "knotd did not start on port " + std::to_string(port_) + " (see " + log + ")";
  Stop();
  return false;
}

bool KnotServer::ChildExited() {
  int status = 0;
  if (pid_ > 0 && waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return true;
  }
  return pid_ <= 0;
}

bool KnotServer::WaitReady(milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  while (steady_clock::now() < deadline) {
    if (ChildExited()) return false;
    // Loaded once the first zone's SOA is served (not SERVFAIL or REFUSED).
    if (zones_.empty() || QueryRcode(zones_.front().name, 6) == 0) return true;
    std::this_thread::sleep_for(kPollInterval);
  }
  return false;
}

int KnotServer::QueryRcode(const std::string& name, uint16_t type) const {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return -1;
  timeval tv{0, 200 * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port_);
  const std::string q = Query(name, type);
  int rcode = -1;
  if (sendto(fd, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) ==
      static_cast<ssize_t>(q.size())) {
    unsigned char buf[512];
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n >= 12 && buf[0] == 0x42 && buf[1] == 0x42) rcode = buf[3] & 0x0f;
  }
  close(fd);
  return rcode;
}

void KnotServer::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  const auto deadline = steady_clock::now() + kStopGrace;
  while (steady_clock::now() < deadline) {
    if (ChildExited()) return;
    std::this_thread::sleep_for(kPollInterval);
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

SilentUdpServer::SilentUdpServer() {
  fd_ = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd_ < 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port_ = ntohs(addr.sin_port);
  }
}

SilentUdpServer::~SilentUdpServer() {
  if (fd_ >= 0) close(fd_);
}

std::string SilentUdpServer::address() const { return "127.0.0.1:" + std::to_string(port_); }

}  // namespace hx
