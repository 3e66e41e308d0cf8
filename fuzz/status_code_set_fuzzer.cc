// Fuzzes StatusCodeSet (checks/status_code_set.h), the parser of
// `expected_status`: the whole input as one item, and the input split at
// commas as a list. Accepted items must be well-formed ranges whose
// normalised text parses back to the same range.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "checks/common/status_code_set.h"
#include "fuzz_check.h"

namespace {

void CheckRange(const hx::StatusCodeSet::Range& range) {
  HX_FUZZ_CHECK(range.low >= 100 && range.low <= range.high && range.high <= 599);
  const auto again = hx::StatusCodeSet::ParseItem(range.text, nullptr);
  HX_FUZZ_CHECK(again.has_value());
  HX_FUZZ_CHECK(again->low == range.low && again->high == range.high);
  HX_FUZZ_CHECK(again->text == range.text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  std::string error;
  if (const auto range = hx::StatusCodeSet::ParseItem(text, &error)) {
    CheckRange(*range);
  } else {
    HX_FUZZ_CHECK(!error.empty());
  }

  std::vector<std::string> items;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    items.emplace_back(text.substr(start, comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  error.clear();
  if (const auto set = hx::StatusCodeSet::Parse(items, &error)) {
    HX_FUZZ_CHECK(set->ranges().size() == items.size());
    for (const auto& range : set->ranges()) {
      CheckRange(range);
      HX_FUZZ_CHECK(set->Contains(range.low) && set->Contains(range.high));
    }
    HX_FUZZ_CHECK(!set->Contains(99) && !set->Contains(600));
    HX_FUZZ_CHECK(set->ToString().empty() == set->empty());
  } else {
    HX_FUZZ_CHECK(!error.empty());
  }
  return 0;
}
