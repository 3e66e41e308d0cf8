#pragma once
// Escaping shared by the two text formats (Prometheus text 0.0.4 and
// OpenMetrics text 1.0.0). Both append to a caller's string: writers build one
// exposition in one buffer, without iostreams.

#include <string>
#include <string_view>

namespace hx::metrics {

/// Appends a label value with the escaping both text formats require:
/// backslash, double quote and line feed become \\, \" and \n.
void AppendEscapedLabelValue(std::string& out, std::string_view value);

/// Appends a HELP text. Text 0.0.4 escapes only backslash and line feed (a
/// quote stays as it is); OpenMetrics escapes quotes too (`escape_quotes`).
void AppendEscapedHelp(std::string& out, std::string_view help, bool escape_quotes);

}  // namespace hx::metrics
