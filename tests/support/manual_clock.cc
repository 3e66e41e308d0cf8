#include "support/manual_clock.h"

#include <utility>

namespace hx {

class ManualClock::ManualTimer final : public Timer {
 public:
  ManualTimer(ManualClock& clock, uint64_t id) : clock_(clock), id_(id) {}
  ~ManualTimer() override { clock_.DestroyTimer(id_); }

  void Start(Duration delay, std::function<void()> callback) override {
    clock_.StartTimer(id_, delay, std::move(callback));
  }
  void Stop() override { clock_.StopTimer(id_); }

 private:
  ManualClock& clock_;
  uint64_t id_;
};

ManualClock::ManualClock() : start_(MonoTime(std::chrono::hours(1000))), now_(start_) {}

ManualClock::~ManualClock() = default;

double ManualClock::WallSeconds() { return kStartWallSeconds + ToSeconds(now_.load() - start_); }

std::unique_ptr<Timer> ManualClock::CreateTimer() {
  const uint64_t id = next_timer_id_++;
  timers_.emplace(id, TimerState{});
  return std::make_unique<ManualTimer>(*this, id);
}

void ManualClock::StartTimer(uint64_t id, Duration delay, std::function<void()> callback) {
  TimerState& state = timers_.at(id);
  if (!state.armed) ++armed_count_;
  state.armed = true;
  state.callback = std::move(callback);
  ++state.generation;
  // A non-positive delay is due "now", which only an Advance call reaches.
  const MonoTime now = now_.load();
  const MonoTime due = delay.count() > 0 ? now + delay : now;
  queue_.push(Firing{due, next_sequence_++, id, state.generation});
}

void ManualClock::StopTimer(uint64_t id) {
  TimerState& state = timers_.at(id);
  if (state.armed) --armed_count_;
  state.armed = false;
  state.callback = nullptr;
  ++state.generation;
}

void ManualClock::DestroyTimer(uint64_t id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  if (it->second.armed) --armed_count_;
  timers_.erase(it);
}

void ManualClock::AdvanceTo(MonoTime t) {
  while (!queue_.empty() && queue_.top().due <= t) {
    const Firing firing = queue_.top();
    queue_.pop();
    auto it = timers_.find(firing.timer_id);
    if (it == timers_.end() || !it->second.armed || it->second.generation != firing.generation) {
      continue;
    }
    if (firing.due > now_.load()) now_.store(firing.due);
    it->second.armed = false;
    --armed_count_;
    // Moved out so the callback may re-arm or destroy its own timer.
    std::function<void()> callback = std::move(it->second.callback);
    it->second.callback = nullptr;
    callback();
  }
  if (t > now_.load()) now_.store(t);
}

}  // namespace hx
