#include "checks/common/attempt.h"

#include <utility>

namespace hx {
namespace {

class FinishedAttempt final : public Attempt {
 public:
  explicit FinishedAttempt(CheckResult result) : result_(std::move(result)) {}

 private:
  void Begin() override { Finish(std::move(result_)); }
  void Release() override {}

  CheckResult result_;
};

}  // namespace

void Attempt::Finish(CheckResult result) {
  if (over_) return;
  over_ = true;
  if (check_ != nullptr) check_->attempt_ = nullptr;
  check_ = nullptr;
  Release();
  Check::DoneCallback done = std::exchange(done_, nullptr);
  if (done) done(std::move(result));
}

void Attempt::Abandon() {
  if (over_) return;
  over_ = true;
  check_ = nullptr;
  done_ = nullptr;
  Release();
}

AsyncCheck::~AsyncCheck() { Cancel(); }

void AsyncCheck::Start(DoneCallback done) {
  Cancel();  // the scheduler never overlaps attempts; be safe if someone does
  Attempt* attempt = NewAttempt().release();
  attempt->check_ = this;
  attempt->done_ = std::move(done);
  attempt_ = attempt;
  // Begin() counts as a callback in progress: if it finishes at once, `done`
  // may destroy this check, and the attempt must stay alive until Begin()
  // returns. From here on only `attempt` is touched.
  attempt->ExpectCallback();
  Attempt::CallbackGuard guard(attempt);
  attempt->Begin();
}

void AsyncCheck::Cancel() {
  if (attempt_ == nullptr) return;
  Attempt* attempt = std::exchange(attempt_, nullptr);
  attempt->Abandon();
  attempt->FreeIfDone();
}

std::unique_ptr<Attempt> AsyncCheck::FailedAttempt(CheckResult result) {
  if (result.health != Health::kHealthy && result.reason == FailureReason::kNone) {
    result.reason = FailureReason::kInternal;
  }
  return std::make_unique<FinishedAttempt>(std::move(result));
}

}  // namespace hx
