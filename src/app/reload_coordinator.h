#pragma once
// ReloadCoordinator serialises config reloads. The new config is read and
// validated on libuv's thread pool (file I/O, secret files), then applied on
// the loop thread, where every check lives. Requests arriving while a reload
// runs are answered by one more reload after it — the files may have changed
// since the running one read them — never by several.
//
// Requests come from the loop (SIGHUP) or from any other thread (POST
// /-/reload on a web server thread, which waits for the answer).
// Thread-safe where stated; everything else is loop-thread only.

#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"

namespace hx {

class ReloadCoordinator {
 public:
  /// (success, message for the requester)
  using Outcome = std::pair<bool, std::string>;
  using Done = std::function<void(const Outcome&)>;
  /// Reads and validates the config; runs on a pool thread.
  using Load = std::function<LoadResult()>;
  /// Applies (or, for errors, reports) a loaded config; runs on the loop.
  using Apply = std::function<Outcome(LoadResult&)>;

  ReloadCoordinator(uv_loop_t* loop, Load load, Apply apply);
  ~ReloadCoordinator();
  ReloadCoordinator(const ReloadCoordinator&) = delete;
  ReloadCoordinator& operator=(const ReloadCoordinator&) = delete;

  /// Loop thread. `done` runs on the loop once the reload that serves this
  /// request has been applied or refused.
  void Request(Done done);

  /// Thread-safe; call from any thread but the loop's. Blocks until the
  /// reload is done, at most `timeout`.
  Outcome RequestAndWait(std::chrono::milliseconds timeout);

  /// Loop thread: answers every pending and later request with "shutting
  /// down" and releases the loop handle. A load already on the pool finishes
  /// without being applied.
  void Close();

 private:
  struct Waiter;
  static void OnAsync(uv_async_t* handle);
  void StartNext();
  void Finish(LoadResult& result);

  uv_loop_t* loop_;
  const Load load_;
  const Apply apply_;
  uv_async_t async_{};
  bool closed_ = false;    // loop thread
  bool running_ = false;   // a load is on the pool
  std::vector<Done> serving_;  // answered by the reload running now
  std::vector<Done> queued_;   // answered by the next one
  struct Work;
  std::unique_ptr<Work> work_;

  std::mutex mutex_;  // guards remote_ and remote_closed_
  std::vector<std::shared_ptr<Waiter>> remote_;
  bool remote_closed_ = false;
};

}  // namespace hx
