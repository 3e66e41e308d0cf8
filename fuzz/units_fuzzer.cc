// Fuzzes the config units of util/duration.h: ParseDuration, ParseByteSize
// and ParsePercent get the whole input; whatever they accept must satisfy
// what the header promises and survive a round trip through its own format.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "util/duration.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  std::string error;
  if (const auto duration = hx::ParseDuration(text, &error)) {
    HX_FUZZ_CHECK(duration->count() >= 0);
    // Parsed durations are whole milliseconds, which FormatDuration keeps
    // exactly, so the text it prints must read back to the same value.
    const std::string formatted = hx::FormatDuration(*duration);
    std::string again_error;
    const auto again = hx::ParseDuration(formatted, &again_error);
    HX_FUZZ_CHECK(again.has_value());
    HX_FUZZ_CHECK(*again == *duration);
  } else {
    HX_FUZZ_CHECK(!error.empty());
  }

  error.clear();
  if (const auto bytes = hx::ParseByteSize(text, &error)) {
    const auto again = hx::ParseByteSize(std::to_string(*bytes), nullptr);
    HX_FUZZ_CHECK(again.has_value() && *again == *bytes);
  } else {
    HX_FUZZ_CHECK(!error.empty());
  }

  error.clear();
  if (const auto fraction = hx::ParsePercent(text, &error)) {
    HX_FUZZ_CHECK(*fraction >= 0 && *fraction <= 1);
  } else {
    HX_FUZZ_CHECK(!error.empty());
  }

  // Any nanosecond count, including negative ones, must format without UB.
  if (size >= sizeof(int64_t)) {
    int64_t ns = 0;
    for (size_t i = 0; i < sizeof(int64_t); ++i) ns = (ns << 8) | data[i];
    HX_FUZZ_CHECK(!hx::FormatDuration(hx::Duration(ns)).empty());
  }
  return 0;
}
