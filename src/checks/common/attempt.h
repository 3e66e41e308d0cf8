#pragma once
// The one base for checks whose attempts wait on the loop (sockets, timers,
// resolver requests, child processes): AsyncCheck and its Attempt.
//
// The hard part of an asynchronous attempt is not the protocol but its end:
// libuv still owes callbacks (a close, a cancelled connect, a resolver answer)
// after the check was cancelled or destroyed, so the attempt's state must
// outlive both, and no callback may reach the scheduler after Cancel(). That
// skeleton is written once here, after spdlog's base_sink: the public entry
// points are `final` and keep the invariant; a type implements two hooks,
// "begin the attempt" (Attempt::Begin) and "release what it holds"
// (Attempt::Release), and announces each callback it expects libuv to make
// (callbacks that repeat while a handle is open, such as reads, are not
// announced; they open with a RepeatingCallbackGuard instead).
//
//   class FooCheck::FooAttempt final : public Attempt {
//     void Begin() override {
//       ExpectCallback();                       // libuv owes us OnConnected
//       uv_tcp_connect(&req_, socket_, addr, &OnConnected);
//     }
//     static void OnConnected(uv_connect_t* req, int status) {
//       auto* self = static_cast<FooAttempt*>(req->data);
//       CallbackGuard guard(self);              // first thing, always
//       if (guard.over()) return;               // cancelled or finished: touch nothing
//       self->Finish(status == 0 ? CheckResult::Healthy()
//                                : CheckResult::Unhealthy(ReasonOfSocketError(status), "..."));
//     }
//     void Release() override { CloseSocket(); }  // ExpectCallback() before uv_close
//   };
//   std::unique_ptr<Attempt> FooCheck::NewAttempt() { return std::make_unique<FooAttempt>(...); }
//
// Guarantees: `done` is called at most once, never after Cancel() or the
// check's destruction; Release() is called exactly once per attempt, when it
// ends either way; the attempt is freed once it is over and every announced
// callback has arrived, and never while one of its own callbacks still runs.

#include <functional>
#include <memory>
#include <string_view>

#include "checks/check.h"
#include "io/resolver.h"

namespace hx {

class AsyncCheck;

/// One attempt's state. Created by AsyncCheck::NewAttempt(); from then on it
/// owns itself (see the top of this file). Loop-thread only; not thread-safe.
class Attempt {
 public:
  virtual ~Attempt() = default;
  Attempt(const Attempt&) = delete;
  Attempt& operator=(const Attempt&) = delete;

  /// The unhealthy result of a lookup that gave no address: the reason of
  /// its failure (dns_error when the resolver names none) and its text.
  static CheckResult ResolveFailed(const ResolveResult& result);

  /// Constructed first thing in every callback announced with
  /// ExpectCallback(). When the scope ends it counts the callback as arrived
  /// and frees the attempt if it is over and owed nothing more, so nothing,
  /// not even a Cancel() from inside the callback, frees it while the
  /// callback runs. While over() is true the callback must return without
  /// touching the attempt's protocol state (Release() has run).
  class CallbackGuard {
   public:
    explicit CallbackGuard(Attempt* attempt) : attempt_(attempt) {}
    ~CallbackGuard() {
      --attempt_->pending_;
      attempt_->FreeIfDone();
    }
    CallbackGuard(const CallbackGuard&) = delete;
    CallbackGuard& operator=(const CallbackGuard&) = delete;
    bool over() const { return attempt_->over_; }

   private:
    Attempt* attempt_;
  };

  /// Constructed first thing in a callback that is not announced one by one
  /// because it may come any number of times while something the attempt
  /// holds is open: a stream's reads, a poll handle's readiness, a client
  /// library's or a child process's callbacks. Such a source must be closed
  /// or stopped by Release(), so these callbacks only come while the attempt
  /// runs; the guard keeps the attempt allocated until the callback returns
  /// all the same, even when it ends the attempt (or the check is cancelled)
  /// and nothing else is owed.
  class RepeatingCallbackGuard : public CallbackGuard {
   public:
    explicit RepeatingCallbackGuard(Attempt* attempt) : CallbackGuard(Announce(attempt)) {}

   private:
    static Attempt* Announce(Attempt* attempt) {
      attempt->ExpectCallback();
      return attempt;
    }
  };

 protected:
  Attempt() = default;

  /// Starts the attempt; called once, by AsyncCheck::Start(). May call
  /// Finish() before returning (an immediate local error).
  virtual void Begin() = 0;

  /// Releases what the attempt holds: close handles, cancel requests, drop
  /// resolver requests. Called exactly once, when the attempt ends by
  /// Finish() (before `done` is called) or by Cancel(). Handles closed here
  /// announce their close callback with ExpectCallback().
  virtual void Release() = 0;

  /// Ends the attempt with `result`: Release(), then the check's `done`
  /// (which may destroy the check or start its next attempt; neither touches
  /// this object). Later calls, and calls after Cancel(), do nothing. Never
  /// frees the attempt itself: the enclosing CallbackGuard or Start() does.
  void Finish(CheckResult result);

  /// Announces one callback that libuv (or another loop-thread source) will
  /// make to this attempt; the attempt stays allocated until it arrives.
  void ExpectCallback() { ++pending_; }

  /// Takes back one ExpectCallback() whose callback will not come after all
  /// (e.g. a timer stopped, or a handle closed, before it fired). Never frees
  /// the attempt.
  void ForgetCallback() { --pending_; }

  /// True once finished or cancelled.
  bool over() const { return over_; }

  /// Resolves `host` with the loop's `resolver` (an IP literal too) and calls
  /// `then` with the answer on a later turn of the loop, unless the attempt
  /// is over by then. When the attempt ends first, the request is dropped
  /// (which cancels it) before Release(). One lookup at a time. The check's
  /// debug-run trace, if any, records it.
  void ResolveThen(Resolver& resolver, std::string_view host, IpProtocol protocol,
                   std::function<void(ResolveResult)> then);

  /// Whether a ResolveThen() lookup is in flight.
  bool resolving() const { return lookup_ != nullptr; }

  /// The check this attempt belongs to; null once the attempt is over.
  AsyncCheck* check() const { return check_; }

 private:
  friend class AsyncCheck;
  void Abandon();  // Cancel(): over, detached, Release(); no `done`
  void FreeIfDone() {
    if (over_ && pending_ == 0) delete this;
  }
  void DropLookup();  // an unanswered ResolveThen(): cancel it, take back its callback

  AsyncCheck* check_ = nullptr;
  Check::DoneCallback done_;
  int pending_ = 0;  // announced callbacks not yet arrived
  std::unique_ptr<ResolveRequest> lookup_;  // a ResolveThen() in flight
  bool over_ = false;
};

/// A Check whose attempts are Attempt objects. Implements Start() and
/// Cancel() once for every such type; a type implements NewAttempt().
/// Loop-thread only; not thread-safe.
class AsyncCheck : public Check {
 public:
  ~AsyncCheck() override;

  /// Cancels an attempt still in flight, then begins NewAttempt().
  void Start(DoneCallback done) final;
  /// Ends the attempt in flight without calling its `done`.
  void Cancel() final;

 protected:
  AsyncCheck() = default;

  /// The state of one new attempt (not begun yet). A type that cannot even
  /// set one up (say, its TLS files do not load) returns FailedAttempt().
  virtual std::unique_ptr<Attempt> NewAttempt() = 0;

  /// An attempt that finishes with `result` as soon as it begins. The check
  /// could not even set the attempt up, so a non-healthy `result` that names
  /// no reason reads as kInternal: never a failure without a reason.
  static std::unique_ptr<Attempt> FailedAttempt(CheckResult result);

 private:
  friend class Attempt;
  Attempt* attempt_ = nullptr;  // in flight; owns itself
};

}  // namespace hx
