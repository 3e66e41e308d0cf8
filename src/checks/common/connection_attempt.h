#pragma once
// The attempt of a check that opens a TCP connection to each resolved address
// of its target in turn (tcp, tls): ConnectionAttempt.
//
// Written once here: the address list (resolved, or an IP literal), one
// uv_tcp_t at a time with its connect, reads, writes and close, and the rule
// of `ip_policy` (checks/common/ip_policy.h). With `first` a failed connect
// moves on to the next address and the first connection's result is the
// attempt's; with `all` every address gets a whole connection in turn, each
// one's result is recorded, and after the last the attempt ends with all of
// them combined. A type implements what happens on one connection: what it
// does once connected (OnConnected), with the bytes it reads (HandleRead),
// and what per-connection state it drops before the next address
// (OnConnectionEnded).
//
// Connections are numbered: a write or a read that belongs to a connection
// already judged (ip_policy all) reports nothing, and code that may end the
// connection checks Ended(number) before touching its state again.
//
// redis does not use it: hiredis opens and owns its sockets.

#include <sys/socket.h>
#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "checks/check.h"
#include "checks/common/attempt.h"
#include "checks/common/ip_policy.h"
#include "io/resolver.h"

namespace hx {

class IoContext;

/// One attempt that connects to a target's addresses in turn. Owns itself
/// like every Attempt (checks/common/attempt.h). Loop-thread only; not
/// thread-safe.
class ConnectionAttempt : public Attempt {
 protected:
  ConnectionAttempt(IoContext& io, uint16_t port, IpPolicy ip_policy);

  /// Resolves `host` with the loop's resolver (an IP literal too, on a later
  /// turn, traced as a lookup) and connects to its addresses in turn. A
  /// failed lookup ends the attempt with ResolveFailed(); an empty answer
  /// without an error with NoAddressResult().
  void ResolveAndConnect(std::string_view host, IpProtocol protocol);

  /// When `host` is an IP literal: connects to it at once, without the
  /// resolver (nothing traced as a lookup), and returns true.
  bool ConnectToIpLiteral(const std::string& host);

  /// The outcome of the current connection; the address is set on a
  /// non-healthy result, then AddConnectionObservations(). ip_policy first:
  /// the attempt's result. all: recorded; the socket is closed,
  /// OnConnectionEnded() drops the type's state, and the next address
  /// follows; after the last, the attempt ends with CombineOutcomes(). Does
  /// nothing once the attempt is over.
  void EndConnection(CheckResult result);

  /// Writes `bytes` on the current connection; a failure ends it ("send
  /// failed: ..."). The write counts in writes_in_flight() until its
  /// callback, which calls OnWriteDone() when it succeeded.
  void WriteRaw(std::string bytes);

  /// Stops reading the current connection (HandleRead is not called again).
  void StopReading();

  /// The number of the current connection (one per address tried).
  int connection() const { return connection_; }

  /// True once the attempt is over or, with ip_policy all, connection
  /// `connection` has been judged and the next one has begun.
  bool Ended(int connection) const { return over() || connection != connection_; }

  /// Writes of the current connection whose callbacks have not come.
  int writes_in_flight() const { return writes_in_flight_; }

  IpPolicy ip_policy() const { return ip_policy_; }

  /// Most bytes one read hands HandleRead().
  static constexpr size_t kReadBufferBytes = 16 * 1024;

  // --- Hooks. ---

  /// A connection to the next address is about to be opened.
  virtual void OnConnecting() {}

  /// The current connection is established and reading.
  virtual void OnConnected() = 0;

  /// One read of the current connection, as libuv reports it: bytes in
  /// `buf` (nread > 0), nothing (0), UV_EOF or another error (< 0). The
  /// connection is still current and the attempt not over.
  virtual void HandleRead(ssize_t nread, const uv_buf_t* buf) = 0;

  /// A write of the current connection completed.
  virtual void OnWriteDone() {}

  /// Adds what the connection learned to its `result` (before it is the
  /// attempt's or recorded), e.g. the certificate's expiry.
  virtual void AddConnectionObservations(CheckResult* /*result*/) {}

  /// ip_policy all: the current connection was judged and its socket is
  /// closing; drop its state before the next address.
  virtual void OnConnectionEnded() = 0;

  /// ip_policy all: the attempt's result from every address's (at least
  /// one). By default CombineAddressResults with the earliest certificate
  /// expiry any address presented.
  virtual CheckResult CombineOutcomes(const std::vector<AddressResult>& outcomes) const;

  /// The result of a lookup that found no address and named no error. By
  /// default ResolveFailed(resolved).
  virtual CheckResult NoAddressResult(const ResolveResult& resolved) const;

 private:
  struct WriteOp {
    uv_write_t req;
    std::string bytes;
    ConnectionAttempt* attempt;
    int connection;  // a write of an ended connection reports nothing
  };

  void Release() final { CloseSocket(); }

  void Resolved(ResolveResult resolved);
  // Connects to the next address; `last_error` is reported when none is left.
  void ConnectNext(int last_error);
  // ip_policy first: on to the next address. all: this address failed.
  void ConnectFailed(int error);
  void HandleConnected(int status);
  void CloseSocket();
  const sockaddr_storage& current_address() const { return addresses_[next_address_ - 1]; }

  static void OnConnect(uv_connect_t* req, int status);
  static void OnWritten(uv_write_t* req, int status);
  static void OnAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void OnClosed(uv_handle_t* handle);

  IoContext& io_;
  const uint16_t port_;
  const IpPolicy ip_policy_;
  uv_connect_t connect_req_{};
  uv_tcp_t* socket_ = nullptr;               // open socket, heap-allocated until OnClosed
  std::vector<sockaddr_storage> addresses_;  // port set
  size_t next_address_ = 0;
  int connection_ = 0;                   // numbers the connections, one per address tried
  int writes_in_flight_ = 0;             // of the current connection
  std::vector<AddressResult> outcomes_;  // ip_policy all: each address's result
  char read_buffer_[kReadBufferBytes];
};

}  // namespace hx
