#pragma once
// The daemon's Clock: monotonic time from uv_hrtime, wall time from
// CLOCK_REALTIME, and one-shot timers on uv_timer_t handles of one loop.

#include <uv.h>

#include <memory>

#include "scheduler/clock.h"

namespace hx {

/// Clock backed by a libuv loop. Timers fire from uv_run on the loop thread and
/// never before Now() has reached their due time (libuv timers have 1 ms
/// resolution, so a delay is rounded up, never down). The clock must outlive
/// its timers; each timer's handle is closed asynchronously, so the loop must
/// run once more after the last timer is destroyed to free it.
/// Loop-thread only; not thread-safe.
class UvClock final : public Clock {
 public:
  explicit UvClock(uv_loop_t* loop) : loop_(loop) {}

  MonoTime Now() override;
  double WallSeconds() override;
  std::unique_ptr<Timer> CreateTimer() override;

  uv_loop_t* loop() const { return loop_; }

 private:
  uv_loop_t* loop_;
};

}  // namespace hx
