// ReloadCoordinator on a real libuv loop and thread pool, with loads that
// return at once or block until the test lets them go (as a read on a hung
// filesystem would): the deadline, the cap on stuck loads, the requests
// queued behind a load, waiting from another thread, and Close().
#include "app/reload_coordinator.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "support/loop_test.h"

namespace hx {
namespace {

using namespace std::chrono_literals;
using Result = ReloadCoordinator::Result;
using Outcome = ReloadCoordinator::Outcome;

// Loads block while the gate is closed. Thread-safe.
class Gate {
 public:
  void Close() {
    std::lock_guard lock(mutex_);
    open_ = false;
  }
  void Open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    opened_.notify_all();
  }
  void Pass() {
    std::unique_lock lock(mutex_);
    opened_.wait(lock, [&] { return open_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable opened_;
  bool open_ = true;
};

class ReloadCoordinatorTest : public LoopTest {
 protected:
  void TearDown() override {
    gate_.Open();  // stuck loads return, so the pool drains
    if (coordinator_) coordinator_->Close();
    LoopTest::TearDown();
    coordinator_.reset();
  }

  ReloadCoordinator& Make(std::chrono::milliseconds deadline, int max_stuck = 2) {
    ReloadCoordinator::Limits limits;
    limits.deadline = deadline;
    limits.max_stuck = max_stuck;
    coordinator_ = std::make_unique<ReloadCoordinator>(
        loop(),
        [this] {
          ++loads_started_;
          gate_.Pass();
          LoadResult result;
          result.config = Config{};
          return result;
        },
        [this](LoadResult& result) -> Outcome {
          ++applied_;
          EXPECT_TRUE(result.config.has_value());
          return {Result::kApplied, "config reloaded"};
        },
        [this](const Outcome& outcome) { unfinished_.push_back(outcome.result); }, limits);
    return *coordinator_;
  }

  // Requests a reload on the loop thread; the outcome lands in *out.
  void Request(std::optional<Outcome>* out) {
    coordinator_->Request([out](const Outcome& outcome) { *out = outcome; });
  }

  Gate gate_;
  std::atomic<int> loads_started_{0};
  int applied_ = 0;
  std::vector<Result> unfinished_;
  std::unique_ptr<ReloadCoordinator> coordinator_;
};

TEST_F(ReloadCoordinatorTest, AQuickLoadIsApplied) {
  ReloadCoordinator& reloader = Make(5s);
  std::optional<Outcome> outcome;
  Request(&outcome);
  ASSERT_TRUE(RunUntil([&] { return outcome.has_value(); }));
  EXPECT_EQ(outcome->result, Result::kApplied);
  EXPECT_EQ(applied_, 1);
  EXPECT_TRUE(unfinished_.empty());
  EXPECT_EQ(reloader.stuck(), 0);
}

TEST_F(ReloadCoordinatorTest, AStuckLoadTimesOutAndTheNextOneStartsAtOnce) {
  ReloadCoordinator& reloader = Make(200ms);
  gate_.Close();
  std::optional<Outcome> first;
  std::optional<Outcome> queued;
  const auto start = std::chrono::steady_clock::now();
  Request(&first);
  Request(&queued);  // arrives while the first runs: served by the next load
  ASSERT_TRUE(RunUntil([&] { return first.has_value(); }, 5s));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(first->result, Result::kTimedOut);
  EXPECT_EQ(first->message,
            "the config was not read and checked within 200ms (a hung filesystem?)");
  EXPECT_GE(took, 150ms);  // libuv times from the start of its loop turn
  EXPECT_LT(took, 2s);
  EXPECT_EQ(reloader.stuck(), 1);
  // The queued request got a load of its own, which is stuck too.
  ASSERT_TRUE(RunUntil([&] { return queued.has_value(); }, 5s));
  EXPECT_EQ(queued->result, Result::kTimedOut);
  EXPECT_EQ(loads_started_, 2);
  EXPECT_EQ(reloader.stuck(), 2);
  EXPECT_EQ(applied_, 0);
  EXPECT_EQ(unfinished_, (std::vector<Result>{Result::kTimedOut, Result::kTimedOut}));

  // At the cap: refused at once, without a load.
  std::optional<Outcome> refused;
  Request(&refused);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->result, Result::kBusy);
  EXPECT_EQ(refused->message,
            "2 earlier reloads are still blocked reading the config (a hung filesystem?); no "
            "other starts until one returns");
  EXPECT_EQ(loads_started_, 2);

  // The filesystem answers: the stuck loads return (their results dropped)
  // and reloads work again.
  gate_.Open();
  ASSERT_TRUE(RunUntil([&] { return reloader.stuck() == 0; }, 5s));
  EXPECT_EQ(applied_, 0) << "an abandoned load was applied";
  std::optional<Outcome> again;
  Request(&again);
  ASSERT_TRUE(RunUntil([&] { return again.has_value(); }));
  EXPECT_EQ(again->result, Result::kApplied);
  EXPECT_EQ(applied_, 1);
}

TEST_F(ReloadCoordinatorTest, WaitingFromAnotherThreadEndsAtTheDeadline) {
  Make(300ms, /*max_stuck=*/1);
  gate_.Close();
  std::optional<Outcome> waited;
  std::chrono::steady_clock::duration took{};
  std::thread requester([&] {
    const auto start = std::chrono::steady_clock::now();
    waited = coordinator_->RequestAndWait();
    took = std::chrono::steady_clock::now() - start;
  });
  // The loop runs here; the requester's answer arrives on its own thread.
  RunUntil([&] { return coordinator_->stuck() == 1; }, 5s);
  requester.join();
  ASSERT_TRUE(waited.has_value());
  EXPECT_EQ(waited->result, Result::kTimedOut);
  EXPECT_EQ(waited->message,
            "the config was not read and checked within 300ms (a hung filesystem?)");
  EXPECT_GE(took, 250ms);  // libuv times from the start of its loop turn
  EXPECT_LT(took, 2s);

  // A second one is refused at once (cap 1) rather than waiting.
  std::optional<Outcome> busy;
  std::atomic<bool> answered{false};
  std::thread second([&] {
    busy = coordinator_->RequestAndWait();
    answered = true;
  });
  RunUntil([&] { return answered.load(); }, 5s);
  second.join();
  ASSERT_TRUE(busy.has_value());
  EXPECT_EQ(busy->result, Result::kBusy);
  EXPECT_EQ(busy->message,
            "1 earlier reload is still blocked reading the config (a hung filesystem?); no other "
            "starts until one returns");
}

TEST_F(ReloadCoordinatorTest, CloseAnswersEveryoneAndAbandonsAStuckLoad) {
  ReloadCoordinator& reloader = Make(10s);
  gate_.Close();
  std::optional<Outcome> serving;
  std::optional<Outcome> queued;
  Request(&serving);
  Request(&queued);
  ASSERT_TRUE(RunUntil([&] { return loads_started_ == 1; }, 5s));
  reloader.Close();
  ASSERT_TRUE(serving.has_value());
  ASSERT_TRUE(queued.has_value());
  EXPECT_EQ(serving->result, Result::kShuttingDown);
  EXPECT_EQ(queued->result, Result::kShuttingDown);
  std::optional<Outcome> late;
  Request(&late);
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(late->result, Result::kShuttingDown);
  EXPECT_EQ(reloader.RequestAndWait().result, Result::kShuttingDown);
  gate_.Open();
  EXPECT_TRUE(RunUntilIdle());
  EXPECT_EQ(applied_, 0);
}

}  // namespace
}  // namespace hx
