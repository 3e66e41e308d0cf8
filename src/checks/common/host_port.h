#pragma once
// The one parser of "host:port" addresses, for every type whose target is a
// host and a port (tcp, tls, grpc, redis). Pure function; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace hx {

/// Splits "host:port" or "[v6]:port" (port 1-65535). On failure returns
/// nullopt and sets *error, e.g. "port must be a number from 1 to 65535".
std::optional<std::pair<std::string, uint16_t>> SplitHostPort(std::string_view address,
                                                              std::string* error);

}  // namespace hx
