#include "checks/exec/perfdata.h"

#include <charconv>
#include <cmath>
#include <set>
#include <system_error>

#include "util/ascii.h"

namespace hx {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 if the bytes there
// are not one (stray continuation byte, overlong form, surrogate, > U+10FFFF,
// truncated sequence). Metric label values and the JSON of /status must be
// valid UTF-8, and plugins print whatever their locale gives them.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) return 1;
  size_t length = 0;
  unsigned char min_second = 0x80;
  unsigned char max_second = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    if (b0 == 0xE0) min_second = 0xA0;  // overlong
    if (b0 == 0xED) max_second = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    if (b0 == 0xF0) min_second = 0x90;  // overlong
    if (b0 == 0xF4) max_second = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + length > s.size()) return 0;
  if (byte(i + 1) < min_second || byte(i + 1) > max_second) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return length;
}

std::string ValidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t length = Utf8SequenceLength(s, i);
    if (length == 0) {
      out += '?';
      ++i;
    } else {
      out.append(s.substr(i, length));
      i += length;
    }
  }
  return out;
}

struct UnitInfo {
  std::string_view uom;
  PerfUnit unit;
  double factor;
};

constexpr double kKi = 1024.0;
constexpr UnitInfo kUnits[] = {
    {"", PerfUnit::kNone, 1},
    {"s", PerfUnit::kSeconds, 1},
    {"ms", PerfUnit::kSeconds, 1e-3},
    {"us", PerfUnit::kSeconds, 1e-6},
    {"ns", PerfUnit::kSeconds, 1e-9},
    {"%", PerfUnit::kPercent, 1},
    {"B", PerfUnit::kBytes, 1},
    {"KB", PerfUnit::kBytes, kKi},
    {"MB", PerfUnit::kBytes, kKi* kKi},
    {"GB", PerfUnit::kBytes, kKi* kKi* kKi},
    {"TB", PerfUnit::kBytes, kKi* kKi* kKi* kKi},
    {"KiB", PerfUnit::kBytes, kKi},
    {"MiB", PerfUnit::kBytes, kKi* kKi},
    {"GiB", PerfUnit::kBytes, kKi* kKi* kKi},
    {"TiB", PerfUnit::kBytes, kKi* kKi* kKi* kKi},
    {"c", PerfUnit::kCounter, 1},
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Parses "12.5ms" (the part before the first ';') into a value in base units.
// False for "", "U", no digits, or a value that is not finite.
bool ParseValue(std::string_view field, double* value, PerfUnit* unit) {
  size_t i = 0;
  bool negative = false;
  if (i < field.size() && (field[i] == '+' || field[i] == '-')) {
    negative = field[i] == '-';
    ++i;
  }
  const size_t number_start = i;
  size_t digits = 0;
  while (i < field.size() && IsDigit(field[i])) ++i, ++digits;
  if (i < field.size() && field[i] == '.') {
    ++i;
    while (i < field.size() && IsDigit(field[i])) ++i, ++digits;
  }
  if (digits == 0) return false;
  // An exponent only if digits follow, so a unit can never be eaten.
  if (i < field.size() && (field[i] == 'e' || field[i] == 'E')) {
    size_t j = i + 1;
    if (j < field.size() && (field[j] == '+' || field[j] == '-')) ++j;
    if (j < field.size() && IsDigit(field[j])) {
      while (j < field.size() && IsDigit(field[j])) ++j;
      i = j;
    }
  }
  double number = 0;
  const char* first = field.data() + number_start;
  const char* last = field.data() + i;
  // from_chars, unlike strtod, ignores the locale: plugins print '.'.
  const auto [end, ec] = std::from_chars(first, last, number);
  if (ec != std::errc() || end != last) return false;

  const std::string_view uom = field.substr(i);
  // "0,5" or "1.2.3" is a malformed number, not a number with a unit.
  if (uom.find_first_of("0123456789.,+-") != std::string_view::npos) return false;
  const UnitInfo* info = nullptr;
  for (const UnitInfo& candidate : kUnits) {
    if (candidate.uom == uom) info = &candidate;
  }
  *unit = info != nullptr ? info->unit : PerfUnit::kOther;
  number *= info != nullptr ? info->factor : 1;
  if (negative) number = -number;
  if (!std::isfinite(number)) return false;
  *value = number;
  return true;
}

}  // namespace

std::vector<PerfDataItem> ParsePerfData(std::string_view text) {
  std::vector<PerfDataItem> items;
  std::set<std::string, std::less<>> seen;
  size_t i = 0;
  const size_t n = text.size();
  const auto skip_token = [&] {
    while (i < n && !IsSpace(text[i])) ++i;
  };
  while (i < n && items.size() < kMaxPerfDataItems) {
    while (i < n && IsSpace(text[i])) ++i;
    if (i >= n) break;

    std::string label;
    if (text[i] == '\'') {
      ++i;
      bool closed = false;
      while (i < n) {
        if (text[i] == '\'') {
          if (i + 1 < n && text[i + 1] == '\'') {
            label += '\'';
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        label += text[i++];
      }
      // Without the closing quote nothing after it can be split reliably.
      if (!closed) break;
    } else {
      const size_t start = i;
      while (i < n && !IsSpace(text[i]) && text[i] != '=') ++i;
      label = std::string(text.substr(start, i - start));
    }
    if (i >= n || text[i] != '=') {
      skip_token();
      continue;
    }
    ++i;  // '='
    const size_t value_start = i;
    skip_token();
    std::string_view field = text.substr(value_start, i - value_start);
    field = field.substr(0, field.find(';'));

    PerfDataItem item;
    if (label.empty() || label.size() > kMaxPerfDataLabelBytes) continue;
    if (!ParseValue(field, &item.value, &item.unit)) continue;
    item.label = ValidUtf8(label);
    if (!seen.insert(item.label).second) continue;
    items.push_back(std::move(item));
  }
  return items;
}

PluginOutput ParsePluginOutput(std::string_view output) {
  PluginOutput result;
  const size_t newline = output.find('\n');
  const std::string_view first_line = output.substr(0, newline);
  const std::string_view rest =
      newline == std::string_view::npos ? std::string_view() : output.substr(newline + 1);

  const size_t bar = first_line.find('|');
  result.summary = std::string(TrimSpace(first_line.substr(0, bar)));
  std::string perfdata;
  if (bar != std::string_view::npos) perfdata = std::string(first_line.substr(bar + 1));
  // In the long output everything after its first '|' is perfdata, including
  // the following lines.
  if (const size_t rest_bar = rest.find('|'); rest_bar != std::string_view::npos) {
    perfdata += ' ';
    perfdata.append(rest.substr(rest_bar + 1));
  }
  result.perfdata = ParsePerfData(perfdata);
  return result;
}

std::string ShortenForDetail(std::string_view text, size_t max_bytes) {
  std::string clean = ValidUtf8(text);
  for (char& c : clean) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) c = ' ';
  }
  std::string_view trimmed = TrimSpace(clean);
  if (trimmed.size() <= max_bytes) return std::string(trimmed);
  constexpr std::string_view kEllipsis = "...";
  size_t cut = max_bytes > kEllipsis.size() ? max_bytes - kEllipsis.size() : 0;
  // Back up to the start of a character (never split a UTF-8 sequence).
  while (cut > 0 && (static_cast<unsigned char>(trimmed[cut]) & 0xC0) == 0x80) --cut;
  return std::string(TrimSpace(trimmed.substr(0, cut))) + std::string(kEllipsis);
}

}  // namespace hx
