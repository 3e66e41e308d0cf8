// RunPublisher's "run skipped" warning: at most one line per check per
// minute, with the number of runs skipped since the previous line; every skip
// still counted in the metrics. Time is a ManualClock.

#include "app/run_publisher.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>
#include <string>
#include <vector>

#include "support/check_info.h"
#include "support/manual_clock.h"
#include "util/log.h"

namespace hx {
namespace {

using std::chrono::seconds;

class RunPublisherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto logger = std::make_shared<spdlog::logger>(
        "test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_));
    logger->set_pattern("%v");
    logger->set_level(spdlog::level::info);
    spdlog::set_default_logger(logger);
    for (size_t id : {0, 1}) {
      const CheckInfo info = TestCheckInfo(id == 0 ? "api" : "db");
      board_.AddCheck(id, info);
    }
  }
  void TearDown() override { log::Init(spdlog::level::info, log::Format::kLogfmt); }

  // The "run skipped" lines written since the last call.
  std::vector<std::string> SkipLines() {
    std::vector<std::string> lines;
    std::istringstream in(log_.str());
    for (std::string line; std::getline(in, line);) {
      if (line.find("msg=\"run skipped") != std::string::npos) lines.push_back(line);
    }
    log_.str("");
    return lines;
  }

  double SkippedTotal(const std::string& check) {
    for (const auto& status : board_.Snapshot().checks) {
      if (status->info->name == check) return static_cast<double>(status->skipped_runs);
    }
    return -1;
  }

  std::ostringstream log_;
  ManualClock clock_;
  StatusBoard board_;
  CheckMetrics metrics_;
  RunPublisher publisher_{board_, metrics_, clock_};
};

TEST_F(RunPublisherTest, SkipIsLoggedAtMostOncePerCheckPerMinuteWithTheCount) {
  publisher_.OnSkipped(0);  // the first skip is logged at once
  std::vector<std::string> lines = SkipLines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("check=api skipped=1"), std::string::npos) << lines[0];

  // A stalled loop: every second for 59 s, 20 skips a second. No line.
  for (int s = 1; s < 60; ++s) {
    clock_.AdvanceBy(seconds(1));
    for (int i = 0; i < 20; ++i) publisher_.OnSkipped(0);
  }
  EXPECT_TRUE(SkipLines().empty());

  // Another check has its own minute.
  publisher_.OnSkipped(1);
  lines = SkipLines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("check=db skipped=1"), std::string::npos) << lines[0];

  // A minute after the first line: one line with everything since it.
  clock_.AdvanceBy(seconds(1));
  publisher_.OnSkipped(0);
  lines = SkipLines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("check=api skipped=1181"), std::string::npos) << lines[0];
  publisher_.OnSkipped(0);
  EXPECT_TRUE(SkipLines().empty());

  // Every skip is counted all the same.
  EXPECT_EQ(SkippedTotal("api"), 1 + 59 * 20 + 1 + 1);
  EXPECT_EQ(SkippedTotal("db"), 1);
}

TEST_F(RunPublisherTest, SkipAfterAQuietHourIsLoggedAtOnce) {
  publisher_.OnSkipped(0);
  ASSERT_EQ(SkipLines().size(), 1u);
  clock_.AdvanceBy(std::chrono::hours(1));
  publisher_.OnSkipped(1);  // prunes api's entry, which had nothing unlogged
  publisher_.OnSkipped(0);
  const std::vector<std::string> lines = SkipLines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("check=db skipped=1"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("check=api skipped=1"), std::string::npos) << lines[1];
}

}  // namespace
}  // namespace hx
