#pragma once
// Quoting text for messages and details: the one place that decides how text
// a user did not write (server replies, query values, received bytes) is
// shown. Thread-safe (pure functions).

#include <cstddef>
#include <string>
#include <string_view>

namespace hx {

/// `"text"`, as it is: for text that is already safe to show (paths, names,
/// patterns the user wrote, sanitised server text).
inline std::string Quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

/// Text from outside (a server's reply, a query's value, received bytes),
/// quoted so that it reads on one line and cannot forge anything around it:
/// `"` and `\` are escaped, CR, LF and TAB become \r \n \t, other bytes
/// below 0x20 and from 0x7f up become \xNN. At most `max_chars` bytes of
/// `text` are shown; a longer text ends in `"...` after them.
std::string QuoteEscaped(std::string_view text, size_t max_chars = 64);

}  // namespace hx
