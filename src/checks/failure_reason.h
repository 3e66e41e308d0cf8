#pragma once
// Why an attempt was not healthy: the one fixed set of failure reasons every
// check type draws from (docs/failure-reasons.md says what each means and
// which types produce it). A reason is a label value of
// health_check_failures_total and health_check_last_failure_reason, so the
// set is small and stable: add one only when an operator would act
// differently on it, never per message.
//
// A check type sets CheckResult::reason on every non-healthy result; the
// scheduler sets kTimeout (hard timeout) and kSlow (healthy but over
// degraded_latency) itself. A healthy result has kNone.

#include <cstdint>
#include <optional>
#include <string_view>

namespace hx {

enum class FailureReason : uint8_t {
  kNone,  // healthy
  kTimeout,
  kDnsNxdomain,
  kDnsTimeout,
  kDnsError,
  kConnectRefused,
  kConnectTimeout,
  kNetworkUnreachable,
  kConnectionClosed,
  kTlsHandshake,
  kTlsExpired,
  kTlsExpiring,
  kTlsUntrusted,
  kTlsHostname,
  kHttpStatus,
  kBodyMismatch,
  kAnswerMismatch,
  kProtocolError,
  kAuthFailed,
  kWrongRole,
  kNotServing,
  kThreshold,
  kPacketLoss,
  kSlow,
  kPluginWarning,
  kPluginCritical,
  kPluginUnknown,
  kHeartbeatMissed,
  kHeartbeatFailed,
  kInternal,
};

struct FailureReasonKind {
  FailureReason reason;
  /// The label value, e.g. "connect_refused"; "" for kNone.
  const char* name;
  /// One line for docs and the status page.
  const char* meaning;
};

/// Indexed by FailureReason (checked below).
inline constexpr FailureReasonKind kFailureReasons[] = {
    {FailureReason::kNone, "", "healthy"},
    {FailureReason::kTimeout, "timeout",
     "the attempt did not finish within the check's timeout (any type)"},
    {FailureReason::kDnsNxdomain, "dns_nxdomain", "the target's name does not exist (NXDOMAIN)"},
    {FailureReason::kDnsTimeout, "dns_timeout", "no DNS server answered in time"},
    {FailureReason::kDnsError, "dns_error",
     "name resolution failed otherwise (SERVFAIL, REFUSED, no address of the asked family)"},
    {FailureReason::kConnectRefused, "connect_refused", "the target refused the connection"},
    {FailureReason::kConnectTimeout, "connect_timeout",
     "the connection was not established in time"},
    {FailureReason::kNetworkUnreachable, "network_unreachable",
     "no route to the target's network or host"},
    {FailureReason::kConnectionClosed, "connection_closed",
     "the target closed or reset the connection before answering"},
    {FailureReason::kTlsHandshake, "tls_handshake",
     "the TLS handshake failed (protocol, cipher, alert)"},
    {FailureReason::kTlsExpired, "tls_expired", "the certificate has expired (or is not yet valid)"},
    {FailureReason::kTlsExpiring, "tls_expiring",
     "the certificate expires within the configured window"},
    {FailureReason::kTlsUntrusted, "tls_untrusted", "the certificate chain is not trusted"},
    {FailureReason::kTlsHostname, "tls_hostname",
     "the certificate does not name the host that was asked for"},
    {FailureReason::kHttpStatus, "http_status", "the HTTP status is not one of the expected ones"},
    {FailureReason::kBodyMismatch, "body_mismatch",
     "the response body (or a header) does not match what is expected"},
    {FailureReason::kAnswerMismatch, "answer_mismatch",
     "the target answered, but not what is expected (DNS rcode or records, a query's value)"},
    {FailureReason::kProtocolError, "protocol_error",
     "the target's answer could not be understood (malformed, wrong protocol)"},
    {FailureReason::kAuthFailed, "auth_failed", "the target refused the credentials"},
    {FailureReason::kWrongRole, "wrong_role",
     "the server is up but in the wrong role (replica instead of primary, ...)"},
    {FailureReason::kNotServing, "not_serving",
     "the service says it is not serving (gRPC NOT_SERVING, a loading or read-only server)"},
    {FailureReason::kThreshold, "threshold",
     "a measured value is beyond its limit (disk, memory, replication lag, connections)"},
    {FailureReason::kPacketLoss, "packet_loss", "too many ICMP echo requests were lost"},
    {FailureReason::kSlow, "slow", "healthy, but slower than degraded_latency"},
    {FailureReason::kPluginWarning, "plugin_warning", "the plugin exited 1 (WARNING)"},
    {FailureReason::kPluginCritical, "plugin_critical", "the plugin exited 2 (CRITICAL)"},
    {FailureReason::kPluginUnknown, "plugin_unknown",
     "the plugin exited 3 (UNKNOWN) or otherwise, was killed, or could not be run"},
    {FailureReason::kHeartbeatMissed, "heartbeat_missed", "no ping arrived within period + grace"},
    {FailureReason::kHeartbeatFailed, "heartbeat_failed", "the job pinged that it failed"},
    {FailureReason::kInternal, "internal",
     "the daemon could not run the attempt (out of descriptors, a local error)"},
};
inline constexpr unsigned kFailureReasonCount =
    sizeof(kFailureReasons) / sizeof(kFailureReasons[0]);

constexpr bool FailureReasonsAreIndexed() {
  for (unsigned i = 0; i < kFailureReasonCount; ++i) {
    if (static_cast<unsigned>(kFailureReasons[i].reason) != i) return false;
  }
  return true;
}
static_assert(FailureReasonsAreIndexed(), "kFailureReasons must be in FailureReason order");

/// The label value of `reason` ("" for kNone).
constexpr std::string_view FailureReasonName(FailureReason reason) {
  return kFailureReasons[static_cast<unsigned>(reason)].name;
}

/// The reason named `name`, or nullopt (also for "").
std::optional<FailureReason> ParseFailureReason(std::string_view name);

}  // namespace hx
