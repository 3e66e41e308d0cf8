#pragma once
// The `dns:` check type: one query to one DNS server, judged by its rcode and
// its answers (docs/checks/dns.md).
//
//   dns:
//     name: api.internal            # the name asked for (PTR: an IP works too)
//     type: A                       # A AAAA CNAME MX TXT NS SRV SOA PTR CAA
//     server: "127.0.0.1:5353"      # IP[:port] or [v6]:port; default: the system's
//     transport: udp                # or tcp
//     recursion_desired: true
//     expect_rcode: NOERROR         # or a list; default NOERROR
//     expect_answers: ['^10\.1\.']  # every answer must match one of these
//     fail_if_answer_matches: []    # no answer may match any of these
//     min_answers: 1                # default 1 when NOERROR is expected, else 0
//     query_timeout: 2s             # default: the check's timeout less <= 100ms
//
// The query goes through the daemon's one resolver (io/resolver.h: c-ares on
// the loop), so a server that never answers costs a pending query and a
// timer, never a thread. Degraded on slow answers comes from the scheduler's
// degraded_latency, as for every type.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "checks/check.h"
#include "checks/common/attempt.h"
#include "checks/dns/dns_answer.h"

namespace re2 {
class RE2;
}

namespace hx {

/// The parsed `dns:` mapping. Plain data; immutable once parsed, safe to share.
struct DnsCheckSettings {
  std::string name;        ///< as written, for details ("api.internal")
  std::string query_name;  ///< as sent: `name`, or a PTR's reverse name
  dns::RecordType type = dns::RecordType::kA;
  std::string server_address;  ///< IP literal without brackets; "" = the system's
  uint16_t server_port = 53;
  bool tcp = false;
  bool recursion_desired = true;
  std::vector<int> expect_rcodes = {0};  ///< any of these is fine
  std::vector<std::shared_ptr<const re2::RE2>> expect_answers;
  std::vector<std::shared_ptr<const re2::RE2>> fail_if_answer_matches;
  int min_answers = 1;
  /// How long the resolver waits for the response (one try). The parser
  /// always sets it: unless given, the check's timeout less a tenth of it
  /// (at most 100ms), so a silent server reads "no answer within 1.9s".
  /// Unset (settings built by hand): the resolver gives up after 10s.
  std::optional<std::chrono::milliseconds> query_timeout;

  /// "127.0.0.1:5353", "[::1]:53", or "the system's DNS server".
  std::string ServerText() const;
};

/// What one response means for the check: the health, the detail and the
/// observations (rcode, answer count, TTL of the first answer). Pure; used by
/// DnsCheck and by tests and the fuzzer on responses built by hand.
CheckResult JudgeDnsResponse(const DnsCheckSettings& settings, const unsigned char* message,
                             size_t size, uint64_t duration_ns);

/// The validated config of one DNS check. Immutable; thread-safe.
class DnsCheckSpec final : public CheckSpec {
 public:
  explicit DnsCheckSpec(DnsCheckSettings settings);

  const DnsCheckSettings& settings() const { return *settings_; }

  std::unique_ptr<Check> CreateCheck(const CheckContext& context) const override;
  /// "A api.internal @127.0.0.1:5353", "MX example.org @system" (+ " tcp").
  std::string Target() const override;

 private:
  std::shared_ptr<const DnsCheckSettings> settings_;
};

/// Reads a `dns:` mapping (calls reader.Finish()); nullptr on any error.
std::shared_ptr<const DnsCheckSpec> ParseDnsCheckSpec(config::MapReader& reader);

/// Runs DNS attempts: one Resolver::Query() each, judged by
/// JudgeDnsResponse(). Loop-thread only; not thread-safe.
class DnsCheck final : public AsyncCheck {
 public:
  DnsCheck(IoContext& io, std::shared_ptr<const DnsCheckSettings> settings);

 private:
  class DnsAttempt;
  std::unique_ptr<Attempt> NewAttempt() override;

  IoContext& io_;
  std::shared_ptr<const DnsCheckSettings> settings_;
};

/// The `dns` check type, for the registry.
CheckType DnsCheckType();

}  // namespace hx
