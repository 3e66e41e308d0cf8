#pragma once
// libcurl's multi_socket API driven by a libuv loop, so every HTTP transfer of
// the daemon shares the one event loop: curl tells us which sockets to watch
// (CURLMOPT_SOCKETFUNCTION) and when to wake it up (CURLMOPT_TIMERFUNCTION ->
// one uv_timer_t); libuv tells curl what happened (curl_multi_socket_action);
// finished transfers are collected with curl_multi_info_read and reported
// through the callback given to Add().
//
// The sockets go into one epoll set of our own, which libuv watches as a
// single uv_poll_t. Every transfer opens a new connection, and a uv_poll_t per
// socket cost three to four extra system calls per transfer (libuv probes each
// new fd with an epoll add + delete, sets it non-blocking again, and re-adds
// it), a heap handle and a close callback; with the own set a socket costs
// exactly an add, the modifications curl asks for, and a delete.

#include <curl/curl.h>
#include <uv.h>

#include <functional>
#include <unordered_map>
#include <vector>

namespace hx {

/// One curl multi handle on one libuv loop.
///
/// Loop-thread only: construct, call and destroy it on the thread that runs
/// the loop; not thread-safe. Completion callbacks run on that thread, from
/// inside uv_run, never from inside Add() or Remove().
///
/// Handle lifetime: the uv handles (and the epoll fd) are heap objects freed by
/// their own close callbacks, so this object may be destroyed at any time (also
/// after uv_run has returned). What the owner must do: after destroying it (or calling
/// Shutdown()), run the loop once more, e.g. `uv_run(loop, UV_RUN_NOWAIT)` or
/// `UV_RUN_DEFAULT`, before `uv_loop_close()`, so the close callbacks free the
/// handles. The loop must still be open (not uv_loop_close()d) when this
/// object is destroyed.
class CurlMulti {
 public:
  /// Called once when a transfer ends, with curl's result. The easy handle has
  /// already been removed from the multi handle, so the callback may clean it
  /// up, re-add it, add other transfers or remove other transfers.
  using DoneCallback = std::function<void(CURLcode)>;

  explicit CurlMulti(uv_loop_t* loop);
  /// Same as Shutdown().
  ~CurlMulti();
  CurlMulti(const CurlMulti&) = delete;
  CurlMulti& operator=(const CurlMulti&) = delete;

  /// Starts `easy` (configured, not in any multi handle). The caller keeps
  /// ownership of `easy` and must keep it alive until `done` runs or Remove().
  /// Returns false (and never calls `done`) if curl refused the handle or
  /// after Shutdown().
  bool Add(CURL* easy, DoneCallback done);

  /// Aborts `easy` if it is in flight; its callback is not called afterwards.
  /// A no-op for unknown handles (e.g. one whose callback already ran). Must
  /// not be called from inside libcurl's own callbacks (write, header, ...).
  void Remove(CURL* easy);

  /// Aborts every transfer (no callbacks), releases curl's sockets and starts
  /// closing the uv handles. Idempotent; Add() fails afterwards.
  void Shutdown();

  /// An easy handle in curl's default state (as after curl_easy_init), taken
  /// from a small pool of released ones when there is one: creating and
  /// destroying a handle per transfer was a fifth of the daemon's
  /// instructions per HTTP check. Null if curl cannot allocate one. Give it
  /// back with ReleaseEasy() (or curl_easy_cleanup() it).
  CURL* AcquireEasy();

  /// Returns a handle from AcquireEasy() that is in no multi handle (its
  /// transfer finished or was removed). Its options are reset at once, so no
  /// pointer into the caller's memory (write data, error buffer, header
  /// lists) outlives this call; the caller may free those right after.
  void ReleaseEasy(CURL* easy);

  /// Transfers in flight.
  size_t active() const { return transfers_.size(); }
  /// Sockets currently watched (for tests).
  size_t watched_sockets() const { return watched_; }

 private:
  struct EpollWatch;

  static int OnSocket(CURL* easy, curl_socket_t fd, int what, void* self, void* socket_data);
  static int OnTimerChange(CURLM* multi, long timeout_ms, void* self);
  static void OnTimer(uv_timer_t* timer);
  static void OnEpollReadable(uv_poll_t* poll, int status, int events);

  void Act(curl_socket_t fd, int ev_bitmask);
  void ReportFinished();
  void DrainEpoll();
  void CloseEpoll();

  uv_loop_t* loop_;
  CURLM* multi_ = nullptr;
  uv_timer_t* timer_ = nullptr;  // heap: freed by its close callback
  EpollWatch* epoll_ = nullptr;  // heap: freed (and its fd closed) by its close callback
  size_t watched_ = 0;           // sockets in the epoll set
  std::unordered_map<CURL*, DoneCallback> transfers_;
  std::vector<CURL*> idle_easy_;  // reset handles ready for AcquireEasy()
};

}  // namespace hx
