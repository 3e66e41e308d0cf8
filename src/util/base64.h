#pragma once
// Base64 (RFC 4648, standard alphabet, with padding), OpenSSL's: for Basic
// credentials and CSP hashes. Thread-safe (a pure function).

#include <string>
#include <string_view>

namespace hx {

/// The base64 text of `bytes`.
std::string Base64(std::string_view bytes);

}  // namespace hx
