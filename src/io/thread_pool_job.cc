#include "io/thread_pool_job.h"

#include <utility>

namespace hx {

struct ThreadPoolJob::State {
  uv_work_t req{};
  std::function<void()> work;
  std::function<void()> after;
  ThreadPoolJob* owner = nullptr;  // null once cancelled
};

int ThreadPoolJob::Start(uv_loop_t* loop, std::function<void()> work, std::function<void()> after) {
  Cancel();
  auto* state = new State;
  state->req.data = state;
  state->work = std::move(work);
  state->after = std::move(after);
  state->owner = this;
  const int rc =
      uv_queue_work(loop, &state->req, &ThreadPoolJob::RunWork, &ThreadPoolJob::AfterWork);
  if (rc < 0) {
    delete state;
    return rc;
  }
  state_ = state;
  return 0;
}

void ThreadPoolJob::Cancel() {
  if (state_ == nullptr) return;
  State* state = std::exchange(state_, nullptr);
  state->owner = nullptr;
  // Succeeds only while the job is still queued; AfterWork then runs with
  // UV_ECANCELED. Otherwise the work finishes and AfterWork drops its result.
  uv_cancel(reinterpret_cast<uv_req_t*>(&state->req));
}

void ThreadPoolJob::RunWork(uv_work_t* req) { static_cast<State*>(req->data)->work(); }

void ThreadPoolJob::AfterWork(uv_work_t* req, int status) {
  auto* state = static_cast<State*>(req->data);
  ThreadPoolJob* owner = std::exchange(state->owner, nullptr);
  if (owner != nullptr) {
    // Unlinked before `after` runs: it may destroy the owner or start the
    // next job, and neither must reach this state. (status is UV_ECANCELED
    // only after Cancel(), which already unlinked; checked to be safe.)
    owner->state_ = nullptr;
    if (status == 0) state->after();
  }
  delete state;
}

}  // namespace hx
