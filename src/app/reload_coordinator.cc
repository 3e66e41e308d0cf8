#include "app/reload_coordinator.h"

#include <condition_variable>
#include <utility>

#include "util/duration.h"
#include "util/log.h"

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

// Held by a load's closures on the pool, so it lives exactly as long as the
// job does (freed on the loop thread once the call has returned, or at once
// if the job never started). An abandoned load counts as stuck until then.
struct ReloadCoordinator::LoadToken {
  std::shared_ptr<int> stuck;
  bool abandoned = false;
  ~LoadToken() {
    if (!abandoned) return;
    --*stuck;
    log::Info("a reload given up earlier has returned; its result is dropped",
              {{"still_blocked", std::to_string(*stuck)}});
  }
};

namespace {
const ReloadCoordinator::Outcome kShuttingDown{ReloadCoordinator::Result::kShuttingDown,
                                               "shutting down"};
}

ReloadCoordinator::ReloadCoordinator(uv_loop_t* loop, Load load, Apply apply, Unfinished unfinished,
                                     Limits limits)
    : loop_(loop),
      load_(std::move(load)),
      apply_(std::move(apply)),
      unfinished_(std::move(unfinished)),
      limits_(limits) {
  uv_async_init(loop_, &async_, &ReloadCoordinator::OnAsync);
  async_.data = this;
  uv_timer_init(loop_, &deadline_);
  deadline_.data = this;
}

ReloadCoordinator::~ReloadCoordinator() = default;

ReloadCoordinator::Outcome ReloadCoordinator::TimedOut() const {
  return {Result::kTimedOut, "the config was not read and checked within " +
                                 FormatDuration(limits_.deadline) + " (a hung filesystem?)"};
}

ReloadCoordinator::Outcome ReloadCoordinator::Busy() const {
  const int n = *stuck_;
  return {Result::kBusy,
          std::to_string(n) + (n == 1 ? " earlier reload is" : " earlier reloads are") +
              " still blocked reading the config (a hung filesystem?); no other starts until "
              "one returns"};
}

void ReloadCoordinator::Request(Done done) {
  if (closed_) {
    if (done) done(kShuttingDown);
    return;
  }
  if (job_.active()) {
    queued_.push_back(std::move(done));
    return;
  }
  serving_.push_back(std::move(done));
  StartNext();
}

ReloadCoordinator::Outcome ReloadCoordinator::RequestAndWait() {
  auto waiter = std::make_shared<Waiter>();
  {
    std::lock_guard lock(mutex_);
    if (remote_closed_) return kShuttingDown;
    remote_.push_back(waiter);
    // Under the lock: Close() cannot have released the handle yet.
    uv_async_send(&async_);
  }
  std::unique_lock lock(waiter->mutex);
  if (!waiter->answered.wait_for(lock, limits_.deadline, [&] { return waiter->done; })) {
    // Usually the load's own deadline answers first; this one ends the wait
    // of a request queued behind a load that started earlier (its reload
    // goes on, and the log tells how it ends).
    return TimedOut();
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

void ReloadCoordinator::AnswerAll(std::vector<Done>& requests, const Outcome& outcome) {
  std::vector<Done> answering = std::move(requests);
  requests.clear();
  for (Done& done : answering) {
    if (done) done(outcome);
  }
}

void ReloadCoordinator::StartNext() {
  // serving_ holds the requests this load answers.
  if (*stuck_ >= limits_.max_stuck) {
    const Outcome busy = Busy();
    if (unfinished_) unfinished_(busy);
    AnswerAll(serving_, busy);
    return;
  }
  auto token = std::make_shared<LoadToken>();
  token->stuck = stuck_;
  auto result = std::make_shared<LoadResult>();
  const int rc = job_.Start(
      loop_, [load = load_, result, token] { *result = load(); },
      [this, result] { Finish(*result); });
  if (rc < 0) {
    Outcome failed{Result::kRejected, std::string("cannot start the reload: ") + uv_strerror(rc)};
    if (unfinished_) unfinished_(failed);
    AnswerAll(serving_, failed);
    return;
  }
  token_ = std::move(token);
  uv_timer_start(&deadline_, &ReloadCoordinator::OnDeadline,
                 static_cast<uint64_t>(limits_.deadline.count()), 0);
}

void ReloadCoordinator::OnDeadline(uv_timer_t* handle) {
  static_cast<ReloadCoordinator*>(handle->data)->Abandon();
}

void ReloadCoordinator::Abandon() {
  if (!job_.active()) return;
  job_.Cancel();  // the late result is dropped; the call keeps its thread
  token_->abandoned = true;
  ++*stuck_;
  token_.reset();
  const Outcome timed_out = TimedOut();
  if (unfinished_) unfinished_(timed_out);
  AnswerAll(serving_, timed_out);
  StartQueued();
}

void ReloadCoordinator::Finish(LoadResult& result) {
  uv_timer_stop(&deadline_);
  token_.reset();
  const Outcome outcome = closed_ ? kShuttingDown : apply_(result);
  AnswerAll(serving_, outcome);
  StartQueued();
}

void ReloadCoordinator::StartQueued() {
  if (queued_.empty()) return;
  serving_ = std::move(queued_);
  queued_.clear();
  if (closed_) {
    AnswerAll(serving_, kShuttingDown);
  } else {
    StartNext();
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
  uv_close(reinterpret_cast<uv_handle_t*>(&deadline_), nullptr);
  if (job_.active()) {
    job_.Cancel();  // finishes (or not) on its thread, unapplied
    token_.reset();
  }
  for (auto& waiter : waiters) waiter->Answer(kShuttingDown);
  AnswerAll(serving_, kShuttingDown);
  AnswerAll(queued_, kShuttingDown);
}

}  // namespace hx
