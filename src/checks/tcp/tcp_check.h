#pragma once
// The `tcp:` check type: connect to host:port (optionally through TLS),
// optionally send bytes, optionally wait for the received bytes to match a
// regular expression.
//
//   tcp:
//     address: "127.0.0.1:25"   # host:port or [v6]:port
//     send: "QUIT\r\n"          # optional, written after connect (and handshake)
//     expect: "^220"            # optional RE2 over everything received so far
//     tls: false                # or true, or a mapping (see tls_options.h)
//     ip_protocol: auto         # ip4 | ip6 | auto (see checks/common/ip_protocol.h)
//     ip_policy: first          # or all: probe every address of the name in turn

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "checks/check.h"
#include "checks/common/attempt.h"
#include "checks/common/ip_policy.h"
#include "checks/common/tls_options.h"
#include "io/resolver.h"

namespace re2 {
class RE2;
}

namespace hx {

class TlsClientContext;

/// The parsed `tcp:` mapping. Plain data; immutable once parsed, safe to share.
struct TcpCheckSettings {
  std::string host;  ///< name or IP, without the brackets of "[v6]:port"
  uint16_t port = 0;
  std::string send;                            ///< written after connecting; may be empty
  std::shared_ptr<const re2::RE2> expect;      ///< nullptr: connecting is enough
  std::optional<TlsOptions> tls;               ///< set when `tls` is true or a mapping
  IpProtocol ip_protocol = IpProtocol::kAuto;  ///< the family a host name resolves to
  IpPolicy ip_policy = IpPolicy::kFirst;       ///< which of the name's addresses to probe
};

/// The validated config of one TCP check. Immutable; thread-safe.
class TcpCheckSpec final : public CheckSpec {
 public:
  explicit TcpCheckSpec(TcpCheckSettings settings);

  const TcpCheckSettings& settings() const { return *settings_; }

  std::unique_ptr<Check> CreateCheck(const CheckContext& context) const override;
  /// "127.0.0.1:25", "[::1]:25", or with "tls://" in front when TLS is on.
  std::string Target() const override;

 private:
  std::shared_ptr<const TcpCheckSettings> settings_;
};

/// Reads a `tcp:` mapping (calls reader.Finish()); nullptr on any error.
std::shared_ptr<const TcpCheckSpec> ParseTcpCheckSpec(config::MapReader& reader);

/// Runs TCP attempts on the loop: the loop's resolver (IoContext::resolver(),
/// host names only), uv_tcp_connect to each address in turn until one accepts,
/// TLS handshake if configured, write `send`, read until `expect` matches, the
/// peer closes, or 64 KiB arrived. With ip_policy all, every address gets
/// that whole dialogue in turn and the results are combined
/// (CombineAddressResults: the worst counts, failing addresses named). The check has no timer of
/// its own; the scheduler's hard timeout cancels it. Each attempt is a
/// ConnectionAttempt (checks/common/connection_attempt.h, an Attempt of
/// checks/common/attempt.h), so Cancel() and the destructor return at once
/// while a lookup runs or a handle is still closing. Loop-thread only; not
/// thread-safe.
class TcpCheck final : public AsyncCheck {
 public:
  TcpCheck(IoContext& io, std::shared_ptr<const TcpCheckSettings> settings);
  TcpCheck(const TcpCheck&) = delete;
  TcpCheck& operator=(const TcpCheck&) = delete;

  /// Most received bytes an attempt keeps before giving up on `expect`.
  static constexpr size_t kMaxReceiveBytes = 64 * 1024;

 private:
  class TcpAttempt;

  std::unique_ptr<Attempt> NewAttempt() override;

  IoContext& io_;
  std::shared_ptr<const TcpCheckSettings> settings_;
  /// Built on the first TLS attempt and reused: loading CA files is slow.
  std::shared_ptr<const TlsClientContext> tls_context_;
};

/// The `tcp` check type, for the registry.
CheckType TcpCheckType();

}  // namespace hx
