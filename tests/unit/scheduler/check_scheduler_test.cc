#include "scheduler/check_scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "support/manual_clock.h"

namespace hx {
namespace {

// A result of `health` with no detail (and a reason when not healthy).
CheckResult ResultOf(Health health) {
  CheckResult result;
  result.health = health;
  if (health != Health::kHealthy) result.reason = FailureReason::kProtocolError;
  return result;
}

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

constexpr uint64_t kSeed = 42;

// What a FakeCheck does when started.
enum class Behaviour {
  kHang,         // never completes on its own (the test may complete it)
  kSynchronous,  // completes inside Start()
  kAfterDelay,   // completes `delay` later from its own timer
};

// Shared by the test and the FakeCheck the scheduler owns, so the test can
// observe and steer a check it no longer holds.
struct FakeState {
  Behaviour behaviour = Behaviour::kSynchronous;
  Duration delay{};
  bool instant = false;  // what IsInstant() answers
  CheckResult default_result = CheckResult::Healthy("ok");
  std::deque<CheckResult> results;  // used first, one per attempt
  int starts = 0;
  int cancels = 0;
  int destroyed = 0;
  bool in_flight = false;
  bool overlapped = false;  // Start() while an attempt was in flight
  std::vector<MonoTime> start_times;
  Check::DoneCallback pending;                 // cleared by Cancel, as the contract says
  Check::DoneCallback last_done;               // kept, to play a misbehaving late target
  std::vector<Check::DoneCallback> all_dones;  // every attempt's, in order
  std::function<void()> on_start;

  CheckResult NextResult() {
    if (results.empty()) return default_result;
    CheckResult r = std::move(results.front());
    results.pop_front();
    return r;
  }
  // Completes the attempt in flight, as a real target answering would.
  void Complete() {
    ASSERT_TRUE(in_flight);
    in_flight = false;
    Check::DoneCallback done = std::move(pending);
    pending = nullptr;
    done(NextResult());
  }
};

class FakeCheck final : public Check {
 public:
  FakeCheck(std::shared_ptr<FakeState> state, Clock& clock)
      : state_(std::move(state)), timer_(clock.CreateTimer()), clock_(clock) {}
  ~FakeCheck() override {
    Cancel();
    ++state_->destroyed;
  }

  void Start(DoneCallback done) override {
    FakeState& s = *state_;
    if (s.in_flight) s.overlapped = true;
    ++s.starts;
    s.start_times.push_back(clock_.Now());
    s.in_flight = true;
    s.pending = done;
    s.last_done = done;
    s.all_dones.push_back(done);
    if (s.on_start) s.on_start();
    switch (s.behaviour) {
      case Behaviour::kHang:
        break;
      case Behaviour::kSynchronous:
        s.Complete();
        break;
      case Behaviour::kAfterDelay: {
        std::shared_ptr<FakeState> keep = state_;
        timer_->Start(s.delay, [keep] { keep->Complete(); });
        break;
      }
    }
  }

  bool IsInstant() const override { return state_->instant; }

  void Cancel() override {
    if (!state_->in_flight) return;
    ++state_->cancels;
    state_->in_flight = false;
    state_->pending = nullptr;
    timer_->Stop();
  }

 private:
  std::shared_ptr<FakeState> state_;
  std::unique_ptr<Timer> timer_;
  Clock& clock_;
};

class RecordingSink final : public RunSink {
 public:
  void OnRun(const RunRecord& run) override {
    runs.push_back(run);
    ++runs_per_check[run.check_id];
    if (on_run) on_run(run);
  }
  void OnSkipped(size_t check_id) override {
    skipped.push_back(check_id);
    if (on_skipped) on_skipped(check_id);
  }

  std::vector<RunRecord> runs;
  std::map<size_t, int> runs_per_check;
  std::vector<size_t> skipped;
  std::function<void(const RunRecord&)> on_run;
  std::function<void(size_t)> on_skipped;
};

CheckConfig MakeConfig(const std::string& name, Duration interval, Duration timeout) {
  CheckConfig config;
  config.name = name;
  config.type = "fake";
  config.interval = interval;
  config.timeout = timeout;
  return config;
}

Duration MaxJitter(Duration interval) { return std::min<Duration>(interval / 20, seconds(1)); }

// Time from Start() by which the first run of `name` has surely started (and
// the second surely not).
Duration FirstRunBound(const std::string& name, Duration interval) {
  return std::max<Duration>(CheckScheduler::FirstRunOffset(name, interval), milliseconds(1)) +
         MaxJitter(interval);
}

class CheckSchedulerTest : public testing::Test {
 protected:
  std::shared_ptr<FakeState> AddCheck(const CheckConfig& config, Behaviour behaviour,
                                      size_t* id = nullptr, bool instant = false) {
    auto state = std::make_shared<FakeState>();
    state->behaviour = behaviour;
    state->instant = instant;
    const size_t added = scheduler_.Add(config, std::make_unique<FakeCheck>(state, clock_));
    if (id != nullptr) *id = added;
    return state;
  }

  ManualClock clock_;
  RecordingSink sink_;
  CheckScheduler scheduler_{clock_, sink_, kSeed};
};

TEST(FirstRunOffsetTest, IsAStableFunctionOfTheName) {
  const Duration interval = seconds(30);
  EXPECT_EQ(CheckScheduler::FirstRunOffset("api", interval),
            CheckScheduler::FirstRunOffset("api", interval));
  // Pinned so that a change of hash (which would move every check's phase on
  // upgrade) is a deliberate decision.
  EXPECT_EQ(CheckScheduler::FirstRunOffset("api", interval).count(), 3'110'066'387LL);
  EXPECT_NE(CheckScheduler::FirstRunOffset("api", interval),
            CheckScheduler::FirstRunOffset("api2", interval));
}

TEST(FirstRunOffsetTest, SpreadsNamesOverTheInterval) {
  const Duration interval = seconds(10);
  constexpr int kNames = 2000;
  constexpr int kBuckets = 10;
  std::vector<int> buckets(kBuckets, 0);
  for (int i = 0; i < kNames; ++i) {
    const Duration offset = CheckScheduler::FirstRunOffset("svc-" + std::to_string(i), interval);
    ASSERT_GE(offset, Duration::zero());
    ASSERT_LT(offset, interval);
    ++buckets[offset * kBuckets / interval];
  }
  for (int b = 0; b < kBuckets; ++b) {
    SCOPED_TRACE("bucket " + std::to_string(b));
    EXPECT_GT(buckets[b], kNames / kBuckets / 2);
    EXPECT_LT(buckets[b], kNames / kBuckets * 3 / 2);
  }
}

TEST(FirstRunOffsetTest, ZeroIntervalGivesZero) {
  EXPECT_EQ(CheckScheduler::FirstRunOffset("x", Duration::zero()), Duration::zero());
}

TEST_F(CheckSchedulerTest, NothingRunsBeforeStart) {
  auto check = AddCheck(MakeConfig("a", seconds(10), seconds(1)), Behaviour::kSynchronous);
  clock_.AdvanceBy(hours(1));
  EXPECT_EQ(check->starts, 0);
  EXPECT_TRUE(sink_.runs.empty());
}

TEST_F(CheckSchedulerTest, CadenceHasNoDriftAndJitterStaysInBounds) {
  const Duration interval = seconds(10);
  auto check = AddCheck(MakeConfig("cadence", interval, seconds(1)), Behaviour::kSynchronous);
  const MonoTime t0 = clock_.Now();
  scheduler_.Start();
  constexpr int kPeriods = 1000;
  clock_.AdvanceTo(t0 + kPeriods * interval);

  const Duration offset = CheckScheduler::FirstRunOffset("cadence", interval);
  const int expected_runs = kPeriods;  // offset + jitter < interval here
  ASSERT_LT(offset + MaxJitter(interval), interval);
  ASSERT_EQ(check->starts, expected_runs);
  Duration min_jitter = hours(1);
  Duration max_jitter = Duration::zero();
  for (int k = 0; k < kPeriods; ++k) {
    const Duration jitter = check->start_times[k] - (t0 + offset + k * interval);
    ASSERT_GE(jitter, Duration::zero()) << "run " << k;
    ASSERT_LE(jitter, MaxJitter(interval)) << "run " << k;
    min_jitter = std::min(min_jitter, jitter);
    max_jitter = std::max(max_jitter, jitter);
  }
  // Jitter is actually applied, over (nearly) its whole range.
  EXPECT_LT(min_jitter, MaxJitter(interval) / 10);
  EXPECT_GT(max_jitter, MaxJitter(interval) * 9 / 10);
  // ManualClock fires timers exactly when asked: nothing is late.
  for (const RunRecord& run : sink_.runs) EXPECT_EQ(run.lateness, Duration::zero());
}

TEST_F(CheckSchedulerTest, JitterIsCappedAtOneSecond) {
  const Duration interval = std::chrono::minutes(5);
  // A window of a whole interval: run k is slot k of the cadence.
  scheduler_.SetStartupSpread(interval);
  auto check = AddCheck(MakeConfig("long", interval, seconds(10)), Behaviour::kSynchronous);
  const MonoTime t0 = clock_.Now();
  scheduler_.Start();
  clock_.AdvanceTo(t0 + 200 * interval);
  const Duration offset = CheckScheduler::FirstRunOffset("long", interval);
  ASSERT_GE(check->starts, 199);
  for (int k = 0; k < check->starts; ++k) {
    const Duration jitter = check->start_times[k] - (t0 + offset + k * interval);
    ASSERT_GE(jitter, Duration::zero());
    ASSERT_LE(jitter, seconds(1));
  }
}

TEST_F(CheckSchedulerTest, CheckAddedAfterStartIsScheduledFromNow) {
  const Duration interval = seconds(10);
  scheduler_.Start();
  clock_.AdvanceBy(seconds(1234));
  const MonoTime added_at = clock_.Now();
  auto check = AddCheck(MakeConfig("late", interval, seconds(1)), Behaviour::kSynchronous);
  clock_.AdvanceBy(interval * 2);
  ASSERT_GE(check->starts, 1);
  const Duration first = check->start_times[0] - added_at;
  const Duration offset = CheckScheduler::FirstRunOffset("late", interval);
  EXPECT_GE(first, std::max<Duration>(offset, milliseconds(1)));
  EXPECT_LE(first, std::max<Duration>(offset, milliseconds(1)) + MaxJitter(interval));
}

// --- the start window (global.startup_spread) ---

TEST(StartWindowOffsetTest, IsTheNameHashOverTheSmallerOfWindowAndInterval) {
  const Duration spread = seconds(10);
  for (int i = 0; i < 500; ++i) {
    const std::string name = "svc-" + std::to_string(i);
    const Duration offset = CheckScheduler::StartWindowOffset(name, hours(1), spread);
    ASSERT_GE(offset, Duration::zero());
    ASSERT_LT(offset, spread);
    EXPECT_EQ(offset, CheckScheduler::FirstRunOffset(name, spread));
    // An interval inside the window: the first run is slot 0 of the cadence.
    EXPECT_EQ(CheckScheduler::StartWindowOffset(name, seconds(3), spread),
              CheckScheduler::FirstRunOffset(name, seconds(3)));
  }
  EXPECT_EQ(CheckScheduler::StartWindowOffset("x", hours(1), Duration::zero()), Duration::zero());
}

TEST_F(CheckSchedulerTest, AOneHourCheckRunsFirstWithinTheStartWindow) {
  // The default window (10s), whatever the interval.
  const Duration interval = hours(1);
  const std::string name = "hourly";
  // Without the window the first run would come this late (the regression).
  ASSERT_GT(CheckScheduler::FirstRunOffset(name, interval), std::chrono::minutes(1));
  auto check = AddCheck(MakeConfig(name, interval, seconds(5)), Behaviour::kSynchronous);
  const MonoTime t0 = clock_.Now();
  scheduler_.Start();
  clock_.AdvanceTo(t0 + kDefaultStartupSpread);
  ASSERT_EQ(check->starts, 1);
  ASSERT_EQ(sink_.runs.size(), 1u);
  // Not jittered: exactly at the name's offset within the window.
  EXPECT_EQ(check->start_times[0] - t0,
            CheckScheduler::StartWindowOffset(name, interval, kDefaultStartupSpread));
  EXPECT_EQ(sink_.runs[0].lateness, Duration::zero());
}

TEST_F(CheckSchedulerTest, FirstRunsOfManyChecksAreSpreadOverTheWindow) {
  const Duration spread = seconds(10);
  scheduler_.SetStartupSpread(spread);
  constexpr int kChecks = 2000;
  constexpr int kBuckets = 10;
  std::vector<std::shared_ptr<FakeState>> checks;
  for (int i = 0; i < kChecks; ++i) {
    // Intervals from 11s to 2h: all longer than the window.
    const Duration interval = seconds(11) + seconds(i * 7200 / kChecks);
    checks.push_back(AddCheck(MakeConfig("svc-" + std::to_string(i), interval, seconds(5)),
                              Behaviour::kSynchronous));
  }
  const MonoTime t0 = clock_.Now();
  scheduler_.Start();
  clock_.AdvanceTo(t0 + spread);
  std::vector<int> buckets(kBuckets, 0);
  for (int i = 0; i < kChecks; ++i) {
    SCOPED_TRACE("check " + std::to_string(i));
    ASSERT_GE(checks[i]->starts, 1);  // every one ran, within the window
    const Duration at = checks[i]->start_times[0] - t0;
    ASSERT_LT(at, spread);
    ++buckets[at * kBuckets / spread];
  }
  for (int b = 0; b < kBuckets; ++b) {
    SCOPED_TRACE("second " + std::to_string(b));
    EXPECT_GT(buckets[b], kChecks / kBuckets / 2);
    EXPECT_LT(buckets[b], kChecks / kBuckets * 3 / 2);
  }
  EXPECT_TRUE(sink_.skipped.empty());
}

// After the first run each check runs on its own stable cadence, t0 +
// FirstRunOffset(name, interval) + k * interval (the phases a restart keeps),
// from the first slot more than a jitter window after the first run, and
// never more than an interval plus a jitter window after it.
TEST_F(CheckSchedulerTest, AfterTheFirstRunTheCheckJoinsItsStablePhase) {
  const Duration spread = seconds(10);
  scheduler_.SetStartupSpread(spread);
  // 37s is not a multiple of the window, so first run and phase fall in any
  // order; 1h is the case of the issue.
  for (Duration interval : {Duration(seconds(37)), Duration(hours(1))}) {
    SCOPED_TRACE("interval " + FormatDuration(interval));
    constexpr int kChecks = 300;
    std::vector<std::shared_ptr<FakeState>> checks;
    std::vector<size_t> ids(kChecks);
    for (int i = 0; i < kChecks; ++i) {
      checks.push_back(AddCheck(MakeConfig("c-" + std::to_string(i), interval, seconds(5)),
                                Behaviour::kSynchronous, &ids[i]));
    }
    const MonoTime t0 = clock_.Now();
    scheduler_.Start();
    clock_.AdvanceTo(t0 + 6 * interval);
    int joined_at_slot_0 = 0;
    for (int i = 0; i < kChecks; ++i) {
      SCOPED_TRACE("check " + std::to_string(i));
      const std::string name = "c-" + std::to_string(i);
      const FakeState& c = *checks[i];
      const MonoTime first = t0 + CheckScheduler::StartWindowOffset(name, interval, spread);
      const MonoTime base = t0 + CheckScheduler::FirstRunOffset(name, interval);
      ASSERT_GE(c.starts, 6);
      EXPECT_EQ(c.start_times[0], first);
      // The first slot of the cadence that the first run's jitter cannot reach.
      int64_t k = 0;
      while (base + k * interval <= first + MaxJitter(interval)) ++k;
      if (k == 0) ++joined_at_slot_0;
      for (size_t r = 1; r < c.start_times.size(); ++r, ++k) {
        const Duration jitter = c.start_times[r] - (base + k * interval);
        ASSERT_GE(jitter, Duration::zero()) << "run " << r;
        ASSERT_LE(jitter, MaxJitter(interval)) << "run " << r;
      }
      const Duration gap = c.start_times[1] - c.start_times[0];
      EXPECT_GT(gap, MaxJitter(interval));
      EXPECT_LE(gap, interval + 2 * MaxJitter(interval));
      EXPECT_FALSE(c.overlapped);
    }
    if (interval == seconds(37)) {
      EXPECT_GT(joined_at_slot_0, 0);  // both orders do occur
      EXPECT_LT(joined_at_slot_0, kChecks);
    }
    EXPECT_TRUE(sink_.skipped.empty());
    for (size_t id : ids) scheduler_.Remove(id);
    scheduler_.Stop();
  }
}

TEST_F(CheckSchedulerTest, AStartupSpreadLongerThanTheIntervalIsCappedAtTheInterval) {
  const Duration interval = seconds(10);
  scheduler_.SetStartupSpread(hours(1));
  auto check = AddCheck(MakeConfig("capped", interval, seconds(1)), Behaviour::kSynchronous);
  const MonoTime t0 = clock_.Now();
  const Duration offset = CheckScheduler::FirstRunOffset("capped", interval);
  scheduler_.Start();
  clock_.AdvanceTo(t0 + 5 * interval);
  // Spread over one interval, as without a window: run k at offset + k * interval.
  ASSERT_EQ(check->starts, 5);
  EXPECT_EQ(check->start_times[0], t0 + std::max<Duration>(offset, milliseconds(1)));
  for (int k = 1; k < 5; ++k) {
    const Duration jitter = check->start_times[k] - (t0 + offset + k * interval);
    EXPECT_GE(jitter, Duration::zero());
    EXPECT_LE(jitter, MaxJitter(interval));
  }
}

TEST_F(CheckSchedulerTest, AZeroStartupSpreadRunsEveryCheckAtOnce) {
  scheduler_.SetStartupSpread(Duration::zero());
  std::vector<std::shared_ptr<FakeState>> checks;
  for (int i = 0; i < 100; ++i) {
    checks.push_back(AddCheck(MakeConfig("now-" + std::to_string(i), hours(1), seconds(5)),
                              Behaviour::kSynchronous));
  }
  const MonoTime t0 = clock_.Now();
  scheduler_.Start();
  clock_.AdvanceTo(t0 + hours(1));
  for (int i = 0; i < 100; ++i) {
    SCOPED_TRACE("check " + std::to_string(i));
    ASSERT_GE(checks[i]->starts, 1);
    // On the first turn of the loop (no timer is armed closer than 1ms).
    EXPECT_EQ(checks[i]->start_times[0], t0 + milliseconds(1));
    ASSERT_LE(checks[i]->starts, 2);
    if (checks[i]->starts == 2) {
      const Duration jitter =
          checks[i]->start_times[1] -
          (t0 + CheckScheduler::FirstRunOffset("now-" + std::to_string(i), hours(1)));
      EXPECT_GE(jitter, Duration::zero());
      EXPECT_LE(jitter, seconds(1));
    }
  }
}

TEST_F(CheckSchedulerTest, InstantChecksRunInsideStart) {
  auto instant = AddCheck(MakeConfig("heartbeat-like", hours(1), seconds(5)),
                          Behaviour::kSynchronous, nullptr, /*instant=*/true);
  auto normal = AddCheck(MakeConfig("probe", hours(1), seconds(5)), Behaviour::kSynchronous);
  const MonoTime t0 = clock_.Now();
  scheduler_.Start();
  // Before any timer fired: the result is there when Start() returns.
  EXPECT_EQ(instant->starts, 1);
  EXPECT_EQ(normal->starts, 0);
  ASSERT_EQ(sink_.runs.size(), 1u);
  EXPECT_EQ(sink_.runs[0].lateness, Duration::zero());
  // Then its stable cadence, once per interval, from the first slot more
  // than a jitter window after start.
  clock_.AdvanceTo(t0 + 5 * hours(1));
  const MonoTime base = t0 + CheckScheduler::FirstRunOffset("heartbeat-like", hours(1));
  const int64_t k0 = base > t0 + seconds(1) ? 0 : 1;
  ASSERT_GE(instant->starts, 5);
  for (int r = 1; r < instant->starts; ++r) {
    const Duration jitter = instant->start_times[r] - (base + (k0 + r - 1) * hours(1));
    EXPECT_GE(jitter, Duration::zero()) << "run " << r;
    EXPECT_LE(jitter, seconds(1)) << "run " << r;
  }
  EXPECT_GE(normal->starts, 5);
  EXPECT_TRUE(sink_.skipped.empty());
}

TEST_F(CheckSchedulerTest, StopOrRemoveFromInsideAnInstantRunInStart) {
  size_t first = 0;
  auto a = AddCheck(MakeConfig("a", seconds(10), seconds(5)), Behaviour::kSynchronous, &first,
                    /*instant=*/true);
  auto b = AddCheck(MakeConfig("b", seconds(10), seconds(5)), Behaviour::kSynchronous, nullptr,
                    /*instant=*/true);
  sink_.on_run = [&](const RunRecord& run) {
    scheduler_.Remove(run.check_id);
    scheduler_.Stop();
  };
  scheduler_.Start();
  EXPECT_EQ(a->starts, 1);
  EXPECT_EQ(b->starts, 0);  // stopped before its turn
  clock_.AdvanceBy(hours(1));
  EXPECT_EQ(a->starts, 1);
  EXPECT_EQ(b->starts, 0);
}

TEST_F(CheckSchedulerTest, ACheckAddedByAReloadRunsWithinTheWindowFromThen) {
  scheduler_.Start();
  clock_.AdvanceBy(seconds(1234));
  const MonoTime added_at = clock_.Now();
  const Duration interval = hours(1);
  auto check = AddCheck(MakeConfig("added", interval, seconds(5)), Behaviour::kSynchronous);
  auto instant = AddCheck(MakeConfig("added-instant", interval, seconds(5)),
                          Behaviour::kSynchronous, nullptr, /*instant=*/true);
  EXPECT_EQ(instant->starts, 0);  // never inside Add()
  clock_.AdvanceTo(added_at + kDefaultStartupSpread);
  ASSERT_EQ(check->starts, 1);
  EXPECT_EQ(check->start_times[0] - added_at,
            std::max<Duration>(milliseconds(1), CheckScheduler::StartWindowOffset(
                                                    "added", interval, kDefaultStartupSpread)));
  ASSERT_EQ(instant->starts, 1);
  EXPECT_EQ(instant->start_times[0], added_at + milliseconds(1));
}

TEST_F(CheckSchedulerTest, TimeoutFiresAtExactlyTimeoutAndIgnoresLateCompletion) {
  const Duration timeout = seconds(2);
  auto check = AddCheck(MakeConfig("hung", seconds(10), timeout), Behaviour::kHang);
  scheduler_.Start();
  clock_.AdvanceBy(FirstRunBound("hung", seconds(10)));
  ASSERT_EQ(check->starts, 1);
  const MonoTime started = check->start_times[0];
  clock_.AdvanceTo(started + timeout - nanoseconds(1));
  EXPECT_TRUE(sink_.runs.empty());
  EXPECT_EQ(scheduler_.InFlight(), 1u);

  clock_.AdvanceTo(started + timeout);
  ASSERT_EQ(sink_.runs.size(), 1u);
  const RunRecord& run = sink_.runs[0];
  EXPECT_TRUE(run.timed_out);
  EXPECT_EQ(run.result.health, Health::kUnhealthy);
  EXPECT_EQ(run.result.detail, "timeout after 2s");
  EXPECT_EQ(run.state, Health::kUnhealthy);
  EXPECT_EQ(run.duration, timeout);
  EXPECT_EQ(check->cancels, 1);
  EXPECT_EQ(scheduler_.InFlight(), 0u);

  // The target answers after all: ignored.
  check->last_done(CheckResult::Healthy("too late"));
  EXPECT_EQ(sink_.runs.size(), 1u);

  // The next run still happens on schedule.
  clock_.AdvanceTo(started + seconds(11));
  EXPECT_EQ(check->starts, 2);
}

TEST_F(CheckSchedulerTest, LateAnswerOfATimedOutAttemptDoesNotEndTheNextOne) {
  const Duration interval = seconds(10);
  auto check = AddCheck(MakeConfig("late", interval, seconds(2)), Behaviour::kHang);
  scheduler_.Start();
  clock_.AdvanceBy(FirstRunBound("late", interval) + interval);
  ASSERT_EQ(check->starts, 2);
  ASSERT_EQ(sink_.runs.size(), 1u);  // the first attempt's timeout
  ASSERT_EQ(scheduler_.InFlight(), 1u);

  check->all_dones[0](CheckResult::Healthy("answer to attempt 1"));
  EXPECT_EQ(sink_.runs.size(), 1u);
  EXPECT_EQ(scheduler_.InFlight(), 1u);

  check->Complete();  // the second attempt's own answer counts
  ASSERT_EQ(sink_.runs.size(), 2u);
  EXPECT_EQ(sink_.runs[1].result.detail, "ok");
}

TEST_F(CheckSchedulerTest, SlotsPassedWhileTheLoopStalledAreCountedAsSkippedNotCaughtUp) {
  const Duration interval = milliseconds(100);
  AddCheck(MakeConfig("api", interval, milliseconds(50)), Behaviour::kSynchronous);
  scheduler_.Start();
  clock_.AdvanceBy(FirstRunBound("api", interval));
  ASSERT_EQ(sink_.runs.size(), 1u);
  // The loop is busy for 3.5 intervals: the run due next starts late, the two
  // slots after it are gone, and nothing is run twice to catch up.
  clock_.StallFor(milliseconds(350));
  clock_.AdvanceBy(Duration::zero());
  EXPECT_EQ(sink_.runs.size(), 2u);
  EXPECT_EQ(sink_.skipped.size(), 2u);
  // Back on the cadence: one run per interval from here.
  clock_.AdvanceBy(interval * 10);
  EXPECT_EQ(sink_.runs.size(), 12u);
  EXPECT_EQ(sink_.skipped.size(), 2u);
}

TEST_F(CheckSchedulerTest, RunDueAsTheAttemptTimesOutIsDeferredNotSkipped) {
  // timeout == interval with a target that never answers: each attempt is
  // still in flight when the next run comes due whenever that run's jitter is
  // smaller than the previous one's. The attempt ends by its timeout within
  // the jitter window, so the run starts right after it: none skipped, none
  // lost, none overlapped.
  const Duration interval = seconds(10);
  auto check = AddCheck(MakeConfig("slow", interval, interval), Behaviour::kHang);
  const MonoTime t0 = clock_.Now();
  scheduler_.Start();
  constexpr int kPeriods = 200;
  const Duration offset = CheckScheduler::FirstRunOffset("slow", interval);
  // Stop just before run kPeriods could be due, after run kPeriods-1 surely was.
  clock_.AdvanceTo(t0 + offset + kPeriods * interval - nanoseconds(1));

  EXPECT_FALSE(check->overlapped);
  EXPECT_TRUE(sink_.skipped.empty());
  // Every due run started (the last one possibly still waiting for its turn).
  EXPECT_GE(check->starts, kPeriods - 1);
  EXPECT_LE(check->starts, kPeriods);
  EXPECT_GE(static_cast<int>(sink_.runs.size()), check->starts - 1);
  for (const RunRecord& run : sink_.runs) EXPECT_TRUE(run.timed_out);
}

TEST_F(CheckSchedulerTest, AnswerArrivingBeforeADeferredRunStillCounts) {
  const Duration interval = seconds(10);
  auto check = AddCheck(MakeConfig("held", interval, interval), Behaviour::kHang);
  scheduler_.Start();
  // Run until some attempt is in flight, then let it answer: it is recorded
  // as an answer, not a timeout, and the schedule goes on without overlap.
  clock_.AdvanceBy(interval * 3);
  ASSERT_TRUE(check->in_flight);
  const size_t before = sink_.runs.size();
  check->Complete();
  ASSERT_EQ(sink_.runs.size(), before + 1);
  EXPECT_FALSE(sink_.runs.back().timed_out);
  EXPECT_EQ(sink_.runs.back().result.health, Health::kHealthy);
  clock_.AdvanceBy(interval * 10);
  EXPECT_FALSE(check->overlapped);
  EXPECT_TRUE(sink_.skipped.empty());
}

TEST_F(CheckSchedulerTest, SynchronousCompletionIsRecorded) {
  const Duration interval = seconds(10);
  auto check = AddCheck(MakeConfig("sync", interval, seconds(2)), Behaviour::kSynchronous);
  check->default_result =
      CheckResult::Unhealthy(FailureReason::kConnectRefused, "connection refused");
  const MonoTime t0 = clock_.Now();
  scheduler_.Start();
  clock_.AdvanceTo(t0 + 10 * interval);
  EXPECT_EQ(check->starts, 10);
  ASSERT_EQ(sink_.runs.size(), 10u);
  for (const RunRecord& run : sink_.runs) {
    EXPECT_FALSE(run.timed_out);
    EXPECT_EQ(run.duration, Duration::zero());
    EXPECT_EQ(run.result.detail, "connection refused");
  }
  EXPECT_EQ(scheduler_.InFlight(), 0u);
  EXPECT_EQ(check->cancels, 0);
  EXPECT_EQ(clock_.ArmedTimers(), 1u);  // just the next interval timer
}

struct LatencyCase {
  Duration took;
  CheckResult raw;
  Health health;
  std::string detail;
};

TEST_F(CheckSchedulerTest, DegradedLatency) {
  const std::vector<LatencyCase> cases = {
      {milliseconds(612), CheckResult::Healthy("HTTP 200"), Health::kDegraded,
       "slow: 612ms > 500ms (HTTP 200)"},
      {milliseconds(612), CheckResult::Healthy(), Health::kDegraded, "slow: 612ms > 500ms"},
      {microseconds(500'400), CheckResult::Healthy(), Health::kDegraded, "slow: 500.4ms > 500ms"},
      {milliseconds(500), CheckResult::Healthy("HTTP 200"), Health::kHealthy, "HTTP 200"},
      {milliseconds(900), CheckResult::Unhealthy(FailureReason::kHttpStatus, "HTTP 503"),
       Health::kUnhealthy, "HTTP 503"},
  };
  const Duration interval = seconds(10);
  CheckConfig config = MakeConfig("latency", interval, seconds(2));
  config.degraded_latency = milliseconds(500);
  auto check = AddCheck(config, Behaviour::kAfterDelay);
  const MonoTime t0 = clock_.Now();
  scheduler_.Start();
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("case " + std::to_string(i));
    check->delay = cases[i].took;
    check->results.push_back(cases[i].raw);
    clock_.AdvanceTo(t0 + (i + 1) * interval);
    ASSERT_EQ(sink_.runs.size(), i + 1);
    const RunRecord& run = sink_.runs.back();
    EXPECT_EQ(run.duration, cases[i].took);
    EXPECT_EQ(run.result.health, cases[i].health);
    EXPECT_EQ(run.result.detail, cases[i].detail);
  }
}

TEST_F(CheckSchedulerTest, RunRecordReflectsThresholds) {
  const Duration interval = seconds(10);
  CheckConfig config = MakeConfig("thresholds", interval, seconds(2));
  config.failure_threshold = 2;
  config.success_threshold = 2;
  size_t id = 0;
  auto check = AddCheck(config, Behaviour::kAfterDelay, &id);
  check->delay = milliseconds(30);
  for (Health h : {Health::kHealthy, Health::kUnhealthy, Health::kUnhealthy, Health::kHealthy,
                   Health::kHealthy}) {
    check->results.push_back(ResultOf(h));
  }
  const MonoTime t0 = clock_.Now();
  scheduler_.Start();
  clock_.AdvanceTo(t0 + 5 * interval);
  ASSERT_EQ(sink_.runs.size(), 5u);

  struct Expected {
    std::optional<Health> previous;
    Health state;
    Transition transition;
    int failures;
    int successes;
  };
  const Expected expected[] = {
      {std::nullopt, Health::kHealthy, Transition::kChanged, 0, 1},
      {Health::kHealthy, Health::kHealthy, Transition::kChangePending, 1, 0},
      {Health::kHealthy, Health::kUnhealthy, Transition::kChanged, 2, 0},
      {Health::kUnhealthy, Health::kUnhealthy, Transition::kChangePending, 0, 1},
      {Health::kUnhealthy, Health::kHealthy, Transition::kChanged, 0, 2},
  };
  for (size_t i = 0; i < 5; ++i) {
    SCOPED_TRACE("run " + std::to_string(i));
    const RunRecord& run = sink_.runs[i];
    EXPECT_EQ(run.check_id, id);
    EXPECT_EQ(run.previous_state, expected[i].previous);
    EXPECT_EQ(run.state, expected[i].state);
    EXPECT_EQ(run.transition, expected[i].transition);
    EXPECT_EQ(run.consecutive_failures, expected[i].failures);
    EXPECT_EQ(run.consecutive_successes, expected[i].successes);
    EXPECT_FALSE(run.timed_out);
    EXPECT_EQ(run.duration, milliseconds(30));
    const double started_offset = ToSeconds(check->start_times[i] - t0);
    EXPECT_DOUBLE_EQ(run.started_at, ManualClock::kStartWallSeconds + started_offset);
    EXPECT_NEAR(run.finished_at - run.started_at, 0.030, 1e-6);  // doubles near 1.7e9 s
  }
}

// --- Backoff while unhealthy (unhealthy_interval) ---

// The slot (unjittered due time) of the run after one at `slot` that ended
// at `finished` leaving the state `state`, as documented in
// check_scheduler.h: backoff counts from the run's own slot; otherwise the
// next slot of the normal grid `base + k * interval` after the run's, or,
// if that passed while the run was in flight, the first one after `finished`.
MonoTime NextSlot(MonoTime base, MonoTime slot, MonoTime finished, Health state, Duration interval,
                  Duration unhealthy_interval) {
  if (state == Health::kUnhealthy) return slot + unhealthy_interval;
  MonoTime next = base + ((slot - base) / interval + 1) * interval;
  if (next < finished) next = base + ((finished - base) / interval + 1) * interval;
  return next;
}

// Checks every start of `check` against the slots NextSlot() predicts from
// the states the sink saw: each run starts at its slot plus a jitter within
// the bound of the period in force, none is missing, none is extra.
void ExpectRunsOnPredictedSlots(const FakeState& check, const std::vector<RunRecord>& runs,
                                MonoTime base, Duration interval, Duration unhealthy_interval) {
  ASSERT_FALSE(check.start_times.empty());
  ASSERT_GE(runs.size() + 1, check.start_times.size());
  MonoTime slot = base;
  Duration period = interval;
  for (size_t k = 0; k < check.start_times.size(); ++k) {
    SCOPED_TRACE("run " + std::to_string(k));
    const Duration jitter = check.start_times[k] - slot;
    ASSERT_GE(jitter, Duration::zero());
    ASSERT_LE(jitter, MaxJitter(period));
    if (k < runs.size()) {
      const Health state = runs[k].state;
      period = state == Health::kUnhealthy ? unhealthy_interval : interval;
      slot = NextSlot(base, slot, check.start_times[k] + runs[k].duration, state, interval,
                      unhealthy_interval);
    }
  }
}

CheckConfig BackoffConfig(const std::string& name, int failure_threshold, int success_threshold) {
  CheckConfig config = MakeConfig(name, seconds(10), seconds(2));
  config.unhealthy_interval = seconds(60);
  config.failure_threshold = failure_threshold;
  config.success_threshold = success_threshold;
  return config;
}

TEST_F(CheckSchedulerTest, BackoffEngagesOnlyOnceTheThresholdIsReachedAndEndsOnRecovery) {
  const Duration interval = seconds(10);
  auto check = AddCheck(BackoffConfig("backoff", 3, 1), Behaviour::kSynchronous);
  const Health h = Health::kHealthy;
  const Health u = Health::kUnhealthy;
  for (Health result : {h, u, u, u, u, u, h, h, h}) check->results.push_back(ResultOf(result));
  const MonoTime t0 = clock_.Now();
  const MonoTime base = t0 + CheckScheduler::FirstRunOffset("backoff", interval);
  scheduler_.Start();
  clock_.AdvanceTo(base + seconds(235));

  // Runs 1 and 2 fail below the threshold: still every 10s. Run 3 makes the
  // state unhealthy: the next three runs are 60s apart. Run 6 recovers: back
  // to the 10s grid, at its very next slot.
  const std::vector<int64_t> expected_slots_s = {0, 10, 20, 30, 90, 150, 210, 220, 230};
  ASSERT_EQ(check->starts, static_cast<int>(expected_slots_s.size()));
  for (size_t k = 0; k < expected_slots_s.size(); ++k) {
    SCOPED_TRACE("run " + std::to_string(k));
    const Duration jitter = check->start_times[k] - (base + seconds(expected_slots_s[k]));
    EXPECT_GE(jitter, Duration::zero());
    EXPECT_LE(jitter, seconds(1));
  }
  ASSERT_EQ(sink_.runs.size(), expected_slots_s.size());
  EXPECT_EQ(sink_.runs[2].state, Health::kHealthy);  // two failures: pending
  EXPECT_EQ(sink_.runs[3].state, Health::kUnhealthy);
  EXPECT_EQ(sink_.runs[6].state, Health::kHealthy);
  EXPECT_TRUE(sink_.skipped.empty());
  EXPECT_EQ(clock_.ArmedTimers(), 1u);  // the next run only
  ExpectRunsOnPredictedSlots(*check, sink_.runs, base, interval, seconds(60));
}

TEST_F(CheckSchedulerTest, BackoffLastsWhileTheStateIsUnhealthyNotWhileResultsAre) {
  const Duration interval = seconds(10);
  auto check = AddCheck(BackoffConfig("sticky", 1, 2), Behaviour::kSynchronous);
  const Health h = Health::kHealthy;
  const Health d = Health::kDegraded;
  const Health u = Health::kUnhealthy;
  // The first result sets the state at once; one healthy result is not
  // enough to recover with success_threshold 2; degraded is not unhealthy.
  for (Health result : {u, h, h, h, u, d, d, d}) check->results.push_back(ResultOf(result));
  const MonoTime base = clock_.Now() + CheckScheduler::FirstRunOffset("sticky", interval);
  scheduler_.Start();
  clock_.AdvanceTo(base + seconds(275));

  ASSERT_EQ(sink_.runs.size(), 8u);
  const std::vector<Health> states = {u, u, h, h, u, u, d, d};
  const std::vector<int64_t> expected_slots_s = {0, 60, 120, 130, 140, 200, 260, 270};
  ASSERT_EQ(check->starts, 8);
  for (size_t k = 0; k < states.size(); ++k) {
    SCOPED_TRACE("run " + std::to_string(k));
    EXPECT_EQ(sink_.runs[k].state, states[k]);
    const Duration jitter = check->start_times[k] - (base + seconds(expected_slots_s[k]));
    EXPECT_GE(jitter, Duration::zero());
    EXPECT_LE(jitter, seconds(1));
  }
}

TEST_F(CheckSchedulerTest, TimeoutsStillApplyWhileBackingOff) {
  const Duration interval = seconds(10);
  CheckConfig config = MakeConfig("dead", interval, seconds(2));
  config.unhealthy_interval = seconds(30);
  auto check = AddCheck(config, Behaviour::kHang);
  const MonoTime base = clock_.Now() + CheckScheduler::FirstRunOffset("dead", interval);
  scheduler_.Start();
  clock_.AdvanceTo(base + seconds(300) - milliseconds(1));

  // Runs at 0, 30, ..., 270: every one cancelled at exactly its timeout.
  ASSERT_EQ(check->starts, 10);
  ASSERT_EQ(sink_.runs.size(), 10u);
  EXPECT_EQ(check->cancels, 10);
  for (size_t k = 0; k < sink_.runs.size(); ++k) {
    SCOPED_TRACE("run " + std::to_string(k));
    EXPECT_TRUE(sink_.runs[k].timed_out);
    EXPECT_EQ(sink_.runs[k].duration, seconds(2));
    EXPECT_EQ(sink_.runs[k].result.detail, "timeout after 2s");
    const Duration jitter = check->start_times[k] - (base + k * seconds(30));
    EXPECT_GE(jitter, Duration::zero());
    EXPECT_LE(jitter, MaxJitter(seconds(30)));
  }
  EXPECT_TRUE(sink_.skipped.empty());
  EXPECT_EQ(scheduler_.InFlight(), 0u);
}

TEST_F(CheckSchedulerTest, BackoffWithSlowAnswersNeverLosesOrDoublesARun) {
  // Random results through thresholds, answers taking up to 1.5s, and a
  // backoff period that is not a multiple of the interval, so recovery has
  // to find its way back onto the grid from an off-grid slot.
  const Duration interval = seconds(10);
  const Duration unhealthy_interval = seconds(25);
  CheckConfig config = MakeConfig("random", interval, seconds(2));
  config.unhealthy_interval = unhealthy_interval;
  config.failure_threshold = 2;
  config.success_threshold = 2;
  auto check = AddCheck(config, Behaviour::kAfterDelay);
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    const int roll = static_cast<int>(rng() % 10);
    const Health health = roll < 4   ? Health::kUnhealthy
                          : roll < 5 ? Health::kDegraded
                                     : Health::kHealthy;
    check->results.push_back(ResultOf(health));
  }
  check->delay = milliseconds(1500);
  const MonoTime base = clock_.Now() + CheckScheduler::FirstRunOffset("random", interval);
  scheduler_.Start();
  clock_.AdvanceTo(base + hours(3));

  ASSERT_GT(check->starts, 500);
  EXPECT_FALSE(check->overlapped);
  EXPECT_TRUE(sink_.skipped.empty());
  int backoff_gaps = 0;
  for (size_t k = 1; k < check->start_times.size(); ++k) {
    if (check->start_times[k] - check->start_times[k - 1] > interval + seconds(1)) ++backoff_gaps;
  }
  EXPECT_GT(backoff_gaps, 50);  // the test does exercise backoff
  ExpectRunsOnPredictedSlots(*check, sink_.runs, base, interval, unhealthy_interval);
}

TEST_F(CheckSchedulerTest, UnhealthyIntervalEqualToTheIntervalChangesNothing) {
  const Duration interval = seconds(10);
  CheckConfig config = MakeConfig("same", interval, seconds(2));
  config.unhealthy_interval = interval;
  auto check = AddCheck(config, Behaviour::kSynchronous);
  check->default_result = CheckResult::Unhealthy(FailureReason::kConnectRefused, "down");
  const MonoTime base = clock_.Now() + CheckScheduler::FirstRunOffset("same", interval);
  scheduler_.Start();
  clock_.AdvanceTo(base + 20 * interval - milliseconds(1));
  ASSERT_EQ(check->starts, 20);
  for (int k = 0; k < 20; ++k) {
    const Duration jitter = check->start_times[k] - (base + k * interval);
    EXPECT_GE(jitter, Duration::zero());
    EXPECT_LE(jitter, MaxJitter(interval));
  }
}

TEST_F(CheckSchedulerTest, RestartAfterStopBeginsOnTheNormalCadence) {
  const Duration interval = seconds(10);
  auto check = AddCheck(BackoffConfig("restart", 1, 1), Behaviour::kSynchronous);
  check->default_result = CheckResult::Unhealthy(FailureReason::kConnectRefused, "down");
  scheduler_.Start();
  clock_.AdvanceBy(seconds(200));
  ASSERT_GE(check->starts, 3);
  scheduler_.Stop();
  const int before = check->starts;
  const MonoTime restarted = clock_.Now();
  scheduler_.Start();
  const MonoTime base = restarted + CheckScheduler::FirstRunOffset("restart", interval);
  clock_.AdvanceTo(base + seconds(65));
  // First run at the name's offset, then backoff again since it is still
  // down: runs at base and base + 60s.
  ASSERT_EQ(check->starts, before + 2);
  EXPECT_LE(check->start_times[before] - base, MaxJitter(interval));
  EXPECT_GE(check->start_times[before + 1] - (base + seconds(60)), Duration::zero());
}

TEST_F(CheckSchedulerTest, RemoveFromInsideTheRunThatStartsBackoff) {
  size_t id = 0;
  auto check = AddCheck(BackoffConfig("gone", 1, 1), Behaviour::kSynchronous, &id);
  check->default_result = CheckResult::Unhealthy(FailureReason::kConnectRefused, "down");
  sink_.on_run = [&](const RunRecord&) { scheduler_.Remove(id); };
  scheduler_.Start();
  clock_.AdvanceBy(seconds(600));
  EXPECT_EQ(check->starts, 1);
  EXPECT_EQ(check->destroyed, 1);
  EXPECT_EQ(clock_.ArmedTimers(), 0u);
}

TEST_F(CheckSchedulerTest, RemoveFromInsideSynchronousCompletion) {
  size_t id = 0;
  auto check = AddCheck(MakeConfig("gone", seconds(10), seconds(2)), Behaviour::kSynchronous, &id);
  auto other = AddCheck(MakeConfig("stays", seconds(10), seconds(2)), Behaviour::kSynchronous);
  sink_.on_run = [&](const RunRecord& run) {
    if (run.check_id == id) {
      scheduler_.Remove(id);
      // Destruction is deferred: the check's code is still on the stack.
      EXPECT_EQ(check->destroyed, 0);
    }
  };
  scheduler_.Start();
  clock_.AdvanceBy(seconds(100));
  EXPECT_EQ(check->starts, 1);
  EXPECT_EQ(check->destroyed, 1);
  EXPECT_EQ(sink_.runs_per_check[id], 1);
  EXPECT_GE(other->starts, 9);
}

TEST_F(CheckSchedulerTest, RemoveFromInsideTheChecksOwnTimerCallback) {
  size_t id = 0;
  auto check = AddCheck(MakeConfig("gone", seconds(10), seconds(2)), Behaviour::kAfterDelay, &id);
  check->delay = milliseconds(100);
  sink_.on_run = [&](const RunRecord&) { scheduler_.Remove(id); };
  scheduler_.Start();
  clock_.AdvanceBy(seconds(100));
  EXPECT_EQ(check->starts, 1);
  EXPECT_EQ(check->destroyed, 1);
  EXPECT_EQ(clock_.ArmedTimers(), 0u);
}

TEST_F(CheckSchedulerTest, RemoveFromInsideTimeoutCallbacks) {
  const Duration interval = seconds(10);
  size_t timeout_id = 0;
  size_t deferred_id = 0;
  auto timer = AddCheck(MakeConfig("timer", interval, seconds(1)), Behaviour::kHang, &timeout_id);
  // timeout == interval: its timeouts come with a deferred run waiting.
  auto deferred =
      AddCheck(MakeConfig("deferred", interval, interval), Behaviour::kHang, &deferred_id);
  sink_.on_run = [&](const RunRecord& run) { scheduler_.Remove(run.check_id); };
  scheduler_.Start();
  clock_.AdvanceBy(interval * 100);
  EXPECT_EQ(sink_.runs_per_check[timeout_id], 1);
  EXPECT_EQ(sink_.runs_per_check[deferred_id], 1);
  EXPECT_EQ(timer->destroyed, 1);
  EXPECT_EQ(deferred->destroyed, 1);
  EXPECT_EQ(deferred->starts, 1);  // the deferred run died with the check
  EXPECT_EQ(scheduler_.InFlight(), 0u);
  EXPECT_EQ(clock_.ArmedTimers(), 0u);
}

TEST_F(CheckSchedulerTest, RemoveCancelsInFlightAttemptWithoutRecord) {
  size_t id = 0;
  auto check = AddCheck(MakeConfig("gone", seconds(10), seconds(5)), Behaviour::kHang, &id);
  scheduler_.Start();
  clock_.AdvanceBy(FirstRunBound("gone", seconds(10)));
  ASSERT_EQ(check->starts, 1);
  scheduler_.Remove(id);
  EXPECT_EQ(check->cancels, 1);
  EXPECT_EQ(scheduler_.InFlight(), 0u);
  check->last_done(CheckResult::Healthy());  // a misbehaving late answer
  clock_.AdvanceBy(seconds(100));
  EXPECT_TRUE(sink_.runs.empty());
  scheduler_.Remove(id);  // twice is harmless
}

TEST_F(CheckSchedulerTest, StopCancelsInFlightAttemptsAndSilencesCallbacks) {
  const Duration interval = seconds(10);
  std::vector<std::shared_ptr<FakeState>> checks;
  for (int i = 0; i < 20; ++i) {
    checks.push_back(
        AddCheck(MakeConfig("c" + std::to_string(i), interval, seconds(5)), Behaviour::kHang));
  }
  scheduler_.Start();
  clock_.AdvanceBy(interval * 3 + seconds(1));
  size_t in_flight = 0;
  std::vector<int> starts_before;
  std::vector<int> cancels_expected;
  for (auto& c : checks) {
    in_flight += c->in_flight ? 1 : 0;
    starts_before.push_back(c->starts);
    cancels_expected.push_back(c->cancels + (c->in_flight ? 1 : 0));
  }
  ASSERT_GT(in_flight, 0u);
  EXPECT_EQ(scheduler_.InFlight(), in_flight);
  const size_t runs_before = sink_.runs.size();
  const size_t skipped_before = sink_.skipped.size();

  scheduler_.Stop();
  EXPECT_EQ(scheduler_.InFlight(), 0u);
  for (size_t i = 0; i < checks.size(); ++i) {
    EXPECT_FALSE(checks[i]->in_flight);
    EXPECT_EQ(checks[i]->cancels, cancels_expected[i]);
    checks[i]->last_done(CheckResult::Healthy());  // a misbehaving late answer
  }
  clock_.AdvanceBy(interval * 10);
  EXPECT_EQ(sink_.runs.size(), runs_before);
  EXPECT_EQ(sink_.skipped.size(), skipped_before);
  for (size_t i = 0; i < checks.size(); ++i) EXPECT_EQ(checks[i]->starts, starts_before[i]);
  EXPECT_EQ(clock_.ArmedTimers(), 0u);
}

TEST_F(CheckSchedulerTest, StopFromInsideSinkCallback) {
  const Duration interval = seconds(10);
  auto first = AddCheck(MakeConfig("a", interval, seconds(5)), Behaviour::kSynchronous);
  auto second = AddCheck(MakeConfig("b", interval, seconds(5)), Behaviour::kSynchronous);
  sink_.on_run = [&](const RunRecord&) { scheduler_.Stop(); };
  scheduler_.Start();
  clock_.AdvanceBy(interval * 10);
  EXPECT_EQ(sink_.runs.size(), 1u);
  EXPECT_EQ(first->starts + second->starts, 1);
  EXPECT_EQ(clock_.ArmedTimers(), 0u);
}

TEST_F(CheckSchedulerTest, StartAfterStopResumesFromNow) {
  const Duration interval = seconds(10);
  auto check = AddCheck(MakeConfig("again", interval, seconds(5)), Behaviour::kSynchronous);
  scheduler_.Start();
  clock_.AdvanceBy(interval * 3);
  scheduler_.Stop();
  const int starts_at_stop = check->starts;
  clock_.AdvanceBy(hours(1));
  EXPECT_EQ(check->starts, starts_at_stop);
  const MonoTime restarted = clock_.Now();
  scheduler_.Start();
  clock_.AdvanceBy(FirstRunBound("again", interval));
  ASSERT_EQ(check->starts, starts_at_stop + 1);
  EXPECT_GE(check->start_times.back() - restarted,
            CheckScheduler::FirstRunOffset("again", interval));
}

TEST_F(CheckSchedulerTest, DestroyingTheSchedulerCancelsAttempts) {
  auto state = std::make_shared<FakeState>();
  state->behaviour = Behaviour::kHang;
  {
    CheckScheduler scheduler(clock_, sink_, kSeed);
    scheduler.Add(MakeConfig("x", seconds(10), seconds(5)),
                  std::make_unique<FakeCheck>(state, clock_));
    scheduler.Start();
    clock_.AdvanceBy(FirstRunBound("x", seconds(10)));
    ASSERT_EQ(state->starts, 1);
  }
  EXPECT_EQ(state->cancels, 1);
  EXPECT_EQ(state->destroyed, 1);
  EXPECT_EQ(clock_.ArmedTimers(), 0u);
}

TEST_F(CheckSchedulerTest, TenThousandChecksRunExactlyOncePerPeriod) {
  const Duration interval = seconds(10);
  constexpr int kChecks = 10'000;
  constexpr int kPeriods = 5;
  std::vector<std::shared_ptr<FakeState>> checks;
  checks.reserve(kChecks);
  for (int i = 0; i < kChecks; ++i) {
    auto c = AddCheck(MakeConfig("check-" + std::to_string(i), interval, seconds(2)),
                      i % 2 == 0 ? Behaviour::kSynchronous : Behaviour::kAfterDelay);
    c->delay = milliseconds(1 + i % 1500);
    checks.push_back(std::move(c));
  }
  const MonoTime t0 = clock_.Now();
  scheduler_.Start();
  clock_.AdvanceTo(t0 + kPeriods * interval);

  // Run k starts at t0 + offset + k * interval + jitter. By t0 + kPeriods *
  // interval runs 0..kPeriods-1 have started, except that the last one may
  // still be waiting when offset + jitter exceeds one interval.
  int wrong = 0;
  for (int i = 0; i < kChecks; ++i) {
    const FakeState& c = *checks[i];
    const Duration offset = CheckScheduler::FirstRunOffset("check-" + std::to_string(i), interval);
    const bool last_may_wait = offset + MaxJitter(interval) >= interval;
    if (c.starts != kPeriods && !(last_may_wait && c.starts == kPeriods - 1)) ++wrong;
    if (c.overlapped) ++wrong;
    for (size_t k = 1; k < c.start_times.size(); ++k) {
      const Duration gap = c.start_times[k] - c.start_times[k - 1];
      if (gap < interval - MaxJitter(interval) || gap > interval + MaxJitter(interval)) ++wrong;
    }
  }
  EXPECT_EQ(wrong, 0);
  EXPECT_TRUE(sink_.skipped.empty());
  size_t finished = 0;
  for (int i = 0; i < kChecks; ++i) {
    finished += checks[i]->starts - (checks[i]->in_flight ? 1 : 0);
  }
  EXPECT_EQ(sink_.runs.size(), finished);
}

}  // namespace
}  // namespace hx
