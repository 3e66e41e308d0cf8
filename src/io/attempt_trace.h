#pragma once
// AttemptTrace: what one attempt did, step by step, for the debug run
// (health_exporter --probe-once, POST /-/probe/<check>; docs/debug-run.md).
//
// A trace is an opt-in sink reached through CheckContext::trace (null on the
// scheduled path, where every trace site is a single pointer test). The steps
// check types share write to it at their own depth, once: the resolver (a
// lookup, a DNS query), libcurl's transfer (request and response headers,
// the certificate chain, the body's first bytes), the TLS client (the chain
// and its verification), so a type writes nothing of its own to be traced.
// What every type has (start, phases, verdict, observations, duration) is
// written by whoever runs the traced attempt (app/probe.h).
//
// Writers mask secrets before they add text: header values other than a
// short list of harmless ones, URL user-info and query values. The runner
// also shows every ${VAR} expansion as written.

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// OpenSSL's own names, declared here so this header needs no OpenSSL include.
using X509 = struct x509_st;
struct stack_st_X509;

namespace hx {

/// One event: which step, what it found, when (nanoseconds since the trace
/// began).
struct TraceEvent {
  std::string step;
  std::string text;
  uint64_t at_ns = 0;
};

/// The sink. Created by whoever runs a traced attempt and kept until the
/// attempt ended or was cancelled. Loop-thread only; not thread-safe.
class AttemptTrace {
 public:
  /// The trace's time starts now (uv_hrtime()).
  AttemptTrace();

  /// Adds one event at the current time. `text` must hold no secret.
  void Add(std::string_view step, std::string text);

  const std::vector<TraceEvent>& events() const { return events_; }
  /// uv_hrtime() when the trace began.
  uint64_t begin_ns() const { return begin_ns_; }
  /// Nanoseconds since the trace began.
  uint64_t Elapsed() const;

 private:
  uint64_t begin_ns_;
  std::vector<TraceEvent> events_;
};

/// Adds a "tls" event per certificate of the chain the peer presented
/// (`leaf` first, then the rest of `chain`, either may be null): subject,
/// issuer, NotAfter; then the verification result (`verify_error` is
/// OpenSSL's X509_V_* code; `verified` whether verification was on).
/// Shared by libcurl's handshake (checks/common/curl_transfer) and our own
/// TLS client (io/tls_client).
void TraceCertificateChain(AttemptTrace& trace, X509* leaf, stack_st_X509* chain, long verify_error,
                           bool verified);

/// Adds a "connect" event for a TCP connect to `address` (its port set)
/// that ended with libuv `status` (0 or a UV_E* code). Does nothing when
/// `trace` is null, so a type calls it unconditionally.
void TraceConnect(AttemptTrace* trace, const sockaddr_storage& address, int status);

/// `url` with user-info and every query value replaced by "<masked>".
/// Pure; thread-safe.
std::string MaskUrl(std::string_view url);

/// One header line "Name: value" as a trace shows it: the value kept for a
/// short list of headers that never carry secrets (Host, User-Agent, Accept,
/// Content-Type, Content-Length, Date, Server, Location with its query masked,
/// ...), "<masked>" for every other one (Authorization, Cookie, configured
/// headers). A request line ("GET /x?y=z HTTP/1.1") or status line comes
/// back with its query values masked. Pure; thread-safe.
std::string MaskHeaderLine(std::string_view line);

/// At most `max` bytes of `data` as printable text: other bytes as \xNN,
/// "…" appended when cut. Pure; thread-safe.
std::string PrintableExcerpt(std::string_view data, size_t max);

}  // namespace hx
