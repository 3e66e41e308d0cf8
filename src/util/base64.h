#pragma once
// Base64 (RFC 4648, standard alphabet, with padding), OpenSSL's: for Basic
// credentials and CSP hashes. Thread-safe (pure functions).

#include <optional>
#include <string>
#include <string_view>

namespace hx {

/// The base64 text of `bytes`.
std::string Base64(std::string_view bytes);

/// The bytes that `text` encodes; nullopt when `text` is empty, not a
/// multiple of four characters, or holds anything but the alphabet and up
/// to two '=' at its end (no whitespace: callers trim). Decoded bytes are
/// often a secret (a Basic credential): no copy of them is left behind in
/// memory this function freed.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace hx
