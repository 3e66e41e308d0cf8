#include "exposition/number_format.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

namespace hx::metrics {

namespace {

// Writes NaN and the infinities; nullptr for finite values.
char* NonFinite(char* out, double value) {
  std::string_view text;
  if (std::isnan(value)) {
    text = "NaN";
  } else if (std::isinf(value)) {
    text = value < 0 ? "-Inf" : "+Inf";
  } else {
    return nullptr;
  }
  return std::copy(text.begin(), text.end(), out);
}

// Integral values below 2^53 print the same under "%.16g" as the integer
// itself (at most 16 digits, so never in exponent form); most samples are
// such (counts, 0/1 gauges, status codes), and integer conversion is several
// times cheaper than the general one. -0 is left to the general path ("-0").
constexpr double kExactIntegerLimit = 9007199254740992.0;  // 2^53

// Values with few decimals (durations in seconds, Unix timestamps with
// milliseconds, ratios) are most of the rest. For them "%.16g" prints the
// decimal D = m / 10^k with the fewest decimals k whose distance to the
// exact binary value x is below half a unit of the 16th significant digit:
// x then rounds to D at 16 digits. The distance is x * 10^k - m, exact up to
// one rounding thanks to fma, checked against 0.49 units (the 0.01 margin
// covers that rounding); anything not clearly inside goes to to_chars.
// Returns the end of what was written, or nullptr.
constexpr double kPow10[] = {1e0, 1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,
                             1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17};

char* ShortDecimal(char* out, double value) {
  const double magnitude = std::fabs(value);
  // Outside [1e-4, 1e15) "%.16g" may use exponent form, or D may need more
  // than 15 digits.
  if (!(magnitude >= 1e-4 && magnitude < 1e15)) return nullptr;
  for (int k = 1; k <= 9; ++k) {
    const double scaled = magnitude * kPow10[k];
    if (scaled >= 1e15) return nullptr;
    const double m = std::nearbyint(scaled);
    const double distance = std::fma(magnitude, kPow10[k], -m);  // x*10^k - m, scaled
    if (m < 1) continue;
    // Digits of m (m < 1e15): the first power of ten above it.
    int nd = 1;
    while (nd < 16 && m >= kPow10[nd]) ++nd;
    // Half a unit of the 16th digit of D, scaled by 10^k, is 0.5 * 10^(nd-16).
    // Just below a power of ten (x < D = 10^j) the 16th digit of x is one
    // place further right.
    const int unit_exponent = (m == kPow10[nd - 1] && distance < 0) ? nd - 17 : nd - 16;
    if (std::fabs(distance) >= 0.49 / kPow10[-unit_exponent]) {  // unit_exponent in [-16, -1]
      continue;
    }
    char digits[16];
    char* digits_end = std::to_chars(digits, digits + sizeof digits, static_cast<uint64_t>(m)).ptr;
    if (value < 0) *out++ = '-';
    if (nd > k) {
      out = std::copy(digits, digits + (nd - k), out);
      *out++ = '.';
      out = std::copy(digits + (nd - k), digits_end, out);
    } else {
      *out++ = '0';
      *out++ = '.';
      out = std::fill_n(out, k - nd, '0');
      out = std::copy(digits, digits_end, out);
    }
    while (out[-1] == '0') --out;  // D has no trailing zeros when k is minimal; be sure
    if (out[-1] == '.') --out;
    return out;
  }
  return nullptr;
}

}  // namespace

char* FormatDouble(char* out, double value) {
  if (char* end = NonFinite(out, value)) return end;
  if (std::fabs(value) < kExactIntegerLimit && value == std::trunc(value) &&
      !(value == 0 && std::signbit(value))) {
    return std::to_chars(out, out + kMaxNumberChars, static_cast<int64_t>(value)).ptr;
  }
  if (char* end = ShortDecimal(out, value)) return end;
  return std::to_chars(out, out + kMaxNumberChars, value, std::chars_format::general, 16).ptr;
}

char* FormatUint(char* out, uint64_t value) {
  return std::to_chars(out, out + kMaxNumberChars, value).ptr;
}

void AppendDouble(std::string& out, double value) {
  char buffer[kMaxNumberChars];
  out.append(buffer, FormatDouble(buffer, value));
}

void AppendUint(std::string& out, uint64_t value) {
  char buffer[kMaxNumberChars];
  out.append(buffer, FormatUint(buffer, value));
}

void AppendCanonicalDouble(std::string& out, double value) {
  char special[8];
  if (char* end = NonFinite(special, value)) {
    out.append(special, end);
    return;
  }
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
