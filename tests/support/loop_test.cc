#include "support/loop_test.h"

#include <thread>

namespace hx {

void LoopTest::SetUp() {
  ASSERT_EQ(uv_loop_init(&loop_), 0);
  loop_initialized_ = true;
  io_ = std::make_unique<IoContext>(&loop_);
  uv_timer_init(&loop_, &wake_);
  uv_timer_start(
      &wake_, [](uv_timer_t*) {}, 5, 5);
  uv_unref(reinterpret_cast<uv_handle_t*>(&wake_));
}

void LoopTest::TearDown() {
  // A derived SetUp may have failed before ours ran: nothing to close then.
  if (!loop_initialized_) return;
  uv_close(reinterpret_cast<uv_handle_t*>(&wake_), nullptr);
  EXPECT_TRUE(RunUntilIdle()) << "the loop never drained: a handle or request was left";
  io_.reset();
  // IoContext's owner's duty (see curl_multi.h): one more turn so handles it
  // closed on destruction finish closing.
  uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_EQ(uv_loop_close(&loop_), 0) << "a uv handle or request was leaked";
  loop_initialized_ = false;
}

bool LoopTest::RunUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    if (uv_run(&loop_, UV_RUN_ONCE) == 0 && !done()) {
      // Nothing on the loop: the awaited event comes from another thread.
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  return true;
}

void LoopTest::ResolveFromHostsFileOnly(const std::string& hosts_file) {
  io_->set_resolver_options({.servers = {"127.0.0.1:1"},
                             .hosts_file = hosts_file,
                             .timeout = std::chrono::milliseconds(200),
                             .tries = 1});
}

std::optional<CheckResult> LoopTest::RunAttempt(Check& check, std::chrono::milliseconds timeout,
                                                Settle settle) {
  Outcome outcome;
  check.Start(outcome.Callback());
  const bool reported = RunUntil([&] { return outcome.done(); }, timeout);
  EXPECT_TRUE(reported) << "check never reported";
  // Let late callbacks (if any, wrongly) show up before counting.
  if (settle == Settle::kOneLoopTurn) {
    uv_run(&loop_, UV_RUN_NOWAIT);
  } else {
    RunUntilIdle();
  }
  EXPECT_EQ(outcome.calls, 1);
  if (!reported) return std::nullopt;
  return outcome.result;
}

}  // namespace hx
