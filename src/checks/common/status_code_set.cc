#include "checks/common/status_code_set.h"

#include "util/ascii.h"

namespace hx {

namespace {

constexpr int kMinCode = 100;
constexpr int kMaxCode = 599;

int ToInt(std::string_view digits) {
  int v = 0;
  for (char c : digits) v = v * 10 + (c - '0');
  return v;
}

void SetError(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
}

std::string InvalidMessage(std::string_view text) {
  return "invalid status code \"" + std::string(text) + "\" (use e.g. 200, 2xx or 200-299)";
}

// Parses one code of a code or range.
std::optional<int> ParseCode(std::string_view digits, std::string_view whole, std::string* error) {
  if (digits.size() > 3 || !IsAsciiDigits(digits)) {
    SetError(error, InvalidMessage(whole));
    return std::nullopt;
  }
  const int code = ToInt(digits);
  if (code < kMinCode || code > kMaxCode) {
    SetError(error, "status code " + std::to_string(code) + " is out of range 100-599");
    return std::nullopt;
  }
  return code;
}

}  // namespace

std::optional<StatusCodeSet::Range> StatusCodeSet::ParseItem(std::string_view text,
                                                             std::string* error) {
  const std::string_view item = TrimSpace(text);
  if (item.size() == 3 && (item[1] == 'x' || item[1] == 'X') &&
      (item[2] == 'x' || item[2] == 'X')) {
    const char cls = item[0];
    if (cls < '1' || cls > '5') {
      SetError(error, InvalidMessage(item));
      return std::nullopt;
    }
    const int base = (cls - '0') * 100;
    return Range{base, base + 99, std::string(1, cls) + "xx"};
  }
  const size_t dash = item.find('-');
  if (dash == std::string_view::npos) {
    auto code = ParseCode(item, item, error);
    if (!code) return std::nullopt;
    return Range{*code, *code, std::to_string(*code)};
  }
  auto low = ParseCode(TrimSpace(item.substr(0, dash)), item, error);
  if (!low) return std::nullopt;
  auto high = ParseCode(TrimSpace(item.substr(dash + 1)), item, error);
  if (!high) return std::nullopt;
  const std::string normalised = std::to_string(*low) + "-" + std::to_string(*high);
  if (*low > *high) {
    SetError(error, "status code range " + normalised + " is empty (low end above high end)");
    return std::nullopt;
  }
  return Range{*low, *high, normalised};
}

std::optional<StatusCodeSet> StatusCodeSet::Parse(const std::vector<std::string>& items,
                                                  std::string* error) {
  std::vector<Range> ranges;
  ranges.reserve(items.size());
  for (const auto& item : items) {
    auto range = ParseItem(item, error);
    if (!range) return std::nullopt;
    ranges.push_back(std::move(*range));
  }
  return StatusCodeSet(std::move(ranges));
}

bool StatusCodeSet::Contains(int code) const {
  for (const auto& r : ranges_) {
    if (code >= r.low && code <= r.high) return true;
  }
  return false;
}

std::string StatusCodeSet::ToString() const {
  std::string out;
  for (const auto& r : ranges_) {
    if (!out.empty()) out += ", ";
    out += r.text;
  }
  return out;
}

}  // namespace hx
