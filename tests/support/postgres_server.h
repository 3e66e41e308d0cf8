#pragma once
// A throwaway PostgreSQL 15 server for tests: initdb into a temp dir owned by
// the `postgres` user (PostgreSQL refuses to run as root), started with
// pg_ctl on 127.0.0.1 and a kernel-chosen port, with its unix socket in the
// same temp dir. Optionally scram-sha-256 password auth for TCP clients,
// a chosen max_connections, and streaming replicas made with pg_basebackup -R.

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hx {

/// One server (primary or replica). Blocking; methods are meant for the test
/// thread. Not thread-safe. The destructor stops the server (by pg_ctl, then
/// by pid if needed) and removes its directory.
class PostgresServer {
 public:
  struct Options {
    /// Non-empty: TCP clients must authenticate with scram-sha-256, and this
    /// becomes the superuser's password (initdb --pwfile). The unix socket
    /// stays `trust`, so the fixture's own helpers need no password.
    std::string superuser_password;
    int max_connections = 100;
  };

  /// Runs initdb and starts the server. Throws std::runtime_error (with the
  /// tail of the command's log) on failure.
  explicit PostgresServer(Options options);
  PostgresServer() : PostgresServer(Options{}) {}
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  /// A streaming replica of this server: pg_basebackup -R into a new temp
  /// dir, started on its own port with the same max_connections. Returns once
  /// it accepts connections. Throws on failure.
  std::unique_ptr<PostgresServer> CreateReplica();

  /// Stops the server (immediate shutdown) / starts it again on the same
  /// port and directory.
  void Stop();
  void Start();
  bool running() const { return running_; }

  uint16_t port() const { return port_; }
  /// The directory of the unix socket (usable as `host=` in a DSN).
  const std::string& socket_dir() const { return base_dir_; }
  /// "postgres", the superuser initdb made.
  static constexpr const char* kSuperuser = "postgres";

  /// Runs `sql` as the superuser over the unix socket; returns the first
  /// value of the last result ("" if none). Throws std::runtime_error with
  /// the server's message on failure.
  std::string Execute(const std::string& sql, const std::string& dbname = "postgres") const;

  using Connection = std::unique_ptr<PGconn, void (*)(PGconn*)>;
  /// An idle superuser session over the unix socket, open until destroyed
  /// (e.g. to use up connection slots). Throws on failure.
  Connection Connect(const std::string& dbname = "postgres") const;

  /// Waits until `replica` has replayed everything this server has written
  /// so far. False on timeout.
  bool WaitForReplay(const PostgresServer& replica, std::chrono::milliseconds timeout) const;

 private:
  struct ReplicaOf {
    const PostgresServer* primary;
  };
  PostgresServer(Options options, ReplicaOf source);

  void MakeBaseDir();
  void Init();
  void InitReplica(const PostgresServer& primary);
  /// Stops the server if running and removes the base dir.
  void Cleanup();
  void StartServer();
  /// Runs `args` as the postgres user, output appended to the log; throws on failure.
  void RunAsPostgres(const std::string& what, const std::vector<std::string>& args) const;
  std::string ConnInfo(const std::string& dbname) const;

  Options options_;
  std::string base_dir_;  // socket dir; data/ and server.log inside
  std::string data_dir_;
  std::string log_file_;
  uint16_t port_ = 0;
  bool running_ = false;
};

}  // namespace hx
