#include "app/reload_coordinator.h"

#include <condition_variable>

namespace hx {

struct ReloadCoordinator::Waiter {
  std::mutex mutex;
  std::condition_variable answered;
  bool done = false;
  Outcome outcome;

  void Answer(const Outcome& result) {
    std::lock_guard lock(mutex);
    done = true;
    outcome = result;
    answered.notify_all();
  }
};

// One load on the pool. Owned by the coordinator while running; the request
// must stay valid until libuv calls back, even after Close().
struct ReloadCoordinator::Work {
  uv_work_t request{};
  ReloadCoordinator* owner = nullptr;
  LoadResult result;
};

namespace {
const ReloadCoordinator::Outcome kShuttingDown{false, "shutting down"};
}

ReloadCoordinator::ReloadCoordinator(uv_loop_t* loop, Load load, Apply apply)
    : loop_(loop), load_(std::move(load)), apply_(std::move(apply)) {
  uv_async_init(loop_, &async_, &ReloadCoordinator::OnAsync);
  async_.data = this;
}

ReloadCoordinator::~ReloadCoordinator() = default;

void ReloadCoordinator::Request(Done done) {
  if (closed_) {
    if (done) done(kShuttingDown);
    return;
  }
  if (running_) {
    queued_.push_back(std::move(done));
    return;
  }
  serving_.push_back(std::move(done));
  StartNext();
}

ReloadCoordinator::Outcome ReloadCoordinator::RequestAndWait(std::chrono::milliseconds timeout) {
  auto waiter = std::make_shared<Waiter>();
  {
    std::lock_guard lock(mutex_);
    if (remote_closed_) return kShuttingDown;
    remote_.push_back(waiter);
    // Under the lock: Close() cannot have released the handle yet.
    uv_async_send(&async_);
  }
  std::unique_lock lock(waiter->mutex);
  if (!waiter->answered.wait_for(lock, timeout, [&] { return waiter->done; })) {
    return {false, "the reload did not finish in time; see the daemon's log"};
  }
  return waiter->outcome;
}

void ReloadCoordinator::OnAsync(uv_async_t* handle) {
  auto* self = static_cast<ReloadCoordinator*>(handle->data);
  std::vector<std::shared_ptr<Waiter>> waiters;
  {
    std::lock_guard lock(self->mutex_);
    waiters.swap(self->remote_);
  }
  for (auto& waiter : waiters) {
    self->Request([waiter](const Outcome& outcome) { waiter->Answer(outcome); });
  }
}

void ReloadCoordinator::StartNext() {
  running_ = true;
  work_ = std::make_unique<Work>();
  work_->owner = this;
  work_->request.data = work_.get();
  uv_queue_work(
      loop_, &work_->request,
      [](uv_work_t* request) {
        auto* work = static_cast<Work*>(request->data);
        work->result = work->owner->load_();
      },
      [](uv_work_t* request, int) {
        auto* work = static_cast<Work*>(request->data);
        work->owner->Finish(work->result);
      });
}

void ReloadCoordinator::Finish(LoadResult& result) {
  // Keep the work alive until this returns: `result` lives in it.
  std::unique_ptr<Work> work = std::move(work_);
  running_ = false;
  std::vector<Done> serving = std::move(serving_);
  serving_.clear();
  const Outcome outcome = closed_ ? kShuttingDown : apply_(result);
  for (Done& done : serving) {
    if (done) done(outcome);
  }
  if (!queued_.empty()) {
    serving_ = std::move(queued_);
    queued_.clear();
    if (closed_) {
      for (Done& done : serving_) {
        if (done) done(kShuttingDown);
      }
      serving_.clear();
    } else {
      StartNext();
    }
  }
}

void ReloadCoordinator::Close() {
  if (closed_) return;
  closed_ = true;
  std::vector<std::shared_ptr<Waiter>> waiters;
  {
    std::lock_guard lock(mutex_);
    remote_closed_ = true;
    waiters.swap(remote_);
    uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
  }
  for (auto& waiter : waiters) waiter->Answer(kShuttingDown);
  for (Done& done : queued_) {
    if (done) done(kShuttingDown);
  }
  queued_.clear();
}

}  // namespace hx
