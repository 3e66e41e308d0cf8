#pragma once
// Reading the output of a Nagios / monitoring-plugins plugin: the status text
// of its first line and its performance data.
//
// Output format (monitoring-plugins development guidelines):
//
//   TEXT OUTPUT | PERFDATA
//   LONG TEXT LINE 1
//   LONG TEXT LINE 2 | PERFDATA LINE 2
//   PERFDATA LINE 3
//
// i.e. perfdata follows '|' on the first line, and everything after the
// first '|' of the remaining lines is perfdata too. Each perfdata item is
//
//   'label with spaces'=value[UOM];warn;crit;min;max
//
// separated by whitespace; a quote inside a quoted label is written ''.
// Only the label, the value and its unit are used; warn/crit/min/max are the
// plugin's own thresholds and are ignored.
//
// Units are converted to base units: s, ms, us, ns -> seconds; B, KB, MB, GB,
// TB (and KiB...TiB) -> bytes with powers of 1024, as check_disk's "MB" and
// the graphing tools (PNP4Nagios, Icinga) read them; % stays a percentage
// (0-100); c (counter) and no unit stay as they are. An unknown unit keeps the
// number as written (PerfUnit::kOther).
//
// All functions are pure and thread-safe. None of them throws or crashes on
// arbitrary bytes: malformed items are skipped.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace hx {

/// What a perfdata value measures after conversion to base units.
enum class PerfUnit {
  kNone,     ///< a plain number (users, processes, load)
  kSeconds,  ///< from s, ms, us, ns
  kPercent,  ///< from %, still 0-100
  kBytes,    ///< from B, KB, MB, GB, TB (1024-based)
  kCounter,  ///< from c: a continuous counter
  kOther,    ///< an unknown unit; the value is unconverted
};

/// One perfdata item.
struct PerfDataItem {
  std::string label;  ///< unquoted, '' unescaped, valid UTF-8
  double value = 0;   ///< in base units (see PerfUnit); always finite
  PerfUnit unit = PerfUnit::kNone;
};

/// A plugin's output split into status text and perfdata.
struct PluginOutput {
  /// The first line's text before '|', trimmed; raw bytes (may be long and
  /// need not be valid UTF-8: pass it through ShortenForDetail()).
  std::string summary;
  std::vector<PerfDataItem> perfdata;
};

/// Most perfdata items kept from one output; the rest are dropped so a
/// runaway plugin cannot create unbounded metric series.
inline constexpr size_t kMaxPerfDataItems = 64;
/// Longest label kept, in bytes; longer items are skipped.
inline constexpr size_t kMaxPerfDataLabelBytes = 128;

/// Parses whitespace-separated perfdata items. Skips items that are
/// malformed, have an empty label or value, the value "U" (unknown), a value
/// that is not a finite number, or a label already seen (the first wins).
/// Stops at an unterminated quoted label and after kMaxPerfDataItems items.
std::vector<PerfDataItem> ParsePerfData(std::string_view text);

/// Splits a plugin's whole output (see the format above).
PluginOutput ParsePluginOutput(std::string_view output);

/// Makes `text` fit for a one-line detail: invalid UTF-8 bytes become '?',
/// control characters become spaces, whitespace is trimmed, and text longer
/// than `max_bytes` is cut at a character boundary and ends with "...".
std::string ShortenForDetail(std::string_view text, size_t max_bytes);

}  // namespace hx
