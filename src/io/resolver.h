#pragma once
// The daemon's one name resolver: c-ares driven by the libuv loop, so a slow or
// hung DNS server costs a pending query and a timer, never a thread of the
// loop's pool (uv_getaddrinfo blocks a pool thread for the whole lookup, and
// four hung lookups used to stall every other check's pool work).
//
// How it is driven: each c-ares channel reports the sockets it wants watched
// (ARES_OPT_SOCK_STATE_CB) -> one uv_poll_t per socket, and when it next wants
// to be woken (ares_timeout()) -> one uv_timer_t per channel; libuv reports
// readiness back with ares_process_fd(). Nothing runs on another thread. The
// lookup channel keeps its UDP socket to the servers open between lookups
// (unreferenced, so it never keeps the loop alive); raw-query channels open a
// fresh one per query, so a dns check measures what a new client sees.
//
// Names: IP literals are answered without a query; then the hosts file
// (/etc/hosts by default; read here, re-read when it changes, because c-ares
// 1.18 re-parses the file on every lookup and cannot be pointed at another
// one); then DNS through the servers, search domains, ndots, timeout and
// attempts of /etc/resolv.conf (or of Resolver::Options, for tests).
//
// Raw queries (Query()) are for the `dns` check type: one query to one server
// with the response bytes handed back whatever their rcode.

#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct ares_addrinfo;

namespace hx {

class AttemptTrace;

/// Which address family a name is resolved to (a check's `ip_protocol`).
/// kAuto: IPv6 addresses first, then IPv4 (like blackbox's
/// preferred_ip_protocol: ip6 with fallback).
enum class IpProtocol : uint8_t { kAuto, kIp4, kIp6 };

/// "auto", "ip4", "ip6".
std::string_view IpProtocolName(IpProtocol protocol);

/// What kind of failure a resolution met (the failure reasons of
/// checks/failure_reason.h map from it: dns_nxdomain, dns_timeout,
/// dns_error, internal).
enum class ResolveFailure : uint8_t {
  kNone,
  kNxDomain,  ///< the name does not exist
  kTimeout,   ///< no server answered in time
  kOther,     ///< SERVFAIL, REFUSED, no address of the family, a bad answer
  kLocal,     ///< this process could not resolve (out of descriptors, bad setup)
};

/// Why a Query() got no response (checks/common/failure_reasons.h maps it).
enum class QueryFailure : uint8_t {
  kNone,
  kTimeout,      ///< no response within the query's timeout
  kRefused,      ///< the server refused the connection (TCP, or ICMP port unreachable)
  kBadResponse,  ///< a response arrived that c-ares could not read
  kLocal,        ///< this process could not ask (out of descriptors, a bad name or server)
  kOther,        ///< any other c-ares error
};

/// What a resolution found.
struct ResolveResult {
  /// Port 0; in preference order (kAuto: IPv6 first); empty on failure.
  std::vector<sockaddr_storage> addresses;
  /// Empty on success; otherwise a short text without secrets, e.g. "no such
  /// host", "no IPv6 address", "DNS timeout after 2s", "DNS server failure
  /// (SERVFAIL)".
  std::string error;
  /// kNone on success.
  ResolveFailure failure = ResolveFailure::kNone;
  /// The resolver's time for this name: the `dns` phase of every check.
  uint64_t duration_ns = 0;
};

/// A started resolution or query. Destroying it cancels: its callback is never
/// called afterwards (the query itself may still run to its end inside c-ares,
/// bounded by the channel's timeout). Loop-thread only.
class ResolveRequest {
 public:
  virtual ~ResolveRequest() = default;
};

/// A DNS server for Query(): an IP literal and port, over UDP or TCP. An empty
/// `address` means the system's servers (/etc/resolv.conf, or
/// Resolver::Options::servers).
struct DnsServer {
  enum class Transport : uint8_t { kUdp, kTcp };
  std::string address;  // "127.0.0.1", "::1" (no brackets), or "" = system's
  uint16_t port = 53;
  Transport transport = Transport::kUdp;

  /// "127.0.0.1:5353", "[::1]:53", "system" (for details and logs).
  std::string Text() const;
};

/// What Query() got back.
struct DnsAnswer {
  /// The raw response message (header, question, answer, authority and
  /// additional sections) as received, whatever its rcode (NOERROR, NXDOMAIN,
  /// SERVFAIL, REFUSED...); empty when `error` is set. Parse it with
  /// ares_parse_*_reply or by hand; the rcode is `response[3] & 0x0f`.
  std::vector<unsigned char> response;
  /// Empty when a response arrived; otherwise why none did, e.g. "no answer
  /// within 2s", "connection refused by 127.0.0.1:5353".
  std::string error;
  /// kNone when a response arrived; otherwise the kind of `error`.
  QueryFailure failure = QueryFailure::kNone;
  /// From sending the query to the response (or the error).
  uint64_t duration_ns = 0;
};

/// c-ares on one libuv loop.
///
/// Loop-thread only: construct, call and destroy it on the thread that runs the
/// loop; not thread-safe. Every callback runs on that thread, from inside
/// uv_run, never from inside Resolve() or Query() (an IP literal's answer too
/// is delivered on the next turn of the loop), so a caller may store the
/// returned request after the call without racing its own callback.
///
/// Do not destroy the Resolver from inside one of its callbacks.
///
/// Handle lifetime: uv handles are heap objects freed by their close
/// callbacks; after Shutdown() (or destruction) run the loop once more before
/// uv_loop_close(). Requests still held by callers stay safe to destroy after
/// the Resolver is gone.
class Resolver {
 public:
  using Callback = std::function<void(ResolveResult)>;
  using QueryCallback = std::function<void(DnsAnswer)>;

  struct Options {
    /// DNS servers "127.0.0.1", "127.0.0.1:5353", "[::1]:5353". Empty: those of
    /// `resolv_conf`. When set, resolv.conf is not read at all (no search
    /// domains, ndots 1), so tests talk only to their own server.
    std::vector<std::string> servers;
    /// Read for servers, search domains and options when `servers` is empty.
    std::string resolv_conf = "/etc/resolv.conf";
    /// How often a lookup checks (one stat) whether `resolv_conf` changed; on
    /// a change later lookups use channels made from the new file (lookups in
    /// flight finish on the old ones), as glibc and Go re-read it.
    std::chrono::milliseconds resolv_conf_recheck{5000};
    /// The port of the servers `resolv_conf` names (0: 53); for tests, whose
    /// own DNS server cannot take port 53.
    uint16_t resolv_conf_port = 0;
    /// Hosts file consulted before DNS; empty: none.
    std::string hosts_file = "/etc/hosts";
    /// Per-try timeout and tries; 0 = resolv.conf's (c-ares: 5 s, 4 tries
    /// unless `options timeout:/attempts:` say otherwise).
    std::chrono::milliseconds timeout{0};
    int tries = 0;
  };

  /// Reads /etc/resolv.conf and /etc/hosts.
  explicit Resolver(uv_loop_t* loop);
  Resolver(uv_loop_t* loop, Options options);
  /// Same as Shutdown().
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  /// Resolves `host` (a name, or an IPv4/IPv6 literal, with or without
  /// brackets) to addresses of `protocol`. `done` runs exactly once on a later
  /// turn of the loop unless the returned request is destroyed first. Never
  /// null. With a `trace` (the debug run; it must outlive the request) the
  /// lookup and its answer are added to it as "resolve" events.
  [[nodiscard]] std::unique_ptr<ResolveRequest> Resolve(std::string_view host, IpProtocol protocol,
                                                        Callback done,
                                                        AttemptTrace* trace = nullptr);

  /// Sends one query (`name`, `dns_class` e.g. 1 = IN, `type` e.g. 1 = A,
  /// 28 = AAAA, the RD bit as given) to `server` and hands back the raw
  /// response whatever its rcode (ares_send on a channel with
  /// ARES_FLAG_NOCHECKRESP; one try, `timeout` for it; a truncated UDP answer
  /// is retried over TCP by c-ares). One channel per distinct (server,
  /// transport, timeout) is created on first use and kept for reuse. `name` is
  /// sent as given (no search domains). `done` runs exactly once on a later
  /// turn of the loop unless the returned request is destroyed first. Never
  /// null. With a `trace`, the query and its response's header are added to
  /// it as "dns" events.
  [[nodiscard]] std::unique_ptr<ResolveRequest> Query(const DnsServer& server,
                                                      std::string_view name, int dns_class,
                                                      int type, bool recursion_desired,
                                                      std::chrono::milliseconds timeout,
                                                      QueryCallback done,
                                                      AttemptTrace* trace = nullptr);

  /// Cancels everything (no callbacks), closes the channels and starts
  /// closing the uv handles. Idempotent; Resolve() and Query() afterwards
  /// return requests whose callback never runs.
  void Shutdown();

  /// Requests whose callback has not run yet, cancelled ones included until
  /// c-ares lets go of them (for tests).
  size_t pending() const;
  /// Sockets c-ares has open across all channels (for tests).
  size_t open_sockets() const;

  // Defined in the .cc file.
  struct Channel;  // one c-ares channel with its polls and timer
  struct Pending;  // one request's state
  class Request;   // the ResolveRequest handed out
  class HostsFile;

 private:
  Channel* QueryChannel(const DnsServer& server, std::chrono::milliseconds timeout);
  void CheckResolvConf();
  void Retire(std::unique_ptr<Channel> channel);
  void Post(Pending* pending);
  void Deliver(Pending* pending);
  static void TraceDelivery(const Pending& pending);
  static void OnPosted(uv_timer_t* timer);
  static void OnAddrInfo(void* arg, int status, int timeouts, ares_addrinfo* info);
  static void OnQueryAnswer(void* arg, int status, int timeouts, unsigned char* abuf, int alen);

  uv_loop_t* loop_;
  Options options_;
  std::unique_ptr<Channel> main_;  // ares_getaddrinfo; created on first use
  std::map<std::string, std::unique_ptr<Channel>> query_channels_;
  // Channels made from an older resolv.conf, closed once their queries end.
  std::vector<std::unique_ptr<Channel>> retiring_;
  std::string resolv_conf_stamp_;  // inode, size and mtime when last checked
  uint64_t resolv_conf_checked_ms_ = 0;
  bool resolv_conf_seen_ = false;
  std::unique_ptr<HostsFile> hosts_;
  std::vector<Pending*> posted_;      // finished, to be delivered on the next turn
  uv_timer_t* post_timer_ = nullptr;  // heap: freed by its close callback
  size_t pending_ = 0;
  bool in_call_ = false;  // inside ares_getaddrinfo/ares_send: post, don't deliver
  bool shut_down_ = false;
};

/// "10.0.0.1", "::1"; "" for a family other than AF_INET/AF_INET6.
std::string AddressText(const sockaddr_storage& address);

/// Parses an IPv4 or IPv6 literal ("10.0.0.1", "::1", "[::1]"; an IPv6 zone
/// "fe80::1%eth0" too) into `out` (port 0). False if `text` is not one.
bool ParseIpLiteral(std::string_view text, sockaddr_storage* out);

}  // namespace hx
