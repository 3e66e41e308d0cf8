#include "io/curl_multi.h"

#include <mutex>

namespace hx {

// One watched socket. Heap-allocated because uv_close() finishes on a later
// turn of the loop; the close callback deletes it, so nothing here refers back
// to a CurlMulti that may be gone by then.
struct CurlMulti::SocketWatch {
  uv_poll_t poll;
  CurlMulti* owner;
  curl_socket_t fd;
};

namespace {

void EnsureCurlGlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

CurlMulti::CurlMulti(uv_loop_t* loop) : loop_(loop) {
  EnsureCurlGlobalInit();
  timer_ = new uv_timer_t;
  uv_timer_init(loop_, timer_);
  timer_->data = this;
  multi_ = curl_multi_init();
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlMulti::OnSocket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlMulti::OnTimerChange);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
}

CurlMulti::~CurlMulti() { Shutdown(); }

bool CurlMulti::Add(CURL* easy, DoneCallback done) {
  if (multi_ == nullptr || easy == nullptr) return false;
  auto [it, inserted] = transfers_.emplace(easy, std::move(done));
  if (!inserted) return false;
  // add_handle only arms the timer (a 0 ms timeout); the transfer starts on the
  // next turn of the loop, so `done` never runs inside Add().
  if (curl_multi_add_handle(multi_, easy) != CURLM_OK) {
    transfers_.erase(it);
    return false;
  }
  return true;
}

void CurlMulti::Remove(CURL* easy) {
  if (multi_ == nullptr) return;
  if (transfers_.erase(easy) == 0) return;
  // Closes the transfer's connection (curl calls OnSocket with REMOVE first).
  curl_multi_remove_handle(multi_, easy);
}

void CurlMulti::Shutdown() {
  if (multi_ != nullptr) {
    for (auto& [easy, done] : transfers_) curl_multi_remove_handle(multi_, easy);
    transfers_.clear();
    // Closes cached connections; curl reports each socket as REMOVEd.
    curl_multi_cleanup(multi_);
    multi_ = nullptr;
  }
  while (!sockets_.empty()) Unwatch(*sockets_.begin());
  if (timer_ != nullptr) {
    uv_timer_stop(timer_);
    uv_close(reinterpret_cast<uv_handle_t*>(timer_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
    timer_ = nullptr;
  }
}

int CurlMulti::OnSocket(CURL* /*easy*/, curl_socket_t fd, int what, void* self, void* socket_data) {
  auto* multi = static_cast<CurlMulti*>(self);
  auto* watch = static_cast<SocketWatch*>(socket_data);
  if (what == CURL_POLL_REMOVE) {
    // curl calls this before it closes the socket, so the fd leaves epoll
    // while it is still ours; a later socket with the same fd number gets a
    // fresh watch (curl forgets socket_data together with the socket).
    if (watch != nullptr) multi->Unwatch(watch);
    return 0;
  }
  if (watch == nullptr) {
    watch = new SocketWatch;
    watch->owner = multi;
    watch->fd = fd;
    if (uv_poll_init_socket(multi->loop_, &watch->poll, fd) != 0) {
      delete watch;
      return -1;
    }
    watch->poll.data = watch;
    multi->sockets_.insert(watch);
    curl_multi_assign(multi->multi_, fd, watch);
  }
  int events = 0;
  if (what & CURL_POLL_IN) events |= UV_READABLE;
  if (what & CURL_POLL_OUT) events |= UV_WRITABLE;
  uv_poll_start(&watch->poll, events, &CurlMulti::OnPoll);
  return 0;
}

int CurlMulti::OnTimerChange(CURLM* /*multi*/, long timeout_ms, void* self) {
  auto* multi = static_cast<CurlMulti*>(self);
  if (multi->timer_ == nullptr) return 0;
  if (timeout_ms < 0) {
    uv_timer_stop(multi->timer_);
  } else {
    // Even a 0 ms timeout goes through the loop: curl must not be re-entered
    // from inside its own callback.
    uv_timer_start(multi->timer_, &CurlMulti::OnTimer, static_cast<uint64_t>(timeout_ms), 0);
  }
  return 0;
}

void CurlMulti::OnTimer(uv_timer_t* timer) {
  static_cast<CurlMulti*>(timer->data)->Act(CURL_SOCKET_TIMEOUT, 0);
}

void CurlMulti::OnPoll(uv_poll_t* poll, int status, int events) {
  auto* watch = static_cast<SocketWatch*>(poll->data);
  int flags = 0;
  if (status < 0) {
    flags = CURL_CSELECT_ERR;
  } else {
    if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
  }
  // `watch` may be unwatched during Act(); copy what we need first.
  CurlMulti* owner = watch->owner;
  owner->Act(watch->fd, flags);
}

void CurlMulti::Act(curl_socket_t fd, int ev_bitmask) {
  if (multi_ == nullptr) return;
  int running = 0;
  curl_multi_socket_action(multi_, fd, ev_bitmask, &running);
  ReportFinished();
}

void CurlMulti::ReportFinished() {
  int left = 0;
  while (multi_ != nullptr) {
    CURLMsg* msg = curl_multi_info_read(multi_, &left);
    if (msg == nullptr) break;
    if (msg->msg != CURLMSG_DONE) continue;
    // The message is invalid after remove_handle; copy it out.
    CURL* easy = msg->easy_handle;
    const CURLcode result = msg->data.result;
    curl_multi_remove_handle(multi_, easy);
    auto it = transfers_.find(easy);
    if (it == transfers_.end()) continue;
    DoneCallback done = std::move(it->second);
    transfers_.erase(it);
    // May Add() or Remove() other transfers, or Shutdown(); the loop
    // re-checks multi_ and curl drops queued messages of removed handles.
    done(result);
  }
}

void CurlMulti::Unwatch(SocketWatch* watch) {
  sockets_.erase(watch);
  uv_poll_stop(&watch->poll);
  uv_close(reinterpret_cast<uv_handle_t*>(&watch->poll),
           [](uv_handle_t* h) { delete static_cast<SocketWatch*>(h->data); });
}

}  // namespace hx
