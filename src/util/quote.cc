#include "util/quote.h"

#include <cstdio>

namespace hx {

std::string QuoteEscaped(std::string_view text, size_t max_chars) {
  std::string out = "\"";
  size_t shown = 0;
  for (const char ch : text) {
    if (shown++ == max_chars) return out + "\"...";
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '\r':
        out += "\\r";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '"':
      case '\\':
        out += '\\';
        out += ch;
        break;
      default:
        if (c >= 0x20 && c < 0x7f) {
          out += ch;
        } else {
          char hex[8];
          std::snprintf(hex, sizeof(hex), "\\x%02x", c);
          out += hex;
        }
    }
  }
  return out + "\"";
}

}  // namespace hx
