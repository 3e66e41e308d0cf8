#pragma once
// A Clock whose time moves only when a test says so.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <queue>
#include <unordered_map>
#include <vector>

#include "scheduler/clock.h"

namespace hx {

/// Clock for deterministic tests. Now() stands still until AdvanceTo() or
/// AdvanceBy(), which fire every timer due by then in due order (ties in the
/// order they were armed), with Now() equal to each timer's due time while its
/// callback runs. Callbacks may start, stop or destroy timers, including their
/// own. A timer started with a delay <= 0 never fires inside Start(); it fires
/// at the next Advance call (even AdvanceBy(0)). WallSeconds() is a fixed epoch
/// plus the time advanced so far. The clock must outlive its timers.
/// Single-threaded, except that Now() and WallSeconds() may be read from other
/// threads (a store's writer thread stamps with the test's clock): the time
/// itself is atomic.
class ManualClock final : public Clock {
 public:
  /// Wall-clock seconds at construction: 2023-11-14T22:13:20Z.
  static constexpr double kStartWallSeconds = 1'700'000'000.0;

  /// Starts at an arbitrary, non-zero monotonic time so code that treats the
  /// epoch specially is caught.
  ManualClock();
  ~ManualClock() override;

  MonoTime Now() override { return now_.load(); }
  double WallSeconds() override;
  std::unique_ptr<Timer> CreateTimer() override;

  /// Moves time forward to `t` (never backwards), firing due timers.
  void AdvanceTo(MonoTime t);
  void AdvanceBy(Duration d) { AdvanceTo(now_.load() + d); }
  /// Moves time forward without firing anything, as if the loop were busy
  /// elsewhere: timers that became due fire at the next Advance call, late,
  /// with Now() at the stalled time.
  void StallFor(Duration d) { now_.store(now_.load() + d); }

  /// Timers currently armed.
  size_t ArmedTimers() const { return armed_count_; }

 private:
  class ManualTimer;
  struct TimerState {
    std::function<void()> callback;
    uint64_t generation = 0;  // bumped by every Start/Stop, invalidating queued firings
    bool armed = false;
  };
  struct Firing {
    MonoTime due;
    uint64_t sequence;  // arming order, to break ties
    uint64_t timer_id;
    uint64_t generation;
    bool operator>(const Firing& other) const {
      return due != other.due ? due > other.due : sequence > other.sequence;
    }
  };

  void StartTimer(uint64_t id, Duration delay, std::function<void()> callback);
  void StopTimer(uint64_t id);
  void DestroyTimer(uint64_t id);

  MonoTime start_;
  std::atomic<MonoTime> now_;
  uint64_t next_timer_id_ = 0;
  uint64_t next_sequence_ = 0;
  size_t armed_count_ = 0;
  std::unordered_map<uint64_t, TimerState> timers_;
  // Stale entries (stopped or re-armed timers) are dropped when popped.
  std::priority_queue<Firing, std::vector<Firing>, std::greater<Firing>> queue_;
};

}  // namespace hx
