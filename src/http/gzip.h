#pragma once
// gzip content coding for HTTP responses. Pure functions; thread-safe.

#include <optional>
#include <string>
#include <string_view>

namespace hx {

/// Whether an Accept-Encoding header value allows gzip: "gzip" (or "*") is
/// listed without q=0. Tokens are case-insensitive, e.g.
/// "gzip, deflate, br" -> true, "gzip;q=0" -> false, "identity" -> false.
bool AcceptsGzip(std::string_view accept_encoding);

/// `data` compressed as a gzip stream (RFC 1952), or nullopt if zlib fails.
std::optional<std::string> GzipCompress(std::string_view data);

/// The inverse, for tests and tools; nullopt on malformed input.
std::optional<std::string> GzipDecompress(std::string_view data);

}  // namespace hx
