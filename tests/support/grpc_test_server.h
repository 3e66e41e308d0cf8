#pragma once
// A real gRPC server for the grpc check's tests: Debian's python3-grpcio
// running tests/support/grpc_health_server.py (a hand-made
// grpc.health.v1.Health service) on 127.0.0.1 with a kernel-chosen port, h2c
// or TLS. Run by /usr/bin/python3, the interpreter Debian's python3-grpcio is
// installed for.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace hx {

/// One server child process. The constructor returns once it serves (ok())
/// or failed to start (error()); the destructor stops it (SIGTERM, then
/// SIGKILL) and reaps it; it also dies with the test process
/// (PR_SET_PDEATHSIG). The server's event lines ("CHECK <service>",
/// "CANCELLED <service>") are collected by a reader thread; every method is
/// safe to call from the test thread while that thread runs.
class GrpcTestServer {
 public:
  /// Arguments of grpc_health_server.py, e.g. {"--status", "=SERVING"}.
  explicit GrpcTestServer(std::vector<std::string> args);
  ~GrpcTestServer();
  GrpcTestServer(const GrpcTestServer&) = delete;
  GrpcTestServer& operator=(const GrpcTestServer&) = delete;

  bool ok() const { return port_ != 0; }
  const std::string& error() const { return error_; }
  uint16_t port() const { return port_; }
  /// "127.0.0.1:PORT" (the default listen address; see --listen).
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return pid_; }

  /// The event lines so far.
  std::vector<std::string> events() const;
  /// How many event lines equal `line`.
  int Count(const std::string& line) const;
  /// Waits until Count(line) >= n; false after `timeout`.
  bool WaitFor(const std::string& line, int n, std::chrono::milliseconds timeout) const;

 private:
  void ReadLines(int fd);

  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string error_;
  std::thread reader_;
  mutable std::mutex mu_;
  std::vector<std::string> lines_;  // guarded by mu_
  bool port_seen_ = false;          // guarded by mu_
  bool eof_ = false;                // guarded by mu_
};

}  // namespace hx
