#include "metrics/text_format.h"

namespace hx::metrics {

namespace {

// Copies runs of plain bytes at once; only the (rare) special bytes are
// appended one by one.
void AppendEscaped(std::string& out, std::string_view in, bool escape_quotes) {
  size_t plain = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c != '\\' && c != '\n' && (c != '"' || !escape_quotes)) continue;
    out.append(in.data() + plain, i - plain);
    out.push_back('\\');
    out.push_back(c == '\n' ? 'n' : c);
    plain = i + 1;
  }
  out.append(in.data() + plain, in.size() - plain);
}

}  // namespace

void AppendEscapedLabelValue(std::string& out, std::string_view value) {
  AppendEscaped(out, value, /*escape_quotes=*/true);
}

void AppendEscapedHelp(std::string& out, std::string_view help, bool escape_quotes) {
  AppendEscaped(out, help, escape_quotes);
}

}  // namespace hx::metrics
