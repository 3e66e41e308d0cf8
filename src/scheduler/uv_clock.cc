#include "scheduler/uv_clock.h"

#include <time.h>

#include <cstdint>
#include <utility>

namespace hx {

namespace {

constexpr int64_t kNanosPerMilli = 1'000'000;

class UvTimer final : public Timer {
 public:
  explicit UvTimer(uv_loop_t* loop) : loop_(loop), handle_(new uv_timer_t) {
    uv_timer_init(loop_, handle_);
    handle_->data = this;
  }
  // Owns the libuv handle, whose data points back at this object.
  UvTimer(const UvTimer&) = delete;
  UvTimer& operator=(const UvTimer&) = delete;

  ~UvTimer() override {
    uv_timer_stop(handle_);
    // The handle stays owned by libuv until its close callback runs on a later
    // turn of the loop; detaching it from `this` makes that window harmless.
    handle_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(handle_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
  }

  void Start(Duration delay, std::function<void()> callback) override {
    callback_ = std::move(callback);
    // libuv timers are due when the loop's cached millisecond time, a floor of
    // uv_hrtime (possibly from a coarser clock that lags it), reaches
    // loop_time + timeout. Rounding the absolute target up to a whole
    // millisecond means the timer can only fire once uv_hrtime, and so Now(),
    // has passed now + delay, however stale the cached time is.
    //
    // The cached time is deliberately not refreshed here (uv_update_time):
    // libuv 1.44 runs every timer due against it in one go, so refreshing it
    // from inside timer callbacks that take as long as the time that passes
    // (uv_spawn under load) kept the timers phase from ever ending — no
    // epoll_wait, no SIGCHLD, no SIGTERM (found by the soak test).
    uint64_t timeout_ms = 0;
    if (delay.count() > 0) {
      const uint64_t target_ns = uv_hrtime() + static_cast<uint64_t>(delay.count());
      const uint64_t target_ms = (target_ns + kNanosPerMilli - 1) / kNanosPerMilli;
      const uint64_t loop_ms = uv_now(loop_);
      timeout_ms = target_ms > loop_ms ? target_ms - loop_ms : 0;
    }
    // A zero timeout runs in the next timers phase, never inside this call.
    uv_timer_start(handle_, &UvTimer::OnFire, timeout_ms, 0);
  }

  void Stop() override {
    uv_timer_stop(handle_);
    callback_ = nullptr;
  }

 private:
  static void OnFire(uv_timer_t* handle) {
    auto* self = static_cast<UvTimer*>(handle->data);
    if (self == nullptr) return;
    // Moved out first: the callback may re-arm this timer (replacing
    // callback_) or destroy it; neither may pull the running closure away.
    std::function<void()> callback = std::move(self->callback_);
    self->callback_ = nullptr;
    if (callback) callback();
  }

  uv_loop_t* loop_;
  uv_timer_t* handle_;
  std::function<void()> callback_;
};

}  // namespace

MonoTime UvClock::Now() { return MonoTime(Duration(static_cast<int64_t>(uv_hrtime()))); }

double UvClock::WallSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::unique_ptr<Timer> UvClock::CreateTimer() { return std::make_unique<UvTimer>(loop_); }

}  // namespace hx
