#pragma once
// The libuv harness shared by the check integration tests: a real loop, an
// IoContext on it, bounded waits, one attempt of a Check run to completion,
// and a TearDown that proves every handle and request was released.

#include <gtest/gtest.h>
#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "checks/check.h"
#include "io/io_context.h"

namespace hx {

/// Records what a check reported; counts calls so "exactly once" (or "never,
/// after Cancel") can be asserted. Single-threaded; not thread-safe.
struct Outcome {
  int calls = 0;
  CheckResult result;

  Check::DoneCallback Callback() {
    return [this](CheckResult r) {
      ++calls;
      result = std::move(r);
    };
  }
  bool done() const { return calls > 0; }
};

/// Base fixture: a fresh loop and IoContext per test. TearDown fails the test
/// unless the loop drains and uv_loop_close() succeeds, i.e. unless whatever
/// the test started released all its handles and requests (UV_EBUSY otherwise).
/// Everything runs on the test's thread; not thread-safe.
class LoopTest : public ::testing::Test {
 protected:
  /// What RunAttempt does after the attempt reported, before counting calls.
  enum class Settle {
    /// One non-blocking turn, so a wrong second callback already queued shows.
    kOneLoopTurn,
    /// Until nothing is left on the loop (e.g. a thread-pool request of the
    /// attempt finishing), bounded by the default wait.
    kUntilIdle,
  };

  /// `default_wait` bounds RunUntil() and RunAttempt() when no timeout is
  /// given, and the drain in TearDown.
  explicit LoopTest(std::chrono::milliseconds default_wait = std::chrono::seconds(10))
      : default_wait_(default_wait) {}

  void SetUp() override;
  void TearDown() override;

  uv_loop_t* loop() { return &loop_; }
  IoContext& io() { return *io_; }

  /// Destroys the IoContext before TearDown, for tests whose checks must go
  /// first (e.g. curl's connection cache keeps sockets polled until then).
  void DestroyIo() { io_.reset(); }

  /// Runs the loop until `done` holds; false if `timeout` passed first. Events
  /// from other threads (pool, servers) are noticed within a few ms.
  bool RunUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout);
  bool RunUntil(const std::function<bool()>& done) { return RunUntil(done, default_wait_); }

  /// Runs until the loop has nothing left that keeps it alive.
  bool RunUntilIdle() {
    return RunUntil([this] { return !uv_loop_alive(&loop_); });
  }

  /// Starts one attempt of `check` and runs the loop until it reports. Expects
  /// a report within `timeout` and exactly one callback; returns the result,
  /// or nullopt if the attempt never reported.
  std::optional<CheckResult> RunAttempt(Check& check, std::chrono::milliseconds timeout,
                                        Settle settle = Settle::kOneLoopTurn);
  std::optional<CheckResult> RunAttempt(Check& check, Settle settle = Settle::kOneLoopTurn) {
    return RunAttempt(check, default_wait_, settle);
  }

  /// Resolves names from the hosts file at `hosts_file` only (empty: none):
  /// the DNS server it is given (127.0.0.1:1) never answers, so any other
  /// name fails with a DNS timeout after 200 ms, one try.
  void ResolveFromHostsFileOnly(const std::string& hosts_file);

  std::chrono::milliseconds default_wait() const { return default_wait_; }

 private:
  const std::chrono::milliseconds default_wait_;
  bool loop_initialized_ = false;
  uv_loop_t loop_{};
  // Wakes uv_run(UV_RUN_ONCE) regularly so deadlines and events from other
  // threads are noticed; unreferenced so it never keeps the loop alive itself.
  uv_timer_t wake_{};
  std::unique_ptr<IoContext> io_;
};

}  // namespace hx
