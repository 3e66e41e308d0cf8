#pragma once
// The `tls:` check type: connect, optionally upgrade with STARTTLS, complete
// a TLS handshake and judge the server's certificate chain: verified (chain
// and host name) and how soon its earliest NotAfter comes.
//
//   tls:
//     address: "mail.internal:25"     # host:port or [v6]:port
//     starttls: smtp                  # optional: smtp, imap, pop3, postgres
//     server_name: mail.internal      # SNI and the name verified (default: host)
//     degraded_expires_within: 14d    # default 14d; 0 turns it off
//     unhealthy_expires_within: 3d    # default 3d; 0: only an expired chain
//     ip_protocol: auto               # ip4, ip6, auto (IPv6 first, then IPv4)
//     ip_policy: first                # or all: check every address of the name
//     ca_file: /etc/ssl/internal.pem  # and cert_file, key_file,
//     insecure_skip_verify: false     # as in tls_options.h
//
// The chain's earliest NotAfter is reported (ObservationId::
// kTlsCertExpiryTimestampSeconds) whenever the server presented one, also
// when verification failed: an expired certificate must keep its expiry
// series, or "expires soon" alerts turn into "target down" (blackbox #1119).

#include <cstdint>
#include <memory>
#include <string>

#include "checks/common/attempt.h"
#include "checks/common/ip_policy.h"
#include "checks/common/tls_options.h"
#include "io/resolver.h"
#include "util/duration.h"

namespace hx {

class TlsClientContext;

/// The protocol spoken in clear before the handshake.
enum class StartTls : uint8_t { kNone, kSmtp, kImap, kPop3, kPostgres };

/// "none", "smtp", "imap", "pop3", "postgres".
const char* StartTlsName(StartTls protocol);

/// The parsed `tls:` mapping. Plain data; immutable once parsed, safe to share.
struct TlsCheckSettings {
  std::string host;  ///< name or IP, without the brackets of "[v6]:port"
  uint16_t port = 0;
  StartTls starttls = StartTls::kNone;
  /// Which addresses of a name to connect to (`ip_protocol`); tried in the
  /// resolver's order until one accepts.
  IpProtocol ip_protocol = IpProtocol::kAuto;
  IpPolicy ip_policy = IpPolicy::kFirst;
  /// ca_file, cert_file, key_file, insecure_skip_verify; server_name already
  /// defaulted to `host`.
  TlsOptions tls;
  /// Healthy only while the earliest NotAfter is further away than these;
  /// zero turns the check off (an expired chain is unhealthy regardless).
  Duration degraded_expires_within = std::chrono::hours(24 * 14);
  Duration unhealthy_expires_within = std::chrono::hours(24 * 3);
};

/// The validated config of one TLS check. Immutable; thread-safe.
class TlsCheckSpec final : public CheckSpec {
 public:
  explicit TlsCheckSpec(TlsCheckSettings settings);

  const TlsCheckSettings& settings() const { return *settings_; }

  std::unique_ptr<Check> CreateCheck(const CheckContext& context) const override;
  /// "tls://mail.internal:25", with "+smtp" etc. after "tls" for STARTTLS.
  std::string Target() const override;

 private:
  std::shared_ptr<const TlsCheckSettings> settings_;
};

/// Reads a `tls:` mapping (calls reader.Finish()); nullptr on any error.
std::shared_ptr<const TlsCheckSpec> ParseTlsCheckSpec(config::MapReader& reader);

/// Runs TLS attempts on the loop: resolve (the loop's c-ares resolver),
/// connect to the first address that accepts (ip_policy all: to each in turn),
/// STARTTLS dialogue if configured, handshake, then judge the chain. The
/// attempt ends right after the handshake (no application data). No timer of
/// its own: the scheduler's hard timeout cancels it. Loop-thread only; not
/// thread-safe.
class TlsCheck final : public AsyncCheck {
 public:
  TlsCheck(IoContext& io, std::shared_ptr<const TlsCheckSettings> settings);

  /// Most bytes of clear-text STARTTLS dialogue a connection reads before it
  /// gives up on the server's answer.
  static constexpr size_t kMaxDialogueBytes = 16 * 1024;

 private:
  class TlsAttempt;

  std::unique_ptr<Attempt> NewAttempt() override;

  IoContext& io_;
  std::shared_ptr<const TlsCheckSettings> settings_;
  /// Built on the first attempt and reused: loading CA files is slow.
  std::shared_ptr<const TlsClientContext> tls_context_;
};

/// "2d 3h", "5h 12m", "3m 20s", "42s": how far away `seconds` is (>= 0),
/// in its two largest units, for details.
std::string FormatTimeLeft(int64_t seconds);

/// The `tls` check type, for the registry.
CheckType TlsCheckType();

}  // namespace hx
