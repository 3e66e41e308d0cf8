#pragma once
// The one parser of "host:port" addresses, for every type whose target is a
// host and a port (tcp, tls, grpc, redis). Pure functions; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace hx {

namespace config {
class MapReader;
}

/// A port number: 1-65535 in decimal digits only (no sign, no space, at
/// most 5 digits); nullopt otherwise. Every type's "port must be a number
/// from 1 to 65535".
std::optional<uint16_t> ParsePort(std::string_view text);

/// Splits "host:port" or "[v6]:port" (port 1-65535, ParsePort). On failure returns
/// nullopt and sets *error, e.g. "port must be a number from 1 to 65535".
std::optional<std::pair<std::string, uint16_t>> SplitHostPort(std::string_view address,
                                                              std::string* error);

/// "10.0.0.1:6379", "[::1]:5432": an IP and a port as a result's address
/// shows them (IPv6 in brackets).
std::string HostPortText(std::string_view ip, uint16_t port);

/// Reads the required `address` key of a type's mapping as "host:port" into
/// *host and *port; a missing or malformed one is reported at the key
/// (reader.Error) and leaves both as they were.
void ReadAddressKey(config::MapReader& reader, std::string* host, uint16_t* port);

}  // namespace hx
