#pragma once
// STUB — to be replaced: libcurl's multi_socket API driven by a libuv loop.
#include <uv.h>

namespace hx {
class CurlMulti {
 public:
  explicit CurlMulti(uv_loop_t* loop) : loop_(loop) {}
 private:
  [[maybe_unused]] uv_loop_t* loop_;
};
}  // namespace hx
