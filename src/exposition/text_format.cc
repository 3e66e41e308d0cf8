#include "exposition/text_format.h"

#include <cstring>

#include "exposition/number_format.h"

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

void BoundsCache::Update(std::span<const double> bounds) {
  if (bounds.size() == bounds_.size() &&
      (bounds.empty() || std::memcmp(bounds.data(), bounds_.data(), bounds.size_bytes()) == 0)) {
    return;
  }
  bounds_.assign(bounds.begin(), bounds.end());
  text_.clear();
  ends_.clear();
  lengths_.clear();
  for (double bound : bounds) {
    const size_t start = text_.size();
    format_(text_, bound);
    ends_.push_back(static_cast<uint32_t>(text_.size()));
    lengths_.push_back(static_cast<uint32_t>(text_.size() - start));
  }
}

void AppendSampleHead(std::string& out, std::string_view name, std::string_view suffix,
                      const LabelSet& labels, ExtraLabel extra) {
  out.append(name);
  if (!suffix.empty()) out.append(suffix);
  if (labels.empty() && extra.name.empty()) {
    out.push_back(' ');
    return;
  }
  out.push_back('{');
  out.append(labels.text());
  if (!extra.name.empty()) {
    if (!labels.empty()) out.push_back(',');
    out.append(extra.name);
    out.append("=\"");
    AppendEscapedLabelValue(out, extra.value);
    out.push_back('"');
  }
  out.append("} ", 2);
}

void AppendNumberLine(std::string& out, double value) {
  char buffer[kMaxNumberChars + 1];
  char* end = FormatDouble(buffer, value);
  *end++ = '\n';
  out.append(buffer, end);
}

void AppendNumberLine(std::string& out, uint64_t value) {
  char buffer[kMaxNumberChars + 1];
  char* end = FormatUint(buffer, value);
  *end++ = '\n';
  out.append(buffer, end);
}

void AppendBucketEnd(std::string& out, uint64_t count, bool newline) {
  char buffer[kMaxNumberChars + 4] = {'"', '}', ' '};
  char* end = FormatUint(buffer + 3, count);
  if (newline) *end++ = '\n';
  out.append(buffer, end);
}

}  // namespace hx::metrics
