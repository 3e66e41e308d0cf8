#include "exposition/number_format.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "support/daemon_process.h"

namespace hx::metrics {
namespace {

std::string Double(double value) {
  std::string out;
  AppendDouble(out, value);
  return out;
}

std::string Canonical(double value) {
  std::string out;
  AppendCanonicalDouble(out, value);
  return out;
}

std::string Printf16g(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.16g", value);
  return buffer;
}

TEST(NumberFormatTest, ValuesAsPrometheusCppPrintsThem) {
  // Read off prometheus-cpp 1.0.1's TextSerializer on this machine.
  EXPECT_EQ(Double(0), "0");
  EXPECT_EQ(Double(1), "1");
  EXPECT_EQ(Double(5), "5");
  EXPECT_EQ(Double(0.5), "0.5");
  EXPECT_EQ(Double(0.1 + 0.2), "0.3");
  EXPECT_EQ(Double(1e21), "1e+21");
  EXPECT_EQ(Double(1234567), "1234567");
  EXPECT_EQ(Double(1700000000.0), "1700000000");
  EXPECT_EQ(Double(1700000000.123), "1700000000.123");
  EXPECT_EQ(Double(1e-7), "1e-07");
  EXPECT_EQ(Double(2.5e-5), "2.5e-05");
  EXPECT_EQ(Double(-0.0), "-0");
  EXPECT_EQ(Double(-3), "-3");
  EXPECT_EQ(Double(1e15), "1000000000000000");
  EXPECT_EQ(Double(1e16), "1e+16");
  EXPECT_EQ(Double(123456789012345678.0), "1.234567890123457e+17");
  EXPECT_EQ(Double(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(Double(-std::numeric_limits<double>::infinity()), "-Inf");
  // The one deliberate difference: prometheus-cpp writes "Nan".
  EXPECT_EQ(Double(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(NumberFormatTest, AgreesWithPrintfOnMillionsOfValues) {
  std::mt19937_64 random(42);
  std::uniform_real_distribution<double> unit(0, 1);
  std::vector<double> values = {std::numeric_limits<double>::min(),
                                std::numeric_limits<double>::max(),
                                std::numeric_limits<double>::denorm_min(),
                                9007199254740992.0,
                                9007199254740993.0,
                                -9007199254740992.0,
                                999999999999999.9,
                                9999999999999998.0,
                                0.1,
                                1e-300};
  for (int i = 0; i < 100000; ++i) {
    uint64_t bits = random();
    double any;
    std::memcpy(&any, &bits, sizeof any);
    if (std::isfinite(any)) values.push_back(any);
    values.push_back(std::round(unit(random) * 1e6));        // counts
    values.push_back(std::round(unit(random) * 1e6) / 1e3);  // milliseconds as seconds
    values.push_back(unit(random) * std::pow(10.0, static_cast<int>(random() % 40) - 20));
    // Few decimals at every magnitude (the short-decimal fast path), and
    // their neighbours one ulp away (which must not take it wrongly).
    const int decimals = 1 + static_cast<int>(random() % 9);
    const double digits = std::round(unit(random) * std::pow(10.0, 1 + random() % 15));
    const double few = digits / std::pow(10.0, decimals);
    values.push_back(few);
    values.push_back(std::nextafter(few, 0.0));
    values.push_back(std::nextafter(few, 1e300));
    values.push_back(1764900000 + std::round(unit(random) * 1000) / 1000);  // timestamps
  }
  for (int p = -5; p <= 16; ++p) {  // around powers of ten
    const double power = std::pow(10.0, p);
    values.push_back(power);
    values.push_back(std::nextafter(power, 0.0));
    values.push_back(std::nextafter(power, 1e300));
  }
  for (double value : values) {
    ASSERT_EQ(Double(value), Printf16g(value)) << "bits of " << value;
    ASSERT_EQ(Double(-value), Printf16g(-value));
  }
}

TEST(NumberFormatTest, IgnoresTheLocale) {
  // A decimal-comma locale, compiled into a temporary directory (the image
  // has only C and POSIX): printf and iostreams would write "0,5" under it.
  TempDir dir;
  auto localedef =
      RunCommand({"localedef", "-i", "de_DE", "-f", "UTF-8", dir.path() + "/de_DE.UTF-8"});
  ASSERT_EQ(localedef.exit_code, 0) << localedef.output;
  ASSERT_EQ(setenv("LOCPATH", dir.path().c_str(), 1), 0);
  ASSERT_NE(std::setlocale(LC_NUMERIC, "de_DE.UTF-8"), nullptr);
  char printf_output[16];
  std::snprintf(printf_output, sizeof printf_output, "%.16g", 0.5);
  const std::string double_output = Double(0.5);
  const std::string canonical_output = Canonical(2.5);
  std::setlocale(LC_NUMERIC, "C");
  unsetenv("LOCPATH");
  EXPECT_STREQ(printf_output, "0,5");  // the locale took effect
  EXPECT_EQ(double_output, "0.5");
  EXPECT_EQ(canonical_output, "2.5");
}

TEST(NumberFormatTest, Uints) {
  std::string out;
  AppendUint(out, 0);
  out.push_back(' ');
  AppendUint(out, 18446744073709551615u);
  EXPECT_EQ(out, "0 18446744073709551615");
}

TEST(NumberFormatTest, CanonicalNumbersFollowTheOpenMetricsExamples) {
  // OpenMetrics 1.0, "Considerations: Canonical Numbers".
  const std::vector<std::pair<double, std::string>> examples = {
      {0.0, "0.0"},
      {0.001, "0.001"},
      {0.002, "0.002"},
      {0.01, "0.01"},
      {0.1, "0.1"},
      {0.9, "0.9"},
      {0.95, "0.95"},
      {0.99, "0.99"},
      {0.999, "0.999"},
      {1.0, "1.0"},
      {1.7, "1.7"},
      {10.0, "10.0"},
      {1e-10, "1e-10"},
      {1e-9, "1e-09"},
      {1e-5, "1e-05"},
      {0.0001, "0.0001"},
      {100000, "100000.0"},
      {1e6, "1e+06"},
      {1e10, "1e+10"},
      {2.5, "2.5"},
      {0.005, "0.005"},
      {0.025, "0.025"},
      {1234567, "1.234567e+06"},
      {-1, "-1.0"},
      {0.1 + 0.2, "0.30000000000000004"},
      {std::numeric_limits<double>::infinity(), "+Inf"},
      {-std::numeric_limits<double>::infinity(), "-Inf"},
      {std::numeric_limits<double>::quiet_NaN(), "NaN"}};
  for (const auto& [value, text] : examples) EXPECT_EQ(Canonical(value), text) << value;
  // 0.0 up to 10.0 in 0.001 steps: the shortest decimal, always with a point.
  for (int i = 0; i <= 10000; ++i) {
    const double value = i / 1000.0;
    const std::string text = Canonical(value);
    ASSERT_NE(text.find('.'), std::string::npos) << text;
    ASSERT_EQ(std::stod(text), value) << text;
    ASSERT_EQ(text.find('e'), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace hx::metrics
