#pragma once
// A throwaway dnsmasq for tests: an authoritative-only DNS server on
// 127.0.0.1 (UDP and TCP) on a free port, answering from the records the test
// gives, no upstream, no /etc/hosts, no resolv.conf; stopped by pid.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace hx {

/// One dnsmasq child process. `records` are dnsmasq options that define the
/// data, e.g. "--host-record=api.test,10.0.0.1,fd00::1",
/// "--cname=www.test,api.test", "--txt-record=api.test,hello",
/// "--mx-host=test,mail.test,10". Names under `local_domain` that no record
/// defines answer NXDOMAIN (dnsmasq --local=/<domain>/); a known name asked for
/// a type it lacks answers NOERROR with no answers. Queries are logged to
/// dir()/dnsmasq.log. The destructor stops it and removes its temp dir; the
/// child is killed if the test process dies (PR_SET_PDEATHSIG). Not
/// thread-safe: use from the test thread.
class DnsmasqServer {
 public:
  explicit DnsmasqServer(std::vector<std::string> records, std::string local_domain = "test");
  ~DnsmasqServer();
  DnsmasqServer(const DnsmasqServer&) = delete;
  DnsmasqServer& operator=(const DnsmasqServer&) = delete;

  /// False if dnsmasq could not be started; error() says why.
  bool ok() const { return pid_ > 0; }
  const std::string& error() const { return error_; }
  uint16_t port() const { return port_; }
  /// "127.0.0.1:PORT".
  std::string address() const;
  const std::string& dir() const { return dir_; }
  /// The query log so far (for failure messages and "was it asked?").
  std::string Log() const;

  /// Stops the server (SIGTERM, then SIGKILL) and reaps it.
  void Stop();

 private:
  bool StartOnce();

  std::vector<std::string> records_;
  std::string local_domain_;
  std::string dir_;
  std::string error_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace hx
