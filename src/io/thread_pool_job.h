#pragma once
// Runs one blocking function (statfs, file I/O) on the libuv loop's thread
// pool and hands control back to the loop thread when it is done, with a
// Cancel() that returns at once even while the function is still blocked.
//
// Why a separate state object: libuv owns a uv_work_t from uv_queue_work()
// until its after-work callback has run, and a function already running on a
// pool thread cannot be interrupted (a statfs on a hung NFS mount may never
// return). So the request and the closures live in a heap object that frees
// itself in the after-work callback; Cancel() only unlinks it, so the late
// result is dropped and nothing the owner holds is touched afterwards.

#include <uv.h>

#include <functional>

namespace hx {

/// One cancellable job on the loop's thread pool. Start(), Cancel() and the
/// destructor must be called on the loop thread; `after` runs there too.
/// `work` runs on a pool thread and must only touch what its closure owns
/// (e.g. a shared_ptr to an output struct), never the job's owner. Not
/// thread-safe.
class ThreadPoolJob {
 public:
  ThreadPoolJob() = default;
  ~ThreadPoolJob() { Cancel(); }
  ThreadPoolJob(const ThreadPoolJob&) = delete;
  ThreadPoolJob& operator=(const ThreadPoolJob&) = delete;

  /// Queues `work` on the pool of `loop`; `after` runs on the loop thread once
  /// it has returned, unless Cancel() came first. Cancels a job still in
  /// flight first. Returns 0, or a libuv error if nothing was queued (then
  /// neither function runs).
  int Start(uv_loop_t* loop, std::function<void()> work, std::function<void()> after);

  /// Drops the job in flight: `after` will not run. A job that has not
  /// started is taken off the queue; one that is running finishes on its
  /// thread and is freed afterwards. A no-op when nothing is in flight.
  void Cancel();

  /// True from Start() until `after` has been called or Cancel().
  bool active() const { return state_ != nullptr; }

 private:
  struct State;
  static void RunWork(uv_work_t* req);
  static void AfterWork(uv_work_t* req, int status);

  State* state_ = nullptr;  // in flight; frees itself in AfterWork
};

}  // namespace hx
