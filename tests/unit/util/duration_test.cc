#include "util/duration.h"

#include <gtest/gtest.h>

#include <limits>

namespace hx {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;

constexpr auto kDay = hours(24);

struct DurationCase {
  std::string_view text;
  Duration want;
};

TEST(ParseDurationTest, AcceptsPrometheusForms) {
  const DurationCase cases[] = {
      {"0", Duration::zero()},
      {"0s", Duration::zero()},
      {"0ms", Duration::zero()},
      {"1ms", milliseconds(1)},
      {"250ms", milliseconds(250)},
      {"10s", seconds(10)},
      {"1m", minutes(1)},
      {"1m30s", seconds(90)},
      {"1h30m", minutes(90)},
      {"2d", 2 * kDay},
      {"1w", 7 * kDay},
      {"1y", 365 * kDay},
      {"1y2w3d4h5m6s7ms",
       365 * kDay + 14 * kDay + 3 * kDay + hours(4) + minutes(5) + seconds(6) + milliseconds(7)},
      {"90s", seconds(90)},
      {"1500ms", milliseconds(1500)},
      {"007s", seconds(7)},
      {"292y", 292 * 365 * kDay},
  };
  for (const auto& c : cases) {
    std::string error;
    auto got = ParseDuration(c.text, &error);
    ASSERT_TRUE(got.has_value()) << c.text << ": " << error;
    EXPECT_EQ(*got, c.want) << c.text;
    EXPECT_EQ(error, "") << c.text;
  }
}

TEST(ParseDurationTest, RejectsMalformedText) {
  const std::string_view cases[] = {
      "",     "5",     "-1s",   "1.5s",  "1m1h",  "1s1s", "1ms1s", "s",  "10 s",
      " 10s", "10s ",  "10S",   "10sec", "1h-5m", "+1s",  "1d1y",  "ms", "1mss",
      "1s0",  "5 sec", "0x10s", "1e3s",  "1us",   "1ns",  "∞s",
  };
  for (std::string_view text : cases) {
    std::string error;
    EXPECT_FALSE(ParseDuration(text, &error).has_value()) << text;
    EXPECT_NE(error, "") << text;
  }
}

TEST(ParseDurationTest, ErrorMessageQuotesTheText) {
  std::string error;
  EXPECT_FALSE(ParseDuration("5 sec", &error));
  EXPECT_EQ(error, R"(not a valid duration "5 sec" (use e.g. 500ms, 10s, 1m30s))");
}

TEST(ParseDurationTest, RejectsOverflowInsteadOfWrapping) {
  const std::string_view cases[] = {
      "293y",
      "99999999999999999999s",
      "9223372036854775807ms",
      "18446744073709551616ms",
      "292y52w",
      "292y1000d",
  };
  for (std::string_view text : cases) {
    std::string error;
    EXPECT_FALSE(ParseDuration(text, &error).has_value()) << text;
    EXPECT_NE(error.find("is too long"), std::string::npos) << text << ": " << error;
  }
}

TEST(ParseDurationTest, NullErrorPointerIsAllowed) {
  EXPECT_FALSE(ParseDuration("nope", nullptr).has_value());
  EXPECT_EQ(ParseDuration("1s", nullptr), seconds(1));
}

TEST(FormatDurationTest, WritesWhatAUserWouldWrite) {
  const std::pair<Duration, std::string_view> cases[] = {
      {Duration::zero(), "0s"},
      {milliseconds(500), "500ms"},
      {seconds(2), "2s"},
      {seconds(90), "1m30s"},
      {minutes(90), "1h30m"},
      {10 * kDay, "10d"},  // not "1w3d": weeks only when exact
      {14 * kDay, "2w"},
      {365 * kDay, "1y"},
      {366 * kDay, "366d"},
      {seconds(1) + milliseconds(5), "1s5ms"},
      {microseconds(750), "750us"},
      {microseconds(1500), "1.5ms"},
      {microseconds(12345), "12.345ms"},
      {nanoseconds(12), "12ns"},
      {nanoseconds(1'000'400'000), "1s"},  // sub-ms noise above a second is rounded
      {-seconds(3), "-3s"},
  };
  for (const auto& [d, want] : cases) {
    EXPECT_EQ(FormatDuration(d), want) << d.count() << "ns";
  }
}

TEST(FormatDurationTest, RoundTripsWholeMilliseconds) {
  const Duration cases[] = {milliseconds(1), milliseconds(999), seconds(59), minutes(61),
                            hours(25),       7 * kDay,          400 * kDay,  milliseconds(3723004)};
  for (Duration d : cases) {
    std::string error;
    EXPECT_EQ(ParseDuration(FormatDuration(d), &error), d) << FormatDuration(d) << " " << error;
  }
}

TEST(FormatDurationTest, ExtremesDoNotOverflow) {
  EXPECT_FALSE(FormatDuration(Duration::max()).empty());
  EXPECT_EQ(FormatDuration(Duration::min()).front(), '-');
}

TEST(ParseByteSizeTest, AcceptsDecimalAndBinaryUnits) {
  const std::pair<std::string_view, uint64_t> cases[] = {
      {"0", 0},
      {"4096", 4096},
      {"10B", 10},
      {"64KB", 64'000},
      {"1MB", 1'000'000},
      {"2GB", 2'000'000'000},
      {"1KiB", 1024},
      {"1MiB", 1024 * 1024},
      {"3GiB", uint64_t{3} << 30},
      {"18446744073709551615", std::numeric_limits<uint64_t>::max()},
  };
  for (const auto& [text, want] : cases) {
    std::string error;
    EXPECT_EQ(ParseByteSize(text, &error), want) << text << ": " << error;
  }
}

TEST(ParseByteSizeTest, RejectsMalformedAndOverflowingSizes) {
  const std::string_view malformed[] = {"",    "KB",  "-1",  "1.5MB", "1 MB",
                                        "1kb", "1TB", "1Ki", "1MiBs", "MiB1"};
  for (std::string_view text : malformed) {
    std::string error;
    EXPECT_FALSE(ParseByteSize(text, &error).has_value()) << text;
    EXPECT_NE(error.find("not a valid byte size"), std::string::npos) << text << ": " << error;
  }
  const std::string_view too_large[] = {"18446744073709551616", "17179869184GiB",
                                        "99999999999999999999999KB"};
  for (std::string_view text : too_large) {
    std::string error;
    EXPECT_FALSE(ParseByteSize(text, &error).has_value()) << text;
    EXPECT_NE(error.find("is too large"), std::string::npos) << text << ": " << error;
  }
}

TEST(ParsePercentTest, AcceptsPercentagesUpToHundred) {
  const std::pair<std::string_view, double> cases[] = {
      {"0%", 0.0},   {"90%", 0.9},    {"99.5%", 0.995},
      {"100%", 1.0}, {"100.0%", 1.0}, {"0.01%", 0.0001},
  };
  for (const auto& [text, want] : cases) {
    std::string error;
    auto got = ParsePercent(text, &error);
    ASSERT_TRUE(got.has_value()) << text << ": " << error;
    EXPECT_DOUBLE_EQ(*got, want) << text;
  }
}

TEST(ParsePercentTest, RejectsOutOfRangeAndMalformed) {
  const std::string_view malformed[] = {"",     "%",   "90",  "-5%",  "+5%",  "inf%",   "nan%",
                                        "1e2%", ".5%", "5.%", "9 0%", "90 %", "1.2.3%", "0.9"};
  for (std::string_view text : malformed) {
    std::string error;
    EXPECT_FALSE(ParsePercent(text, &error).has_value()) << text;
    EXPECT_NE(error.find("not a valid percentage"), std::string::npos) << text << ": " << error;
  }
  std::string error;
  EXPECT_FALSE(ParsePercent("100.5%", &error).has_value());
  EXPECT_EQ(error, R"(percentage "100.5%" is above 100%)");
}

TEST(ToSecondsTest, KeepsSubSecondPrecision) {
  EXPECT_DOUBLE_EQ(ToSeconds(milliseconds(1500)), 1.5);
  EXPECT_DOUBLE_EQ(ToSeconds(microseconds(250)), 0.00025);
}

}  // namespace
}  // namespace hx
