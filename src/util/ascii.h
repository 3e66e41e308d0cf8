#pragma once
// ASCII text helpers for protocol text (HTTP header fields, media types,
// DNS names, plugin output): the one copy of trimming, case folding and
// case-insensitive comparison. Locale-independent: only A-Z and a-z are
// letters, other bytes (UTF-8 included) are left as they are. Thread-safe
// (pure functions).

#include <string>
#include <string_view>

namespace hx {

/// `text` without leading and trailing spaces and tabs: HTTP's optional
/// whitespace (RFC 9110 5.6.3) around field values and list elements.
std::string_view TrimOws(std::string_view text);

/// `text` without leading and trailing ASCII whitespace (space, \t, \n, \v,
/// \f, \r).
std::string_view TrimSpace(std::string_view text);

/// `text` with A-Z mapped to a-z.
std::string AsciiLower(std::string_view text);

/// Whether `a` and `b` are equal when A-Z and a-z are not told apart.
bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b);

/// Whether `text` is one or more of 0-9 and nothing else (no sign, no space).
bool IsAsciiDigits(std::string_view text);

}  // namespace hx
