// CheckScheduler and UvClock on a real libuv loop: the hard timeout must land
// on time while other checks keep their cadence beside it.

#include <gtest/gtest.h>
#include <uv.h>

#include <algorithm>
#include <functional>
#include <thread>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "scheduler/check_scheduler.h"
#include "scheduler/uv_clock.h"

namespace hx {
namespace {

using std::chrono::milliseconds;
using SteadyTime = std::chrono::steady_clock::time_point;

// Owns a loop and checks on teardown that every handle was closed.
class UvLoopTest : public testing::Test {
 protected:
  UvLoopTest() { uv_loop_init(&loop_); }
  ~UvLoopTest() override {
    // Let pending close callbacks free their handles.
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "a handle was left open";
  }

  // Fails and stops the loop if the test has not finished by then, so a bug
  // shows as a failure rather than a hung test.
  std::unique_ptr<Timer> ArmDeadline(Clock& clock, Duration after, std::function<void()> stop) {
    auto deadline = clock.CreateTimer();
    deadline->Start(after, [stop = std::move(stop)] {
      ADD_FAILURE() << "deadline reached";
      stop();
    });
    return deadline;
  }

  uv_loop_t loop_{};
};

TEST_F(UvLoopTest, TimersNeverFireBeforeTheirDelay) {
  UvClock clock(&loop_);
  const std::vector<Duration> delays = {Duration::zero(),
                                        std::chrono::microseconds(300),
                                        std::chrono::microseconds(1500),
                                        milliseconds(1),
                                        milliseconds(7),
                                        milliseconds(20),
                                        milliseconds(20) + std::chrono::microseconds(999)};
  std::vector<std::unique_ptr<Timer>> timers;
  int fired = 0;
  for (Duration delay : delays) {
    timers.push_back(clock.CreateTimer());
    const MonoTime armed = clock.Now();
    const int fired_before = fired;
    timers.back()->Start(delay, [&, armed, delay] {
      EXPECT_GE(clock.Now() - armed, delay);
      ++fired;
    });
    EXPECT_EQ(fired, fired_before) << "a timer fired inside Start()";
  }
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(fired, static_cast<int>(delays.size()));
}

TEST_F(UvLoopTest, TimerMayRestartOrDestroyItselfFromItsCallback) {
  UvClock clock(&loop_);
  auto restarting = clock.CreateTimer();
  int rounds = 0;
  std::function<void()> again = [&] {
    if (++rounds < 3) restarting->Start(milliseconds(1), again);
  };
  restarting->Start(milliseconds(1), again);

  std::unique_ptr<Timer> self_destroying = clock.CreateTimer();
  bool destroyed = false;
  self_destroying->Start(milliseconds(2), [&] {
    self_destroying.reset();
    destroyed = true;
  });

  // Destroyed while armed and never run: its handle is closed by the loop.
  clock.CreateTimer()->Start(milliseconds(1), [] { ADD_FAILURE() << "destroyed timer fired"; });

  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(rounds, 3);
  EXPECT_TRUE(destroyed);
  EXPECT_GT(clock.WallSeconds(), 1.6e9);
}

// Never answers; the scheduler's timeout must end every attempt.
class HungCheck final : public Check {
 public:
  explicit HungCheck(std::vector<SteadyTime>* starts) : starts_(starts) {}
  void Start(DoneCallback) override { starts_->push_back(std::chrono::steady_clock::now()); }
  void Cancel() override { ++cancels; }
  int cancels = 0;

 private:
  std::vector<SteadyTime>* starts_;
};

// Answers healthy a couple of milliseconds later, from the loop.
class QuickCheck final : public Check {
 public:
  explicit QuickCheck(Clock& clock) : timer_(clock.CreateTimer()) {}
  void Start(DoneCallback done) override {
    timer_->Start(milliseconds(2), [done = std::move(done)] { done(CheckResult::Healthy()); });
  }
  void Cancel() override { timer_->Stop(); }

 private:
  std::unique_ptr<Timer> timer_;
};

class CollectingSink final : public RunSink {
 public:
  void OnRun(const RunRecord& run) override {
    runs.push_back(run);
    arrivals.push_back(std::chrono::steady_clock::now());
    if (on_run) on_run(run);
  }
  void OnSkipped(size_t) override { ++skipped; }

  std::vector<RunRecord> runs;
  std::vector<SteadyTime> arrivals;
  int skipped = 0;
  std::function<void(const RunRecord&)> on_run;
};

CheckConfig MakeConfig(const std::string& name, Duration interval, Duration timeout) {
  CheckConfig config;
  config.name = name;
  config.type = "fake";
  config.interval = interval;
  config.timeout = timeout;
  return config;
}

double Millis(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

Duration Percentile(std::vector<Duration> values, double p) {
  std::sort(values.begin(), values.end());
  const size_t index = std::min(values.size() - 1, static_cast<size_t>(p * values.size()));
  return values[index];
}

TEST_F(UvLoopTest, HungCheckTimesOutOnTimeBesideQuickChecks) {
  constexpr Duration kTimeout = milliseconds(300);
  constexpr Duration kMargin = milliseconds(50);
  constexpr Duration kQuickInterval = milliseconds(100);
  constexpr int kQuickChecks = 20;
  constexpr int kTimeoutsWanted = 3;

  UvClock clock(&loop_);
  CollectingSink sink;
  CheckScheduler scheduler(clock, sink, /*seed=*/7);

  std::vector<SteadyTime> hung_starts;
  const size_t hung_id = scheduler.Add(MakeConfig("hung", std::chrono::seconds(1), kTimeout),
                                       std::make_unique<HungCheck>(&hung_starts));
  for (int i = 0; i < kQuickChecks; ++i) {
    scheduler.Add(MakeConfig("quick-" + std::to_string(i), kQuickInterval, milliseconds(50)),
                  std::make_unique<QuickCheck>(clock));
  }

  std::vector<Duration> timeout_errors;
  auto deadline = ArmDeadline(clock, std::chrono::seconds(15), [&] { scheduler.Stop(); });
  const SteadyTime began = std::chrono::steady_clock::now();
  SteadyTime ended{};
  sink.on_run = [&](const RunRecord& run) {
    if (run.check_id != hung_id) return;
    ASSERT_FALSE(hung_starts.empty());
    timeout_errors.push_back(std::chrono::steady_clock::now() - hung_starts.back() - kTimeout);
    if (static_cast<int>(timeout_errors.size()) == kTimeoutsWanted) {
      ended = std::chrono::steady_clock::now();
      scheduler.Stop();
      deadline->Stop();
    }
  };
  scheduler.Start();
  // Runs until nothing is armed: after the sink's Stop(), or the deadline's.
  uv_run(&loop_, UV_RUN_DEFAULT);

  ASSERT_EQ(static_cast<int>(timeout_errors.size()), kTimeoutsWanted);
  std::map<size_t, int> quick_runs;
  std::vector<Duration> lateness;
  for (const RunRecord& run : sink.runs) {
    lateness.push_back(run.lateness);
    if (run.check_id == hung_id) {
      EXPECT_TRUE(run.timed_out);
      EXPECT_EQ(run.result.detail, "timeout after 300ms");
      // Measured by the clock that armed it, a timer never fires early.
      EXPECT_GE(run.duration, kTimeout);
      EXPECT_LT(run.duration, kTimeout + kMargin);
    } else {
      EXPECT_FALSE(run.timed_out);
      EXPECT_EQ(run.result.health, Health::kHealthy);
      ++quick_runs[run.check_id];
    }
  }
  for (Duration error : timeout_errors) {
    // steady_clock reads the start slightly after the scheduler did.
    EXPECT_GT(error, -milliseconds(1));
    EXPECT_LT(error, kMargin);
  }

  // Cadence beside the hung check: about one run per interval each. Bounds
  // are loose on the low side (a loaded machine may lose runs), tight on the
  // high side (a run is never doubled).
  const double periods = std::chrono::duration<double>(ended - began) / kQuickInterval;
  ASSERT_EQ(static_cast<int>(quick_runs.size()), kQuickChecks);
  for (const auto& [id, count] : quick_runs) {
    EXPECT_GE(count, periods / 2 - 1) << "check " << id;
    EXPECT_LE(count, periods + 2) << "check " << id;
  }
  EXPECT_EQ(sink.skipped, 0);

  std::printf("scheduler_uv: timeout %s errors:", FormatDuration(kTimeout).c_str());
  for (Duration error : timeout_errors) std::printf(" %+.3fms", Millis(error));
  std::printf("\nscheduler_uv: %zu runs over %.1f quick periods; lateness p50 %.3fms p99 %.3fms\n",
              sink.runs.size(), periods, Millis(Percentile(lateness, 0.50)),
              Millis(Percentile(lateness, 0.99)));
}

// Timer callbacks that take longer than the timers' own delays (uv_spawn on a
// loaded machine) must not keep the loop in its timers phase: I/O, signals
// and child exits are only seen between phases. Found by the soak test.
TEST(UvClockTest, SlowTimerCallbacksLeaveRoomForTheRestOfTheLoop) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  std::atomic<int> loop_turns{0};
  std::atomic<bool> stop{false};
  uv_prepare_t prepare;
  uv_prepare_init(&loop, &prepare);
  prepare.data = &loop_turns;
  uv_prepare_start(&prepare, [](uv_prepare_t* p) { ++*static_cast<std::atomic<int>*>(p->data); });
  uv_async_t stopper;
  uv_async_init(&loop, &stopper, [](uv_async_t* a) { uv_stop(a->loop); });

  std::thread runner([&] {
    UvClock clock(&loop);
    std::vector<std::unique_ptr<Timer>> timers;
    std::vector<std::function<void()>> fire(4);
    for (size_t i = 0; i < fire.size(); ++i) {
      timers.push_back(clock.CreateTimer());
      fire[i] = [&, i] {
        // Busy for 3 ms, then due again 1 ms later.
        const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(3);
        while (std::chrono::steady_clock::now() < until) {
        }
        if (!stop) timers[i]->Start(std::chrono::milliseconds(1), fire[i]);
      };
      timers[i]->Start(std::chrono::milliseconds(1), fire[i]);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    for (auto& t : timers) t->Stop();
    timers.clear();
    uv_close(reinterpret_cast<uv_handle_t*>(&prepare), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&stopper), nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);
  });

  // The loop keeps turning (with the bug it never got past the first phase).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (loop_turns < 20 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const int turns = loop_turns;
  stop = true;
  uv_async_send(&stopper);
  if (turns < 20) {
    // A loop stuck in its timers phase never sees the async: nothing to join.
    ADD_FAILURE() << "the loop turned only " << turns << " times in 5 s";
    runner.detach();
    std::_Exit(1);
  }
  runner.join();
  uv_loop_close(&loop);
}

}  // namespace
}  // namespace hx
