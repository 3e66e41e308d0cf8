#pragma once
// ReloadCoordinator serialises config reloads. The new config is read and
// validated on libuv's thread pool (file I/O, secret files), then applied on
// the loop thread, where every check lives. Requests arriving while a reload
// runs are answered by one more reload after it — the files may have changed
// since the running one read them — never by several.
//
// Reading has a deadline: a config on a hung filesystem (a dead NFS server, a
// stuck FUSE daemon) can block open() or read() forever, and such a call
// cannot be interrupted. When a load passes its deadline it is abandoned: its
// requesters are answered "timed out", the running config stays, and the
// next reload may start on another pool thread. An abandoned load keeps its
// pool thread until the call returns, so at most `max_stuck` may be
// outstanding; past that, reloads are refused at once ("busy") rather than
// taking the rest of the pool that checks need.
//
// Requests come from the loop (SIGHUP) or from any other thread (POST
// /-/reload on a web server thread, which waits for the answer, but never
// longer than the deadline). Thread-safe where stated; everything else is
// loop-thread only.

#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/config.h"
#include "io/thread_pool_job.h"

namespace hx {

class ReloadCoordinator {
 public:
  enum class Result {
    kApplied,       ///< the new config runs
    kRejected,      ///< the new config has errors; the running one stays
    kTimedOut,      ///< not done within the deadline; the running one stays
    kBusy,          ///< refused: earlier loads are still stuck
    kShuttingDown,  ///< refused: the daemon is stopping
  };
  struct Outcome {
    Result result = Result::kRejected;
    /// For the requester and the log: the errors (kRejected), why it timed
    /// out or was refused, or a summary of the changes (kApplied).
    std::string message;
  };
  using Done = std::function<void(const Outcome&)>;
  /// Reads and validates the config; runs on a pool thread.
  using Load = std::function<LoadResult()>;
  /// Applies (or, for errors, reports) a loaded config; runs on the loop.
  /// Returns kApplied or kRejected.
  using Apply = std::function<Outcome(LoadResult&)>;
  /// Reports, on the loop, a reload that ended without Apply: kTimedOut or
  /// kBusy (to log it and count it as a failed reload).
  using Unfinished = std::function<void(const Outcome&)>;

  struct Limits {
    /// How long a load (read + parse + validate) may take, and how long
    /// RequestAndWait() waits.
    std::chrono::milliseconds deadline{10'000};
    /// Abandoned loads still blocked on the pool before reloads are refused.
    int max_stuck = 2;
  };

  ReloadCoordinator(uv_loop_t* loop, Load load, Apply apply, Unfinished unfinished, Limits limits);
  /// Close() must have been called and the loop run to let it finish.
  ~ReloadCoordinator();
  ReloadCoordinator(const ReloadCoordinator&) = delete;
  ReloadCoordinator& operator=(const ReloadCoordinator&) = delete;

  /// Loop thread. `done` runs on the loop once the reload that serves this
  /// request has been applied, refused or abandoned (at once when refused).
  void Request(Done done);

  /// Thread-safe; call from any thread but the loop's. Blocks until the
  /// reload is done, at most the deadline (then kTimedOut).
  Outcome RequestAndWait();

  /// Loop thread: answers every pending and later request with kShuttingDown
  /// and releases the loop handles. A load already on the pool is abandoned:
  /// it finishes (or not) without being applied.
  void Close();

  /// Loop thread: abandoned loads whose call has not returned yet.
  int stuck() const { return *stuck_; }

  const Limits& limits() const { return limits_; }

 private:
  struct Waiter;
  struct LoadToken;
  static void OnAsync(uv_async_t* handle);
  static void OnDeadline(uv_timer_t* handle);
  void StartNext();
  void Finish(LoadResult& result);
  void Abandon();
  void StartQueued();
  void AnswerAll(std::vector<Done>& requests, const Outcome& outcome);
  Outcome TimedOut() const;  // thread-safe
  Outcome Busy() const;

  uv_loop_t* loop_;
  const Load load_;
  const Apply apply_;
  const Unfinished unfinished_;
  const Limits limits_;
  uv_async_t async_{};
  uv_timer_t deadline_{};
  bool closed_ = false;                                    // loop thread
  ThreadPoolJob job_;                                      // the load running now, if any
  std::shared_ptr<LoadToken> token_;                       // the running load's
  std::shared_ptr<int> stuck_ = std::make_shared<int>(0);  // loop thread; outlives us in jobs
  std::vector<Done> serving_;  // answered by the reload running now
  std::vector<Done> queued_;   // answered by the next one

  std::mutex mutex_;  // guards remote_ and remote_closed_
  std::vector<std::shared_ptr<Waiter>> remote_;
  bool remote_closed_ = false;
};

}  // namespace hx
