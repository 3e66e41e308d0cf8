// MemoryCheck on a real libuv loop: against the real /proc/meminfo, and
// against meminfo files written into a temp dir for fixed numbers.

#include "checks/memory/memory_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <uv.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "io/io_context.h"
#include "support/loop_test.h"

namespace hx {
namespace {

using ::testing::MatchesRegex;

std::shared_ptr<const MemoryCheckSettings> Settings(double degraded, double unhealthy) {
  auto s = std::make_shared<MemoryCheckSettings>();
  s->degraded_above = degraded;
  s->unhealthy_above = unhealthy;
  return s;
}

const Observation* Find(const CheckResult& r, const std::string& name) {
  for (const Observation& o : r.observations) {
    if (o.name() == name) return &o;
  }
  return nullptr;
}

class MemoryCheckTest : public LoopTest {
 protected:
  void SetUp() override {
    LoopTest::SetUp();
    char dir_template[] = "/tmp/hx-memory-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    temp_dir_ = dir_template;
  }

  void TearDown() override {
    LoopTest::TearDown();
    std::error_code ec;
    std::filesystem::remove_all(temp_dir_, ec);
  }

  /// A meminfo file with `text` in the temp dir; returns its path.
  std::string WriteMeminfo(const std::string& text) {
    const std::string path = temp_dir_ + "/meminfo";
    std::ofstream(path) << text;
    return path;
  }

  CheckResult RunOnce(std::shared_ptr<const MemoryCheckSettings> settings,
                      std::string path = std::string(kProcMeminfo)) {
    MemoryCheck check(io(), std::move(settings), std::move(path));
    return RunAttempt(check, Settle::kUntilIdle).value_or(CheckResult{});
  }

  std::string temp_dir_;
};

TEST_F(MemoryCheckTest, RealMeminfo) {
  CheckResult r = RunOnce(Settings(1.0, 1.0));
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_THAT(r.detail, MatchesRegex(R"(memory [0-9]+\.[0-9]% used \(.+ available of .+\))"));
  const Observation* used = Find(r, "memory_used_ratio");
  ASSERT_NE(used, nullptr);
  EXPECT_GE(used->value, 0.0);
  EXPECT_LE(used->value, 1.0);
  const Observation* available = Find(r, "memory_available_bytes");
  ASSERT_NE(available, nullptr);
  EXPECT_GT(available->value, 0.0);  // this process is running, so some is free
}

TEST_F(MemoryCheckTest, RealMeminfoAtZeroPercentIsUnhealthy) {
  // This process uses memory, so more than 0% is in use.
  CheckResult r = RunOnce(Settings(0.0, 0.0));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_THAT(r.detail, MatchesRegex(R"(memory [0-9.]+% used, above 0% \(.*\))"));
  EXPECT_EQ(r.reason, FailureReason::kThreshold);
}

TEST_F(MemoryCheckTest, DefaultThresholdsFromAFile) {
  const std::string path = WriteMeminfo(
      "MemTotal:        1024000 kB\n"
      "MemFree:           10000 kB\n"
      "MemAvailable:      51200 kB\n");
  CheckResult r = RunOnce(std::make_shared<MemoryCheckSettings>(), path);
  EXPECT_EQ(r.health, Health::kDegraded);
  EXPECT_EQ(r.detail, "memory 95.0% used, above 90% (50.0 MiB available of 1000.0 MiB)");
  EXPECT_EQ(r.reason, FailureReason::kThreshold);
  EXPECT_DOUBLE_EQ(Find(r, "memory_used_ratio")->value, 0.95);
  EXPECT_DOUBLE_EQ(Find(r, "memory_available_bytes")->value, 51200.0 * 1024);
}

TEST_F(MemoryCheckTest, UnhealthyFromAFile) {
  const std::string path = WriteMeminfo("MemTotal: 1000 kB\nMemAvailable: 10 kB\n");
  CheckResult r = RunOnce(Settings(0.9, 0.97), path);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "memory 99.0% used, above 97% (10.0 KiB available of 1000.0 KiB)");
  EXPECT_EQ(r.reason, FailureReason::kThreshold);
}

TEST_F(MemoryCheckTest, MissingFieldIsUnhealthy) {
  const std::string path = WriteMeminfo("MemTotal: 1000 kB\nMemFree: 10 kB\n");
  CheckResult r = RunOnce(Settings(0.9, 0.97), path);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, path + ": no MemAvailable line (it needs Linux 3.14 or later)");
  EXPECT_EQ(r.reason, FailureReason::kInternal);
  EXPECT_TRUE(r.observations.empty());
}

TEST_F(MemoryCheckTest, MissingFileIsUnhealthy) {
  const std::string path = temp_dir_ + "/nope";
  CheckResult r = RunOnce(Settings(0.9, 0.97), path);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "read " + path + ": No such file or directory");
  EXPECT_EQ(r.reason, FailureReason::kInternal);
}

TEST_F(MemoryCheckTest, CancelRightAfterStart) {
  MemoryCheck check(io(), Settings(0.9, 0.97));
  Outcome outcome;
  check.Start(outcome.Callback());
  check.Cancel();
  EXPECT_TRUE(RunUntilIdle());
  EXPECT_EQ(outcome.calls, 0);
}

TEST_F(MemoryCheckTest, DestroyWhileReading) {
  Outcome outcome;
  {
    MemoryCheck check(io(), Settings(0.9, 0.97));
    check.Start(outcome.Callback());
  }
  EXPECT_TRUE(RunUntilIdle());
  EXPECT_EQ(outcome.calls, 0);
}

TEST_F(MemoryCheckTest, RepeatedAttempts) {
  MemoryCheck check(io(), Settings(1.0, 1.0));
  for (int i = 0; i < 3; ++i) {
    Outcome outcome;
    check.Start(outcome.Callback());
    ASSERT_TRUE(RunUntil([&] { return outcome.done(); }));
    EXPECT_EQ(outcome.result.health, Health::kHealthy) << outcome.result.detail;
  }
}

TEST_F(MemoryCheckTest, SpecCreatesAWorkingCheck) {
  MemoryCheckSpec spec(MemoryCheckSettings{1.0, 1.0});
  EXPECT_EQ(spec.Target(), "/proc/meminfo");
  std::unique_ptr<Check> check = spec.CreateCheck(io());
  Outcome outcome;
  check->Start(outcome.Callback());
  EXPECT_TRUE(RunUntil([&] { return outcome.done(); }));
  EXPECT_EQ(outcome.result.health, Health::kHealthy) << outcome.result.detail;
  EXPECT_NE(Find(outcome.result, "memory_used_ratio"), nullptr);
}

}  // namespace
}  // namespace hx
