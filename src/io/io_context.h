#pragma once
// The loop-thread services shared by every check: the libuv loop and, created
// on first use, the libcurl multi handle and the c-ares resolver driven by it. Owned by the daemon;
// lives on the loop thread and is not thread-safe.

#include <uv.h>

#include <memory>
#include <optional>
#include <utility>

#include "io/resolver.h"

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
  /// The shared resolver on this loop (created on first call, from
  /// /etc/resolv.conf and /etc/hosts unless set_resolver_options() said else).
  Resolver& resolver();
  /// Options for the resolver, e.g. a test's own DNS server; only before the
  /// first resolver() call.
  void set_resolver_options(Resolver::Options options) { resolver_options_ = std::move(options); }

  /// Aborts shared transfers and starts closing the handles this context
  /// created; run the loop afterwards so the closes complete.
  void Shutdown();

 private:
  uv_loop_t* loop_;
  std::unique_ptr<CurlMulti> curl_;
  std::optional<Resolver::Options> resolver_options_;
  std::unique_ptr<Resolver> resolver_;
};

}  // namespace hx
