#include "io/io_context.h"

#include "io/curl_multi.h"

namespace hx {

IoContext::IoContext(uv_loop_t* loop) : loop_(loop) {}
IoContext::~IoContext() = default;

CurlMulti& IoContext::curl() {
  if (!curl_) curl_ = std::make_unique<CurlMulti>(loop_);
  return *curl_;
}

Resolver& IoContext::resolver() {
  if (!resolver_) {
    resolver_ = resolver_options_ ? std::make_unique<Resolver>(loop_, *resolver_options_)
                                  : std::make_unique<Resolver>(loop_);
  }
  return *resolver_;
}

void IoContext::Shutdown() {
  if (curl_) curl_->Shutdown();
  if (resolver_) resolver_->Shutdown();
}

}  // namespace hx
