// Fuzzes the Nagios plugin output reader (checks/perfdata.h): the input is a
// plugin's whole output. Every promise of the header is checked: items are
// bounded in number and label size, labels are unique, non-empty valid UTF-8,
// values finite; ShortenForDetail gives one clean line within its budget.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "checks/exec/perfdata.h"
#include "fuzz_check.h"

namespace {

// An independent UTF-8 validator (RFC 3629), so the parser's own is not
// checked against itself.
bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    uint32_t cp = 0;
    size_t length = 0;
    if (b < 0x80) {
      ++i;
      continue;
    } else if ((b & 0xE0) == 0xC0) {
      cp = b & 0x1F;
      length = 2;
    } else if ((b & 0xF0) == 0xE0) {
      cp = b & 0x0F;
      length = 3;
    } else if ((b & 0xF8) == 0xF0) {
      cp = b & 0x07;
      length = 4;
    } else {
      return false;
    }
    if (i + length > s.size()) return false;
    for (size_t k = 1; k < length; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    const uint32_t min_for_length[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_length[length] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += length;
  }
  return true;
}

void CheckItems(const std::vector<hx::PerfDataItem>& items) {
  HX_FUZZ_CHECK(items.size() <= hx::kMaxPerfDataItems);
  std::set<std::string> labels;
  for (const auto& item : items) {
    HX_FUZZ_CHECK(!item.label.empty());
    HX_FUZZ_CHECK(item.label.size() <= hx::kMaxPerfDataLabelBytes);
    HX_FUZZ_CHECK(IsValidUtf8(item.label));
    HX_FUZZ_CHECK(labels.insert(item.label).second);
    HX_FUZZ_CHECK(std::isfinite(item.value));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const hx::PluginOutput output = hx::ParsePluginOutput(text);
  CheckItems(output.perfdata);
  HX_FUZZ_CHECK(output.summary.find('\n') == std::string::npos);
  HX_FUZZ_CHECK(output.summary.find('|') == std::string::npos);
  CheckItems(hx::ParsePerfData(text));

  // The first byte picks the budget, so short budgets (below the ellipsis)
  // are exercised too.
  const size_t max_bytes = size > 0 ? data[0] : 0;
  const std::string detail = hx::ShortenForDetail(text, max_bytes);
  HX_FUZZ_CHECK(IsValidUtf8(detail));
  HX_FUZZ_CHECK(detail.size() <= std::max<size_t>(max_bytes, 3));
  for (char c : detail) {
    const auto byte = static_cast<unsigned char>(c);
    HX_FUZZ_CHECK(byte >= 0x20 && byte != 0x7f);
  }
  HX_FUZZ_CHECK(detail.empty() || (detail.front() != ' ' && detail.back() != ' '));
  return 0;
}
