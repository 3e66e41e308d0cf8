#pragma once
// What the check types that drive libcurl (http, grpc) share for one transfer:
// the easy options of a fresh connection, the TLS options, the certificate
// expiry recorded during the handshake, the wording of a failed transfer, the
// phase observations, the name step before the transfer (the loop's
// resolver, then CURLOPT_RESOLVE), and CurlCheck, the attempt skeleton both
// types run on.

#include <curl/curl.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "checks/check.h"
#include "io/resolver.h"

namespace hx {

class AttemptTrace;
class CurlMulti;
struct TlsOptions;

/// The scheduler owns timeouts; this only keeps a forgotten transfer from
/// living forever if a caller never cancels it.
inline constexpr long kCurlSafetyTimeoutMs = 10 * 60 * 1000;

/// Sets what every check transfer has in common: a new connection per attempt
/// (no reuse, no TLS session resumption from the pooled handle's earlier user,
/// no DNS cache), no signals, no proxy from the environment, our User-Agent,
/// the safety timeout, and `error_buffer` (CURL_ERROR_SIZE bytes) as curl's
/// error buffer. False if curl refused one. Thread-compatible (one handle).
bool SetFreshConnectionOptions(CURL* easy, char* error_buffer);

/// Applies ca_file, cert_file/key_file and insecure_skip_verify. False if curl
/// refused one.
bool ApplyTlsOptions(CURL* easy, const TlsOptions& tls);

/// The earliest NotAfter of every certificate chain presented during one
/// transfer, recorded from OpenSSL's verification hook, which runs also with
/// verification off or failing, so expiry is known then too.
/// One per attempt, used on the loop thread only; not thread-safe. It must
/// outlive the transfer (curl calls back into it during the handshake).
class CertExpiryRecorder {
 public:
  /// Installs the hook on `easy` (CURLOPT_SSL_CTX_FUNCTION). Not fatal if the
  /// TLS backend is not OpenSSL: expiry is then unknown.
  void Install(CURL* easy);
  /// Seconds since the epoch, or nullopt when no certificate was seen.
  const std::optional<int64_t>& earliest_not_after() const { return earliest_not_after_; }
  /// Adds health_check_tls_cert_expiry_timestamp_seconds when one was seen.
  void AddObservation(std::vector<Observation>& out) const;

  /// For the OpenSSL callback only.
  void Record(int64_t not_after_seconds);

  /// Also adds the presented chain and its verification to `trace` (the
  /// debug run); null: not traced.
  void set_trace(AttemptTrace* trace) { trace_ = trace; }
  AttemptTrace* trace() const { return trace_; }

 private:
  std::optional<int64_t> earliest_not_after_;
  AttemptTrace* trace_ = nullptr;
};

/// What libcurl did in one traced transfer, written to an AttemptTrace
/// (io/attempt_trace.h) through CURLOPT_DEBUGFUNCTION: connect steps, each
/// request line and header and each response status line and header
/// (secrets masked: MaskHeaderLine()), the request body's size, then the
/// first 512 bytes of the last response's body. Only made for a traced
/// attempt. One per attempt, loop thread only; not thread-safe.
class CurlTransferTrace {
 public:
  explicit CurlTransferTrace(AttemptTrace& trace) : trace_(trace) {}
  /// Sets the debug options on `easy`.
  void Install(CURL* easy);
  /// Adds the body excerpt and the connection curl used; call once, when
  /// the transfer ended.
  void Finished(CURL* easy);

  /// For the curl callback only.
  void OnDebug(curl_infotype type, const char* data, size_t size);

 private:
  AttemptTrace& trace_;
  std::string body_;
  size_t body_bytes_ = 0;
};

/// "connection refused", "host unreachable", ... for the errno curl saw; ""
/// for others. Pure; thread-safe.
std::string OsErrorText(long os_errno);

/// Why a transfer failed: its failure reason and a short sentence.
struct CurlFailure {
  FailureReason reason = FailureReason::kNone;
  std::string detail;
};

/// A check type's own reading of the curl codes only it knows; an empty
/// detail means "use the common one".
using CurlFailureHook = CurlFailure (*)(CURLcode code, CURL* easy, const char* error_buffer);

/// The reason and sentence of a failed transfer: a descriptor shortage of the
/// daemon first (internal), then `own` (may be null), then the reading every
/// type shares, once for http and grpc:
/// - CURLE_COULDNT_RESOLVE_HOST (curl's own lookup, e.g. a redirect to
///   another host): dns_error (the resolver's lookups report their own kind);
/// - CURLE_COULDNT_CONNECT: by the OS error (CURLINFO_OS_ERRNO) as
///   ReasonOfSocketError: connect_refused, connect_timeout,
///   network_unreachable;
/// - CURLE_OPERATION_TIMEDOUT: connect_timeout before the connection was
///   made, else timeout;
/// - CURLE_PEER_FAILED_VERIFICATION: tls_hostname, tls_expired or
///   tls_untrusted by the verify result (ReasonOfCertificateError);
///   CURLE_SSL_CONNECT_ERROR and other handshake errors: tls_handshake;
///   a client certificate or CA file that does not load: internal;
/// - CURLE_GOT_NOTHING, CURLE_RECV_ERROR, CURLE_SEND_ERROR,
///   CURLE_PARTIAL_FILE: connection_closed;
/// - CURLE_OUT_OF_MEMORY and other local failures: internal; anything else
///   (a reply curl cannot read): protocol_error.
/// The sentence is built from fixed text, OpenSSL's reasons and curl's
/// generic messages only, never the URL or a header. Thread-compatible
/// (reads one handle).
CurlFailure DescribeCurlFailure(CURLcode code, CURL* easy, const char* error_buffer,
                                CurlFailureHook own);

/// The address the transfer connected to last, "127.0.0.1:8080" or
/// "[::1]:443" (CURLINFO_PRIMARY_IP/PORT); "" when no connection was made
/// (CurlCheck then names the address curl was given, the first of several).
/// Thread-compatible.
std::string CurlPrimaryAddress(CURL* easy);

/// A curl timer (CURLINFO_*_TIME_T) in microseconds.
double CurlMicroseconds(CURL* easy, CURLINFO info);

/// dns, connect, tls, processing and transfer, in seconds, as observations
/// `id` labelled by phase. `resolver_dns_ns` is the resolver's time before curl
/// started; curl's own lookups (redirects to other hosts) add to it.
void AddPhaseObservations(CURL* easy, uint64_t resolver_dns_ns, ObservationId id,
                          std::vector<Observation>& out);

/// A CURLOPT_RESOLVE entry: "host:port:addr[,addr...]", IPv6 in brackets.
/// Pure; thread-safe.
std::string CurlResolveEntry(const std::string& host, const std::string& port,
                             const std::vector<std::string>& addresses);

/// The name step of one attempt before its transfer starts: the connect host
/// is resolved by the loop's resolver (IoContext::resolver()) and curl is
/// handed the addresses under the name it requests (CURLOPT_RESOLVE), so the
/// Host header or :authority, SNI and the certificate check keep the name and
/// the `dns` phase is the resolver's time.
///
/// Owns the CURLOPT_RESOLVE list, which must stay until the easy handle's
/// options are reset (a member of the attempt whose destructor releases the
/// handle first). Destroying it cancels a running lookup: no callback after.
/// One per attempt, loop thread only; not thread-safe.
class CurlNameStep {
 public:
  /// kNone and "" when curl may start, else the failure's reason (the
  /// resolver's kind, ReasonOf(ResolveFailure), or internal) and detail (the
  /// resolver's text, or an internal error).
  using Callback = std::function<void(FailureReason reason, std::string error)>;

  CurlNameStep() = default;
  CurlNameStep(const CurlNameStep&) = delete;
  CurlNameStep& operator=(const CurlNameStep&) = delete;
  ~CurlNameStep();

  /// Hands curl a fixed entry (an IP literal under another name); false if
  /// curl refused it.
  bool SetFixed(CURL* easy, const std::string& entry);
  /// Resolves `connect_host` to `protocol` and sets CURLOPT_RESOLVE
  /// "request_host:port:addrs" on `easy`; `done` runs later on the loop, never
  /// from inside Start(). `easy` must outlive the step's callback. `trace`:
  /// the debug run's (Resolver::Resolve()), usually null.
  void Start(Resolver& resolver, CURL* easy, const std::string& connect_host, IpProtocol protocol,
             std::string request_host, std::string port, Callback done,
             AttemptTrace* trace = nullptr);
  /// The resolver's time (0 before a lookup or without one).
  uint64_t dns_ns() const { return dns_ns_; }
  /// The first address the lookup found ("" before or without one): the
  /// address curl tries first.
  const std::string& first_address() const { return first_address_; }

 private:
  bool SetList(CURL* easy, const std::string& entry);
  void OnResolved(ResolveResult resolved);

  CURL* easy_ = nullptr;
  std::string request_host_;
  std::string port_;
  Callback done_;
  curl_slist* resolve_ = nullptr;
  std::unique_ptr<ResolveRequest> resolving_;
  uint64_t dns_ns_ = 0;
  std::string first_address_;
};

/// The base of the check types that run one libcurl transfer per attempt on
/// the loop's multi handle (http, grpc). After spdlog's base_sink, Start() and
/// Cancel() are final and keep the invariant: one attempt at a time; `done`
/// runs at most once and never after Cancel() or destruction; a running lookup
/// is cancelled and the easy handle goes back to the pool however an attempt
/// ends. Shared options (SetFreshConnectionOptions, the expiry hook, a fixed
/// CURLOPT_RESOLVE entry) are set here; a type builds its attempt, sets its
/// own options and judges the finished transfer.
/// Loop-thread only; not thread-safe.
class CurlCheck : public Check {
 public:
  /// One attempt's state; a type derives its own. Loop-thread only; not
  /// thread-safe.
  struct Attempt {
    Attempt() = default;
    Attempt(const Attempt&) = delete;
    Attempt& operator=(const Attempt&) = delete;
    /// Puts the handle back in its pool (resetting every option) before the
    /// lists it references are freed. The handle must already be out of the
    /// multi handle.
    virtual ~Attempt();

    CurlMulti* curl = nullptr;  // whose pool `easy` goes back to
    CURL* easy = nullptr;
    curl_slist* headers = nullptr;  // CURLOPT_HTTPHEADER, freed with the attempt
    CurlNameStep names;             // the resolver's lookup and CURLOPT_RESOLVE
    CertExpiryRecorder expiry;
    std::unique_ptr<CurlTransferTrace> traced;  // only when the check is traced
    DoneCallback done;
    char error[CURL_ERROR_SIZE] = {};
  };

  /// Where attempts connect and under which name (see CurlNameStep).
  /// Immutable after construction.
  struct Target {
    std::string connect_host;  ///< resolved unless connect_host_is_ip
    IpProtocol ip_protocol = IpProtocol::kAuto;
    std::string request_host;  ///< the name curl requests (CURLOPT_RESOLVE key)
    std::string port;
    bool connect_host_is_ip = false;
    std::string fixed_resolve;  ///< set with an IP literal under another name

    /// This target with its connection pinned to `address` (an IP literal,
    /// nothing resolved) while curl still requests request_host, so that
    /// Host or :authority, SNI and the certificate check keep the name: one
    /// address of ip_policy all (EachAddressCheck).
    Target PinnedTo(const std::string& address) const;
  };

  ~CurlCheck() override;
  CurlCheck(const CurlCheck&) = delete;
  CurlCheck& operator=(const CurlCheck&) = delete;

  void Start(DoneCallback done) final;
  void Cancel() final;

 protected:
  /// `what` names the request in internal errors ("HTTP", "gRPC").
  CurlCheck(CurlMulti& curl, Resolver& resolver, Target target, std::string what);

  /// A new attempt of the type's own kind (curl, easy and done are set after).
  virtual std::unique_ptr<Attempt> NewAttempt() = 0;
  /// Sets the type's own options on a.easy; false if curl refused one.
  virtual bool Configure(Attempt& a) = 0;
  /// The result when the host did not resolve: `reason` is the resolver's
  /// kind (dns_nxdomain, dns_timeout, dns_error, internal), `error` its
  /// text, `dns_ns` its time.
  virtual CheckResult LookupFailed(FailureReason reason, std::string error, uint64_t dns_ns) = 0;
  /// The result of a finished transfer (the handle is out of the multi
  /// handle; `a` is freed right after). The `address` of a result that is
  /// not healthy is filled in after, from the transfer, when the type left
  /// it empty.
  virtual CheckResult Evaluate(CURLcode code, Attempt& a) = 0;

 private:
  void OnResolved(FailureReason reason, std::string error);
  void StartTransfer();
  void Finish(CheckResult result);
  void OnTransferDone(CURLcode code);

  CurlMulti& curl_;
  Resolver& resolver_;
  const Target target_;
  const std::string what_;
  std::unique_ptr<Attempt> attempt_;
};

}  // namespace hx
