#pragma once
// A throwaway Knot DNS server (knotd) for tests: authoritative for the zones
// the test gives it, on 127.0.0.1 on a free port (UDP and TCP), with its
// config, zone files, storage and control socket in its own temp dir, run in
// the foreground and stopped by pid.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace hx {

/// One knotd child process. Start-up waits until the server answers a UDP
/// query for the first zone's SOA. The destructor stops it and removes its
/// temp dir; the child is killed if the test process dies
/// (PR_SET_PDEATHSIG). Not thread-safe: use from the test thread.
class KnotServer {
 public:
  struct Zone {
    std::string name;  ///< "example.test"
    /// The zone file's text (an $ORIGIN line is not needed). A text knotd
    /// cannot load leaves the zone configured but unloaded: knotd then
    /// answers SERVFAIL for it.
    std::string text;
  };

  explicit KnotServer(std::vector<Zone> zones);
  ~KnotServer();
  KnotServer(const KnotServer&) = delete;
  KnotServer& operator=(const KnotServer&) = delete;

  /// False if knotd could not be started; error() says why.
  bool ok() const { return pid_ > 0; }
  const std::string& error() const { return error_; }

  uint16_t port() const { return port_; }
  /// "127.0.0.1:PORT".
  std::string address() const;
  const std::string& dir() const { return dir_; }
  pid_t pid() const { return pid_; }

  /// Stops the server (SIGTERM, SIGKILL after a few seconds) and reaps it.
  void Stop();

  /// The rcode of a UDP query for `name`/`type` sent by the test itself
  /// (blocking, 1 s), or -1 when no answer came. For fixtures' sanity checks.
  int QueryRcode(const std::string& name, uint16_t type) const;

 private:
  bool StartOnce();
  bool WaitReady(std::chrono::milliseconds timeout);
  bool ChildExited();

  std::vector<Zone> zones_;
  std::string dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  std::string error_;
};

/// A UDP socket bound on 127.0.0.1 that never reads: a DNS server that never
/// answers. Closed by the destructor. Not thread-safe.
class SilentUdpServer {
 public:
  SilentUdpServer();
  ~SilentUdpServer();
  SilentUdpServer(const SilentUdpServer&) = delete;
  SilentUdpServer& operator=(const SilentUdpServer&) = delete;

  uint16_t port() const { return port_; }
  std::string address() const;

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

}  // namespace hx
