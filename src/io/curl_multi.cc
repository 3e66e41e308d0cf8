#include "io/curl_multi.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <mutex>

namespace hx {

// The epoll set holding every curl socket, watched by libuv as one fd.
// Heap-allocated because uv_close() finishes on a later turn of the loop; the
// close callback closes the fd and deletes it, so nothing here refers back to
// a CurlMulti that may be gone by then.
struct CurlMulti::EpollWatch {
  uv_poll_t poll;
  int fd = -1;
  CurlMulti* owner = nullptr;
};

namespace {

// Idle easy handles kept for reuse. A handle holds curl's 16 KiB receive
// buffer, so this bounds the pool at about 2 MiB; beyond the transfers
// running at once a larger pool would only hold memory.
constexpr size_t kMaxIdleEasy = 64;
// Events taken from the epoll set per wake-up; more stay readable and are
// taken on the next turn of the loop.
constexpr int kMaxEvents = 64;

void EnsureCurlGlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// epoll_event.data packs the fd with what curl asked to watch, so an error or
// hang-up can be reported as readiness in the directions curl waits for.
uint64_t Pack(curl_socket_t fd, int what) {
  return static_cast<uint32_t>(fd) | (static_cast<uint64_t>(what) << 32);
}

}  // namespace

CurlMulti::CurlMulti(uv_loop_t* loop) : loop_(loop) {
  EnsureCurlGlobalInit();
  timer_ = new uv_timer_t;
  uv_timer_init(loop_, timer_);
  timer_->data = this;
  const int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd >= 0) {
    epoll_ = new EpollWatch;
    epoll_->fd = epfd;
    epoll_->owner = this;
    if (uv_poll_init(loop_, &epoll_->poll, epfd) == 0) {
      epoll_->poll.data = epoll_;
      uv_poll_start(&epoll_->poll, UV_READABLE, &CurlMulti::OnEpollReadable);
    } else {
      close(epfd);
      delete epoll_;
      epoll_ = nullptr;
    }
  }
  multi_ = curl_multi_init();
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlMulti::OnSocket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlMulti::OnTimerChange);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
}

CurlMulti::~CurlMulti() { Shutdown(); }

bool CurlMulti::Add(CURL* easy, DoneCallback done) {
  // Without the epoll set no socket could be watched: refuse rather than hang.
  if (multi_ == nullptr || easy == nullptr || epoll_ == nullptr) return false;
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

CURL* CurlMulti::AcquireEasy() {
  if (idle_easy_.empty()) return curl_easy_init();
  CURL* easy = idle_easy_.back();
  idle_easy_.pop_back();
  return easy;
}

void CurlMulti::ReleaseEasy(CURL* easy) {
  if (easy == nullptr) return;
  if (multi_ == nullptr || idle_easy_.size() >= kMaxIdleEasy) {
    curl_easy_cleanup(easy);
    return;
  }
  // Back to the defaults: drops every option (and with it every pointer the
  // last user set) but keeps the allocated buffers. TLS session IDs a handle
  // cached stay with it; users that must not resume one turn the cache off
  // per transfer (CURLOPT_SSL_SESSIONID_CACHE).
  curl_easy_reset(easy);
  idle_easy_.push_back(easy);
}

void CurlMulti::Shutdown() {
  if (multi_ != nullptr) {
    for (auto& [easy, done] : transfers_) curl_multi_remove_handle(multi_, easy);
    transfers_.clear();
    // Closes cached connections; curl reports each socket as REMOVEd.
    curl_multi_cleanup(multi_);
    multi_ = nullptr;
  }
  for (CURL* easy : idle_easy_) curl_easy_cleanup(easy);
  idle_easy_.clear();
  CloseEpoll();
  if (timer_ != nullptr) {
    uv_timer_stop(timer_);
    uv_close(reinterpret_cast<uv_handle_t*>(timer_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
    timer_ = nullptr;
  }
}

void CurlMulti::CloseEpoll() {
  if (epoll_ == nullptr) return;
  // Sockets still in the set leave it when curl closes them; the set itself
  // is closed only after libuv has let go of it.
  watched_ = 0;
  epoll_->owner = nullptr;
  uv_poll_stop(&epoll_->poll);
  uv_close(reinterpret_cast<uv_handle_t*>(&epoll_->poll), [](uv_handle_t* h) {
    auto* watch = static_cast<EpollWatch*>(h->data);
    close(watch->fd);
    delete watch;
  });
  epoll_ = nullptr;
}

int CurlMulti::OnSocket(CURL* /*easy*/, curl_socket_t fd, int what, void* self, void* socket_data) {
  auto* multi = static_cast<CurlMulti*>(self);
  if (multi->epoll_ == nullptr) return what == CURL_POLL_REMOVE ? 0 : -1;
  const int epfd = multi->epoll_->fd;
  // socket_data is only a marker: non-null once the socket is in the set.
  const bool watched = socket_data != nullptr;
  if (what == CURL_POLL_REMOVE) {
    // curl calls this before it closes the socket, so the fd leaves the set
    // while it is still ours; a later socket with the same fd number is added
    // afresh (curl forgets socket_data together with the socket).
    if (watched) {
      epoll_ctl(epfd, EPOLL_CTL_DEL, fd, nullptr);
      --multi->watched_;
    }
    return 0;
  }
  epoll_event ev{};
  if (what & CURL_POLL_IN) ev.events |= EPOLLIN;
  if (what & CURL_POLL_OUT) ev.events |= EPOLLOUT;
  ev.data.u64 = Pack(fd, what);
  if (watched) {
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) != 0) return -1;
    return 0;
  }
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
    // Only a duplicated fd could still be in the set; take it over.
    if (errno != EEXIST || epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) != 0) return -1;
  }
  ++multi->watched_;
  curl_multi_assign(multi->multi_, fd, multi);
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

void CurlMulti::OnEpollReadable(uv_poll_t* poll, int /*status*/, int /*events*/) {
  auto* watch = static_cast<EpollWatch*>(poll->data);
  if (watch->owner != nullptr) watch->owner->DrainEpoll();
}

void CurlMulti::DrainEpoll() {
  epoll_event events[kMaxEvents];
  const int n = epoll_wait(epoll_->fd, events, kMaxEvents, 0);
  for (int i = 0; i < n; ++i) {
    // A transfer's callback may have shut everything down.
    if (multi_ == nullptr || epoll_ == nullptr) return;
    const uint32_t ev = events[i].events;
    const auto fd = static_cast<curl_socket_t>(events[i].data.u64 & 0xffffffffu);
    const auto what = static_cast<int>(events[i].data.u64 >> 32);
    int flags = 0;
    if (ev & EPOLLIN) flags |= CURL_CSELECT_IN;
    if (ev & EPOLLOUT) flags |= CURL_CSELECT_OUT;
    if (ev & (EPOLLERR | EPOLLHUP)) {
      // As libuv reports them: readiness in the directions curl waits for,
      // so curl reads or writes and learns the error itself.
      if (what & CURL_POLL_IN) flags |= CURL_CSELECT_IN;
      if (what & CURL_POLL_OUT) flags |= CURL_CSELECT_OUT;
      if (flags == 0) flags = CURL_CSELECT_ERR;
    }
    // An event for a socket an earlier Act() in this batch closed (and whose
    // fd number a new socket may already have) is harmless: curl ignores
    // unknown sockets and treats readiness as a hint, never as a result.
    Act(fd, flags);
  }
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

}  // namespace hx
