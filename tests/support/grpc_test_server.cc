#include "support/grpc_test_server.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string_view>

namespace hx {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr milliseconds kStartTimeout{15000};
constexpr milliseconds kStopGrace{3000};
constexpr std::string_view kPortPrefix = "PORT ";

}  // namespace

GrpcTestServer::GrpcTestServer(std::vector<std::string> args) {
  int out[2];
  if (pipe(out) != 0) {
    error_ = "pipe failed";
    return;
  }
  std::vector<std::string> argv_strings = {
      "/usr/bin/python3", std::string(HX_SOURCE_DIR) + "/tests/support/grpc_health_server.py"};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);

  const pid_t pid = fork();
  if (pid < 0) {
    error_ = "fork failed";
    close(out[0]);
    close(out[1]);
    return;
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    execv(argv[0], argv.data());
    _exit(127);
  }
  pid_ = pid;
  close(out[1]);
  reader_ = std::thread([this, fd = out[0]] { ReadLines(fd); });

  const auto deadline = steady_clock::now() + kStartTimeout;
  while (steady_clock::now() < deadline) {
    {
      std::lock_guard lock(mu_);
      if (port_seen_ || eof_) break;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  std::lock_guard lock(mu_);
  if (!port_seen_) error_ = eof_ ? "the server exited before serving" : "the server did not start";
}

GrpcTestServer::~GrpcTestServer() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    const auto deadline = steady_clock::now() + kStopGrace;
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(milliseconds(10));
    }
  }
  if (reader_.joinable()) reader_.join();  // ends at EOF: the child is gone
}

void GrpcTestServer::ReadLines(int fd) {
  std::string pending;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, static_cast<size_t>(n));
    size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      std::string line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      std::lock_guard lock(mu_);
      if (!port_seen_ && line.starts_with(kPortPrefix)) {
        port_ = static_cast<uint16_t>(std::stoi(line.substr(kPortPrefix.size())));
        port_seen_ = true;
      } else {
        lines_.push_back(std::move(line));
      }
    }
  }
  close(fd);
  std::lock_guard lock(mu_);
  eof_ = true;
}

std::vector<std::string> GrpcTestServer::events() const {
  std::lock_guard lock(mu_);
  return lines_;
}

int GrpcTestServer::Count(const std::string& line) const {
  std::lock_guard lock(mu_);
  int n = 0;
  for (const auto& l : lines_) n += l == line ? 1 : 0;
  return n;
}

bool GrpcTestServer::WaitFor(const std::string& line, int n, milliseconds timeout) const {
  const auto deadline = steady_clock::now() + timeout;
  while (Count(line) < n) {
    if (steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

}  // namespace hx
