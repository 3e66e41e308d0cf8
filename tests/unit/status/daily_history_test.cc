// DailyHistory: time in states between results, pending and blocked time as
// unknown, the day's rollover at UTC midnight on a manual clock, the periodic
// write and a restart that resumes today's row from a real store file, and
// latency quantiles against known data.

#include "status/daily_history.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <random>
#include <thread>

#include "support/daemon_process.h"
#include "support/manual_clock.h"

namespace hx {
namespace {

using std::chrono::seconds;

constexpr double kDay = 86400;

// ManualClock starts at 2023-11-14T22:13:20Z: UTC midnight is 6400 s later.
constexpr double kT0 = ManualClock::kStartWallSeconds;
constexpr int64_t kDay0 = 19'675;  // UnixDay(kT0)
constexpr double kMidnight = (kDay0 + 1) * kDay;

RunRecord Result(size_t id, Health result, Health state, double at, double latency = 0.010) {
  RunRecord run;
  run.check_id = id;
  run.result.health = result;
  run.state = state;
  run.finished_at = at;
  run.started_at = at - latency;
  run.duration = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(latency));
  return run;
}

RunRecord Result(size_t id, Health health, double at, double latency = 0.010) {
  return Result(id, health, health, at, latency);
}

class DailyHistoryTest : public ::testing::Test {
 protected:
  std::unique_ptr<store::Store> OpenStore() {
    store::StoreOptions options;
    options.dir = dir_.path();
    options.flush_interval = std::chrono::milliseconds(5);
    options.wall_clock = [this] { return clock_.WallSeconds(); };
    return store::Store::Open(options);
  }
  // Today's live row of `check` as the view shows it.
  store::DailyAggregate Today(const DailyHistory& history, const std::string& check) {
    return history.ForCheck(check, 1, clock_.WallSeconds()).days.back();
  }

  TempDir dir_;
  ManualClock clock_;
};

TEST(LatencyQuantilesTest, QuantilesOfKnownDataAreWithinTheBucketBound) {
  LatencyQuantiles quantiles;
  EXPECT_FALSE(quantiles.Quantile(0.5));
  // 1..1000 ms, shuffled: the nearest-rank quantiles are 500, 950, 990 ms.
  std::vector<int> ms(1000);
  for (int i = 0; i < 1000; ++i) ms[i] = i + 1;
  std::shuffle(ms.begin(), ms.end(), std::mt19937(7));
  for (int v : ms) quantiles.Observe(v / 1000.0);
  EXPECT_EQ(quantiles.count(), 1000u);
  const double bound = std::exp2(1.0 / 16) - 1;  // 4.4 %
  EXPECT_NEAR(*quantiles.Quantile(0.50), 0.500, 0.500 * bound);
  EXPECT_NEAR(*quantiles.Quantile(0.95), 0.950, 0.950 * bound);
  EXPECT_NEAR(*quantiles.Quantile(0.99), 0.990, 0.990 * bound);
  // Ten doublings at 8 buckets each, not a thousand.
  EXPECT_LE(quantiles.buckets(), 81u);
}

TEST(LatencyQuantilesTest, ABimodalDaySeesItsSlowTail) {
  LatencyQuantiles quantiles;
  quantiles.Observe(0.002, 940);  // fast
  quantiles.Observe(0.800, 60);   // 6 % slow
  const double bound = std::exp2(1.0 / 16) - 1;
  EXPECT_NEAR(*quantiles.Quantile(0.50), 0.002, 0.002 * bound);
  EXPECT_NEAR(*quantiles.Quantile(0.95), 0.800, 0.800 * bound);
  EXPECT_NEAR(*quantiles.Quantile(0.99), 0.800, 0.800 * bound);
  // Out of range values are clamped, NaN ignored.
  quantiles.Observe(std::nan(""));
  EXPECT_EQ(quantiles.count(), 1000u);
}

TEST_F(DailyHistoryTest, TimeBetweenResultsBelongsToTheStateInForce) {
  DailyHistory history(clock_, nullptr);
  history.SetChecks({{1, "api", {}}});
  // Pending for 10 s, healthy 60 s, unhealthy 30 s (one outage), degraded 20 s,
  // healthy since.
  clock_.AdvanceBy(seconds(10));
  history.Record(Result(1, Health::kHealthy, kT0 + 10, 0.020));
  clock_.AdvanceBy(seconds(60));
  history.Record(Result(1, Health::kUnhealthy, kT0 + 70, 1.5));
  clock_.AdvanceBy(seconds(15));
  history.Record(Result(1, Health::kUnhealthy, kT0 + 85, 1.5));
  clock_.AdvanceBy(seconds(15));
  history.Record(Result(1, Health::kDegraded, kT0 + 100, 0.4));
  clock_.AdvanceBy(seconds(20));
  history.Record(Result(1, Health::kHealthy, kT0 + 120, 0.020));
  clock_.AdvanceBy(seconds(40));

  const store::DailyAggregate day = Today(history, "api");
  EXPECT_EQ(day.day, kDay0);
  EXPECT_EQ(day.attempts, 5);
  EXPECT_EQ(day.results_healthy, 2);
  EXPECT_EQ(day.results_degraded, 1);
  EXPECT_EQ(day.results_unhealthy, 2);
  EXPECT_DOUBLE_EQ(day.seconds_unknown, 10);
  EXPECT_DOUBLE_EQ(day.seconds_healthy, 60 + 40);
  EXPECT_DOUBLE_EQ(day.seconds_unhealthy, 30);
  EXPECT_DOUBLE_EQ(day.seconds_degraded, 20);
  EXPECT_DOUBLE_EQ(day.longest_outage, 30);
  ASSERT_TRUE(day.latency_p50);
  EXPECT_NEAR(*day.latency_p50, 0.4, 0.4 * 0.045);
  EXPECT_NEAR(*day.latency_p99, 1.5, 1.5 * 0.045);

  // Uptime: not unhealthy over time with a verdict = 120 / 150.
  const CheckHistory view = history.ForCheck("api", 7, clock_.WallSeconds());
  ASSERT_EQ(view.days.size(), 7u);
  EXPECT_DOUBLE_EQ(*view.uptime_7d, 120.0 / 150.0);
  EXPECT_DOUBLE_EQ(*view.uptime_24h, 120.0 / 150.0);
  EXPECT_EQ(view.days[0].attempts, 0);
}

TEST_F(DailyHistoryTest, StateAfterThresholdsNotTheRawResultDecidesTheTime) {
  DailyHistory history(clock_, nullptr);
  history.SetChecks({{1, "api", {}}});
  history.Record(Result(1, Health::kHealthy, kT0));
  clock_.AdvanceBy(seconds(30));
  // One failure under failure_threshold 3: the state stays healthy.
  history.Record(Result(1, Health::kUnhealthy, Health::kHealthy, kT0 + 30));
  clock_.AdvanceBy(seconds(30));
  const store::DailyAggregate day = Today(history, "api");
  EXPECT_EQ(day.results_unhealthy, 1);
  EXPECT_DOUBLE_EQ(day.seconds_healthy, 60);
  EXPECT_DOUBLE_EQ(day.seconds_unhealthy, 0);
}

TEST_F(DailyHistoryTest, BlockedTimeIsUnknownNotAnOutage) {
  DailyHistory history(clock_, nullptr);
  history.SetChecks({{1, "db", {}}, {2, "api", {"db"}}});
  history.Record(Result(1, Health::kUnhealthy, kT0));
  history.Record(Result(2, Health::kUnhealthy, kT0));
  clock_.AdvanceBy(seconds(100));
  history.Record(Result(1, Health::kHealthy, kT0 + 100));
  // api's next result, now that db is back, is its own failure.
  history.Record(Result(2, Health::kUnhealthy, kT0 + 100));
  clock_.AdvanceBy(seconds(50));
  const store::DailyAggregate api = Today(history, "api");
  EXPECT_DOUBLE_EQ(api.seconds_unknown, 100);
  EXPECT_DOUBLE_EQ(api.seconds_unhealthy, 50);
  EXPECT_DOUBLE_EQ(api.longest_outage, 50);
  const store::DailyAggregate db = Today(history, "db");
  EXPECT_DOUBLE_EQ(db.seconds_unhealthy, 100);
  EXPECT_DOUBLE_EQ(db.longest_outage, 100);
}

TEST_F(DailyHistoryTest, TheDayRollsOverAtUtcMidnightAndIsWrittenAtOnce) {
  auto store = OpenStore();
  DailyHistory history(clock_, store.get(), {.flush_interval = std::chrono::minutes(1)});
  history.SetChecks({{1, "api", {}}});
  history.Start();
  history.Record(Result(1, Health::kHealthy, kT0));
  // Healthy until 100 s before midnight, then unhealthy across it.
  clock_.AdvanceTo(clock_.Now() + seconds(static_cast<int64_t>(kMidnight - 100 - kT0)));
  history.Record(Result(1, Health::kUnhealthy, kMidnight - 100));
  clock_.AdvanceTo(clock_.Now() + seconds(150));  // 50 s into the new day

  ASSERT_TRUE(store->Flush());
  const auto rows = store->Daily("api", kDay0, kDay0 + 1);
  ASSERT_EQ(rows.size(), 2u);
  const store::DailyAggregate& yesterday = rows[0];
  EXPECT_EQ(yesterday.day, kDay0);
  EXPECT_EQ(yesterday.attempts, 2);
  EXPECT_NEAR(yesterday.seconds_healthy, kMidnight - 100 - kT0, 0.001);
  EXPECT_NEAR(yesterday.seconds_unhealthy, 100, 0.001);
  EXPECT_NEAR(yesterday.longest_outage, 100, 0.001);
  EXPECT_DOUBLE_EQ(yesterday.seconds_unknown, 0);
  // The new day: the outage goes on, counted from midnight; no attempt yet.
  const store::DailyAggregate today = Today(history, "api");
  EXPECT_EQ(today.day, kDay0 + 1);
  EXPECT_EQ(today.attempts, 0);
  EXPECT_FALSE(today.latency_p50);
  EXPECT_NEAR(today.seconds_unhealthy, 50, 0.001);
  EXPECT_NEAR(today.longest_outage, 50, 0.001);

  // The view joins the stored past with today.
  const CheckHistory view = history.ForCheck("api", 90, clock_.WallSeconds());
  ASSERT_EQ(view.days.size(), 90u);
  EXPECT_EQ(view.days[88].day, kDay0);
  EXPECT_EQ(view.days[88].attempts, 2);
  EXPECT_EQ(view.days[89].day, kDay0 + 1);
  EXPECT_NEAR(*view.uptime_7d, (kMidnight - 100 - kT0) / (kMidnight - kT0 + 50), 1e-9);
  history.Stop();
}

TEST_F(DailyHistoryTest, TheTimerRewritesTodaysRowEveryInterval) {
  auto store = OpenStore();
  DailyHistory history(clock_, store.get(), {.flush_interval = std::chrono::seconds(30)});
  history.SetChecks({{1, "api", {}}});
  history.Start();
  history.Record(Result(1, Health::kHealthy, kT0));
  clock_.AdvanceBy(seconds(31));
  ASSERT_TRUE(store->Flush());
  auto rows = store->Daily("api", kDay0, kDay0);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_NEAR(rows[0].seconds_healthy, 30, 0.01);
  clock_.AdvanceBy(seconds(30));
  ASSERT_TRUE(store->Flush());
  rows = store->Daily("api", kDay0, kDay0);
  EXPECT_NEAR(rows[0].seconds_healthy, 60, 0.01);
  history.Stop();
  EXPECT_EQ(clock_.ArmedTimers(), 0u);
}

TEST_F(DailyHistoryTest, ARestartResumesTodaysRowAndTheDowntimeIsInNoState) {
  auto store = OpenStore();
  {
    DailyHistory history(clock_, store.get());
    history.SetChecks({{1, "api", {}}});
    for (int i = 0; i < 100; ++i) {
      history.Record(Result(1, Health::kHealthy, kT0 + i, i < 50 ? 0.010 : 0.100));
      clock_.AdvanceBy(seconds(1));
    }
    history.Flush();  // shutdown
  }
  ASSERT_TRUE(store->Flush());
  clock_.AdvanceBy(seconds(600));  // the daemon is down for ten minutes
  store.reset();
  store = OpenStore();

  DailyHistory history(clock_, store.get());
  history.Resume();
  // Ids are the new process's scheduler's.
  history.SetChecks({{7, "api", {}}});
  clock_.AdvanceBy(seconds(5));  // pending after the start
  history.Record(Result(7, Health::kUnhealthy, clock_.WallSeconds(), 0.010));
  clock_.AdvanceBy(seconds(20));
  const store::DailyAggregate day = Today(history, "api");
  EXPECT_EQ(day.attempts, 101);
  EXPECT_EQ(day.results_healthy, 100);
  EXPECT_EQ(day.results_unhealthy, 1);
  EXPECT_NEAR(day.seconds_healthy, 100, 0.001);  // from the first result to the stop
  EXPECT_NEAR(day.seconds_unknown, 5, 0.001);    // the start; the 600 s down count nowhere
  EXPECT_NEAR(day.seconds_unhealthy, 20, 0.001);
  // The quantiles stand where they were (half the day at 10 ms, half at 100).
  EXPECT_NEAR(*day.latency_p50, 0.010, 0.010 * 0.045);
  EXPECT_NEAR(*day.latency_p95, 0.100, 0.100 * 0.045);
  // Written back on the next flush.
  history.Flush();
  ASSERT_TRUE(store->Flush());
  const auto rows = store->Daily("api", kDay0, kDay0);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].attempts, 101);
}

TEST_F(DailyHistoryTest, ARemovedCheckStopsCountingAndContinuesItsDayWhenBack) {
  auto store = OpenStore();
  DailyHistory history(clock_, store.get());
  history.SetChecks({{1, "api", {}}, {2, "db", {}}});
  history.Record(Result(1, Health::kHealthy, kT0));
  clock_.AdvanceBy(seconds(60));
  history.SetChecks({{2, "db", {}}});  // api removed: its row is written now
  ASSERT_TRUE(store->Flush());
  auto rows = store->Daily("api", kDay0, kDay0);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_NEAR(rows[0].seconds_healthy, 60, 0.001);
  history.Record(Result(1, Health::kUnhealthy, clock_.WallSeconds()));  // late: ignored
  clock_.AdvanceBy(seconds(60));
  EXPECT_NEAR(Today(history, "api").seconds_healthy, 60, 0.001);
  EXPECT_EQ(Today(history, "api").attempts, 1);

  history.SetChecks({{2, "db", {}}, {3, "api", {}}});  // back, with a new id
  history.Record(Result(3, Health::kHealthy, clock_.WallSeconds()));
  clock_.AdvanceBy(seconds(10));
  const store::DailyAggregate day = Today(history, "api");
  EXPECT_EQ(day.attempts, 2);
  EXPECT_NEAR(day.seconds_healthy, 70, 0.001);
  EXPECT_DOUBLE_EQ(day.seconds_unknown, 0);
}

// Readers on other threads (the web server's) while the loop thread records,
// reloads and writes: every view is whole (never a half-updated day) and
// attempts only grow. Run under TSan by scripts/sanitize.sh.
TEST_F(DailyHistoryTest, ReadersOnOtherThreadsSeeWholeDays) {
  auto store = OpenStore();
  DailyHistory history(clock_, store.get());
  history.SetChecks({{1, "api", {}}, {2, "db", {}}});
  const double start = clock_.WallSeconds();
  std::atomic<bool> done{false};
  std::atomic<int> views{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      int64_t last = 0;
      while (!done.load()) {
        const CheckHistory view = history.ForCheck("api", 7, start + 1e6);
        const store::DailyAggregate& today = view.days.back();
        EXPECT_GE(today.attempts, last);
        EXPECT_EQ(today.attempts,
                  today.results_healthy + today.results_degraded + today.results_unhealthy);
        last = today.attempts;
        views.fetch_add(1);
      }
    });
  }
  for (int i = 1; i <= 3000; ++i) {
    clock_.AdvanceBy(std::chrono::milliseconds(10));
    history.Record(
        Result(1, i % 7 == 0 ? Health::kUnhealthy : Health::kHealthy, clock_.WallSeconds()));
    if (i % 500 == 0) history.SetChecks({{1, "api", {}}, {2, "db", {}}});
    if (i % 100 == 0) history.Tick();
  }
  while (views.load() < 10) std::this_thread::yield();
  done = true;
  for (auto& reader : readers) reader.join();
  EXPECT_EQ(Today(history, "api").attempts, 3000);
}

TEST_F(DailyHistoryTest, AnUnknownCheckHasEmptyDaysAndNoUptime) {
  DailyHistory history(clock_, nullptr);
  const CheckHistory view = history.ForCheck("nope", 90, clock_.WallSeconds());
  ASSERT_EQ(view.days.size(), 90u);
  EXPECT_EQ(view.days.back().day, kDay0);
  EXPECT_EQ(view.days.front().day, kDay0 - 89);
  EXPECT_FALSE(view.uptime_24h);
  EXPECT_FALSE(view.uptime_90d);
}

TEST(DailyHistoryUptimeTest, WindowsCountWholeDaysAndYesterdaysShareOfTheLast24Hours) {
  CheckHistory history;
  for (int i = 0; i < 90; ++i) {
    store::DailyAggregate day;
    day.day = 1000 + i;
    day.seconds_healthy = kDay;
    history.days.push_back(day);
  }
  // 40 days ago: down 8.64 s (0.01 %); yesterday: down a whole hour, up the
  // rest; today: six hours healthy, an hour unknown (not counted).
  history.days[49].seconds_healthy = kDay - 8.64;
  history.days[49].seconds_unhealthy = 8.64;
  history.days[88].seconds_healthy = kDay - 3600;
  history.days[88].seconds_unhealthy = 3600;
  history.days[89].seconds_healthy = 6 * 3600;
  history.days[89].seconds_unknown = 3600;
  const double now = 1089 * kDay + 7 * 3600;
  DailyHistory::ComputeUptime(history, now);
  const double up_90 = 89 * kDay - 8.64 - 3600 + 6 * 3600;
  const double all_90 = 89 * kDay + 6 * 3600;
  EXPECT_NEAR(*history.uptime_90d, up_90 / all_90, 1e-12);
  EXPECT_NEAR(*history.uptime_30d, (29 * kDay - 3600 + 6 * 3600) / (29 * kDay + 6 * 3600), 1e-12);
  EXPECT_NEAR(*history.uptime_7d, (6 * kDay - 3600 + 6 * 3600) / (6 * kDay + 6 * 3600), 1e-12);
  // 24 h: today (6 h up) + 17/24 of yesterday (23 h up of 24).
  const double w = 17.0 / 24;
  EXPECT_NEAR(*history.uptime_24h, (6 * 3600 + w * (kDay - 3600)) / (6 * 3600 + w * kDay), 1e-12);
}

}  // namespace
}  // namespace hx
