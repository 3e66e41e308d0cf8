#include "checks/common/attempt.h"

#include <utility>

#include "checks/common/failure_reasons.h"

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
  DropLookup();
  Release();
  Check::DoneCallback done = std::exchange(done_, nullptr);
  if (done) done(std::move(result));
}

void Attempt::Abandon() {
  if (over_) return;
  over_ = true;
  check_ = nullptr;
  done_ = nullptr;
  DropLookup();
  Release();
}

void Attempt::ResolveThen(Resolver& resolver, std::string_view host, IpProtocol protocol,
                          std::function<void(ResolveResult)> then) {
  // The resolver answers on a later turn of the loop, never inside
  // Resolve(), so lookup_ is in place before the callback. It hands the
  // callback out of the request before calling it: resetting lookup_ there
  // only frees the handle.
  ExpectCallback();
  lookup_ = resolver.Resolve(
      host, protocol,
      [this, then = std::move(then)](ResolveResult result) {
        CallbackGuard guard(this);
        lookup_.reset();
        if (guard.over()) return;
        then(std::move(result));
      },
      check_ != nullptr ? check_->trace() : nullptr);
}

void Attempt::DropLookup() {
  if (lookup_ == nullptr) return;
  lookup_.reset();  // destroying the request cancels it: its callback will not come
  ForgetCallback();
}

CheckResult Attempt::ResolveFailed(const ResolveResult& result) {
  return CheckResult::Unhealthy(ReasonOfFailedLookup(result.failure),
                                result.error.empty() ? "no address" : result.error);
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
