#pragma once
// Escaping shared by the two text formats (Prometheus text 0.0.4 and
// OpenMetrics text 1.0.0). Both append to a caller's string: writers build one
// exposition in one buffer, without iostreams.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "exposition/exposition.h"

namespace hx::metrics {

/// Appends a label value with the escaping both text formats require:
/// backslash, double quote and line feed become \\, \" and \n.
void AppendEscapedLabelValue(std::string& out, std::string_view value);

/// Appends a HELP text. Text 0.0.4 escapes only backslash and line feed (a
/// quote stays as it is); OpenMetrics escapes quotes too (`escape_quotes`).
void AppendEscapedHelp(std::string& out, std::string_view help, bool escape_quotes);

/// Appends `value` and a line feed (a sample's value in both text formats).
void AppendNumberLine(std::string& out, double value);
void AppendNumberLine(std::string& out, uint64_t value);

/// Appends `"} count`, closing a bucket line's le label, and a line feed if
/// `newline` (OpenMetrics may put an exemplar after the count).
void AppendBucketEnd(std::string& out, uint64_t count, bool newline = true);

/// Appends a sample's name and labels up to its value, as both text formats
/// write them: `name` `suffix` `{labels,extra="v"} ` (no braces without
/// labels), e.g. `health_check_runs_total{check="db",result="healthy"} `.
void AppendSampleHead(std::string& out, std::string_view name, std::string_view suffix,
                      const LabelSet& labels, ExtraLabel extra);

/// The "le" values of a histogram's classic bounds, formatted once and
/// reused while the following histograms have the same bounds (in a store
/// they nearly all do: one duration_buckets list), so that a scrape formats
/// 11 numbers instead of 11 per check.
///
/// Thread-safety: not thread-safe; one per writer.
class BoundsCache {
 public:
  using Formatter = void (*)(std::string& out, double value);
  explicit BoundsCache(Formatter format) : format_(format) {}

  /// Formats `bounds` unless they are (bitwise) the ones formatted last.
  void Update(std::span<const double> bounds);
  /// The formatted bound `i` of the last Update().
  std::string_view le(size_t i) const {
    return std::string_view(text_).substr(ends_[i] - lengths_[i], lengths_[i]);
  }

 private:
  Formatter format_;
  std::vector<double> bounds_;
  std::string text_;
  std::vector<uint32_t> ends_;
  std::vector<uint32_t> lengths_;
};

}  // namespace hx::metrics
