// The `memory:` mapping (from inline YAML), /proc/meminfo parsing and judging.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "checks/common/usage_thresholds.h"
#include "checks/memory/memory_check.h"
#include "config/parse_context.h"

namespace hx {
namespace {

using ::testing::ElementsAre;

struct Parsed {
  std::shared_ptr<const MemoryCheckSpec> spec;
  std::vector<std::string> errors;
};

Parsed Parse(const std::string& yaml) {
  config::ParseContext ctx("inline.yml",
                           [](const std::string&) -> std::optional<std::string> { return {}; });
  YAML::Node root = YAML::Load(yaml);
  config::MapReader reader(root, "memory", ctx);
  Parsed out;
  out.spec = ParseMemoryCheckSpec(reader);
  for (const auto& e : ctx.errors()) out.errors.push_back(e.ToString());
  return out;
}

TEST(MemoryConfigTest, Defaults) {
  Parsed p = Parse("{}");
  ASSERT_NE(p.spec, nullptr) << ::testing::PrintToString(p.errors);
  EXPECT_DOUBLE_EQ(p.spec->settings().degraded_above, 0.90);
  EXPECT_DOUBLE_EQ(p.spec->settings().unhealthy_above, 0.97);
  EXPECT_EQ(p.spec->Target(), "/proc/meminfo");
}

TEST(MemoryConfigTest, EveryKey) {
  Parsed p = Parse("{degraded_above: 75%, unhealthy_above: 99.5%}");
  ASSERT_NE(p.spec, nullptr) << ::testing::PrintToString(p.errors);
  EXPECT_DOUBLE_EQ(p.spec->settings().degraded_above, 0.75);
  EXPECT_DOUBLE_EQ(p.spec->settings().unhealthy_above, 0.995);
}

TEST(MemoryConfigTest, Errors) {
  Parsed p = Parse(R"(
degraded_above: 99%
unhealthy_above: 98.5%
swap: true
)");
  EXPECT_EQ(p.spec, nullptr);
  EXPECT_THAT(p.errors,
              ElementsAre("inline.yml:2:17: memory.degraded_above: must not be above "
                          "unhealthy_above (98.5%)",
                          ::testing::StartsWith("inline.yml:4:1: memory: unknown key \"swap\"")));
}

TEST(MemoryConfigTest, NotAPercentage) {
  Parsed p = Parse("{unhealthy_above: high}");
  EXPECT_EQ(p.spec, nullptr);
  EXPECT_THAT(p.errors, ElementsAre("inline.yml:1:19: memory.unhealthy_above: not a valid "
                                    "percentage \"high\" (use e.g. 90% or 99.5%)"));
}

constexpr std::string_view kMeminfo =
    "MemTotal:       24579884 kB\n"
    "MemFree:         1034520 kB\n"
    "MemAvailable:    9094860 kB\n"
    "Buffers:          311536 kB\n"
    "SwapTotal:             0 kB\n"
    "HugePages_Total:       0\n";

TEST(MeminfoTest, ParsesKibibytes) {
  std::string error;
  std::optional<MemInfo> info = ParseMeminfo(kMeminfo, &error);
  ASSERT_TRUE(info.has_value()) << error;
  EXPECT_EQ(info->total_bytes, 24579884ull * 1024);
  EXPECT_EQ(info->available_bytes, 9094860ull * 1024);
}

TEST(MeminfoTest, FieldOrderDoesNotMatter) {
  std::string error;
  std::optional<MemInfo> info =
      ParseMeminfo("MemAvailable: 10 kB\nMemTotalX: 1 kB\nMemTotal: 20 kB", &error);
  ASSERT_TRUE(info.has_value()) << error;
  EXPECT_EQ(info->total_bytes, 20u * 1024);
  EXPECT_EQ(info->available_bytes, 10u * 1024);
}

TEST(MeminfoTest, MissingOrBrokenFields) {
  std::string error;
  EXPECT_FALSE(ParseMeminfo("MemTotal: 100 kB\nMemFree: 50 kB\n", &error));
  EXPECT_EQ(error, "no MemAvailable line (it needs Linux 3.14 or later)");
  EXPECT_FALSE(ParseMeminfo("MemAvailable: 100 kB\n", &error));
  EXPECT_EQ(error, "no MemTotal line");
  EXPECT_FALSE(ParseMeminfo("", &error));
  EXPECT_EQ(error, "no MemTotal line");
  EXPECT_FALSE(ParseMeminfo("MemTotal: lots\nMemAvailable: 1 kB\n", &error));
  EXPECT_EQ(error, "unreadable MemTotal line");
  EXPECT_FALSE(ParseMeminfo("MemTotal: 10 MB\nMemAvailable: 1 kB\n", &error));
  EXPECT_EQ(error, "unreadable MemTotal line");
  EXPECT_FALSE(ParseMeminfo("MemTotal: 0 kB\nMemAvailable: 0 kB\n", &error));
  EXPECT_EQ(error, "MemTotal is 0");
}

double Observed(const CheckResult& r, const std::string& name) {
  for (const Observation& o : r.observations) {
    if (o.name() == name) return o.value;
  }
  ADD_FAILURE() << "no observation " << name;
  return -1;
}

TEST(MemoryUsageTest, Healthy) {
  MemoryCheckSettings settings;
  std::string error;
  CheckResult r = JudgeMemoryUsage(settings, *ParseMeminfo(kMeminfo, &error));
  EXPECT_EQ(r.health, Health::kHealthy);
  EXPECT_EQ(r.detail, "memory 63.0% used (8.7 GiB available of 23.4 GiB)");
  EXPECT_EQ(r.reason, FailureReason::kNone);
  EXPECT_DOUBLE_EQ(Observed(r, "memory_used_ratio"), 1.0 - 9094860.0 / 24579884.0);
  EXPECT_DOUBLE_EQ(Observed(r, "memory_available_bytes"), 9094860.0 * 1024);
}

TEST(MemoryUsageTest, ThresholdsAreStrictlyAbove) {
  MemoryCheckSettings settings;  // 90%, 97%
  auto judge = [&](uint64_t available_mib) {
    return JudgeMemoryUsage(settings, {1000 * (1ull << 20), available_mib * (1ull << 20)});
  };
  EXPECT_EQ(judge(100).health, Health::kHealthy);  // exactly 90%
  CheckResult degraded = judge(99);
  EXPECT_EQ(degraded.health, Health::kDegraded);
  EXPECT_EQ(degraded.detail, "memory 90.1% used, above 90% (99.0 MiB available of 1000.0 MiB)");
  EXPECT_EQ(degraded.reason, FailureReason::kThreshold);
  EXPECT_EQ(judge(30).health, Health::kDegraded);  // exactly 97%
  CheckResult unhealthy = judge(29);
  EXPECT_EQ(unhealthy.health, Health::kUnhealthy);
  EXPECT_EQ(unhealthy.detail, "memory 97.1% used, above 97% (29.0 MiB available of 1000.0 MiB)");
  EXPECT_EQ(unhealthy.reason, FailureReason::kThreshold);
}

TEST(MemoryUsageTest, AvailableAboveTotalIsZeroUsed) {
  CheckResult r = JudgeMemoryUsage({}, {1024, 2048});
  EXPECT_EQ(r.health, Health::kHealthy);
  EXPECT_DOUBLE_EQ(Observed(r, "memory_used_ratio"), 0.0);
}

TEST(UsageFormatTest, Formats) {
  EXPECT_EQ(FormatUsedPercent(0.4213), "42.1%");
  EXPECT_EQ(FormatUsedPercent(1.0), "100.0%");
  EXPECT_EQ(FormatLimitPercent(0.95), "95%");
  EXPECT_EQ(FormatLimitPercent(0.995), "99.5%");
  EXPECT_EQ(FormatLimitPercent(0.0), "0%");
  EXPECT_EQ(FormatBinaryBytes(0), "0 B");
  EXPECT_EQ(FormatBinaryBytes(1023), "1023 B");
  EXPECT_EQ(FormatBinaryBytes(1024), "1.0 KiB");
  EXPECT_EQ(FormatBinaryBytes(1536.0 * (1 << 20)), "1.5 GiB");
  EXPECT_EQ(FormatBinaryBytes(3.0 * (1ull << 40)), "3.0 TiB");
}

}  // namespace
}  // namespace hx
