#include "metrics/number_format.h"

#include <charconv>
#include <cmath>
#include <cstring>

namespace hx::metrics {

namespace {

// Returns true (and appends) for NaN and the infinities.
bool AppendNonFinite(std::string& out, double value) {
  if (std::isnan(value)) {
    out.append("NaN");
    return true;
  }
  if (std::isinf(value)) {
    out.append(value < 0 ? "-Inf" : "+Inf");
    return true;
  }
  return false;
}

// Integral values below 2^53 print the same under "%.16g" as the integer
// itself (at most 16 digits, so never in exponent form); most samples are
// such (counts, 0/1 gauges, status codes), and integer conversion is several
// times cheaper than the general one. -0 is left to the general path ("-0").
constexpr double kExactIntegerLimit = 9007199254740992.0;  // 2^53

}  // namespace

void AppendDouble(std::string& out, double value) {
  if (AppendNonFinite(out, value)) return;
  char buffer[32];
  std::to_chars_result result;
  if (std::fabs(value) < kExactIntegerLimit && value == std::trunc(value) &&
      !(value == 0 && std::signbit(value))) {
    result = std::to_chars(buffer, buffer + sizeof buffer, static_cast<int64_t>(value));
  } else {
    result = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::general, 16);
  }
  out.append(buffer, result.ptr);
}

void AppendUint(std::string& out, uint64_t value) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, result.ptr);
}

void AppendCanonicalDouble(std::string& out, double value) {
  if (AppendNonFinite(out, value)) return;
  // Shortest round-trip digits in exponent form ("1.5e-05", "1e+06"). Go's
  // %g with shortest precision keeps that form when the exponent is below -4
  // or at least 6, and lays the digits out in fixed notation otherwise.
  char sci[32];
  const auto sci_end = std::to_chars(sci, sci + sizeof sci, value, std::chars_format::scientific);
  const char* e = static_cast<const char*>(std::memchr(sci, 'e', sci_end.ptr - sci));
  int exponent = 0;
  std::from_chars(e + (e[1] == '+' ? 2 : 1), sci_end.ptr, exponent);
  if (exponent < -4 || exponent >= 6) {
    // to_chars writes at least two exponent digits, as Go does.
    out.append(sci, sci_end.ptr);
    return;
  }
  char fixed[32];
  const auto fixed_end =
      std::to_chars(fixed, fixed + sizeof fixed, value, std::chars_format::fixed);
  out.append(fixed, fixed_end.ptr);
  if (std::memchr(fixed, '.', fixed_end.ptr - fixed) == nullptr) out.append(".0");
}

}  // namespace hx::metrics
