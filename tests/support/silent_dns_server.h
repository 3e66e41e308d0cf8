#pragma once
// A "DNS server" that never answers: a UDP socket bound to 127.0.0.1 on a
// free port that nobody reads, for tests of lookups that hang (cancel while
// resolving, the resolver's timeout).

#include <string>

namespace hx {

/// One bound UDP socket, closed by the destructor. Not thread-safe: use from
/// the test thread.
class SilentDnsServer {
 public:
  SilentDnsServer();
  ~SilentDnsServer();
  SilentDnsServer(const SilentDnsServer&) = delete;
  SilentDnsServer& operator=(const SilentDnsServer&) = delete;

  /// False if the socket could not be bound.
  bool ok() const { return !address_.empty(); }
  /// "127.0.0.1:PORT" (for Resolver::Options::servers).
  const std::string& address() const { return address_; }

 private:
  int fd_ = -1;
  std::string address_;
};

}  // namespace hx
