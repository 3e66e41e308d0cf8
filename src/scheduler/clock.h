#pragma once
// Time as the scheduler sees it: a monotonic clock, the wall clock, and
// one-shot timers. The daemon uses the libuv implementation (uv_clock.h);
// tests use ManualClock (tests/support/manual_clock.h) and drive time by hand.
// Implementations are used from one thread (the loop thread) only.

#include <chrono>
#include <functional>
#include <memory>

#include "util/duration.h"

namespace hx {

/// Monotonic time since an arbitrary epoch.
using MonoTime = std::chrono::time_point<std::chrono::steady_clock, Duration>;

/// A one-shot timer. Start() while armed re-arms it. Destroying it stops it.
class Timer {
 public:
  virtual ~Timer() = default;
  /// Calls `callback` once, `delay` from now (a delay <= 0 fires on the next
  /// turn of the loop, never synchronously).
  virtual void Start(Duration delay, std::function<void()> callback) = 0;
  virtual void Stop() = 0;
};

class Clock {
 public:
  virtual ~Clock() = default;
  virtual MonoTime Now() = 0;
  /// Seconds since the Unix epoch, for timestamps shown to users.
  virtual double WallSeconds() = 0;
  virtual std::unique_ptr<Timer> CreateTimer() = 0;
};

}  // namespace hx
