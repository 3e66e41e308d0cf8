// The `disk:` mapping (from inline YAML) and the judging of statfs numbers.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "checks/disk/disk_check.h"
#include "config/parse_context.h"

namespace hx {
namespace {

using ::testing::ElementsAre;

struct Parsed {
  std::shared_ptr<const DiskCheckSpec> spec;
  std::vector<std::string> errors;
};

Parsed Parse(const std::string& yaml) {
  config::ParseContext ctx("inline.yml", [](const std::string& name) -> std::optional<std::string> {
    if (name == "DATA_DIR") return "/var/lib/data";
    return std::nullopt;
  });
  YAML::Node root = YAML::Load(yaml);
  config::MapReader reader(root, "disk", ctx);
  Parsed out;
  out.spec = ParseDiskCheckSpec(reader);
  for (const auto& e : ctx.errors()) out.errors.push_back(e.ToString());
  return out;
}

TEST(DiskConfigTest, Defaults) {
  Parsed p = Parse("{}");
  ASSERT_NE(p.spec, nullptr) << ::testing::PrintToString(p.errors);
  const DiskCheckSettings& s = p.spec->settings();
  EXPECT_EQ(s.path, "/");
  EXPECT_DOUBLE_EQ(s.degraded_above, 0.85);
  EXPECT_DOUBLE_EQ(s.unhealthy_above, 0.95);
  EXPECT_FALSE(s.inodes_degraded_above.has_value());
  EXPECT_FALSE(s.inodes_unhealthy_above.has_value());
  EXPECT_FALSE(s.write_test);
  EXPECT_EQ(p.spec->Target(), "/");
}

TEST(DiskConfigTest, EveryKey) {
  Parsed p = Parse(R"(
path: ${DATA_DIR}
degraded_above: 70%
unhealthy_above: 80.5%
inodes_degraded_above: 90%
inodes_unhealthy_above: 98%
write_test: true
)");
  ASSERT_NE(p.spec, nullptr) << ::testing::PrintToString(p.errors);
  const DiskCheckSettings& s = p.spec->settings();
  EXPECT_EQ(s.path, "/var/lib/data");
  EXPECT_DOUBLE_EQ(s.degraded_above, 0.70);
  EXPECT_DOUBLE_EQ(s.unhealthy_above, 0.805);
  EXPECT_DOUBLE_EQ(s.inodes_degraded_above.value_or(-1), 0.90);
  EXPECT_DOUBLE_EQ(s.inodes_unhealthy_above.value_or(-1), 0.98);
  EXPECT_TRUE(s.write_test);
  EXPECT_EQ(p.spec->Target(), "/var/lib/data");
}

TEST(DiskConfigTest, OneThresholdKeepsTheOtherDefault) {
  Parsed p = Parse("{unhealthy_above: 99%, inodes_unhealthy_above: 50%}");
  ASSERT_NE(p.spec, nullptr) << ::testing::PrintToString(p.errors);
  EXPECT_DOUBLE_EQ(p.spec->settings().degraded_above, 0.85);
  EXPECT_DOUBLE_EQ(p.spec->settings().unhealthy_above, 0.99);
  EXPECT_FALSE(p.spec->settings().inodes_degraded_above.has_value());
  EXPECT_DOUBLE_EQ(p.spec->settings().inodes_unhealthy_above.value_or(-1), 0.50);
}

TEST(DiskConfigTest, EqualThresholdsAreAllowed) {
  Parsed p = Parse("{degraded_above: 90%, unhealthy_above: 90%}");
  EXPECT_NE(p.spec, nullptr) << ::testing::PrintToString(p.errors);
}

TEST(DiskConfigTest, Errors) {
  Parsed p = Parse(R"(
path: data
degraded_above: 96%
unhealthy_above: 95%
inodes_degraded_above: 0.9
inodes_unhealthy_above: 101%
write_test: sometimes
size: 10GiB
)");
  EXPECT_EQ(p.spec, nullptr);
  EXPECT_THAT(
      p.errors,
      ElementsAre(
          "inline.yml:2:7: disk.path: must be an absolute path (starting with /)",
          "inline.yml:3:17: disk.degraded_above: must not be above unhealthy_above (95%)",
          "inline.yml:5:24: disk.inodes_degraded_above: not a valid percentage \"0.9\" (use e.g. "
          "90% or 99.5%)",
          "inline.yml:6:25: disk.inodes_unhealthy_above: percentage \"101%\" is above 100%",
          ::testing::StartsWith("inline.yml:7:13: disk.write_test: "),
          ::testing::StartsWith("inline.yml:8:1: disk: unknown key \"size\"")));
}

uv_statfs_t Stats(uint64_t bsize, uint64_t blocks, uint64_t bfree, uint64_t bavail, uint64_t files,
                  uint64_t ffree) {
  uv_statfs_t s{};
  s.f_bsize = bsize;
  s.f_blocks = blocks;
  s.f_bfree = bfree;
  s.f_bavail = bavail;
  s.f_files = files;
  s.f_ffree = ffree;
  return s;
}

double Observed(const CheckResult& r, const std::string& name) {
  for (const Observation& o : r.observations) {
    if (o.name() == name) return o.value;
  }
  ADD_FAILURE() << "no observation " << name;
  return -1;
}

bool HasObservation(const CheckResult& r, const std::string& name) {
  for (const Observation& o : r.observations) {
    if (o.name() == name) return true;
  }
  return false;
}

TEST(DiskUsageTest, HealthyLikeDf) {
  DiskCheckSettings settings;
  // 1000 blocks of 4 KiB: 400 used, 600 free of which 500 available (100 reserved).
  // df: used / (used + avail) = 400 / 900.
  CheckResult r = JudgeDiskUsage(settings, Stats(4096, 1000, 600, 500, 1000, 968));
  EXPECT_EQ(r.health, Health::kHealthy);
  EXPECT_EQ(r.detail, "/ 44.4% used (2.0 MiB free), inodes 3.2% used");
  EXPECT_EQ(r.reason, FailureReason::kNone);
  EXPECT_DOUBLE_EQ(Observed(r, "disk_used_ratio"), 400.0 / 900.0);
  EXPECT_DOUBLE_EQ(Observed(r, "disk_available_bytes"), 500.0 * 4096);
  EXPECT_DOUBLE_EQ(Observed(r, "disk_inodes_used_ratio"), 0.032);
}

TEST(DiskUsageTest, SpaceThresholdsAreStrictlyAbove) {
  DiskCheckSettings settings;
  settings.path = "/data";
  settings.degraded_above = 0.5;
  settings.unhealthy_above = 0.9;
  auto judge = [&](uint64_t used) {
    return JudgeDiskUsage(settings, Stats(1024, 100, 100 - used, 100 - used, 0, 0));
  };
  EXPECT_EQ(judge(50).health, Health::kHealthy);
  CheckResult degraded = judge(51);
  EXPECT_EQ(degraded.health, Health::kDegraded);
  EXPECT_EQ(degraded.detail, "/data 51.0% used, above 50% (49.0 KiB free)");
  EXPECT_EQ(degraded.reason, FailureReason::kThreshold);
  EXPECT_EQ(judge(90).health, Health::kDegraded);
  CheckResult unhealthy = judge(91);
  EXPECT_EQ(unhealthy.health, Health::kUnhealthy);
  EXPECT_EQ(unhealthy.detail, "/data 91.0% used, above 90% (9.0 KiB free)");
  EXPECT_EQ(unhealthy.reason, FailureReason::kThreshold);
}

TEST(DiskUsageTest, InodeThresholds) {
  DiskCheckSettings settings;
  settings.inodes_degraded_above = 0.9;
  settings.inodes_unhealthy_above = 0.98;
  CheckResult degraded = JudgeDiskUsage(settings, Stats(4096, 1000, 900, 900, 1000, 50));
  EXPECT_EQ(degraded.health, Health::kDegraded);
  EXPECT_EQ(degraded.detail, "/ 10.0% used (3.5 MiB free), inodes 95.0% used, above 90%");
  EXPECT_EQ(degraded.reason, FailureReason::kThreshold);
  CheckResult unhealthy = JudgeDiskUsage(settings, Stats(4096, 1000, 900, 900, 1000, 10));
  EXPECT_EQ(unhealthy.health, Health::kUnhealthy);
  EXPECT_EQ(unhealthy.detail, "/ 10.0% used (3.5 MiB free), inodes 99.0% used, above 98%");
  EXPECT_EQ(unhealthy.reason, FailureReason::kThreshold);
}

TEST(DiskUsageTest, InodesOffUnlessConfigured) {
  DiskCheckSettings settings;
  CheckResult r = JudgeDiskUsage(settings, Stats(4096, 1000, 900, 900, 1000, 0));
  EXPECT_EQ(r.health, Health::kHealthy);
  EXPECT_DOUBLE_EQ(Observed(r, "disk_inodes_used_ratio"), 1.0);
}

TEST(DiskUsageTest, WorseOfSpaceAndInodesWins) {
  DiskCheckSettings settings;
  settings.inodes_degraded_above = 0.5;
  CheckResult r = JudgeDiskUsage(settings, Stats(4096, 100, 1, 1, 100, 0));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "/ 99.0% used, above 95% (4.0 KiB free), inodes 100.0% used, above 50%");
}

TEST(DiskUsageTest, NoInodeCountSkipsInodes) {
  DiskCheckSettings settings;
  settings.inodes_unhealthy_above = 0.0;
  CheckResult r = JudgeDiskUsage(settings, Stats(4096, 1000, 500, 500, 0, 0));
  EXPECT_EQ(r.health, Health::kHealthy);
  EXPECT_EQ(r.detail, "/ 50.0% used (2.0 MiB free)");
  EXPECT_FALSE(HasObservation(r, "disk_inodes_used_ratio"));
}

TEST(DiskUsageTest, EmptyFilesystemIsZeroUsed) {
  // procfs and friends report no blocks at all.
  DiskCheckSettings settings;
  settings.path = "/proc";
  CheckResult r = JudgeDiskUsage(settings, Stats(4096, 0, 0, 0, 0, 0));
  EXPECT_EQ(r.health, Health::kHealthy);
  EXPECT_EQ(r.detail, "/proc 0.0% used (0 B free)");
  EXPECT_DOUBLE_EQ(Observed(r, "disk_used_ratio"), 0.0);
}

TEST(DiskUsageTest, FullForUsersWhileRootHasReserve) {
  DiskCheckSettings settings;
  CheckResult r = JudgeDiskUsage(settings, Stats(4096, 1000, 50, 0, 0, 0));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_DOUBLE_EQ(Observed(r, "disk_used_ratio"), 1.0);
  EXPECT_DOUBLE_EQ(Observed(r, "disk_available_bytes"), 0.0);
}

}  // namespace
}  // namespace hx
