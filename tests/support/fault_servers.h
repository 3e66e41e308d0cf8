#pragma once
// Targets that misbehave on purpose, for the fault-injection suite
// (tests/faults/): a TCP/HTTP(S) server whose behaviour can be switched while
// checks run against it, a port that refuses connections, certificates that
// are wrong in chosen ways, and a FUSE mount whose statfs hangs until the test
// lets it go. Everything listens on 127.0.0.1 with a kernel-chosen port.

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

typedef struct ssl_ctx_st SSL_CTX;

namespace hx {

/// A self-signed EC certificate made with OpenSSL's API (not the CLI, which
/// cannot back-date a certificate), written as PEM into a temp dir that the
/// destructor removes. Immutable after construction; thread-safe.
class FaultCertificate {
 public:
  struct Options {
    std::vector<std::string> dns_names = {"localhost"};
    bool loopback_ip = true;  ///< also IP:127.0.0.1 in subjectAltName
    /// Validity relative to now: the default is valid for a day either side;
    /// an expired certificate has both offsets negative.
    std::chrono::seconds not_before = -std::chrono::hours(24);
    std::chrono::seconds not_after = std::chrono::hours(24);
  };
  explicit FaultCertificate(const Options& options);
  ~FaultCertificate();
  FaultCertificate(const FaultCertificate&) = delete;
  FaultCertificate& operator=(const FaultCertificate&) = delete;

  const std::string& cert_file() const { return cert_file_; }  ///< PEM; also the CA to trust
  const std::string& key_file() const { return key_file_; }

 private:
  std::string dir_;
  std::string cert_file_;
  std::string key_file_;
};

/// A server on 127.0.0.1 whose every connection gets the current behaviour,
/// switchable with SetBehavior() while clients run (connections already open
/// keep the behaviour they started with). One thread per connection, blocking
/// I/O; Stop() (also the destructor) shuts every socket down and joins all
/// threads, so no behaviour can outlive the test. With TLS, the handshake runs
/// first (kSilent never answers the ClientHello: a stalled handshake).
/// Public methods are thread-safe. Ignores SIGPIPE process-wide.
class FaultServer {
 public:
  enum class Behavior {
    /// Reads the request head, answers `200 OK` with body "ok" and closes.
    kHealthy,
    /// Reads whatever arrives, never writes, keeps the connection open until
    /// the client goes (accept and never answer; with TLS, a stalled handshake).
    kSilent,
    /// Response head announcing 1 MB, then one body byte every 50 ms.
    kDripBody,
    /// Response head announcing 1 MB, 1000 body bytes, then a TCP reset.
    kResetMidBody,
    /// Response head without a length, then body bytes as fast as the client
    /// takes them, for ever.
    kEndlessBody,
    /// A status line, then a 10 MB header line.
    kHugeHeader,
    /// A line that is not HTTP, then close.
    kInvalidHttp,
  };

  struct Options {
    Behavior behavior = Behavior::kHealthy;
    bool tls = false;
    FaultCertificate::Options certificate;  ///< used when tls is set
  };

  explicit FaultServer(Options options);
  ~FaultServer();
  FaultServer(const FaultServer&) = delete;
  FaultServer& operator=(const FaultServer&) = delete;

  uint16_t port() const { return port_; }
  /// "127.0.0.1:PORT".
  std::string address() const;
  /// "http(s)://127.0.0.1:PORT" + path.
  std::string Url(const std::string& path = "/") const;
  /// With tls: the certificate presented (PEM), to use as ca_file.
  const std::string& ca_file() const;

  void SetBehavior(Behavior behavior);
  /// Stops accepting, resets every open connection and joins all threads.
  /// Idempotent. Afterwards the port refuses connections.
  void Stop();

  int accepted() const;
  /// Connections currently open on the server side.
  int open_connections() const;
  bool WaitForAccepted(int count, std::chrono::milliseconds timeout) const;

 private:
  class Connection;
  void AcceptLoop();
  void Serve(int fd, Behavior behavior);
  /// Sleeps up to `d`; false when the server is stopping.
  bool Pause(std::chrono::milliseconds d);

  Options options_;
  std::unique_ptr<FaultCertificate> certificate_;
  SSL_CTX* ssl_ctx_ = nullptr;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread acceptor_;

  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  bool stopping_ = false;
  Behavior behavior_;
  int accepted_ = 0;
  std::vector<int> open_fds_;  // shut down on Stop()
  std::vector<std::thread> handlers_;
};

/// A port on 127.0.0.1 that refuses connections: a socket bound to it that
/// never listens, so no other process can take the port meanwhile.
/// Immutable; thread-safe.
class ClosedPort {
 public:
  ClosedPort();
  ~ClosedPort();
  ClosedPort(const ClosedPort&) = delete;
  ClosedPort& operator=(const ClosedPort&) = delete;
  uint16_t port() const { return port_; }
  std::string address() const;  ///< "127.0.0.1:PORT"

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

/// Moves the calling process into a mount namespace of its own whose mounts
/// do not propagate back, so a HangingFuseMount made afterwards is seen only
/// by this process and its children (a `df` elsewhere on the machine cannot
/// hang on it). Call before starting any thread: unshare(CLONE_NEWNS) refuses
/// a process whose threads share its filesystem context. Returns "" on
/// success, else the reason.
std::string UsePrivateMountNamespace();

/// A FUSE filesystem mounted on a fresh temp dir, spoken to over /dev/fuse
/// directly (no libfuse), whose statfs requests are left unanswered while
/// hanging: a process calling statfs on it blocks exactly like on a dead
/// network mount. Release() answers the held requests and every later one
/// (a small, 10% full filesystem). The destructor releases, unmounts (lazy)
/// and removes the dir. Needs root and /dev/fuse: check Unsupported() first.
/// Public methods are thread-safe.
class HangingFuseMount {
 public:
  /// Empty when a FUSE mount works here, else the reason it cannot.
  static std::string Unsupported();

  HangingFuseMount();  ///< throws std::runtime_error if mounting fails
  ~HangingFuseMount();
  HangingFuseMount(const HangingFuseMount&) = delete;
  HangingFuseMount& operator=(const HangingFuseMount&) = delete;

  const std::string& path() const { return mount_point_; }
  /// statfs requests received so far, and those held unanswered right now.
  int statfs_requests() const;
  int held_requests() const;
  bool WaitForHeld(int count, std::chrono::milliseconds timeout) const;
  /// Answers every held statfs and stops holding new ones.
  void Release();
  /// Holds every statfs from now on (the state after construction).
  void Hang();

 private:
  void Loop();
  void Handle(const char* request, size_t size);
  void Reply(uint64_t unique, int error, const void* payload, size_t size);
  void ReplyStatfs(uint64_t unique);

  std::string dir_;
  std::string mount_point_;
  int fuse_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};
  std::thread thread_;

  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  bool hanging_ = true;
  int statfs_requests_ = 0;
  std::vector<uint64_t> held_;
};

}  // namespace hx
