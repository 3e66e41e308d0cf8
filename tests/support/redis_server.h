#pragma once
// A throwaway redis-server for tests: 127.0.0.1 on a free port, no
// persistence (--save '' --appendonly no), its own temp dir, stopped by pid.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hx {

/// One redis-server child process. Start-up waits until the server answers
/// (or, with `wait_until_loaded` false, until it accepts connections).
/// The destructor stops it and removes its temp dir. The child is killed if
/// the test process dies (PR_SET_PDEATHSIG). Not thread-safe: use from the
/// test thread.
class RedisServer {
 public:
  struct Options {
    std::string requirepass = {};  ///< password of the default user; empty: none
    /// ACL rules of extra users, one string per user as in redis.conf's
    /// `user` directive, e.g. "monitor on >secret ~* +@all".
    std::vector<std::string> acl_users = {};
    /// Serve a unix socket too, at socket_path().
    bool unix_socket = false;
    /// Replicate from 127.0.0.1:<port> (--replicaof); with `master_auth` if set.
    std::optional<uint16_t> replica_of = {};
    std::string master_auth = {};
    std::string maxmemory = {};  ///< e.g. "4mb"; empty: unlimited
    /// Use this dir (e.g. another server's, to load its dump.rdb) instead of
    /// a fresh temp dir; it is not removed.
    std::string data_dir = {};
    /// Further raw arguments, e.g. {"--key-load-delay", "1000"}.
    std::vector<std::string> extra_args = {};
    /// False: return as soon as the port accepts connections, even while the
    /// server still answers LOADING.
    bool wait_until_loaded = true;
  };

  explicit RedisServer(Options options);
  RedisServer() : RedisServer(Options{}) {}
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  /// False if redis-server could not be started; error() says why.
  bool ok() const { return pid_ > 0; }
  const std::string& error() const { return error_; }

  uint16_t port() const { return port_; }
  /// "127.0.0.1:PORT".
  std::string address() const;
  /// The unix socket (Options::unix_socket), inside dir().
  std::string socket_path() const { return dir_ + "/redis.sock"; }
  const std::string& dir() const { return dir_; }
  pid_t pid() const { return pid_; }

  /// Stops the server (SIGTERM, SIGKILL after a few seconds) and reaps it.
  void Stop();

  /// Stops the server if it runs and starts it again on the same port and
  /// dir (clients see a restart). False if it did not come back (error()
  /// says why).
  bool Restart();

  /// Runs one command as the admin (the default user, with requirepass) over
  /// a fresh blocking connection. Returns the reply as text (status, string,
  /// integer or error; errors start with "ERR:"); nullopt if unreachable.
  std::optional<std::string> Command(const std::vector<std::string>& args) const;

  /// A field of INFO (e.g. "master_link_status"); nullopt if unreachable or absent.
  std::optional<std::string> InfoField(const std::string& section, const std::string& key) const;

  /// Polls INFO until `key` has `value`; false after `timeout`.
  bool WaitForInfo(const std::string& section, const std::string& key, const std::string& value,
                   std::chrono::milliseconds timeout) const;

 private:
  /// Starts redis-server on `port` (0: a free one).
  bool StartOnce(uint16_t port = 0);
  /// Waits for the server to accept (and, if asked, to finish loading).
  bool WaitReady(std::chrono::milliseconds timeout);
  bool ChildExited();

  Options options_;
  std::string dir_;
  bool own_dir_ = false;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  std::string error_;
};

}  // namespace hx
