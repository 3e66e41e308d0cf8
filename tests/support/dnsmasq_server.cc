#include "support/dnsmasq_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace hx {

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr milliseconds kStartTimeout{10000};
constexpr milliseconds kStopGrace{5000};
constexpr milliseconds kPollInterval{10};
constexpr int kStartAttempts = 3;

// A UDP port that was free a moment ago (dnsmasq binds UDP and TCP on it;
// start-up retries with another port if either is taken by then).
uint16_t PickFreeUdpPort() {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

bool TcpAccepts(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

}  // namespace

DnsmasqServer::DnsmasqServer(std::vector<std::string> records, std::string local_domain)
    : records_(std::move(records)), local_domain_(std::move(local_domain)) {
  std::string pattern = (std::filesystem::temp_directory_path() / "hx-dnsmasq-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    error_ = "mkdtemp failed";
    return;
  }
  dir_ = pattern;
  for (int i = 0; i < kStartAttempts && !ok(); ++i) {
    if (StartOnce()) return;
  }
}

DnsmasqServer::~DnsmasqServer() {
  Stop();
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

std::string DnsmasqServer::address() const { return "127.0.0.1:" + std::to_string(port_); }

std::string DnsmasqServer::Log() const {
  std::ifstream in(dir_ + "/dnsmasq.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool DnsmasqServer::StartOnce() {
  port_ = PickFreeUdpPort();
  if (port_ == 0) {
    error_ = "no free port";
    return false;
  }
  std::vector<std::string> args = {"dnsmasq",
                                   "--keep-in-foreground",
                                   "--conf-file=/dev/null",
                                   "--no-resolv",
                                   "--no-hosts",
                                   "--no-poll",
                                   "--bind-interfaces",
                                   "--listen-address=127.0.0.1",
                                   "--port=" + std::to_string(port_),
                                   "--pid-file=",
                                   "--user=root",
                                   "--log-queries",
                                   "--log-facility=" + dir_ + "/dnsmasq.log"};
  if (!local_domain_.empty()) args.push_back("--local=/" + local_domain_ + "/");
  args.insert(args.end(), records_.begin(), records_.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    error_ = "fork failed";
    return false;
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    const int null_fd = open("/dev/null", O_RDWR);
    if (null_fd >= 0) {
      dup2(null_fd, STDIN_FILENO);
      dup2(null_fd, STDOUT_FILENO);
    }
    const int err_fd = open((dir_ + "/stderr.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (err_fd >= 0) dup2(err_fd, STDERR_FILENO);
    execvp("dnsmasq", argv.data());
    _exit(127);
  }
  pid_ = pid;
  const auto deadline = steady_clock::now() + kStartTimeout;
  while (steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      break;
    }
    if (TcpAccepts(port_)) return true;
    std::this_thread::sleep_for(kPollInterval);
  }
  error_ = "dnsmasq did not start on port " + std::to_string(port_) + " (see " + dir_ + ")";
  Stop();
  return false;
}

void DnsmasqServer::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  const auto deadline = steady_clock::now() + kStopGrace;
  while (steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

}  // namespace hx
