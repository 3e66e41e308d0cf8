#pragma once
// What the check types that drive libcurl (http, grpc) share for one transfer:
// the easy options of a fresh connection, the TLS options, the certificate
// expiry recorded during the handshake, the wording of a failed transfer, the
// phase observations.

#include <curl/curl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "checks/check.h"

namespace hx {

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

 private:
  std::optional<int64_t> earliest_not_after_;
};

/// "connection refused", "host unreachable", ... for the errno curl saw; ""
/// for others. Pure; thread-safe.
std::string OsErrorText(long os_errno);

/// A check type's own wording for the curl codes only it knows; "" means "use
/// the common one".
using CurlFailureHook = std::string (*)(CURLcode code, CURL* easy, const char* error_buffer);

/// A short sentence for a failed transfer: a descriptor shortage of the daemon
/// first, then `own` (may be null), then the wording every type shares. Built
/// from fixed text, OpenSSL's reasons and curl's generic messages only, never
/// the URL or a header. Thread-compatible (reads one handle).
std::string DescribeCurlFailure(CURLcode code, CURL* easy, const char* error_buffer,
                                CurlFailureHook own);

/// A curl timer (CURLINFO_*_TIME_T) in microseconds.
double CurlMicroseconds(CURL* easy, CURLINFO info);

/// dns, connect, tls, processing and transfer, in seconds, as observations
/// `id` labelled by phase. `resolver_dns_ns` is the resolver's time before curl
/// started; curl's own lookups (redirects to other hosts) add to it.
void AddPhaseObservations(CURL* easy, uint64_t resolver_dns_ns, ObservationId id,
                          std::vector<Observation>& out);

}  // namespace hx
