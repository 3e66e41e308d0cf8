#pragma once
// The per-check key `ip_policy: first | all` of the types that connect to
// every address a name resolves to when asked (tcp, tls, icmp, http, grpc),
// and the one rule for judging a name by all of its addresses: the worst
// address's state counts, and the detail names each address that was not
// healthy ("1 of 2 addresses failed: 127.0.0.2:443: connection refused").
// Pure functions; thread-safe.

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

#include "checks/check.h"
#include "config/parse_context.h"

namespace hx {

/// Which resolved addresses of a name an attempt probes (`ip_policy`).
enum class IpPolicy : uint8_t {
  kFirst,  ///< one: the first that answers, in the resolver's order
  kAll,    ///< every one; the worst result counts, failing ones named
};

/// "first", "all".
const char* IpPolicyName(IpPolicy policy);

/// Reads the optional `ip_policy` key of `reader`: "first" or "all". Absent:
/// first. A bad value is reported at the key (`must be first or all, got
/// "every"`) and gives first.
IpPolicy ReadIpPolicy(config::MapReader& reader);

/// One address's outcome in an `ip_policy: all` attempt.
struct AddressResult {
  sockaddr_storage address;  ///< as resolved; its port is not read
  CheckResult result;
};

/// "127.0.0.1:443", "[::1]:443"; without a port (port 0): "127.0.0.1", "::1".
std::string AddressPortText(const sockaddr_storage& address, uint16_t port);

/// The result of a name probed at each of its addresses (at least one):
/// - health: the worst of them;
/// - detail: all healthy: the first address's detail, with " (all N
///   addresses)" after it when N > 1; otherwise "K of N addresses failed: "
///   (or "degraded: " when none is unhealthy) and, for each address that was
///   not healthy, in order, "ADDRESS: its detail", joined by "; ";
/// - observations: those of the first address with the worst health, so
///   exported figures describe one real address (a type may replace them,
///   e.g. tls takes the earliest certificate expiry of all).
/// - reason, address and body_excerpt: those of the same address (the first
///   with the worst health; its address as AddressPortText when it set none),
///   so the reason always belongs to the state reported; all healthy: none
///   (evidence is kept for failures only).
/// `port` is used for the addresses' text, as AddressPortText.
CheckResult CombineAddressResults(const std::vector<AddressResult>& results, uint16_t port);

/// Replaces the `id` observations of `combined` with the lowest `id` value
/// any address reported (none: removed). For figures where the earliest
/// matters more than the worst address's, e.g. a certificate's expiry.
void UseLowestOfAll(const std::vector<AddressResult>& results, ObservationId id,
                    CheckResult* combined);

}  // namespace hx
