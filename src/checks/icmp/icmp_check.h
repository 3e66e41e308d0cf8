#pragma once
// The `icmp:` check type: `count` ICMP echo requests per attempt, one every
// `packet_interval`, to one host over IPv4 or IPv6; loss ratio and round-trip
// times (min/avg/max/stddev) judged against thresholds.
//
//   icmp:
//     host: gw.internal          # name or IP literal (v4 or v6)
//     ip_protocol: auto          # ip4 | ip6 | auto (IPv6 first) for a name
//     ip_policy: first           # or all: ping every address of the name at once
//     count: 5                   # 1-100 echo requests per attempt
//     packet_interval: 200ms     # between two requests
//     size: 56                   # payload bytes after the 8-byte ICMP header
//     loss_degraded_above: 0%    # loss ratio above this: degraded
//     loss_unhealthy_above: 50%  # loss ratio above this: unhealthy
//     rtt_degraded_above: 100ms  # average RTT above this: degraded (optional)
//     rtt_unhealthy_above: 500ms # average RTT above this: unhealthy (optional)
//
// Sockets: an unprivileged ICMP datagram socket (SOCK_DGRAM + IPPROTO_ICMP /
// IPPROTO_ICMPV6, allowed when the process's group is inside the sysctl
// net.ipv4.ping_group_range), and only when that is refused a raw socket
// (needs CAP_NET_RAW). See docs/checks/icmp.md.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "checks/check.h"
#include "checks/common/attempt.h"
#include "checks/common/ip_policy.h"
#include "io/resolver.h"
#include "util/duration.h"

namespace hx {

/// The parsed `icmp:` mapping. Plain data; immutable once parsed, safe to share.
struct IcmpCheckSettings {
  std::string host;                            ///< name or IP literal
  IpProtocol ip_protocol = IpProtocol::kAuto;  ///< for a name: which family
  /// first: the name's first address; all: every address, pinged side by
  /// side, the worst counts (its loss and RTT are the ones exported).
  IpPolicy ip_policy = IpPolicy::kFirst;
  int count = 5;
  Duration packet_interval = std::chrono::milliseconds(200);
  int size = 56;  ///< payload bytes
  std::optional<double> loss_degraded_above = 0.0;
  std::optional<double> loss_unhealthy_above = 0.5;
  std::optional<Duration> rtt_degraded_above;
  std::optional<Duration> rtt_unhealthy_above;
  /// How long after it was sent a reply still counts (the same for every
  /// packet, so the last one is not judged more harshly): what the check's
  /// timeout leaves after the last packet, less IcmpReportMargin().
  Duration reply_wait = std::chrono::seconds(1);
};

/// The time an attempt keeps free at the end of the check's timeout to
/// report before the scheduler's hard timeout cancels it: a tenth of the
/// timeout, at most 100ms.
Duration IcmpReportMargin(Duration timeout);

/// An open ICMP socket, or why none could be opened. Plain data; the caller
/// owns (and closes) `fd`.
struct IcmpSocket {
  int fd = -1;         ///< non-blocking, close-on-exec; -1 on failure
  bool raw = false;    ///< a raw socket (the datagram kind was refused)
  int error = 0;       ///< errno of the failure
  std::string reason;  ///< the detail for a failure, e.g. "ICMP sockets not permitted: ..."
};

/// Opens an ICMP socket for `family` (AF_INET or AF_INET6): datagram first,
/// raw when that is refused. Sets the options every attempt relies on:
/// SO_TIMESTAMPNS, IP_RECVERR / IPV6_RECVERR, and on a raw socket a filter
/// that lets only echo replies through. Thread-safe.
IcmpSocket OpenIcmpSocket(int family);

/// The validated config of one ICMP check. Immutable; thread-safe.
class IcmpCheckSpec final : public CheckSpec {
 public:
  explicit IcmpCheckSpec(IcmpCheckSettings settings);

  const IcmpCheckSettings& settings() const { return *settings_; }

  std::unique_ptr<Check> CreateCheck(const CheckContext& context) const override;
  /// The host as configured, e.g. "gw.internal" or "::1".
  std::string Target() const override;

 private:
  std::shared_ptr<const IcmpCheckSettings> settings_;
};

/// Reads an `icmp:` mapping (calls reader.Finish()); nullptr on any error.
std::shared_ptr<const IcmpCheckSpec> ParseIcmpCheckSpec(config::MapReader& reader);

/// Runs ICMP echo attempts on the loop: resolve the host (the loop's c-ares
/// resolver; the first address of `ip_protocol`'s order, or with ip_policy
/// all every address, each with its own socket, all on the same timer), open
/// a socket (OpenIcmpSocket), watch it with uv_poll, send one request at once
/// and the others on a uv_timer, and end when every reply is in or
/// reply_wait after the last request. Replies are matched by sequence number (and, on raw
/// sockets, by identifier and source; a datagram socket's identifier is the
/// kernel's and it only delivers replies to it). Each attempt has its own
/// socket, so a late reply to an earlier attempt never counts. RTTs come from
/// the kernel's receive timestamps (SO_TIMESTAMPNS) when it gives them.
/// Attempts are checks/common/attempt.h's. Loop-thread only; not thread-safe.
class IcmpCheck final : public AsyncCheck {
 public:
  IcmpCheck(IoContext& io, std::shared_ptr<const IcmpCheckSettings> settings);

 private:
  class IcmpAttempt;

  std::unique_ptr<Attempt> NewAttempt() override;

  IoContext& io_;
  std::shared_ptr<const IcmpCheckSettings> settings_;
  uint16_t next_identifier_;  // raw sockets: a new echo identifier per attempt
};

/// The `icmp` check type, for the registry.
CheckType IcmpCheckType();

}  // namespace hx
