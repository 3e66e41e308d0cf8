#include "io/io_context.h"

#include "io/curl_multi.h"

namespace hx {

IoContext::IoContext(uv_loop_t* loop) : loop_(loop) {}
IoContext::~IoContext() = default;

CurlMulti& IoContext::curl() {
  if (!curl_) curl_ = std::make_unique<CurlMulti>(loop_);
  return *curl_;
}

void IoContext::Shutdown() {
  if (curl_) curl_->Shutdown();
}

}  // namespace hx
