#include "io/resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "io/attempt_trace.h"
#include "util/fd_shortage.h"
#include "util/file_reader.h"

namespace hx {

namespace {

// /etc/hosts larger than this is not read (it would be a mistake, and the
// whole file is kept in memory).
constexpr size_t kMaxHostsFileBytes = 4 * 1024 * 1024;

void EnsureAresLibraryInit() {
  static std::once_flag once;
  std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
}

// "2s", "2.5s", "0.3s": a measured duration rounded to a tenth of a second.
std::string SecondsText(uint64_t ns) {
  const uint64_t tenths = (ns + 50'000'000) / 100'000'000;
  char buf[32];
  if (tenths % 10 == 0) {
    std::snprintf(buf, sizeof buf, "%llus", static_cast<unsigned long long>(tenths / 10));
  } else {
    std::snprintf(buf, sizeof buf, "%llu.%llus", static_cast<unsigned long long>(tenths / 10),
                  static_cast<unsigned long long>(tenths % 10));
  }
  return buf;
}

std::string MillisecondsText(std::chrono::milliseconds ms) {
  return SecondsText(static_cast<uint64_t>(ms.count()) * 1'000'000);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  // "api.internal." and "api.internal" are the same name.
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

std::string NoAddressText(IpProtocol protocol) {
  switch (protocol) {
    case IpProtocol::kIp4:
      return "no IPv4 address";
    case IpProtocol::kIp6:
      return "no IPv6 address";
    case IpProtocol::kAuto:
      break;
  }
  return "no address";
}

// The text of a failed ares_getaddrinfo.
ResolveFailure FailureOf(int status) {
  switch (status) {
    case ARES_ENOTFOUND:
      return ResolveFailure::kNxDomain;
    case ARES_ETIMEOUT:
      return ResolveFailure::kTimeout;
    case ARES_ENOMEM:
    case ARES_EFILE:
      return ResolveFailure::kLocal;
    default:
      return ResolveFailure::kOther;
  }
}

// The text of a failed resolution, and its kind in *failure.
std::string ResolveErrorText(int status, IpProtocol protocol, uint64_t elapsed_ns,
                             ResolveFailure* failure) {
  *failure = FailureOf(status);
  // c-ares reports a socket it could not open as a refused connection (and
  // other failures without the errno): say when the daemon is the problem.
  if (status == ARES_ECONNREFUSED || status == ARES_ENOMEM || status == ARES_EFILE) {
    if (const int shortage = ProbeFdShortage(0)) {
      *failure = ResolveFailure::kLocal;
      return ReportFdShortage(shortage, "cannot resolve the host; the target was not tried");
    }
  }
  switch (status) {
    case ARES_ENOTFOUND:
      return "no such host";
    case ARES_ENODATA:
      return NoAddressText(protocol);
    case ARES_ETIMEOUT:
      return "DNS timeout after " + SecondsText(elapsed_ns);
    case ARES_ESERVFAIL:
      return "DNS server failure (SERVFAIL)";
    case ARES_EREFUSED:
      return "DNS query refused (REFUSED)";
    case ARES_ENOTIMP:
      return "DNS query not implemented by the server (NOTIMP)";
    case ARES_EFORMERR:
      return "DNS server could not parse the query (FORMERR)";
    case ARES_ECONNREFUSED:
      return "DNS server refused the connection";
    case ARES_EBADNAME:
      return "bad host name";
    case ARES_EBADRESP:
      return "bad DNS response";
    default:
      return std::string("DNS error: ") + ares_strerror(status);
  }
}

}  // namespace

std::string_view IpProtocolName(IpProtocol protocol) {
  switch (protocol) {
    case IpProtocol::kIp4:
      return "ip4";
    case IpProtocol::kIp6:
      return "ip6";
    case IpProtocol::kAuto:
      break;
  }
  return "auto";
}

std::string AddressText(const sockaddr_storage& address) {
  char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2] = {};
  if (address.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(address);
    inet_ntop(AF_INET, &in.sin_addr, buf, sizeof buf);
    return buf;
  }
  if (address.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(address);
    inet_ntop(AF_INET6, &in6.sin6_addr, buf, sizeof buf);
    std::string text = buf;
    char ifname[IF_NAMESIZE] = {};
    if (in6.sin6_scope_id != 0) {
      text += '%';
      text += if_indextoname(in6.sin6_scope_id, ifname) != nullptr
                  ? std::string(ifname)
                  : std::to_string(in6.sin6_scope_id);
    }
    return text;
  }
  return "";
}

bool ParseIpLiteral(std::string_view text, sockaddr_storage* out) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  if (text.empty() || text.size() > INET6_ADDRSTRLEN + IF_NAMESIZE) return false;
  const std::string s(text);
  sockaddr_storage addr{};
  auto* in = reinterpret_cast<sockaddr_in*>(&addr);
  if (inet_pton(AF_INET, s.c_str(), &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    *out = addr;
    return true;
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&addr);
  const size_t percent = s.find('%');
  const std::string host = s.substr(0, percent);
  if (inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) != 1) return false;
  in6->sin6_family = AF_INET6;
  if (percent != std::string::npos) {
    const std::string zone = s.substr(percent + 1);
    unsigned index = if_nametoindex(zone.c_str());
    if (index == 0) {
      char* end = nullptr;
      const unsigned long n = std::strtoul(zone.c_str(), &end, 10);
      if (zone.empty() || *end != '\0' || n == 0 || n > UINT32_MAX) return false;
      index = static_cast<unsigned>(n);
    }
    in6->sin6_scope_id = index;
  }
  *out = addr;
  return true;
}

std::string DnsServer::Text() const {
  if (address.empty()) return "system";
  if (address.find(':') != std::string::npos) {
    return "[" + address + "]:" + std::to_string(port);
  }
  return address + ":" + std::to_string(port);
}

// ---------------------------------------------------------------------------
// The hosts file, parsed once and re-parsed when it changes (checked with one
// stat() per lookup).
class Resolver::HostsFile {
 public:
  explicit HostsFile(std::string path) : path_(std::move(path)) {}

  /// The file's addresses for `name` (any family, file order), or none.
  const std::vector<sockaddr_storage>* Lookup(std::string_view name) {
    Refresh();
    auto it = entries_.find(Lower(name));
    return it == entries_.end() ? nullptr : &it->second;
  }

 private:
  void Refresh() {
    struct stat st {};
    if (stat(path_.c_str(), &st) != 0) {
      entries_.clear();
      loaded_ = false;
      return;
    }
    if (loaded_ && st.st_ino == ino_ && st.st_size == size_ && st.st_mtim.tv_sec == mtime_.tv_sec &&
        st.st_mtim.tv_nsec == mtime_.tv_nsec) {
      return;
    }
    loaded_ = true;
    ino_ = st.st_ino;
    size_ = st.st_size;
    mtime_ = st.st_mtim;
    entries_.clear();
    std::string error;
    const auto text = ReadBoundedFile(path_, kMaxHostsFileBytes, &error);
    if (!text) {
      loaded_ = false;  // e.g. out of descriptors: try again next time
      return;
    }
    Parse(*text);
  }

  void Parse(std::string_view text) {
    while (!text.empty()) {
      const size_t eol = text.find('\n');
      std::string_view line = text.substr(0, eol);
      text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
      line = line.substr(0, line.find('#'));
      std::vector<std::string_view> fields;
      size_t i = 0;
      while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
        const size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
        if (i > start) fields.push_back(line.substr(start, i - start));
      }
      if (fields.size() < 2) continue;
      sockaddr_storage addr{};
      if (!ParseIpLiteral(fields[0], &addr)) continue;
      for (size_t f = 1; f < fields.size(); ++f) entries_[Lower(fields[f])].push_back(addr);
    }
  }

  std::string path_;
  bool loaded_ = false;
  ino_t ino_ = 0;
  off_t size_ = 0;
  timespec mtime_{};
  std::unordered_map<std::string, std::vector<sockaddr_storage>> entries_;
};

// ---------------------------------------------------------------------------
// One request's state. Lives until both c-ares has let go of it (its callback
// ran) and it was delivered or cancelled; `request` and `Request::pending`
// point at each other until either side goes.
struct Resolver::Pending {
  Resolver* resolver = nullptr;
  Request* request = nullptr;
  Callback done;             // Resolve()
  QueryCallback query_done;  // Query()
  ResolveResult result;
  DnsAnswer answer;
  IpProtocol protocol = IpProtocol::kAuto;
  std::chrono::milliseconds query_timeout{0};
  std::string server_text;
  uint64_t start_ns = 0;
  AttemptTrace* trace = nullptr;  // the debug run's; null when not traced
  bool in_cares = false;          // c-ares holds this as a callback argument
  bool posted = false;            // in Resolver::posted_
};

class Resolver::Request final : public ResolveRequest {
 public:
  explicit Request(Pending* p) : pending(p) {}
  ~Request() override {
    if (pending == nullptr) return;
    Pending* p = pending;
    p->request = nullptr;
    p->done = nullptr;
    p->query_done = nullptr;
    // c-ares or the post queue still refers to it and frees it later.
    if (!p->in_cares && !p->posted) {
      if (p->resolver != nullptr) --p->resolver->pending_;
      delete p;
    }
  }
  Pending* pending;
};

// ---------------------------------------------------------------------------
// One c-ares channel with the uv handles that drive it.
struct Resolver::Channel {
  struct Watch {
    uv_poll_t poll;
    int fd = -1;
    Channel* channel = nullptr;
  };

  explicit Channel(uv_loop_t* loop) {
    timer = new uv_timer_t;
    uv_timer_init(loop, timer);
    timer->data = this;
    this->loop = loop;
  }
  ~Channel() { Close(); }
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // ares_init_options with our socket callback; `error` says why not.
  bool Init(ares_options* options, int optmask) {
    options->sock_state_cb = &Channel::OnSocketState;
    options->sock_state_cb_data = this;
    optmask |= ARES_OPT_SOCK_STATE_CB;
    const int rc = ares_init_options(&channel, options, optmask);
    if (rc != ARES_SUCCESS) {
      channel = nullptr;
      error = std::string("resolver: ") + ares_strerror(rc);
      return false;
    }
    return true;
  }

  // Cancels its queries (c-ares calls each callback with ARES_EDESTRUCTION)
  // and closes the handles.
  void Close() {
    if (channel != nullptr) {
      ares_channel c = channel;
      channel = nullptr;
      ares_destroy(c);  // closes the sockets: OnSocketState(fd, 0, 0) each
    }
    for (auto& [fd, watch] : watches) CloseWatch(watch);
    watches.clear();
    if (timer != nullptr) {
      uv_timer_stop(timer);
      uv_close(reinterpret_cast<uv_handle_t*>(timer),
               [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
      timer = nullptr;
    }
  }

  static void CloseWatch(Watch* watch) {
    watch->channel = nullptr;
    uv_poll_stop(&watch->poll);
    uv_close(reinterpret_cast<uv_handle_t*>(&watch->poll),
             [](uv_handle_t* h) { delete static_cast<Watch*>(h->data); });
  }

  // When c-ares next wants to be woken: re-armed after every call into it
  // (never from inside c-ares), so a retiring channel can close here.
  void Rearm() {
    if (channel == nullptr || timer == nullptr) return;
    timeval tv{};
    if (ares_timeout(channel, nullptr, &tv) == nullptr) {
      uv_timer_stop(timer);
      if (retiring) Close();  // its last query ended; nothing is owed
      return;
    }
    const uint64_t ms =
        static_cast<uint64_t>(tv.tv_sec) * 1000 + static_cast<uint64_t>((tv.tv_usec + 999) / 1000);
    uv_timer_start(timer, &Channel::OnTimer, ms, 0);
  }

  static void OnSocketState(void* data, ares_socket_t fd, int readable, int writable) {
    auto* self = static_cast<Channel*>(data);
    auto it = self->watches.find(fd);
    if (!readable && !writable) {
      // Called before c-ares closes the fd: uv_poll_stop takes it out of
      // libuv's epoll set while it is still open.
      if (it != self->watches.end()) {
        CloseWatch(it->second);
        self->watches.erase(it);
      }
      return;
    }
    Watch* watch = nullptr;
    if (it == self->watches.end()) {
      watch = new Watch;
      watch->fd = fd;
      watch->channel = self;
      if (uv_poll_init(self->loop, &watch->poll, fd) != 0) {
        // Unwatchable: the query on it ends by its timeout.
        delete watch;
        return;
      }
      watch->poll.data = watch;
      // A socket kept open between lookups (STAYOPEN) must not keep the loop
      // alive; a lookup in flight does, through the channel's timer.
      if (self->stay_open) uv_unref(reinterpret_cast<uv_handle_t*>(&watch->poll));
      self->watches.emplace(fd, watch);
    } else {
      watch = it->second;
    }
    const int events = (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0);
    uv_poll_start(&watch->poll, events, &Channel::OnPoll);
  }

  static void OnPoll(uv_poll_t* poll, int status, int events) {
    auto* watch = static_cast<Watch*>(poll->data);
    Channel* self = watch->channel;
    if (self == nullptr || self->channel == nullptr) return;
    // An error on the socket: let c-ares read (and fail) in both directions.
    if (status < 0) events = UV_READABLE | UV_WRITABLE;
    const int fd = watch->fd;
    ares_process_fd(self->channel, (events & UV_READABLE) ? fd : ARES_SOCKET_BAD,
                    (events & UV_WRITABLE) ? fd : ARES_SOCKET_BAD);
    self->Rearm();
  }

  static void OnTimer(uv_timer_t* timer) {
    auto* self = static_cast<Channel*>(timer->data);
    if (self->channel == nullptr) return;
    ares_process_fd(self->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    self->Rearm();
  }

  uv_loop_t* loop = nullptr;
  ares_channel channel = nullptr;
  std::string error;
  bool from_resolv_conf = false;  // built from Options::resolv_conf
  bool stay_open = false;         // ARES_FLAG_STAYOPEN: polls unreferenced
  bool retiring = false;          // resolv.conf changed: close when idle
  uv_timer_t* timer = nullptr;    // heap: freed by its close callback
  std::unordered_map<int, Watch*> watches;
};

// ---------------------------------------------------------------------------

Resolver::Resolver(uv_loop_t* loop) : Resolver(loop, Options()) {}

Resolver::Resolver(uv_loop_t* loop, Options options) : loop_(loop), options_(std::move(options)) {
  EnsureAresLibraryInit();
  post_timer_ = new uv_timer_t;
  uv_timer_init(loop_, post_timer_);
  post_timer_->data = this;
  if (!options_.hosts_file.empty()) hosts_ = std::make_unique<HostsFile>(options_.hosts_file);
}

Resolver::~Resolver() { Shutdown(); }

size_t Resolver::pending() const { return pending_; }

size_t Resolver::open_sockets() const {
  size_t n = main_ ? main_->watches.size() : 0;
  for (const auto& [key, channel] : query_channels_) n += channel->watches.size();
  for (const auto& channel : retiring_) n += channel->watches.size();
  return n;
}

void Resolver::Post(Pending* p) {
  p->posted = true;
  posted_.push_back(p);
  if (posted_.size() == 1 && post_timer_ != nullptr) {
    uv_timer_start(post_timer_, &Resolver::OnPosted, 0, 0);
  }
}

void Resolver::OnPosted(uv_timer_t* timer) {
  auto* self = static_cast<Resolver*>(timer->data);
  std::vector<Pending*> batch;
  batch.swap(self->posted_);
  for (Pending* p : batch) {
    p->posted = false;
    self->Deliver(p);
  }
  // Retired channels without queries close now (outside any c-ares call).
  for (auto& channel : self->retiring_) channel->Rearm();
}

// The debug run's view of an answer (see AttemptTrace).
void Resolver::TraceDelivery(const Pending& p) {
  char took_buf[32];
  std::snprintf(took_buf, sizeof took_buf, " (%.1fms)",
                static_cast<double>(uv_hrtime() - p.start_ns) / 1e6);
  const std::string took = took_buf;
  if (p.query_done) {
    const DnsAnswer& a = p.answer;
    if (!a.error.empty()) {
      p.trace->Add("dns", "no response: " + a.error + took);
      return;
    }
    static constexpr const char* kRcodes[] = {"NOERROR",  "FORMERR", "SERVFAIL",
                                              "NXDOMAIN", "NOTIMP",  "REFUSED"};
    if (a.response.size() < 12) {
      p.trace->Add("dns", "response of " + std::to_string(a.response.size()) + " bytes" + took);
      return;
    }
    const unsigned rcode = a.response[3] & 0x0f;
    auto count = [&a](size_t at) {
      return std::to_string((a.response[at] << 8) | a.response[at + 1]);
    };
    p.trace->Add("dns", std::string("response ") +
                            (rcode < 6 ? kRcodes[rcode] : "rcode " + std::to_string(rcode)) +
                            ((a.response[2] & 0x04) != 0 ? ", authoritative" : "") +
                            ((a.response[2] & 0x02) != 0 ? ", truncated" : "") + ": " + count(6) +
                            " answers, " + count(8) + " authority, " + count(10) + " additional, " +
                            std::to_string(a.response.size()) + " bytes" + took);
    return;
  }
  const ResolveResult& r = p.result;
  if (!r.error.empty()) {
    p.trace->Add("resolve", "failed: " + r.error + took);
    return;
  }
  std::string list;
  for (const auto& address : r.addresses) {
    if (!list.empty()) list += ", ";
    list += AddressText(address);
  }
  p.trace->Add("resolve", "addresses " + list + took);
}

// Frees the request's state before calling back, so the callback may do
// anything (start requests, destroy its own).
void Resolver::Deliver(Pending* p) {
  --pending_;
  if (p->request == nullptr) {  // cancelled
    delete p;
    return;
  }
  p->request->pending = nullptr;
  p->request = nullptr;
  if (p->trace != nullptr) TraceDelivery(*p);
  auto done = std::move(p->done);
  auto query_done = std::move(p->query_done);
  ResolveResult result = std::move(p->result);
  DnsAnswer answer = std::move(p->answer);
  delete p;
  if (done) done(std::move(result));
  if (query_done) query_done(std::move(answer));
}

std::unique_ptr<ResolveRequest> Resolver::Resolve(std::string_view host, IpProtocol protocol,
                                                  Callback done, AttemptTrace* trace) {
  if (shut_down_) return std::make_unique<Request>(nullptr);
  auto* p = new Pending;
  if (trace != nullptr) {
    p->trace = trace;
    trace->Add("resolve", "looking up " + std::string(host) + " (ip_protocol " +
                              std::string(IpProtocolName(protocol)) + ")");
  }
  p->resolver = this;
  p->done = std::move(done);
  p->protocol = protocol;
  p->start_ns = uv_hrtime();
  auto request = std::make_unique<Request>(p);
  p->request = request.get();
  ++pending_;

  // An IP literal, as is (whatever `protocol` says: the address was chosen).
  sockaddr_storage literal{};
  if (ParseIpLiteral(host, &literal)) {
    p->result.addresses.push_back(literal);
    Post(p);
    return request;
  }
  if (host.empty()) {
    p->result.error = "empty host name";
    p->result.failure = ResolveFailure::kOther;
    Post(p);
    return request;
  }

  if (hosts_) {
    if (const auto* found = hosts_->Lookup(host)) {
      auto& out = p->result.addresses;
      if (protocol != IpProtocol::kIp4) {
        for (const auto& a : *found) {
          if (a.ss_family == AF_INET6) out.push_back(a);
        }
      }
      if (protocol != IpProtocol::kIp6) {
        for (const auto& a : *found) {
          if (a.ss_family == AF_INET) out.push_back(a);
        }
      }
      // A name listed only with the other family falls through to DNS, as
      // glibc's "files" does.
      if (!out.empty()) {
        p->result.duration_ns = uv_hrtime() - p->start_ns;
        Post(p);
        return request;
      }
    }
  }

  CheckResolvConf();
  if (!main_) {
    main_ = std::make_unique<Channel>(loop_);
    ares_options opts{};
    int mask = 0;
    char lookups[] = "b";  // the hosts file is ours (above)
    opts.lookups = lookups;
    mask |= ARES_OPT_LOOKUPS;
    // Keep the UDP socket to the servers between lookups: opening, connecting,
    // watching and closing one per lookup was 14 of its 20 system calls.
    opts.flags = ARES_FLAG_STAYOPEN;
    mask |= ARES_OPT_FLAGS;
    main_->stay_open = true;
    if (!options_.servers.empty()) {
      // No resolv.conf at all: servers set below, no search domains.
      opts.nservers = 0;
      opts.ndomains = 0;
      mask |= ARES_OPT_SERVERS | ARES_OPT_DOMAINS;
    } else {
      opts.resolvconf_path = const_cast<char*>(options_.resolv_conf.c_str());
      mask |= ARES_OPT_RESOLVCONF;
      main_->from_resolv_conf = true;
      if (options_.resolv_conf_port != 0) {
        opts.udp_port = options_.resolv_conf_port;
        opts.tcp_port = options_.resolv_conf_port;
        mask |= ARES_OPT_UDP_PORT | ARES_OPT_TCP_PORT;
      }
    }
    if (options_.timeout.count() > 0) {
      opts.timeout = static_cast<int>(options_.timeout.count());
      mask |= ARES_OPT_TIMEOUTMS;
    }
    if (options_.tries > 0) {
      opts.tries = options_.tries;
      mask |= ARES_OPT_TRIES;
    }
    if (main_->Init(&opts, mask) && !options_.servers.empty()) {
      std::string csv;
      for (const auto& s : options_.servers) csv += (csv.empty() ? "" : ",") + s;
      const int rc = ares_set_servers_ports_csv(main_->channel, csv.c_str());
      if (rc != ARES_SUCCESS) {
        main_->error = "resolver: bad server list: " + std::string(ares_strerror(rc));
      }
    }
  }
  if (main_->channel == nullptr || !main_->error.empty()) {
    p->result.error = main_->error;
    p->result.failure = ResolveFailure::kLocal;
    Post(p);
    return request;
  }

  ares_addrinfo_hints hints{};
  hints.ai_family = protocol == IpProtocol::kIp4   ? AF_INET
                    : protocol == IpProtocol::kIp6 ? AF_INET6
                                                   : AF_UNSPEC;
  // Our own order (IPv6 first for auto); c-ares' RFC 6724 sort would open
  // and connect a UDP socket per address to learn the source addresses.
  hints.ai_flags = ARES_AI_NOSORT;
  const std::string name(host);
  p->in_cares = true;
  in_call_ = true;
  ares_getaddrinfo(main_->channel, name.c_str(), nullptr, &hints, &Resolver::OnAddrInfo, p);
  in_call_ = false;
  main_->Rearm();
  return request;
}

void Resolver::OnAddrInfo(void* arg, int status, int /*timeouts*/, ares_addrinfo* info) {
  auto* p = static_cast<Pending*>(arg);
  p->in_cares = false;
  Resolver* self = p->resolver;
  if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED || p->request == nullptr ||
      self == nullptr) {
    if (info != nullptr) ares_freeaddrinfo(info);
    if (p->request != nullptr) p->request->pending = nullptr;
    if (self != nullptr) --self->pending_;
    delete p;
    return;
  }
  p->result.duration_ns = uv_hrtime() - p->start_ns;
  if (status == ARES_SUCCESS && info != nullptr) {
    auto& out = p->result.addresses;
    for (auto* node = info->nodes; node != nullptr; node = node->ai_next) {
      if (node->ai_addr == nullptr || node->ai_addrlen > sizeof(sockaddr_storage)) continue;
      if (node->ai_family != AF_INET && node->ai_family != AF_INET6) continue;
      sockaddr_storage a{};
      std::memcpy(&a, node->ai_addr, node->ai_addrlen);
      if (a.ss_family == AF_INET) reinterpret_cast<sockaddr_in&>(a).sin_port = 0;
      if (a.ss_family == AF_INET6) reinterpret_cast<sockaddr_in6&>(a).sin6_port = 0;
      out.push_back(a);
    }
    // IPv6 first, each family in the order of the answer.
    std::stable_partition(out.begin(), out.end(),
                          [](const sockaddr_storage& a) { return a.ss_family == AF_INET6; });
    if (out.empty()) {
      p->result.error = NoAddressText(p->protocol);
      p->result.failure = ResolveFailure::kOther;
    }
  } else {
    const int code = status == ARES_SUCCESS ? ARES_ENODATA : status;
    p->result.error =
        ResolveErrorText(code, p->protocol, p->result.duration_ns, &p->result.failure);
  }
  if (info != nullptr) ares_freeaddrinfo(info);
  if (self->in_call_) {
    self->Post(p);  // c-ares answered inside Resolve(): deliver on the next turn
  } else {
    self->Deliver(p);
  }
}

Resolver::Channel* Resolver::QueryChannel(const DnsServer& server,
                                          std::chrono::milliseconds timeout) {
  const std::string key = server.Text() +
                          (server.transport == DnsServer::Transport::kTcp ? "/tcp/" : "/udp/") +
                          std::to_string(timeout.count());
  auto& slot = query_channels_[key];
  if (slot) return slot.get();
  slot = std::make_unique<Channel>(loop_);
  ares_options opts{};
  int mask = ARES_OPT_FLAGS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS;
  // NOCHECKRESP: SERVFAIL/REFUSED/NOTIMP answers are handed to us instead of
  // being retried on another server; the dns check judges the rcode.
  opts.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_NOSEARCH |
               (server.transport == DnsServer::Transport::kTcp ? ARES_FLAG_USEVC : 0);
  opts.tries = 1;
  char lookups[] = "b";
  opts.lookups = lookups;
  if (timeout.count() > 0) {
    opts.timeout = static_cast<int>(timeout.count());
    mask |= ARES_OPT_TIMEOUTMS;
  }
  const bool system = server.address.empty();
  if (!system || !options_.servers.empty()) {
    opts.nservers = 0;
    opts.ndomains = 0;
    mask |= ARES_OPT_SERVERS | ARES_OPT_DOMAINS;
  } else {
    opts.resolvconf_path = const_cast<char*>(options_.resolv_conf.c_str());
    mask |= ARES_OPT_RESOLVCONF;
    slot->from_resolv_conf = true;
    if (options_.resolv_conf_port != 0) {
      opts.udp_port = options_.resolv_conf_port;
      opts.tcp_port = options_.resolv_conf_port;
      mask |= ARES_OPT_UDP_PORT | ARES_OPT_TCP_PORT;
    }
  }
  if (!slot->Init(&opts, mask)) return slot.get();
  std::string csv;
  if (!system) {
    csv = server.Text();
  } else {
    for (const auto& s : options_.servers) csv += (csv.empty() ? "" : ",") + s;
  }
  if (!csv.empty()) {
    const int rc = ares_set_servers_ports_csv(slot->channel, csv.c_str());
    if (rc != ARES_SUCCESS) slot->error = "bad DNS server " + csv;
  }
  return slot.get();
}

std::unique_ptr<ResolveRequest> Resolver::Query(const DnsServer& server, std::string_view name,
                                                int dns_class, int type, bool recursion_desired,
                                                std::chrono::milliseconds timeout,
                                                QueryCallback done, AttemptTrace* trace) {
  if (shut_down_) return std::make_unique<Request>(nullptr);
  auto* p = new Pending;
  if (trace != nullptr) {
    p->trace = trace;
    trace->Add("dns", "query " + std::string(name) + " class " + std::to_string(dns_class) +
                          " type " + std::to_string(type) +
                          (recursion_desired ? " (recursion desired)" : "") + " to " +
                          server.Text() +
                          (server.transport == DnsServer::Transport::kTcp ? " over tcp" : ""));
  }
  p->resolver = this;
  p->query_done = std::move(done);
  p->query_timeout = timeout;
  p->server_text = server.Text();
  p->start_ns = uv_hrtime();
  auto request = std::make_unique<Request>(p);
  p->request = request.get();
  ++pending_;

  if (!server.address.empty()) {
    sockaddr_storage check{};
    if (!ParseIpLiteral(server.address, &check)) {
      p->answer.error = "DNS server is not an IP address";
      p->answer.failure = QueryFailure::kLocal;
      Post(p);
      return request;
    }
  }
  CheckResolvConf();
  Channel* channel = QueryChannel(server, timeout);
  if (channel->channel == nullptr || !channel->error.empty()) {
    p->answer.error = channel->error;
    p->answer.failure = QueryFailure::kLocal;
    Post(p);
    return request;
  }
  unsigned char* buf = nullptr;
  int len = 0;
  const std::string qname(name);
  const int rc = ares_create_query(qname.c_str(), dns_class, type, 0, recursion_desired ? 1 : 0,
                                   &buf, &len, 0);
  if (rc != ARES_SUCCESS) {
    p->answer.error = rc == ARES_EBADNAME ? "bad query name" : std::string(ares_strerror(rc));
    p->answer.failure = QueryFailure::kLocal;
    Post(p);
    return request;
  }
  p->in_cares = true;
  in_call_ = true;
  ares_send(channel->channel, buf, len, &Resolver::OnQueryAnswer, p);
  in_call_ = false;
  ares_free_string(buf);
  channel->Rearm();
  return request;
}

void Resolver::OnQueryAnswer(void* arg, int status, int /*timeouts*/, unsigned char* abuf,
                             int alen) {
  auto* p = static_cast<Pending*>(arg);
  p->in_cares = false;
  Resolver* self = p->resolver;
  if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED || p->request == nullptr ||
      self == nullptr) {
    if (p->request != nullptr) p->request->pending = nullptr;
    if (self != nullptr) --self->pending_;
    delete p;
    return;
  }
  p->answer.duration_ns = uv_hrtime() - p->start_ns;
  if (status == ARES_SUCCESS && abuf != nullptr && alen > 0) {
    p->answer.response.assign(abuf, abuf + alen);
  } else {
    switch (status) {
      case ARES_ETIMEOUT:
        p->answer.error = "no answer within " + MillisecondsText(p->query_timeout);
        p->answer.failure = QueryFailure::kTimeout;
        break;
      case ARES_ECONNREFUSED:
        if (const int shortage = ProbeFdShortage(0)) {
          p->answer.error =
              ReportFdShortage(shortage, "cannot open a DNS socket; the server was not asked");
          p->answer.failure = QueryFailure::kLocal;
        } else {
          p->answer.error = "connection refused by " + p->server_text;
          p->answer.failure = QueryFailure::kRefused;
        }
        break;
      case ARES_EBADRESP:
        p->answer.error = "bad response from " + p->server_text;
        p->answer.failure = QueryFailure::kBadResponse;
        break;
      default:
        p->answer.error = std::string(ares_strerror(status)) + " (" + p->server_text + ")";
        p->answer.failure = status == ARES_ENOMEM ? QueryFailure::kLocal : QueryFailure::kOther;
        break;
    }
  }
  if (self->in_call_) {
    self->Post(p);
  } else {
    self->Deliver(p);
  }
}

void Resolver::CheckResolvConf() {
  // Closed retirees go (their handles close on their own).
  std::erase_if(retiring_, [](const auto& c) { return c->channel == nullptr; });
  if (!options_.servers.empty()) return;
  const uint64_t now = uv_now(loop_);
  if (resolv_conf_seen_ &&
      now - resolv_conf_checked_ms_ < static_cast<uint64_t>(options_.resolv_conf_recheck.count())) {
    return;
  }
  resolv_conf_checked_ms_ = now;
  struct stat st {};
  std::string stamp = "missing";
  if (stat(options_.resolv_conf.c_str(), &st) == 0) {
    stamp = std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
            std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
  }
  const bool changed = resolv_conf_seen_ && stamp != resolv_conf_stamp_;
  resolv_conf_seen_ = true;
  resolv_conf_stamp_ = std::move(stamp);
  if (!changed) return;
  if (main_ && main_->from_resolv_conf) Retire(std::move(main_));
  for (auto it = query_channels_.begin(); it != query_channels_.end();) {
    if (it->second->from_resolv_conf) {
      Retire(std::move(it->second));
      it = query_channels_.erase(it);
    } else {
      ++it;
    }
  }
}

void Resolver::Retire(std::unique_ptr<Channel> channel) {
  // Kept, not closed here: this may run inside one of the channel's own
  // callbacks (a callback starting the next lookup). It closes in its Rearm()
  // after its last query, or in the sweep on the next turn if it is idle.
  channel->retiring = true;
  retiring_.push_back(std::move(channel));
  if (post_timer_ != nullptr) uv_timer_start(post_timer_, &Resolver::OnPosted, 0, 0);
}

void Resolver::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  // ares_destroy calls every in-flight callback with ARES_EDESTRUCTION, which
  // frees those requests' state without calling their callbacks.
  if (main_) main_->Close();
  for (auto& [key, channel] : query_channels_) channel->Close();
  for (auto& channel : retiring_) channel->Close();
  for (Pending* p : posted_) {
    if (p->request != nullptr) p->request->pending = nullptr;
    --pending_;
    delete p;
  }
  posted_.clear();
  if (post_timer_ != nullptr) {
    uv_timer_stop(post_timer_);
    uv_close(reinterpret_cast<uv_handle_t*>(post_timer_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
    post_timer_ = nullptr;
  }
}

}  // namespace hx
