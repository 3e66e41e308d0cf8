#include "util/duration.h"

#include <charconv>
#include <cmath>
#include <limits>

namespace hx {
namespace {

using std::chrono::duration_cast;

struct DurationUnit {
  std::string_view suffix;
  int64_t nanos;
};

constexpr int64_t kMillisecond = 1'000'000;
constexpr int64_t kSecond = 1000 * kMillisecond;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kWeek = 7 * kDay;
constexpr int64_t kYear = 365 * kDay;  // Prometheus' year: no leap days.

// Descending, as the groups must appear in a duration.
constexpr DurationUnit kDurationUnits[] = {
    {"y", kYear},   {"w", kWeek},   {"d", kDay},          {"h", kHour},
    {"m", kMinute}, {"s", kSecond}, {"ms", kMillisecond},
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Quotes user text for a message; control characters would garble a terminal.
std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\') {
      static constexpr char kHex[] = "0123456789abcdef";
      if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else {
        out += "\\x";
        out += kHex[(c >> 4) & 0xf];
        out += kHex[c & 0xf];
      }
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

void SetError(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
}

// Reads the leading run of digits of `text` as an unsigned integer. Returns
// false when there are no digits or the value does not fit.
bool ConsumeUnsigned(std::string_view& text, uint64_t* value, bool* overflow) {
  size_t digits = 0;
  while (digits < text.size() && IsDigit(text[digits])) ++digits;
  if (digits == 0) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + digits, *value);
  (void)ptr;
  if (ec == std::errc::result_out_of_range) {
    *overflow = true;
    return false;
  }
  text.remove_prefix(digits);
  return ec == std::errc();
}

std::string InvalidDuration(std::string_view text) {
  return "not a valid duration " + Quote(text) + " (use e.g. 500ms, 10s, 1m30s)";
}

}  // namespace

std::optional<Duration> ParseDuration(std::string_view text, std::string* error) {
  if (text == "0") return Duration::zero();
  std::string_view rest = text;
  size_t next_unit = 0;  // index into kDurationUnits of the smallest unit still allowed
  int64_t total = 0;
  bool overflow = false;
  if (rest.empty()) {
    SetError(error, InvalidDuration(text));
    return std::nullopt;
  }
  while (!rest.empty()) {
    uint64_t count = 0;
    if (!ConsumeUnsigned(rest, &count, &overflow)) break;
    // "m" is a prefix of "ms": try the longest suffix first.
    constexpr size_t kNoUnit = std::size(kDurationUnits);
    size_t unit = kNoUnit;
    for (size_t i = 0; i < std::size(kDurationUnits); ++i) {
      const std::string_view suffix = kDurationUnits[i].suffix;
      if (rest.starts_with(suffix) &&
          (unit == kNoUnit || suffix.size() > kDurationUnits[unit].suffix.size())) {
        unit = i;
      }
    }
    if (unit == kNoUnit || unit < next_unit) {
      SetError(error, InvalidDuration(text));
      return std::nullopt;
    }
    rest.remove_prefix(kDurationUnits[unit].suffix.size());
    next_unit = unit + 1;
    const int64_t per = kDurationUnits[unit].nanos;
    if (count > static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / per)) {
      overflow = true;
      break;
    }
    const int64_t part = static_cast<int64_t>(count) * per;
    if (total > std::numeric_limits<int64_t>::max() - part) {
      overflow = true;
      break;
    }
    total += part;
  }
  if (overflow) {
    SetError(error, "duration " + Quote(text) + " is too long (at most 292y)");
    return std::nullopt;
  }
  if (!rest.empty()) {
    SetError(error, InvalidDuration(text));
    return std::nullopt;
  }
  return Duration(total);
}

std::string FormatDuration(Duration d) {
  int64_t ns = d.count();
  if (ns == 0) return "0s";
  if (ns < 0) {
    // -min would overflow on negation; it is ~292 years, precision is moot.
    if (ns == std::numeric_limits<int64_t>::min()) ++ns;
    return "-" + FormatDuration(Duration(-ns));
  }
  if (ns < kMillisecond) {
    const int64_t us = (ns + 500) / 1000;
    if (us == 0) return std::to_string(ns) + "ns";
    if (us < 1000) return std::to_string(us) + "us";
    return "1ms";
  }
  if (ns < kSecond && ns % kMillisecond != 0) {
    // A measured latency: keep microseconds, e.g. "1.5ms", "12.345ms".
    const int64_t us = (ns + 500) / 1000;
    std::string out = std::to_string(us / 1000);
    int64_t frac = us % 1000;
    if (frac != 0) {
      std::string digits = std::to_string(frac);
      digits.insert(0, 3 - digits.size(), '0');
      while (digits.back() == '0') digits.pop_back();
      out += "." + digits;
    }
    return out + "ms";
  }
  // Whole groups as a user would write them; above a second, sub-millisecond
  // noise is rounded away. Years and weeks only when they divide exactly, so
  // 10d stays "10d" instead of "1w3d".
  int64_t ms = ns / kMillisecond + (ns % kMillisecond >= kMillisecond / 2 ? 1 : 0);
  std::string out;
  for (const DurationUnit& unit : kDurationUnits) {
    const int64_t unit_ms = unit.nanos / kMillisecond;
    const bool exact_only = unit.suffix == "y" || unit.suffix == "w";
    if (exact_only && ms % unit_ms != 0) continue;
    const int64_t count = ms / unit_ms;
    if (count > 0) {
      out += std::to_string(count);
      out += unit.suffix;
      ms -= count * unit_ms;
    }
  }
  return out;
}

std::optional<uint64_t> ParseByteSize(std::string_view text, std::string* error) {
  struct SizeUnit {
    std::string_view suffix;
    uint64_t factor;
  };
  static constexpr SizeUnit kSizeUnits[] = {
      {"", 1},
      {"B", 1},
      {"KB", 1000},
      {"MB", 1000 * 1000},
      {"GB", 1000 * 1000 * 1000},
      {"KiB", uint64_t{1} << 10},
      {"MiB", uint64_t{1} << 20},
      {"GiB", uint64_t{1} << 30},
  };
  const std::string invalid =
      "not a valid byte size " + Quote(text) + " (use e.g. 4096, 64KB, 1MiB)";
  std::string_view rest = text;
  uint64_t count = 0;
  bool overflow = false;
  if (!ConsumeUnsigned(rest, &count, &overflow)) {
    SetError(error, overflow ? "byte size " + Quote(text) + " is too large" : invalid);
    return std::nullopt;
  }
  for (const SizeUnit& unit : kSizeUnits) {
    if (rest != unit.suffix) continue;
    if (count > std::numeric_limits<uint64_t>::max() / unit.factor) {
      SetError(error, "byte size " + Quote(text) + " is too large");
      return std::nullopt;
    }
    return count * unit.factor;
  }
  SetError(error, invalid);
  return std::nullopt;
}

std::optional<double> ParsePercent(std::string_view text, std::string* error) {
  const std::string invalid = "not a valid percentage " + Quote(text) + " (use e.g. 90% or 99.5%)";
  if (text.size() < 2 || text.back() != '%') {
    SetError(error, invalid);
    return std::nullopt;
  }
  std::string_view number = text.substr(0, text.size() - 1);
  // Only plain decimals: from_chars would also take "inf", "1e2" and "-5".
  size_t dots = 0;
  for (char c : number) {
    if (c == '.') {
      ++dots;
    } else if (!IsDigit(c)) {
      dots = 2;
      break;
    }
  }
  if (dots > 1 || !IsDigit(number.front()) || !IsDigit(number.back())) {
    SetError(error, invalid);
    return std::nullopt;
  }
  double value = 0;
  auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc() || ptr != number.data() + number.size() || !std::isfinite(value)) {
    SetError(error, invalid);
    return std::nullopt;
  }
  if (value > 100) {
    SetError(error, "percentage " + Quote(text) + " is above 100%");
    return std::nullopt;
  }
  return value / 100;
}

std::string FormatMillis(uint64_t nanos) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1fms", static_cast<double>(nanos) / 1e6);
  return buf;
}

}  // namespace hx
