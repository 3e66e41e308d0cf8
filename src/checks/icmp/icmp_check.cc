#include "checks/icmp/icmp_check.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <linux/icmp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "checks/common/failure_reasons.h"
#include "checks/common/ip_policy.h"
#include "checks/common/ip_protocol.h"
#include "checks/common/usage_thresholds.h"
#include "io/io_context.h"
#include "io/resolver.h"
#include "util/fd_shortage.h"
#include "util/quote.h"

namespace hx {
namespace {

constexpr int kMaxCount = 100;
constexpr int kMaxSize = 65507;  // 65535 less the IPv4 and ICMP headers
constexpr Duration kMinPacketInterval = std::chrono::milliseconds(10);
constexpr Duration kDefaultTimeout = std::chrono::seconds(5);  // config's default
constexpr uint8_t kEchoRequest4 = 8;
constexpr uint8_t kEchoReply4 = 0;
constexpr uint8_t kEchoRequest6 = 128;
constexpr uint8_t kEchoReply6 = 129;
constexpr size_t kIcmpHeaderBytes = 8;

// "0.05ms", "12.3ms", "250ms": precise enough for loopback, short for WANs.
std::string FormatRtt(double ns) {
  const double ms = ns / 1e6;
  char buf[32];
  if (ms < 10) {
    std::snprintf(buf, sizeof buf, "%.2fms", ms);
  } else if (ms < 100) {
    std::snprintf(buf, sizeof buf, "%.1fms", ms);
  } else {
    std::snprintf(buf, sizeof buf, "%.0fms", ms);
  }
  return buf;
}

std::string AddressOf(const sockaddr_storage& addr) {
  char text[INET6_ADDRSTRLEN] = "";
  if (addr.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&addr)->sin_addr, text, sizeof text);
  } else if (addr.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_addr, text,
              sizeof text);
  }
  return text;
}

// The sysctl that decides who may open ICMP datagram sockets, as its file
// reads ("1\t0" -> "1 0"), for the detail that tells an operator what to set.
std::string PingGroupRange() {
  std::ifstream in("/proc/sys/net/ipv4/ping_group_range");
  std::string low;
  std::string high;
  if (!(in >> low >> high)) return "unreadable";
  return low + " " + high;
}

uint16_t Checksum(const unsigned char* data, size_t size) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < size; i += 2) sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  if (size % 2 == 1) sum += static_cast<uint32_t>(data[size - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// A loss ratio as a percentage: "60%", "33.3%".
std::string FormatLoss(double ratio) {
  char buf[16];
  const double percent = ratio * 100;
  if (std::abs(percent - std::round(percent)) < 0.05) {
    std::snprintf(buf, sizeof buf, "%.0f%%", percent);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f%%", percent);
  }
  return buf;
}

// "host unreachable", "time to live exceeded": what an ICMP error said, as
// ping words it; the errno's text for an error that is not an ICMP message.
std::string DescribeIcmpError(const sock_extended_err& error) {
  if (error.ee_origin == SO_EE_ORIGIN_ICMP) {
    if (error.ee_type == 3) {
      switch (error.ee_code) {
        case 0:
          return "network unreachable";
        case 1:
          return "host unreachable";
        case 2:
          return "protocol unreachable";
        case 3:
          return "port unreachable";
        case 4:
          return "fragmentation needed";
        case 9:
        case 10:
        case 13:
          return "administratively prohibited";
        default:
          return "destination unreachable (code " + std::to_string(error.ee_code) + ")";
      }
    }
    if (error.ee_type == 11) return "time to live exceeded";
    return "ICMP type " + std::to_string(error.ee_type) + " code " + std::to_string(error.ee_code);
  }
  if (error.ee_origin == SO_EE_ORIGIN_ICMP6) {
    if (error.ee_type == 1) {
      switch (error.ee_code) {
        case 0:
          return "no route to destination";
        case 1:
          return "administratively prohibited";
        case 3:
          return "address unreachable";
        case 4:
          return "port unreachable";
        default:
          return "destination unreachable (code " + std::to_string(error.ee_code) + ")";
      }
    }
    if (error.ee_type == 2) return "packet too big";
    if (error.ee_type == 3) return "hop limit exceeded";
    return "ICMPv6 type " + std::to_string(error.ee_type) + " code " +
           std::to_string(error.ee_code);
  }
  return std::strerror(static_cast<int>(error.ee_errno));
}

// Whether an ICMP error (IP_RECVERR) says the target cannot be reached:
// destination unreachable (any code, "administratively prohibited" too) or
// the TTL / hop limit ran out on the way.
bool SaysUnreachable(const sock_extended_err& error) {
  if (error.ee_origin == SO_EE_ORIGIN_ICMP) return error.ee_type == 3 || error.ee_type == 11;
  if (error.ee_origin == SO_EE_ORIGIN_ICMP6) return error.ee_type == 1 || error.ee_type == 3;
  return ReasonOfSocketError(-static_cast<int>(error.ee_errno)) ==
         FailureReason::kNetworkUnreachable;
}

int64_t RealtimeNs() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

}  // namespace

Duration IcmpReportMargin(Duration timeout) {
  return std::min<Duration>(timeout / 10, std::chrono::milliseconds(100));
}

IcmpSocket OpenIcmpSocket(int family) {
  IcmpSocket result;
  const int protocol = family == AF_INET6 ? static_cast<int>(IPPROTO_ICMPV6) : IPPROTO_ICMP;
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) {
    const int dgram_error = errno;
    if (IsFdShortage(dgram_error)) {
      result.error = dgram_error;
      result.reason = ReportFdShortage(dgram_error, "cannot open an ICMP socket; nothing was sent");
      return result;
    }
    if (dgram_error == EAFNOSUPPORT) {
      result.error = dgram_error;
      result.reason = std::string(family == AF_INET6 ? "IPv6" : "IPv4") +
                      " is not available here: " + std::strerror(dgram_error);
      return result;
    }
    // EACCES: the process's group is outside net.ipv4.ping_group_range;
    // EPROTONOSUPPORT and kin: a kernel without ICMP datagram sockets.
    fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    if (fd < 0) {
      const int raw_error = errno;
      result.error = raw_error;
      if (IsFdShortage(raw_error)) {
        result.reason = ReportFdShortage(raw_error, "cannot open an ICMP socket; nothing was sent");
      } else if (dgram_error == EACCES && (raw_error == EPERM || raw_error == EACCES)) {
        result.reason = "ICMP sockets not permitted: net.ipv4.ping_group_range is " +
                        Quote(PingGroupRange()) + "; see docs/checks/icmp.md";
      } else {
        result.reason = std::string("cannot open an ICMP socket: ") + std::strerror(dgram_error) +
                        " (raw: " + std::strerror(raw_error) + ")";
      }
      return result;
    }
    result.raw = true;
    // A raw socket sees every ICMP message to the host: let only echo
    // replies through (the source is filtered by connect()).
    if (family == AF_INET) {
      icmp_filter filter{};
      filter.data = ~(1U << kEchoReply4);
      setsockopt(fd, SOL_RAW, ICMP_FILTER, &filter, sizeof filter);
    } else {
      icmp6_filter filter{};
      ICMP6_FILTER_SETBLOCKALL(&filter);
      ICMP6_FILTER_SETPASS(kEchoReply6, &filter);
      setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter);
    }
  }
  // Kernel receive times: the RTT then excludes how long the loop took to
  // get to the reply (ping measures the same way).
  const int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  // Every ICMP error about our requests (host unreachable from a router,
  // TTL exceeded...) with who sent it, in the error queue; without this a
  // connected socket hears only of the "hard" ones, and not from whom.
  if (family == AF_INET) {
    setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof on);
  } else {
    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof on);
  }
  result.fd = fd;
  return result;
}

// ---------------------------------------------------------------------------
// Config

IcmpCheckSpec::IcmpCheckSpec(IcmpCheckSettings settings)
    : settings_(std::make_shared<const IcmpCheckSettings>(std::move(settings))) {}

std::unique_ptr<Check> IcmpCheckSpec::CreateCheck(const CheckContext& context) const {
  return std::make_unique<IcmpCheck>(context.io, settings_);
}

std::string IcmpCheckSpec::Target() const { return settings_->host; }

std::shared_ptr<const IcmpCheckSpec> ParseIcmpCheckSpec(config::MapReader& reader) {
  IcmpCheckSettings settings;
  if (reader.Require("host")) {
    if (auto host = reader.String("host")) {
      if (host->empty()) {
        reader.Error("host", "must not be empty");
      } else {
        settings.host = std::move(*host);
      }
    }
  }
  settings.ip_protocol = ReadIpProtocol(reader);
  settings.ip_policy = ReadIpPolicy(reader);
  if (auto count = reader.Int("count", 1, kMaxCount)) settings.count = static_cast<int>(*count);
  if (auto interval = reader.Duration("packet_interval")) {
    if (*interval < kMinPacketInterval) {
      reader.Error("packet_interval", "must be at least " + FormatDuration(kMinPacketInterval));
    } else {
      settings.packet_interval = *interval;
    }
  }
  if (auto size = reader.Int("size", 0, kMaxSize)) settings.size = static_cast<int>(*size);

  const UsageThresholds loss =
      ReadUsageThresholds(reader, "loss_degraded_above", "loss_unhealthy_above",
                          {settings.loss_degraded_above, settings.loss_unhealthy_above});
  settings.loss_degraded_above = loss.degraded_above;
  settings.loss_unhealthy_above = loss.unhealthy_above;

  auto read_rtt = [&reader](const char* key, std::optional<Duration>& out) {
    if (auto rtt = reader.Duration(key)) {
      if (*rtt <= Duration::zero()) {
        reader.Error(key, "must be greater than 0s");
      } else {
        out = *rtt;
      }
    }
  };
  read_rtt("rtt_degraded_above", settings.rtt_degraded_above);
  read_rtt("rtt_unhealthy_above", settings.rtt_unhealthy_above);
  if (settings.rtt_degraded_above && settings.rtt_unhealthy_above &&
      *settings.rtt_degraded_above > *settings.rtt_unhealthy_above) {
    reader.Error("rtt_degraded_above", "must not be above rtt_unhealthy_above (" +
                                           FormatDuration(*settings.rtt_unhealthy_above) + ")");
  }

  // Every packet must be sent, and then still get at least one interval to
  // be answered, before the check's timeout less the margin to report in.
  const Duration timeout = reader.context().check_timeout().value_or(kDefaultTimeout);
  const Duration budget = timeout - IcmpReportMargin(timeout);
  const Duration needed = settings.count * settings.packet_interval;
  if (needed > budget) {
    const char* key = reader.Has("count") ? "count" : "packet_interval";
    reader.Error(key, std::to_string(settings.count) + " packets at " +
                          FormatDuration(settings.packet_interval) + " need " +
                          FormatDuration(needed) + ", more than the check's timeout (" +
                          FormatDuration(timeout) + ") leaves: " + FormatDuration(budget) +
                          " (the timeout less " + FormatDuration(timeout - budget) +
                          " to report in); lower count or packet_interval, or raise timeout");
  } else {
    settings.reply_wait = budget - (settings.count - 1) * settings.packet_interval;
    // A threshold no counted reply can cross would never fire.
    const std::pair<const char*, std::optional<Duration>> thresholds[] = {
        {"rtt_degraded_above", settings.rtt_degraded_above},
        {"rtt_unhealthy_above", settings.rtt_unhealthy_above}};
    for (const auto& [key, rtt] : thresholds) {
      if (rtt && *rtt >= settings.reply_wait) {
        reader.Error(key, "is never reached: a reply later than " +
                              FormatDuration(settings.reply_wait) +
                              " counts as lost (see reply wait in docs/checks/icmp.md)");
      }
    }
  }

  if (!reader.Finish()) return nullptr;
  return std::make_shared<const IcmpCheckSpec>(std::move(settings));
}

CheckType IcmpCheckType() { return {"icmp", &ParseIcmpCheckSpec}; }

// ---------------------------------------------------------------------------
// Attempts

// One attempt: one timer, and per address probed (one with ip_policy first,
// every address of the name with all) a socket and its poll. Callbacks: each
// poll's (re-announced after each call while it runs), the timer's
// (announced when armed), the resolver's and one close per handle.
// Loop-thread only; not thread-safe.
class IcmpCheck::IcmpAttempt final : public Attempt {
 public:
  IcmpAttempt(IoContext& io, std::shared_ptr<const IcmpCheckSettings> settings, uint16_t identifier)
      : io_(io), settings_(std::move(settings)), identifier_(identifier) {
    timer_.data = this;
  }

 private:
  // One address's echo requests and replies. Owned by the attempt (its poll
  // handle must stay put until closed, hence held by pointer).
  struct Probe {
    Probe(IcmpAttempt* owner, const sockaddr_storage& target, int count, int size)
        : attempt(owner),
          address(target),
          sent_mono_ns(count, 0),
          sent_real_ns(count, 0),
          rtt_ns(count, -1),
          // A reply is as long as the request; 60 bytes for a raw socket's
          // IPv4 header (with options), a little more to see a longer reply.
          receive_buffer(kIcmpHeaderBytes + static_cast<size_t>(size) + 128) {
      poll.data = this;
    }
    ~Probe() {
      // Last: every close callback has arrived, so no handle polls the fd.
      if (socket.fd >= 0) close(socket.fd);
    }
    Probe(const Probe&) = delete;
    Probe& operator=(const Probe&) = delete;

    IcmpAttempt* attempt;
    sockaddr_storage address;
    IcmpSocket socket;
    uv_poll_t poll{};
    bool poll_open = false;
    bool poll_armed = false;             // started: one call announced
    int poll_restarts = 0;               // after POLLERR
    std::optional<CheckResult> failed;   // could not even start
    std::vector<uint64_t> sent_mono_ns;  // 0: not sent (or the send failed)
    std::vector<int64_t> sent_real_ns;
    std::vector<double> rtt_ns;  // < 0: no reply (yet)
    int received = 0;
    std::vector<unsigned char> receive_buffer;
    std::string send_error;
    std::string receive_error;
    std::string error_from;    // who sent the ICMP error in receive_error, if known
    bool unreachable = false;  // the kernel said so: an ICMP error or ENETUNREACH-like errno
  };

  void Begin() override {
    begin_ms_ = uv_now(io_.loop());
    Resolve();
  }

  // The loop's resolver (an IP literal is answered on the next turn too).
  void Resolve() {
    ResolveThen(io_.resolver(), settings_->host, settings_->ip_protocol,
                [this](ResolveResult result) {
                  if (!result.error.empty() || result.addresses.empty()) {
                    Finish(ResolveFailed(result));
                    return;
                  }
                  sockaddr_storage literal{};
                  if (settings_->ip_policy == IpPolicy::kFirst) result.addresses.resize(1);
                  Resolved(result.addresses, !ParseIpLiteral(settings_->host, &literal));
                });
  }

  void Resolved(const std::vector<sockaddr_storage>& addresses, bool by_name) {
    by_name_ = by_name;
    for (const sockaddr_storage& address : addresses) {
      probes_.push_back(std::make_unique<Probe>(this, address, settings_->count, settings_->size));
      Probe& probe = *probes_.back();
      if (auto failure = Open(probe)) {
        // ip_policy first: the attempt's result; all: this address's.
        if (settings_->ip_policy == IpPolicy::kFirst) {
          failure->address = AddressOf(probe.address);
          Finish(std::move(*failure));
          return;
        }
        probe.failed = std::move(failure);
      } else {
        ++active_;
      }
    }
    if (active_ == 0) {
      Conclude();
      return;
    }
    uv_timer_init(io_.loop(), &timer_);
    sends_start_ms_ = uv_now(io_.loop());
    timer_open_ = true;
    SendNext();
  }

  // Opens, connects and watches the probe's socket; the failure, if any.
  std::optional<CheckResult> Open(Probe& probe) {
    probe.socket = OpenIcmpSocket(probe.address.ss_family);
    // Not permitted, out of descriptors, no such family here: the daemon's
    // own trouble, nothing was sent.
    if (probe.socket.fd < 0) {
      return CheckResult::Unhealthy(FailureReason::kInternal, probe.socket.reason);
    }
    const socklen_t length =
        probe.address.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    // Connected: send() needs no address, a raw socket gets replies from the
    // target only, and ICMP errors about it arrive as receive errors.
    if (connect(probe.socket.fd, reinterpret_cast<const sockaddr*>(&probe.address), length) != 0) {
      const int error = errno;
      return CheckResult::Unhealthy(
          ReasonOfSocketError(-error),
          "cannot send to " + AddressOf(probe.address) + ": " + std::strerror(error));
    }
    int rc = uv_poll_init_socket(io_.loop(), &probe.poll, probe.socket.fd);
    if (rc < 0) {
      return CheckResult::Unhealthy(
          FailureReason::kInternal,
          std::string("cannot watch the ICMP socket: ") + uv_strerror(rc));
    }
    probe.poll_open = true;
    rc = uv_poll_start(&probe.poll, UV_READABLE, &OnReadable);
    if (rc < 0) {
      return CheckResult::Unhealthy(
          FailureReason::kInternal,
          std::string("cannot watch the ICMP socket: ") + uv_strerror(rc));
    }
    ExpectCallback();
    probe.poll_armed = true;
    return std::nullopt;
  }

  // Sends request number sent_ to every address probed, then arms the timer
  // for the next one or, after the last, for the end of its reply wait.
  void SendNext() {
    const int seq = sent_++;
    for (const auto& probe : probes_) {
      if (!probe->failed) Send(*probe, seq);
    }
    // Times on the loop's clock (the scheduler's hard timeout runs on it
    // too), from fixed starting points, so a late timer does not push the
    // following packets, or the end, later: packet i at sends_start +
    // i x interval; the end at begin + (count - 1) x interval + reply wait,
    // before the hard timeout whatever the resolver and the loop took.
    const uint64_t due_ms =
        sent_ < settings_->count
            ? sends_start_ms_ + static_cast<uint64_t>(sent_) * Ms(settings_->packet_interval)
            : begin_ms_ +
                  static_cast<uint64_t>(settings_->count - 1) * Ms(settings_->packet_interval) +
                  Ms(settings_->reply_wait);
    const uint64_t now_ms = uv_now(io_.loop());
    ExpectCallback();
    timer_armed_ = true;
    uv_timer_start(&timer_, &OnTimer, due_ms > now_ms ? due_ms - now_ms : 0, 0);
  }

  void Send(Probe& probe, int seq) {
    const size_t size = kIcmpHeaderBytes + static_cast<size_t>(settings_->size);
    std::vector<unsigned char> packet(size);
    const bool v6 = probe.address.ss_family == AF_INET6;
    packet[0] = v6 ? kEchoRequest6 : kEchoRequest4;
    packet[4] = static_cast<unsigned char>(identifier_ >> 8);
    packet[5] = static_cast<unsigned char>(identifier_);
    packet[6] = static_cast<unsigned char>(seq >> 8);
    packet[7] = static_cast<unsigned char>(seq);
    for (size_t i = kIcmpHeaderBytes; i < size; ++i) packet[i] = static_cast<unsigned char>(i);
    if (!v6) {  // the kernel sums ICMPv6 itself (and datagram sockets' v4)
      const uint16_t sum = Checksum(packet.data(), size);
      packet[2] = static_cast<unsigned char>(sum >> 8);
      packet[3] = static_cast<unsigned char>(sum);
    }
    TakeSocketError(probe);  // an ICMP error from an earlier request must not fail this send
    probe.sent_real_ns[seq] = RealtimeNs();
    probe.sent_mono_ns[seq] = uv_hrtime();
    if (send(probe.socket.fd, packet.data(), size, MSG_DONTWAIT) < 0) {
      const int error = errno;
      probe.send_error = std::strerror(error);  // counts as lost
      if (ReasonOfSocketError(-error) == FailureReason::kNetworkUnreachable) {
        probe.unreachable = true;
      }
      probe.sent_mono_ns[seq] = 0;
    }
  }

  static uint64_t Ms(Duration d) {
    return static_cast<uint64_t>(std::chrono::ceil<std::chrono::milliseconds>(d).count());
  }

  static void OnTimer(uv_timer_t* timer) {
    auto* self = static_cast<IcmpAttempt*>(timer->data);
    CallbackGuard guard(self);
    self->timer_armed_ = false;
    if (guard.over()) return;
    if (self->sent_ < self->settings_->count) {
      self->SendNext();
    } else {
      self->Conclude();
    }
  }

  static void OnReadable(uv_poll_t* poll, int status, int events) {
    auto* probe = static_cast<Probe*>(poll->data);
    IcmpAttempt* self = probe->attempt;
    CallbackGuard guard(self);
    if (guard.over()) return;
    if (status < 0) {
      // POLLERR, for which libuv stops the poll: an ICMP error about the
      // target (unreachable, prohibited) pending on the socket. Note it and
      // watch again; the other replies still count. Bounded, in case the
      // error does not clear.
      probe->poll_armed = false;
      ReadErrorQueue(*probe);
      TakeSocketError(*probe);
      if (probe->poll_restarts < self->settings_->count + 8 &&
          uv_poll_start(&probe->poll, UV_READABLE, &OnReadable) == 0) {
        ++probe->poll_restarts;
        self->ExpectCallback();
        probe->poll_armed = true;
      }
      return;
    }
    self->ExpectCallback();  // the poll keeps running: its next call
    if ((events & UV_READABLE) != 0) self->ReadReplies(*probe);
  }

  // Takes (and clears) the socket's pending error, which would otherwise
  // fail the next send and keep the poll reporting POLLERR.
  static void TakeSocketError(Probe& probe) {
    int error = 0;
    socklen_t length = sizeof error;
    if (getsockopt(probe.socket.fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error != 0 &&
        probe.receive_error.empty()) {
      probe.receive_error = std::strerror(error);  // the error queue had nothing better
      if (ReasonOfSocketError(-error) == FailureReason::kNetworkUnreachable) {
        probe.unreachable = true;
      }
    }
  }

  // The ICMP errors queued by IP_RECVERR / IPV6_RECVERR: the last one is
  // named in the detail with the address that sent it.
  static void ReadErrorQueue(Probe& probe) {
    for (int i = 0; i < 64; ++i) {
      alignas(cmsghdr) unsigned char control[512];
      unsigned char original[64];  // the start of the request it is about
      iovec iov{original, sizeof original};
      msghdr message{};
      message.msg_iov = &iov;
      message.msg_iovlen = 1;
      message.msg_control = control;
      message.msg_controllen = sizeof control;
      if (recvmsg(probe.socket.fd, &message, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) return;
      for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
        const bool v4 = c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR;
        const bool v6 = c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR;
        if (!v4 && !v6) continue;
        sock_extended_err error{};
        std::memcpy(&error, CMSG_DATA(c), sizeof error);
        std::string text = DescribeIcmpError(error);
        if (SaysUnreachable(error)) probe.unreachable = true;
        sockaddr_storage offender{};
        const size_t offender_bytes = c->cmsg_len - CMSG_LEN(sizeof error);
        if (offender_bytes > 0) {
          std::memcpy(&offender, CMSG_DATA(c) + sizeof error,
                      std::min(offender_bytes, sizeof offender));
          probe.error_from = AddressOf(offender);
        } else {
          probe.error_from.clear();
        }
        probe.receive_error = std::move(text);
      }
    }
  }

  void ReadReplies(Probe& probe) {
    // Bounded: a flood of foreign packets must not hold the loop.
    for (int i = 0; i < 64; ++i) {
      alignas(cmsghdr) unsigned char control[256];
      iovec iov{probe.receive_buffer.data(), probe.receive_buffer.size()};
      msghdr message{};
      message.msg_iov = &iov;
      message.msg_iovlen = 1;
      message.msg_control = control;
      message.msg_controllen = sizeof control;
      const ssize_t n = recvmsg(probe.socket.fd, &message, MSG_DONTWAIT);
      const uint64_t now_mono = uv_hrtime();
      if (n < 0) {
        const int error = errno;
        if (error == EAGAIN || error == EWOULDBLOCK) return;
        // An ICMP error about the target (unreachable...), reported once;
        // the error queue's account of it, when read, says more.
        if (probe.receive_error.empty()) probe.receive_error = std::strerror(error);
        if (ReasonOfSocketError(-error) == FailureReason::kNetworkUnreachable) {
          probe.unreachable = true;
        }
        continue;
      }
      int64_t kernel_real_ns = 0;
      for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
          timespec ts{};
          std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
          kernel_real_ns = static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
        }
      }
      Reply(probe, probe.receive_buffer.data(),
            std::min(static_cast<size_t>(n), probe.receive_buffer.size()), now_mono,
            kernel_real_ns);
      if (over()) return;
    }
  }

  void Reply(Probe& probe, const unsigned char* data, size_t size, uint64_t now_mono,
             int64_t kernel_real_ns) {
    const bool v6 = probe.address.ss_family == AF_INET6;
    if (probe.socket.raw && !v6) {  // a raw IPv4 socket hands over the IP header too
      if (size < 20) return;
      const size_t header = static_cast<size_t>(data[0] & 0x0f) * 4;
      if (header < 20 || size < header) return;
      data += header;
      size -= header;
    }
    if (size < kIcmpHeaderBytes) return;
    if (data[0] != (v6 ? kEchoReply6 : kEchoReply4) || data[1] != 0) return;
    const int identifier = data[4] << 8 | data[5];
    const int seq = data[6] << 8 | data[7];
    // A datagram socket's identifier is the kernel's, and only its replies
    // reach it; a raw socket sees everyone's.
    if (probe.socket.raw && identifier != identifier_) return;
    if (seq >= sent_ || probe.sent_mono_ns[seq] == 0 || probe.rtt_ns[seq] >= 0) return;
    const uint64_t mono_rtt = now_mono - probe.sent_mono_ns[seq];
    // The kernel's receive time is the better figure, unless the wall clock
    // stepped in between (then it is negative or beyond what the loop saw).
    double rtt = static_cast<double>(mono_rtt);
    if (kernel_real_ns != 0) {
      const int64_t kernel_rtt = kernel_real_ns - probe.sent_real_ns[seq];
      if (kernel_rtt > 0 && static_cast<uint64_t>(kernel_rtt) <= mono_rtt) {
        rtt = static_cast<double>(kernel_rtt);
      }
    }
    // Every packet waits as long as the last one may: later is lost.
    if (rtt > static_cast<double>(settings_->reply_wait.count())) return;
    probe.rtt_ns[seq] = rtt;
    ++probe.received;
    // Every reply from every address probed: nothing left to wait for.
    if (++received_ == settings_->count * active_) Conclude();
  }

  // ip_policy first: the one address's result. all: every address's,
  // combined (the worst counts, failing addresses named; loss and RTT
  // observations are the worst address's), with each address's loss after.
  void Conclude() {
    if (settings_->ip_policy == IpPolicy::kFirst) {
      CheckResult result = Judge(*probes_.front(), by_name_);
      result.address = AddressOf(probes_.front()->address);
      Finish(std::move(result));
      return;
    }
    std::vector<AddressResult> results;
    std::string losses;
    for (const auto& probe : probes_) {
      results.push_back({probe->address, probe->failed ? *probe->failed : Judge(*probe, false)});
      losses +=
          (losses.empty() ? "; loss " : ", ") + AddressOf(probe->address) + " " +
          (probe->failed ? std::string("not probed")
                         : FormatLoss(static_cast<double>(settings_->count - probe->received) /
                                      settings_->count));
    }
    CheckResult result = CombineAddressResults(results, 0);
    // The reason and address of the worst address (the first of the worst,
    // as the combined health is), or the first address when all are fine.
    const AddressResult* worst = &results.front();
    for (const AddressResult& r : results) {
      if (r.result.health > worst->result.health) worst = &r;
    }
    result.reason = worst->result.reason;
    result.address = AddressOf(worst->address);
    if (results.size() > 1) result.detail += losses;
    Finish(std::move(result));
  }

  // One address's result from its replies.
  CheckResult Judge(const Probe& probe, bool name_address) const {
    if (probe.failed) return *probe.failed;
    const int count = settings_->count;
    std::vector<double> rtts;
    for (double rtt : probe.rtt_ns) {
      if (rtt >= 0) rtts.push_back(rtt);
    }
    const int lost = count - static_cast<int>(rtts.size());
    const double loss = static_cast<double>(lost) / count;
    CheckResult result;
    result.observations.emplace_back(ObservationId::kIcmpLossRatio, loss);
    const std::string from = name_address ? " from " + AddressOf(probe.address) : "";
    std::string errors;
    if (!probe.send_error.empty()) errors += "; send: " + probe.send_error;
    if (!probe.receive_error.empty()) {
      errors += "; last error" + (probe.error_from.empty() ? "" : " from " + probe.error_from) +
                ": " + probe.receive_error;
    }
    if (rtts.empty()) {
      // Every request lost: the network said it cannot reach the target, or
      // nothing came back at all.
      result.health = Health::kUnhealthy;
      result.reason =
          probe.unreachable ? FailureReason::kNetworkUnreachable : FailureReason::kPacketLoss;
      result.detail = std::to_string(lost) + " of " + std::to_string(count) +
                      " lost (100%): no reply from " + AddressOf(probe.address) + errors;
      return result;
    }
    double sum = 0;
    double min = rtts.front();
    double max = rtts.front();
    for (double rtt : rtts) {
      sum += rtt;
      min = std::min(min, rtt);
      max = std::max(max, rtt);
    }
    const double avg = sum / static_cast<double>(rtts.size());
    double squares = 0;
    for (double rtt : rtts) squares += (rtt - avg) * (rtt - avg);
    const double stddev = std::sqrt(squares / static_cast<double>(rtts.size()));
    result.observations.emplace_back(ObservationId::kIcmpRttSeconds, min / 1e9, "min");
    result.observations.emplace_back(ObservationId::kIcmpRttSeconds, avg / 1e9, "avg");
    result.observations.emplace_back(ObservationId::kIcmpRttSeconds, max / 1e9, "max");
    result.observations.emplace_back(ObservationId::kIcmpRttSeconds, stddev / 1e9, "stddev");

    double crossed_loss = 0;
    const Health loss_health = JudgeUsage(
        loss, {settings_->loss_degraded_above, settings_->loss_unhealthy_above}, &crossed_loss);
    Health rtt_health = Health::kHealthy;
    Duration crossed_rtt{};
    const auto avg_ns = static_cast<Duration::rep>(avg);
    if (settings_->rtt_unhealthy_above && avg_ns > settings_->rtt_unhealthy_above->count()) {
      rtt_health = Health::kUnhealthy;
      crossed_rtt = *settings_->rtt_unhealthy_above;
    } else if (settings_->rtt_degraded_above && avg_ns > settings_->rtt_degraded_above->count()) {
      rtt_health = Health::kDegraded;
      crossed_rtt = *settings_->rtt_degraded_above;
    }
    const std::string replies =
        std::to_string(rtts.size()) + "/" + std::to_string(count) + " replies" + from;
    std::string loss_text;
    if (loss_health != Health::kHealthy) {
      loss_text = std::to_string(lost) + " of " + std::to_string(count) + " lost" + from + " (" +
                  FormatLoss(loss) + ") > " + FormatLimitPercent(crossed_loss);
    }
    std::string rtt_text = "rtt avg " + FormatRtt(avg);
    if (rtt_health != Health::kHealthy) rtt_text += " > " + FormatDuration(crossed_rtt);
    // The worse of the two names the reason; loss first when both are as bad.
    result.health = Health::kHealthy;
    LowerTo(result, loss_health, FailureReason::kPacketLoss);
    LowerTo(result, rtt_health, FailureReason::kThreshold);
    if (loss_health != Health::kHealthy) {
      result.detail = loss_text + ", " + rtt_text;
    } else if (rtt_health != Health::kHealthy) {
      result.detail = rtt_text + ", " + replies;
    } else {
      result.detail = replies + ", " + rtt_text;
    }
    result.detail += errors;
    return result;
  }

  void Release() override {
    if (timer_armed_) {
      uv_timer_stop(&timer_);
      timer_armed_ = false;
      ForgetCallback();
    }
    if (timer_open_) {
      timer_open_ = false;
      ExpectCallback();
      uv_close(reinterpret_cast<uv_handle_t*>(&timer_), &OnTimerClosed);
    }
    for (const auto& probe : probes_) {
      if (probe->poll_armed) {
        uv_poll_stop(&probe->poll);
        probe->poll_armed = false;
        ForgetCallback();
      }
      if (probe->poll_open) {
        probe->poll_open = false;
        ExpectCallback();
        uv_close(reinterpret_cast<uv_handle_t*>(&probe->poll), &OnPollClosed);
      }
    }
  }

  static void OnTimerClosed(uv_handle_t* handle) {
    CallbackGuard guard(static_cast<IcmpAttempt*>(handle->data));
  }
  static void OnPollClosed(uv_handle_t* handle) {
    CallbackGuard guard(static_cast<Probe*>(handle->data)->attempt);
  }

  IoContext& io_;
  std::shared_ptr<const IcmpCheckSettings> settings_;
  const uint16_t identifier_;
  bool by_name_ = false;
  // Destroyed with the attempt, after every close callback has arrived.
  std::vector<std::unique_ptr<Probe>> probes_;
  int active_ = 0;  // probes whose socket is open and watched
  uv_timer_t timer_{};
  uint64_t begin_ms_ = 0;        // uv_now() when the attempt began
  uint64_t sends_start_ms_ = 0;  // uv_now() when the first request went out
  bool timer_open_ = false;
  bool timer_armed_ = false;
  int sent_ = 0;      // requests sent to each address
  int received_ = 0;  // replies counted, from every address
};

IcmpCheck::IcmpCheck(IoContext& io, std::shared_ptr<const IcmpCheckSettings> settings)
    : io_(io),
      settings_(std::move(settings)),
      next_identifier_(static_cast<uint16_t>(std::random_device{}())) {}

std::unique_ptr<Attempt> IcmpCheck::NewAttempt() {
  return std::make_unique<IcmpAttempt>(io_, settings_, next_identifier_++);
}

}  // namespace hx
