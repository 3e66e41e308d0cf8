#include "util/log.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace hx::log {
namespace {

// 2026-11-24T21:46:14.250Z
constexpr double kT = 1795556774.25;

TEST(LogTest, LogfmtQuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(Render(Format::kLogfmt, kT, spdlog::level::info, "check state changed",
                   {{"check", "api"}, {"to", "unhealthy"}, {"detail", "HTTP 503, expected 2xx"}}),
            "ts=2026-11-24T21:46:14.250Z level=info msg=\"check state changed\" check=api "
            "to=unhealthy detail=\"HTTP 503, expected 2xx\"");
}

TEST(LogTest, LogfmtValueCannotForgeFieldsOrLines) {
  std::string line = Render(Format::kLogfmt, kT, spdlog::level::warn, "x",
                            {{"detail", "a\" level=error\nfake=1"}});
  EXPECT_EQ(line,
            "ts=2026-11-24T21:46:14.250Z level=warn msg=x detail=\"a\\\" level=error\\nfake=1\"");
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(LogTest, EmptyValueIsQuoted) {
  EXPECT_EQ(Render(Format::kLogfmt, kT, spdlog::level::err, "m", {{"k", ""}}),
            "ts=2026-11-24T21:46:14.250Z level=error msg=m k=\"\"");
}

TEST(LogTest, JsonIsOneValidObjectEvenWithBadUtf8) {
  std::string line = Render(Format::kJson, kT, spdlog::level::info, "started",
                            {{"check", "api"}, {"detail", std::string("bad \xff byte\n")}});
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["ts"], "2026-11-24T21:46:14.250Z");
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["msg"], "started");
  EXPECT_EQ(j["check"], "api");
}

TEST(LogTest, ParsesLevelsAndFormats) {
  spdlog::level::level_enum level;
  EXPECT_TRUE(ParseLevel("warn", &level));
  EXPECT_EQ(level, spdlog::level::warn);
  EXPECT_FALSE(ParseLevel("verbose", &level));
  Format format;
  EXPECT_TRUE(ParseFormat("json", &format));
  EXPECT_EQ(format, Format::kJson);
  EXPECT_FALSE(ParseFormat("xml", &format));
}

}  // namespace
}  // namespace hx::log
