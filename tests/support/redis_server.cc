#include "support/redis_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

namespace hx {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr milliseconds kStartTimeout{10000};
constexpr milliseconds kStopGrace{5000};
constexpr milliseconds kPollInterval{10};
constexpr int kStartAttempts = 3;

// A port that was free a moment ago. Another process may take it before
// redis-server binds it; start-up retries with a new port then.
uint16_t PickFreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
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

std::string ReplyText(const redisReply* reply) {
  switch (reply->type) {
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_STRING:
      return std::string(reply->str, reply->len);
    case REDIS_REPLY_ERROR:
      return "ERR:" + std::string(reply->str, reply->len);
    case REDIS_REPLY_INTEGER:
      return std::to_string(reply->integer);
    case REDIS_REPLY_NIL:
      return "(nil)";
    default:
      return "(array)";
  }
}

// One blocking command on a fresh connection; `password` empty: no AUTH.
std::optional<std::string> RunCommand(uint16_t port, const std::string& password,
                                      const std::vector<std::string>& args) {
  timeval timeout{5, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, timeout);
  if (c == nullptr) return std::nullopt;
  if (c->err != 0) {
    redisFree(c);
    return std::nullopt;
  }
  redisSetTimeout(c, timeout);
  auto run = [c](const std::vector<std::string>& argv) -> std::optional<std::string> {
    std::vector<const char*> ptrs;
    std::vector<size_t> lens;
    for (const std::string& a : argv) {
      ptrs.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* reply = static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(ptrs.size()), ptrs.data(), lens.data()));
    if (reply == nullptr) return std::nullopt;
    std::string text = ReplyText(reply);
    freeReplyObject(reply);
    return text;
  };
  std::optional<std::string> result;
  if (!password.empty()) result = run({"AUTH", password});
  if (password.empty() || (result && !result->starts_with("ERR:"))) result = run(args);
  redisFree(c);
  return result;
}

}  // namespace

RedisServer::RedisServer(Options options) : options_(std::move(options)) {
  if (!options_.data_dir.empty()) {
    dir_ = options_.data_dir;
  } else {
    std::string pattern = (std::filesystem::temp_directory_path() / "hx-redis-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      error_ = "mkdtemp failed";
      return;
    }
    dir_ = pattern;
    own_dir_ = true;
  }
  for (int i = 0; i < kStartAttempts && !ok(); ++i) {
    if (StartOnce()) return;
  }
}

RedisServer::~RedisServer() {
  Stop();
  if (own_dir_) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

std::string RedisServer::address() const { return "127.0.0.1:" + std::to_string(port_); }

bool RedisServer::Restart() {
  Stop();
  error_.clear();
  return StartOnce(port_);
}

bool RedisServer::StartOnce(uint16_t port) {
  port_ = port != 0 ? port : PickFreePort();
  if (port_ == 0) {
    error_ = "no free port";
    return false;
  }
  std::vector<std::string> args = {"redis-server",
                                   "--port",
                                   std::to_string(port_),
                                   "--bind",
                                   "127.0.0.1",
                                   "--save",
                                   "",
                                   "--appendonly",
                                   "no",
                                   "--dir",
                                   dir_,
                                   "--logfile",
                                   dir_ + "/redis-" + std::to_string(port_) + ".log",
                                   "--daemonize",
                                   "no"};
  if (!options_.requirepass.empty()) {
    args.insert(args.end(), {"--requirepass", options_.requirepass});
  }
  for (const std::string& user : options_.acl_users) {
    // redis-server joins the words after --user into one `user` line.
    args.push_back("--user");
    size_t start = 0;
    while (start <= user.size()) {
      const size_t space = user.find(' ', start);
      const std::string word = user.substr(start, space - start);
      if (!word.empty()) args.push_back(word);
      if (space == std::string::npos) break;
      start = space + 1;
    }
  }
  if (options_.unix_socket) {
    args.insert(args.end(), {"--unixsocket", socket_path(), "--unixsocketperm", "700"});
  }
  if (options_.replica_of) {
    args.insert(args.end(), {"--replicaof", "127.0.0.1", std::to_string(*options_.replica_of)});
    if (!options_.master_auth.empty())
      args.insert(args.end(), {"--masterauth", options_.master_auth});
  }
  if (!options_.maxmemory.empty()) args.insert(args.end(), {"--maxmemory", options_.maxmemory});
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());

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
    // Never outlive the test, even if it crashes.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    const int null_fd = open("/dev/null", O_RDWR);
    if (null_fd >= 0) {
      dup2(null_fd, STDIN_FILENO);
      dup2(null_fd, STDOUT_FILENO);
      dup2(null_fd, STDERR_FILENO);
    }
    execvp("redis-server", argv.data());
    _exit(127);
  }
  pid_ = pid;
  if (WaitReady(kStartTimeout)) return true;
  error_ = "redis-server did not start on port " + std::to_string(port_) + " (see " + dir_ + ")";
  Stop();
  return false;
}

bool RedisServer::ChildExited() {
  int status = 0;
  if (pid_ > 0 && waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return true;
  }
  return pid_ <= 0;
}

bool RedisServer::WaitReady(milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  while (steady_clock::now() < deadline) {
    if (ChildExited()) return false;
    // PING as nobody: NOAUTH still proves the server is up; LOADING proves
    // it is up but not loaded.
    if (std::optional<std::string> reply = RunCommand(port_, "", {"PING"})) {
      const bool loading = reply->starts_with("ERR:LOADING");
      if (!loading || !options_.wait_until_loaded) return true;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  return false;
}

void RedisServer::Stop() {
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

std::optional<std::string> RedisServer::Command(const std::vector<std::string>& args) const {
  if (pid_ <= 0) return std::nullopt;
  return RunCommand(port_, options_.requirepass, args);
}

std::optional<std::string> RedisServer::InfoField(const std::string& section,
                                                  const std::string& key) const {
  std::optional<std::string> info = Command({"INFO", section});
  if (!info) return std::nullopt;
  const std::string prefix = key + ":";
  size_t at = 0;
  while (at < info->size()) {
    size_t end = info->find('\n', at);
    if (end == std::string::npos) end = info->size();
    std::string line = info->substr(at, end - at);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.starts_with(prefix)) return line.substr(prefix.size());
    at = end + 1;
  }
  return std::nullopt;
}

bool RedisServer::WaitForInfo(const std::string& section, const std::string& key,
                              const std::string& value, milliseconds timeout) const {
  const auto deadline = steady_clock::now() + timeout;
  while (steady_clock::now() < deadline) {
    if (InfoField(section, key) == value) return true;
    std::this_thread::sleep_for(kPollInterval);
  }
  return false;
}

}  // namespace hx
