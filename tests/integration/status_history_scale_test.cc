// 10,000 checks x 90 days of synthetic daily rows, written with the store
// itself into a real SQLite file, then read back by DailyHistory and rendered
// into the status page with every card's uptime bar: the figures (file size,
// resume time, page time and size) are printed, and bounded loosely enough to
// hold on a loaded 2-CPU machine (docs/status-page.md has the measured ones).

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <iostream>

#include "http/gzip.h"
#include "http/history_svg.h"
#include "http/landing_page.h"
#include "status/daily_history.h"
#include "store/store.h"
#include "support/check_info.h"
#include "support/daemon_process.h"

namespace hx {
namespace {

using ::testing::HasSubstr;

constexpr int kChecks = 10'000;
constexpr int kDays = 90;

// The system's wall clock; no timers (the test never starts the history).
class WallClock final : public Clock {
 public:
  MonoTime Now() override { return MonoTime(std::chrono::steady_clock::now().time_since_epoch()); }
  double WallSeconds() override {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  std::unique_ptr<Timer> CreateTimer() override { return nullptr; }
};

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

double Since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string Name(int i) { return "check-" + std::to_string(i); }

// A plausible day: mostly whole, now and then an outage of a few minutes.
store::DailyAggregate SyntheticDay(int check, int64_t day) {
  store::DailyAggregate row;
  row.check = Name(check);
  row.day = day;
  const bool bad = (check * 31 + day * 17) % 23 == 0;
  row.attempts = 5760;
  row.results_unhealthy = bad ? 20 : 0;
  row.results_healthy = row.attempts - row.results_unhealthy;
  row.seconds_unhealthy = bad ? 300 : 0;
  row.seconds_healthy = 86400 - row.seconds_unhealthy;
  row.latency_p50 = 0.004 + 0.001 * (check % 7);
  row.latency_p95 = *row.latency_p50 * 3;
  row.latency_p99 = *row.latency_p50 * 6;
  row.longest_outage = row.seconds_unhealthy;
  return row;
}

TEST(StatusHistoryScaleTest, TenThousandChecksTimesNinetyDaysLoadAndRender) {
  TempDir dir;
  WallClock clock;
  const int64_t today = store::UnixDay(clock.WallSeconds());

  store::StoreOptions options;
  options.dir = dir.path();
  auto write_start = std::chrono::steady_clock::now();
  {
    auto store = store::Store::Open(options);
    ASSERT_EQ(store->mode(), store::StoreMode::kPersistent) << store->problem();
    for (int c = 0; c < kChecks; ++c) {
      for (int64_t d = today - kDays + 1; d <= today; ++d) {
        ASSERT_TRUE(store->PutDaily(SyntheticDay(c, d)));
      }
      // Under the queue's bound (100,000 operations): wait for the writer.
      if ((c + 1) % 1000 == 0) {
        ASSERT_TRUE(store->Flush());
      }
    }
    ASSERT_TRUE(store->Flush());
  }
  const double write_seconds = Since(write_start);
  uintmax_t file_bytes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    if (entry.is_regular_file()) file_bytes += entry.file_size();
  }

  // The daemon's start: open, resume today's rows, learn the checks.
  const auto open_start = std::chrono::steady_clock::now();
  const double open_cpu = CpuSeconds();
  auto store = store::Store::Open(options);
  StatusBoard board;
  for (int c = 0; c < kChecks; ++c) board.AddCheck(static_cast<size_t>(c), TestCheckInfo(Name(c)));
  DailyHistory history(clock, store.get());
  history.Resume();
  history.SetChecks(board.Snapshot());
  const double resume_seconds = Since(open_start), resume_cpu = CpuSeconds() - open_cpu;

  // One result each, then the page.
  for (int c = 0; c < kChecks; ++c) {
    RunRecord run;
    run.check_id = static_cast<size_t>(c);
    run.result.health = Health::kHealthy;
    run.state = Health::kHealthy;
    run.finished_at = clock.WallSeconds();
    run.duration = std::chrono::milliseconds(5);
    board.Record(run);
    history.Record(run);
  }
  // The loop thread's share: one periodic write of every check's row.
  {
    const auto start = std::chrono::steady_clock::now();
    const double cpu = CpuSeconds();
    history.Flush();
    std::cout << "DailyHistory::Flush of 10,000 rows on the loop thread: " << Since(start) << " s ("
              << CpuSeconds() - cpu << " s CPU)" << std::endl;
    ASSERT_TRUE(store->Flush());
  }
  std::string page;
  double page_seconds = 1e9, page_cpu = 1e9;
  for (int round = 0; round < 2; ++round) {  // the second with a warm page cache
    const auto start = std::chrono::steady_clock::now();
    const double cpu = CpuSeconds();
    page = RenderLandingPage(board.Snapshot(), clock.WallSeconds(), {}, &history);
    page_seconds = std::min(page_seconds, Since(start));
    page_cpu = std::min(page_cpu, CpuSeconds() - cpu);
  }
  // Where the time goes: reading the days, and drawing them.
  {
    const auto start = std::chrono::steady_clock::now();
    const double cpu = CpuSeconds();
    std::vector<CheckHistory> all;
    all.reserve(kChecks);
    for (int c = 0; c < kChecks; ++c)
      all.push_back(history.ForCheck(Name(c), 90, clock.WallSeconds()));
    const double read_s = Since(start), read_cpu = CpuSeconds() - cpu;
    const auto draw_start = std::chrono::steady_clock::now();
    const double draw_cpu0 = CpuSeconds();
    size_t bytes = 0;
    for (const auto& h : all) bytes += RenderUptimeBlock(h).size();
    std::cout << "ForCheck x 10,000: " << read_s << " s (" << read_cpu << " s CPU); "
              << "RenderUptimeBlock x 10,000: " << Since(draw_start) << " s ("
              << CpuSeconds() - draw_cpu0 << " s CPU), " << bytes / 1048576.0 << " MiB"
              << std::endl;
  }
  // And the page without history, for comparison.
  const auto plain_start = std::chrono::steady_clock::now();
  const std::string plain = RenderLandingPage(board.Snapshot(), clock.WallSeconds(), {});
  const double plain_seconds = Since(plain_start);

  std::cout << "10,000 checks x 90 days: store " << file_bytes / 1048576.0 << " MiB, written in "
            << write_seconds << " s; open + resume " << resume_seconds << " s (" << resume_cpu
            << " s CPU); page with bars " << page_seconds << " s (" << page_cpu << " s CPU), "
            << page.size() / 1048576.0 << " MiB; page without bars " << plain_seconds << " s, "
            << plain.size() / 1048576.0 << " MiB" << std::endl;

  {
    const auto start = std::chrono::steady_clock::now();
    const double cpu = CpuSeconds();
    const auto gz = GzipCompress(page);
    std::cout << "gzip of the page: " << (gz ? gz->size() : 0) / 1048576.0 << " MiB in "
              << Since(start) << " s (" << CpuSeconds() - cpu << " s CPU)" << std::endl;
  }
  size_t bars = 0;
  for (size_t at = page.find("<svg class=\"ubar\""); at != std::string::npos;
       at = page.find("<svg class=\"ubar\"", at + 1)) {
    ++bars;
  }
  EXPECT_EQ(bars, static_cast<size_t>(kChecks));
  // Every card's past days came from the file: a bad day of check-0 is there.
  EXPECT_THAT(page, HasSubstr("longest outage 5m 0s"));
  EXPECT_LT(file_bytes, 80u * 1048576);
  EXPECT_LT(page_seconds, kSanitized ? 600 : 120);
}

}  // namespace
}  // namespace hx
