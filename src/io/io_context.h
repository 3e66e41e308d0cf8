#pragma once
// The loop-thread services shared by every check: the libuv loop and, created
// on first use, the libcurl multi handle driven by it. Owned by the daemon;
// lives on the loop thread and is not thread-safe.

#include <uv.h>

#include <memory>
#include <utility>

namespace hx {

class CurlMulti;

class IoContext {
 public:
  explicit IoContext(uv_loop_t* loop);
  ~IoContext();
  IoContext(const IoContext&) = delete;
  IoContext& operator=(const IoContext&) = delete;

  uv_loop_t* loop() const { return loop_; }
  /// The shared curl multi handle on this loop (created on first call).
  CurlMulti& curl();

  /// Aborts shared transfers and starts closing the handles this context
  /// created; run the loop afterwards so the closes complete.
  void Shutdown();

 private:
  uv_loop_t* loop_;
  std::unique_ptr<CurlMulti> curl_;
};

}  // namespace hx
