// The attempt base's promises (checks/common/attempt.h), on a real libuv loop
// with a timer as the attempt's only I/O: `done` at most once and never after
// Cancel() or the check's end, Release() exactly once, and the attempt freed
// only after its last announced callback (ASan/valgrind runs make a
// use-after-free here fail).
#include "checks/common/attempt.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hx {
namespace {

struct Counters {
  int alive = 0;     // attempts allocated
  int released = 0;  // Release() calls
  int began = 0;
};

// Finishes `delay_ms` after it begins (0: inside Begin), or never (-1).
class TimerAttempt final : public Attempt {
 public:
  TimerAttempt(uv_loop_t* loop, Counters* counters, int delay_ms)
      : loop_(loop), counters_(counters), delay_ms_(delay_ms) {
    ++counters_->alive;
  }
  ~TimerAttempt() override { --counters_->alive; }

 private:
  void Begin() override {
    ++counters_->began;
    if (delay_ms_ == 0) {
      Finish(CheckResult::Healthy("at once"));
      return;
    }
    timer_ = new uv_timer_t;
    uv_timer_init(loop_, timer_);
    timer_->data = this;
    if (delay_ms_ > 0) {
      ExpectCallback();
      uv_timer_start(timer_, &OnTimer, static_cast<uint64_t>(delay_ms_), 0);
    }
  }

  static void OnTimer(uv_timer_t* timer) {
    auto* self = static_cast<TimerAttempt*>(timer->data);
    CallbackGuard guard(self);
    if (guard.over()) return;
    self->Finish(CheckResult::Unhealthy(FailureReason::kTimeout, "timer fired"));
  }

  void Release() override {
    ++counters_->released;
    if (timer_ == nullptr) return;
    uv_timer_t* timer = std::exchange(timer_, nullptr);
    // Closing stops the timer: its callback will not come.
    if (uv_is_active(reinterpret_cast<uv_handle_t*>(timer)) != 0) ForgetCallback();
    ExpectCallback();
    uv_close(reinterpret_cast<uv_handle_t*>(timer), [](uv_handle_t* handle) {
      auto* self = static_cast<TimerAttempt*>(handle->data);
      delete reinterpret_cast<uv_timer_t*>(handle);
      CallbackGuard guard(self);
    });
  }

  uv_loop_t* loop_;
  Counters* counters_;
  int delay_ms_;
  uv_timer_t* timer_ = nullptr;
};

class TimerCheck final : public AsyncCheck {
 public:
  TimerCheck(uv_loop_t* loop, Counters* counters) : loop_(loop), counters_(counters) {}
  int delay_ms = 5;
  std::optional<CheckResult> fail_setup;

 private:
  std::unique_ptr<Attempt> NewAttempt() override {
    if (fail_setup) return FailedAttempt(*fail_setup);
    return std::make_unique<TimerAttempt>(loop_, counters_, delay_ms);
  }
  uv_loop_t* loop_;
  Counters* counters_;
};

class AttemptTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(uv_loop_init(&loop_), 0); }
  void TearDown() override {
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "a handle was left open";
    EXPECT_EQ(counters_.alive, 0) << "an attempt was leaked";
  }
  void Run() { uv_run(&loop_, UV_RUN_DEFAULT); }

  uv_loop_t loop_{};
  Counters counters_;
  std::vector<CheckResult> results_;
  Check::DoneCallback Record() {
    return [this](CheckResult r) { results_.push_back(std::move(r)); };
  }
};

TEST_F(AttemptTest, FinishesOnceFromACallbackAndFreesAfterTheClose) {
  TimerCheck check(&loop_, &counters_);
  check.Start(Record());
  EXPECT_EQ(counters_.alive, 1);
  Run();
  ASSERT_EQ(results_.size(), 1u);
  EXPECT_EQ(results_[0].detail, "timer fired");
  EXPECT_EQ(counters_.released, 1);
  EXPECT_EQ(counters_.alive, 0);
}

TEST_F(AttemptTest, FinishInsideBeginCallsDoneBeforeStartReturns) {
  TimerCheck check(&loop_, &counters_);
  check.delay_ms = 0;
  check.Start(Record());
  ASSERT_EQ(results_.size(), 1u);
  EXPECT_EQ(results_[0].detail, "at once");
  EXPECT_EQ(counters_.released, 1);
  EXPECT_EQ(counters_.alive, 0);
}

TEST_F(AttemptTest, CancelledAttemptNeverCallsDoneAndIsFreedOnceTheLoopIsDone) {
  TimerCheck check(&loop_, &counters_);
  check.Start(Record());
  check.Cancel();
  check.Cancel();  // a no-op
  EXPECT_EQ(counters_.released, 1);
  EXPECT_EQ(counters_.alive, 1) << "freed before its close callback arrived";
  Run();
  EXPECT_TRUE(results_.empty());
  EXPECT_EQ(counters_.alive, 0);
}

TEST_F(AttemptTest, DestroyingTheCheckCancelsItsAttempt) {
  auto check = std::make_unique<TimerCheck>(&loop_, &counters_);
  check->Start(Record());
  check.reset();
  Run();
  EXPECT_TRUE(results_.empty());
  EXPECT_EQ(counters_.released, 1);
}

TEST_F(AttemptTest, DoneMayDestroyTheCheck) {
  auto check = std::make_unique<TimerCheck>(&loop_, &counters_);
  check->Start([&](CheckResult r) {
    results_.push_back(std::move(r));
    check.reset();  // the scheduler does this when a reload removed the check
  });
  Run();
  EXPECT_EQ(results_.size(), 1u);
  EXPECT_EQ(check, nullptr);
}

TEST_F(AttemptTest, DoneMayStartTheNextAttempt) {
  TimerCheck check(&loop_, &counters_);
  check.Start([&](CheckResult r) {
    results_.push_back(std::move(r));
    check.Start(Record());
  });
  Run();
  EXPECT_EQ(results_.size(), 2u);
  EXPECT_EQ(counters_.began, 2);
  EXPECT_EQ(counters_.released, 2);
}

TEST_F(AttemptTest, StartWhileInFlightCancelsThePreviousAttempt) {
  TimerCheck check(&loop_, &counters_);
  int first_calls = 0;
  check.Start([&](CheckResult) { ++first_calls; });
  check.Start(Record());
  Run();
  EXPECT_EQ(first_calls, 0);
  EXPECT_EQ(results_.size(), 1u);
  EXPECT_EQ(counters_.released, 2);
}

TEST_F(AttemptTest, AnAttemptThatNeverFinishesIsReleasedByCancel) {
  TimerCheck check(&loop_, &counters_);
  check.delay_ms = -1;  // waits forever, like a target that never answers
  check.Start(Record());
  uv_run(&loop_, UV_RUN_NOWAIT);
  check.Cancel();
  Run();
  EXPECT_TRUE(results_.empty());
  EXPECT_EQ(counters_.released, 1);
}

TEST_F(AttemptTest, FailedAttemptReportsItsResultAtOnce) {
  TimerCheck check(&loop_, &counters_);
  check.fail_setup = CheckResult::Unhealthy(FailureReason::kTlsHandshake, "TLS setup failed");
  check.Start(Record());
  ASSERT_EQ(results_.size(), 1u);
  EXPECT_EQ(results_[0].detail, "TLS setup failed");
  EXPECT_EQ(results_[0].reason, FailureReason::kTlsHandshake) << "a named reason is kept";
}

TEST_F(AttemptTest, FailedAttemptWithoutAReasonReadsAsInternal) {
  TimerCheck check(&loop_, &counters_);
  CheckResult unnamed;
  unnamed.health = Health::kUnhealthy;
  unnamed.detail = "TLS setup failed: no such file";
  ASSERT_EQ(unnamed.reason, FailureReason::kNone);
  check.fail_setup = unnamed;
  check.Start(Record());
  ASSERT_EQ(results_.size(), 1u);
  EXPECT_EQ(results_[0].detail, "TLS setup failed: no such file");
  EXPECT_EQ(results_[0].reason, FailureReason::kInternal);
}

// Ticks on a timer the test owns (so Release() only stops it: nothing of the
// attempt's is left to close), the way a stream keeps calling its reader.
// On the third tick it cancels its own check and then reads its own state.
class TickingAttempt final : public Attempt {
 public:
  TickingAttempt(uv_timer_t* timer, Counters* counters, Check** check, bool* alive_after_cancel)
      : timer_(timer), counters_(counters), owner_(check), alive_after_cancel_(alive_after_cancel) {
    ++counters_->alive;
  }
  ~TickingAttempt() override { --counters_->alive; }

 private:
  void Begin() override {
    ++counters_->began;
    timer_->data = this;
    uv_timer_start(timer_, &OnTick, 1, 1);
  }

  static void OnTick(uv_timer_t* timer) {
    auto* self = static_cast<TickingAttempt*>(timer->data);
    Counters* counters = self->counters_;
    bool* alive_after_cancel = self->alive_after_cancel_;
    RepeatingCallbackGuard guard(self);
    if (guard.over()) return;
    if (++self->ticks_ < 3) return;
    (*self->owner_)->Cancel();  // as the scheduler's timeout may, from any callback
    // Still allocated: the guard frees it when this callback returns.
    *alive_after_cancel = counters->alive == 1;
    if (*alive_after_cancel) self->ticks_ = -1;
  }

  void Release() override {
    ++counters_->released;
    uv_timer_stop(timer_);
  }

  uv_timer_t* timer_;
  Counters* counters_;
  Check** owner_;
  bool* alive_after_cancel_;
  int ticks_ = 0;
};

class TickingCheck final : public AsyncCheck {
 public:
  TickingCheck(uv_timer_t* timer, Counters* counters, bool* alive_after_cancel)
      : timer_(timer), counters_(counters), alive_after_cancel_(alive_after_cancel) {}

 private:
  std::unique_ptr<Attempt> NewAttempt() override {
    return std::make_unique<TickingAttempt>(timer_, counters_, &self_, alive_after_cancel_);
  }
  uv_timer_t* timer_;
  Counters* counters_;
  bool* alive_after_cancel_;
  Check* self_ = this;
};

TEST_F(AttemptTest, RepeatingCallbackKeepsTheAttemptWhileItRuns) {
  uv_timer_t timer;
  uv_timer_init(&loop_, &timer);
  bool alive_after_cancel = false;
  {
    TickingCheck check(&timer, &counters_, &alive_after_cancel);
    check.Start(Record());
    Run();  // ends when the cancelled attempt stopped the timer
  }
  EXPECT_TRUE(alive_after_cancel) << "freed inside its own callback";
  EXPECT_TRUE(results_.empty());
  EXPECT_EQ(counters_.released, 1);
  EXPECT_EQ(counters_.alive, 0);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer), nullptr);
  Run();  // the timer lives on this stack: its close completes here
}

// ResolveThen(): the base owns the lookup, drops it when the attempt ends
// first, and never calls `then` after that.
class LookupAttempt final : public Attempt {
 public:
  LookupAttempt(Resolver* resolver, std::string host, Counters* counters, int* thens)
      : resolver_(resolver), host_(std::move(host)), counters_(counters), thens_(thens) {
    ++counters_->alive;
  }
  ~LookupAttempt() override { --counters_->alive; }

 private:
  void Begin() override {
    ++counters_->began;
    ResolveThen(*resolver_, host_, IpProtocol::kAuto, [this](ResolveResult result) {
      ++*thens_;
      EXPECT_FALSE(resolving()) << "the lookup is over when `then` runs";
      if (result.addresses.empty()) {
        Finish(ResolveFailed(result));
        return;
      }
      Finish(CheckResult::Healthy(std::to_string(result.addresses.size()) + " address"));
    });
    EXPECT_TRUE(resolving());
  }
  void Release() override { ++counters_->released; }

  Resolver* resolver_;
  std::string host_;
  Counters* counters_;
  int* thens_;
};

class LookupCheck final : public AsyncCheck {
 public:
  LookupCheck(Resolver* resolver, std::string host, Counters* counters, int* thens)
      : resolver_(resolver), host_(std::move(host)), counters_(counters), thens_(thens) {}

 private:
  std::unique_ptr<Attempt> NewAttempt() override {
    return std::make_unique<LookupAttempt>(resolver_, host_, counters_, thens_);
  }
  Resolver* resolver_;
  std::string host_;
  Counters* counters_;
  int* thens_;
};

TEST_F(AttemptTest, ResolveThenAnswersOnALaterTurnAndCancelDropsTheLookup) {
  Resolver resolver(&loop_);
  int thens = 0;
  {
    LookupCheck check(&resolver, "127.0.0.1", &counters_, &thens);
    check.Start(Record());
    EXPECT_EQ(thens, 0) << "answered inside Start()";
    Run();
    ASSERT_EQ(results_.size(), 1u);
    EXPECT_EQ(results_[0].health, Health::kHealthy);
    EXPECT_EQ(results_[0].detail, "1 address");
    EXPECT_EQ(thens, 1);

    check.Start(Record());
    check.Cancel();  // before the answer: the request is dropped
    Run();
    EXPECT_EQ(thens, 1) << "`then` ran after Cancel()";
    EXPECT_EQ(results_.size(), 1u);
    EXPECT_EQ(counters_.released, 2);
    EXPECT_EQ(counters_.alive, 0) << "the cancelled attempt waits for a callback that never comes";
  }
  {
    LookupCheck empty(&resolver, "", &counters_, &thens);
    empty.Start(Record());
    Run();
    ASSERT_EQ(results_.size(), 2u);
    EXPECT_EQ(results_[1].health, Health::kUnhealthy);
    EXPECT_EQ(results_[1].detail, "empty host name");
    EXPECT_NE(results_[1].reason, FailureReason::kNone);
  }
  resolver.Shutdown();
}

TEST_F(AttemptTest, ResolveFailedGivesTheResolversReasonAndText) {
  ResolveResult nx;
  nx.error = "no such host";
  nx.failure = ResolveFailure::kNxDomain;
  CheckResult r = Attempt::ResolveFailed(nx);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.reason, FailureReason::kDnsNxdomain);
  EXPECT_EQ(r.detail, "no such host");
  r = Attempt::ResolveFailed(ResolveResult{});
  EXPECT_EQ(r.reason, FailureReason::kDnsError) << "a lookup without a reason is a DNS error";
  EXPECT_EQ(r.detail, "no address");
}

}  // namespace
}  // namespace hx
