#pragma once
// The per-check key `ip_protocol: ip4 | ip6 | auto` of every type that
// resolves a host name (http, tcp, redis, postgres, dns, icmp, grpc, tls).
// Pure functions; thread-safe.

#include <string_view>

#include "config/parse_context.h"
#include "io/resolver.h"

namespace hx {

/// Reads the optional `ip_protocol` key of `reader`: "ip4", "ip6" or "auto"
/// (IPv6 preferred, IPv4 as fallback, like blackbox's preferred_ip_protocol
/// with fallback). Absent: auto. A bad value is reported at the key and
/// gives auto.
IpProtocol ReadIpProtocol(config::MapReader& reader);

}  // namespace hx
