// The c-ares resolver on a real loop against a real DNS server (dnsmasq on
// 127.0.0.1, started here), a server that never answers (a UDP socket of the
// test's own that reads nothing), and hosts files of the test's own.

#include "io/resolver.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/daemon_process.h"  // kSanitized
#include "support/dnsmasq_server.h"
#include "support/loop_test.h"

namespace hx {
namespace {

using std::chrono::milliseconds;

std::vector<std::string> Texts(const ResolveResult& r) {
  std::vector<std::string> out;
  for (const auto& a : r.addresses) out.push_back(AddressText(a));
  return out;
}

int Rcode(const DnsAnswer& a) { return a.response.size() >= 4 ? (a.response[3] & 0x0f) : -1; }
int AnswerCount(const DnsAnswer& a) {
  return a.response.size() >= 8 ? (a.response[6] << 8 | a.response[7]) : -1;
}

// A UDP "DNS server" on 127.0.0.1 that receives queries and never answers.
class SilentServer {
 public:
  SilentServer() {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentServer() { close(fd_); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

class ResolverTest : public LoopTest {
 protected:
  void SetUp() override {
    LoopTest::SetUp();
    dns_ = std::make_unique<DnsmasqServer>(std::vector<std::string>{
        "--host-record=both.test,10.0.0.1,fd00::1",
        "--host-record=v4only.test,10.0.0.4",
        "--host-record=v6only.test,fd00::6",
        "--host-record=multi.test,10.0.1.1",
        "--host-record=multi.test,10.0.1.2",
    });
    ASSERT_TRUE(dns_->ok()) << dns_->error();
    tmp_ = std::filesystem::temp_directory_path() /
           ("hx-resolver-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(tmp_);
    WriteHosts("");
  }

  void TearDown() override {
    resolver_.reset();
    LoopTest::TearDown();
    std::error_code ignored;
    std::filesystem::remove_all(tmp_, ignored);
  }

  void WriteHosts(const std::string& text) { std::ofstream(tmp_ / "hosts") << text; }

  Resolver::Options OptionsFor(std::vector<std::string> servers) {
    Resolver::Options o;
    o.servers = std::move(servers);
    o.hosts_file = (tmp_ / "hosts").string();
    o.timeout = milliseconds(300);
    o.tries = 1;
    return o;
  }

  Resolver& MakeResolver(std::vector<std::string> servers) {
    resolver_ = std::make_unique<Resolver>(loop(), OptionsFor(std::move(servers)));
    return *resolver_;
  }
  Resolver& MakeResolver() { return MakeResolver({dns_->address()}); }

  // Resolves and runs the loop until the answer; asserts exactly one call.
  ResolveResult ResolveNow(Resolver& r, std::string_view host, IpProtocol p) {
    int calls = 0;
    ResolveResult result;
    auto req = r.Resolve(host, p, [&](ResolveResult res) {
      ++calls;
      result = std::move(res);
    });
    EXPECT_EQ(calls, 0) << "called back inside Resolve()";
    EXPECT_TRUE(RunUntil([&] { return calls > 0; }, milliseconds(5000)));
    uv_run(loop(), UV_RUN_NOWAIT);
    EXPECT_EQ(calls, 1);
    return result;
  }

  DnsAnswer QueryNow(Resolver& r, const DnsServer& server, std::string_view name, int type,
                     milliseconds timeout = milliseconds(1000)) {
    int calls = 0;
    DnsAnswer answer;
    auto req = r.Query(server, name, 1, type, true, timeout, [&](DnsAnswer a) {
      ++calls;
      answer = std::move(a);
    });
    EXPECT_EQ(calls, 0);
    EXPECT_TRUE(RunUntil([&] { return calls > 0; }, milliseconds(5000)));
    uv_run(loop(), UV_RUN_NOWAIT);
    EXPECT_EQ(calls, 1);
    return answer;
  }

  DnsServer Server(DnsServer::Transport t = DnsServer::Transport::kUdp) {
    return DnsServer{"127.0.0.1", dns_->port(), t};
  }

  std::unique_ptr<DnsmasqServer> dns_;
  std::filesystem::path tmp_;
  std::unique_ptr<Resolver> resolver_;
};

TEST_F(ResolverTest, ResolvesAAndAaaaInTheOrderOfTheProtocol) {
  Resolver& r = MakeResolver();
  ResolveResult v4 = ResolveNow(r, "both.test", IpProtocol::kIp4);
  EXPECT_EQ(v4.error, "");
  EXPECT_EQ(Texts(v4), std::vector<std::string>{"10.0.0.1"});
  EXPECT_GT(v4.duration_ns, 0u);

  ResolveResult v6 = ResolveNow(r, "both.test", IpProtocol::kIp6);
  EXPECT_EQ(v6.error, "");
  EXPECT_EQ(Texts(v6), std::vector<std::string>{"fd00::1"});

  // auto: IPv6 first, then IPv4.
  ResolveResult any = ResolveNow(r, "BOTH.test.", IpProtocol::kAuto);
  EXPECT_EQ(any.error, "");
  EXPECT_EQ(Texts(any), (std::vector<std::string>{"fd00::1", "10.0.0.1"}));

  ResolveResult multi = ResolveNow(r, "multi.test", IpProtocol::kIp4);
  EXPECT_EQ(multi.addresses.size(), 2u);
  EXPECT_EQ(r.pending(), 0u);
}

TEST_F(ResolverTest, NamesTheFailure) {
  Resolver& r = MakeResolver();
  EXPECT_EQ(ResolveNow(r, "nothere.test", IpProtocol::kAuto).error, "no such host");
  EXPECT_EQ(ResolveNow(r, "nothere.test", IpProtocol::kIp4).error, "no such host");
  ResolveResult no6 = ResolveNow(r, "v4only.test", IpProtocol::kIp6);
  EXPECT_EQ(no6.error, "no IPv6 address");
  EXPECT_TRUE(no6.addresses.empty());
  EXPECT_EQ(ResolveNow(r, "v6only.test", IpProtocol::kIp4).error, "no IPv4 address");
  EXPECT_EQ(ResolveNow(r, "", IpProtocol::kAuto).error, "empty host name");
}

TEST_F(ResolverTest, AutoFallsBackToIpv4AndTakesIpv6Alone) {
  Resolver& r = MakeResolver();
  ResolveResult v4 = ResolveNow(r, "v4only.test", IpProtocol::kAuto);
  EXPECT_EQ(v4.error, "");
  EXPECT_EQ(Texts(v4), std::vector<std::string>{"10.0.0.4"});
  ResolveResult v6 = ResolveNow(r, "v6only.test", IpProtocol::kAuto);
  EXPECT_EQ(Texts(v6), std::vector<std::string>{"fd00::6"});
}

TEST_F(ResolverTest, IpLiteralsAnswerWithoutAQuery) {
  // No server at all: a query would fail.
  Resolver& r = MakeResolver({"127.0.0.1:1"});
  EXPECT_EQ(Texts(ResolveNow(r, "192.0.2.7", IpProtocol::kIp6)),
            std::vector<std::string>{"192.0.2.7"});
  EXPECT_EQ(Texts(ResolveNow(r, "[::1]", IpProtocol::kAuto)), std::vector<std::string>{"::1"});
  EXPECT_EQ(Texts(ResolveNow(r, "fd00::2", IpProtocol::kIp4)), std::vector<std::string>{"fd00::2"});
  EXPECT_EQ(r.open_sockets(), 0u);
}

TEST_F(ResolverTest, HostsFileAnswersBeforeDnsAndIsReReadWhenItChanges) {
  WriteHosts(
      "# comment\n"
      "10.9.9.9   myhost.test  alias.test  # trailing comment\n"
      "fd00::99\tmyhost.test\n"
      "10.0.0.77 both.test\n");
  Resolver& r = MakeResolver();
  EXPECT_EQ(Texts(ResolveNow(r, "MyHost.test", IpProtocol::kAuto)),
            (std::vector<std::string>{"fd00::99", "10.9.9.9"}));
  EXPECT_EQ(Texts(ResolveNow(r, "alias.test", IpProtocol::kIp4)),
            std::vector<std::string>{"10.9.9.9"});
  EXPECT_EQ(Texts(ResolveNow(r, "both.test", IpProtocol::kIp4)),
            std::vector<std::string>{"10.0.0.77"});
  // both.test has no IPv6 line: the IPv6 question goes to DNS, as glibc does.
  EXPECT_EQ(Texts(ResolveNow(r, "both.test", IpProtocol::kIp6)),
            std::vector<std::string>{"fd00::1"});
  const std::string log = dns_->Log();
  EXPECT_EQ(log.find("myhost.test"), std::string::npos) << log;
  EXPECT_EQ(log.find("alias.test"), std::string::npos) << log;

  // A different size (and mtime): read again.
  WriteHosts("10.8.8.8 myhost.test\n");
  EXPECT_EQ(Texts(ResolveNow(r, "myhost.test", IpProtocol::kAuto)),
            std::vector<std::string>{"10.8.8.8"});
  EXPECT_EQ(ResolveNow(r, "alias.test", IpProtocol::kAuto).error, "no such host");
}

TEST_F(ResolverTest, ASilentServerTimesOutWithoutDelayingTheLoop) {
  SilentServer silent;
  Resolver& r = MakeResolver({silent.address()});
  // Something else on the same loop: a 10 ms ticker and an answered query
  // through another resolver.
  Resolver good(loop(), OptionsFor({dns_->address()}));
  uint64_t last_tick = uv_hrtime();
  uint64_t worst_gap = 0;
  int ticks = 0;
  uv_timer_t ticker;
  uv_timer_init(loop(), &ticker);
  ticker.data = this;
  struct Tick {
    uint64_t* last;
    uint64_t* worst;
    int* n;
  } tick{&last_tick, &worst_gap, &ticks};
  ticker.data = &tick;
  uv_timer_start(
      &ticker,
      [](uv_timer_t* t) {
        auto* k = static_cast<Tick*>(t->data);
        const uint64_t now = uv_hrtime();
        *k->worst = std::max(*k->worst, now - *k->last);
        *k->last = now;
        ++*k->n;
      },
      10, 10);

  std::optional<ResolveResult> hung;
  std::optional<ResolveResult> fast;
  auto a = r.Resolve("both.test", IpProtocol::kIp4, [&](ResolveResult res) { hung = res; });
  auto b = good.Resolve("both.test", IpProtocol::kIp4, [&](ResolveResult res) { fast = res; });
  ASSERT_TRUE(RunUntil([&] { return fast.has_value(); }, milliseconds(2000)));
  EXPECT_FALSE(hung.has_value());
  EXPECT_EQ(Texts(*fast), std::vector<std::string>{"10.0.0.1"});
  ASSERT_TRUE(RunUntil([&] { return hung.has_value(); }, milliseconds(5000)));
  EXPECT_EQ(hung->error, "DNS timeout after 0.3s");
  EXPECT_TRUE(hung->addresses.empty());
  EXPECT_GE(hung->duration_ns, 300'000'000u);
  EXPECT_LT(hung->duration_ns, 1'500'000'000u);
  EXPECT_GT(ticks, 15);
  EXPECT_LT(worst_gap, 100'000'000u) << "the loop stalled";
  good.Shutdown();
  // The ticker lives on this stack frame: finish closing it here.
  bool closed = false;
  ticker.data = &closed;
  uv_close(reinterpret_cast<uv_handle_t*>(&ticker),
           [](uv_handle_t* h) { *static_cast<bool*>(h->data) = true; });
  ASSERT_TRUE(RunUntil([&] { return closed; }, milliseconds(1000)));
}

TEST_F(ResolverTest, FallsOverToTheNextServer) {
  SilentServer silent;
  Resolver& r = MakeResolver({silent.address(), dns_->address()});
  ResolveResult res = ResolveNow(r, "both.test", IpProtocol::kIp4);
  EXPECT_EQ(res.error, "");
  EXPECT_EQ(Texts(res), std::vector<std::string>{"10.0.0.1"});
}

TEST_F(ResolverTest, DestroyingTheRequestCancelsTheCallback) {
  SilentServer silent;
  Resolver& r = MakeResolver({silent.address()});
  int calls = 0;
  {
    auto req = r.Resolve("both.test", IpProtocol::kAuto, [&](ResolveResult) { ++calls; });
    auto literal = r.Resolve("10.1.1.1", IpProtocol::kAuto, [&](ResolveResult) { ++calls; });
    auto hosts = r.Resolve("nothere.test", IpProtocol::kAuto, [&](ResolveResult) { ++calls; });
    // The queries are on the wire (sent inside Resolve()); the loop has not run.
    EXPECT_EQ(r.pending(), 3u);
  }  // destroyed before any answer
  // c-ares lets go of the queries at its timeout; nothing is called.
  ASSERT_TRUE(RunUntil([&] { return r.pending() == 0; }, milliseconds(5000)));
  RunUntil([] { return false; }, milliseconds(50));
  EXPECT_EQ(calls, 0);
}

TEST_F(ResolverTest, DestroyingTheRequestFromAnotherCallbackIsSafe) {
  Resolver& r = MakeResolver();
  std::unique_ptr<ResolveRequest> second;
  int first_calls = 0;
  int second_calls = 0;
  auto first = r.Resolve("both.test", IpProtocol::kIp4, [&](ResolveResult) {
    ++first_calls;
    second.reset();  // answered in the same batch or not: never called now
  });
  second = r.Resolve("both.test", IpProtocol::kIp4, [&](ResolveResult) { ++second_calls; });
  ASSERT_TRUE(RunUntil([&] { return first_calls > 0 && r.pending() == 0; }, milliseconds(5000)));
  EXPECT_EQ(second_calls, 0);
}

TEST_F(ResolverTest, ShutdownDropsEverythingAndRequestsOutliveTheResolver) {
  SilentServer silent;
  Resolver& r = MakeResolver({silent.address()});
  int calls = 0;
  auto query = r.Resolve("both.test", IpProtocol::kAuto, [&](ResolveResult) { ++calls; });
  auto literal = r.Resolve("10.1.1.1", IpProtocol::kAuto, [&](ResolveResult) { ++calls; });
  auto raw = r.Query(DnsServer{"127.0.0.1", silent.port()}, "x.test", 1, 1, true, milliseconds(300),
                     [&](DnsAnswer) { ++calls; });
  EXPECT_EQ(r.pending(), 3u);
  r.Shutdown();
  EXPECT_EQ(r.pending(), 0u);
  auto after = r.Resolve("10.1.1.1", IpProtocol::kAuto, [&](ResolveResult) { ++calls; });
  resolver_.reset();  // the requests are still held: destroying them later is safe
  RunUntil([] { return false; }, milliseconds(50));
  query.reset();
  literal.reset();
  raw.reset();
  after.reset();
  EXPECT_EQ(calls, 0);
}

TEST_F(ResolverTest, ManyConcurrentRequests) {
  // A burst this size overflows dnsmasq's socket buffer now and then (each
  // queued datagram costs ~768 bytes of the 208 KiB default): retries, as a
  // real resolv.conf has them, get those answered.
  Resolver::Options options = OptionsFor({dns_->address()});
  options.tries = 4;
  resolver_ = std::make_unique<Resolver>(loop(), options);
  Resolver& r = *resolver_;
  constexpr int kRequests = 300;
  std::vector<std::unique_ptr<ResolveRequest>> requests;
  int ok = 0;
  int nx = 0;
  int other = 0;
  for (int i = 0; i < kRequests; ++i) {
    const bool known = i % 3 != 0;
    const std::string name = known ? "multi.test" : "nx" + std::to_string(i) + ".test";
    requests.push_back(r.Resolve(name, IpProtocol::kIp4, [&, known](ResolveResult res) {
      if (known && res.addresses.size() == 2) {
        ++ok;
      } else if (!known && res.error == "no such host") {
        ++nx;
      } else {
        ++other;
        ADD_FAILURE() << (known ? "known" : "nx") << ": " << res.error << " "
                      << res.addresses.size();
      }
    }));
  }
  // Cancel a tenth of them while in flight.
  int expected_ok = 0;
  int expected_nx = 0;
  for (int i = 0; i < kRequests; ++i) {
    if (i % 10 == 1) {
      requests[i].reset();
    } else {
      ++(i % 3 != 0 ? expected_ok : expected_nx);
    }
  }
  ASSERT_TRUE(RunUntil([&] { return r.pending() == 0; }, milliseconds(10000)))
      << r.pending() << " still pending";
  EXPECT_EQ(other, 0);
  EXPECT_EQ(ok, expected_ok);
  EXPECT_EQ(nx, expected_nx);
  // Idle: the one socket kept open to the server does not keep the loop alive.
  EXPECT_EQ(r.open_sockets(), 1u);
  uv_run(loop(), UV_RUN_NOWAIT);
  EXPECT_FALSE(uv_loop_alive(loop()));
}

TEST_F(ResolverTest, QueryHandsBackTheRawAnswerWhateverItsRcode) {
  Resolver& r = MakeResolver();
  DnsAnswer a = QueryNow(r, Server(), "both.test", 1);
  EXPECT_EQ(a.error, "");
  EXPECT_EQ(Rcode(a), 0);
  EXPECT_EQ(AnswerCount(a), 1);
  EXPECT_GT(a.duration_ns, 0u);

  DnsAnswer nx = QueryNow(r, Server(), "nothere.test", 1);
  EXPECT_EQ(nx.error, "");
  EXPECT_EQ(Rcode(nx), 3);  // NXDOMAIN

  // Outside dnsmasq's local domain with no upstream: REFUSED (5), handed back
  // instead of being retried.
  DnsAnswer refused = QueryNow(r, Server(), "example.org", 1);
  EXPECT_EQ(refused.error, "");
  EXPECT_EQ(Rcode(refused), 5);

  DnsAnswer tcp = QueryNow(r, Server(DnsServer::Transport::kTcp), "multi.test", 1);
  EXPECT_EQ(tcp.error, "");
  EXPECT_EQ(AnswerCount(tcp), 2);
}

TEST_F(ResolverTest, QueryTimesOutAndNamesRefusedTcp) {
  SilentServer silent;
  Resolver& r = MakeResolver();
  DnsAnswer a =
      QueryNow(r, DnsServer{"127.0.0.1", silent.port()}, "both.test", 1, milliseconds(200));
  EXPECT_EQ(a.error, "no answer within 0.2s");
  EXPECT_TRUE(a.response.empty());
  EXPECT_GE(a.duration_ns, 200'000'000u);

  // The silent port has no TCP listener.
  DnsAnswer refused = QueryNow(r, DnsServer{"127.0.0.1", silent.port(), DnsServer::Transport::kTcp},
                               "both.test", 1);
  EXPECT_EQ(refused.error, "connection refused by 127.0.0.1:" + std::to_string(silent.port()));
}

TEST_F(ResolverTest, OutOfDescriptorsBlamesTheDaemonNotTheServer) {
  if (kSanitized) {
    // The sanitizer runtime needs descriptors of its own (its memory checks
    // open a pipe), so with none left it reports errors that are its own.
    // The unsanitized run covers this test.
    GTEST_SKIP() << "needs every descriptor used up, which the sanitizer runtime cannot bear";
  }
  WriteHosts("10.9.9.9 myhost.test\n");
  Resolver& r = MakeResolver();
  // Warm the hosts file: read once while descriptors are free.
  EXPECT_EQ(Texts(ResolveNow(r, "myhost.test", IpProtocol::kIp4)),
            std::vector<std::string>{"10.9.9.9"});
  // A low soft limit, so filling it takes a few descriptors, not a million.
  rlimit old_limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old_limit), 0);
  size_t open_now = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    ++open_now;
  }
  rlimit low = old_limit;
  low.rlim_cur = std::min<rlim_t>(old_limit.rlim_cur, open_now + 32);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<int> hogs;
  for (int fd; (fd = open("/dev/null", O_RDONLY)) >= 0;) hogs.push_back(fd);
  ASSERT_EQ(errno, EMFILE);
  ResolveResult dns = ResolveNow(r, "both.test", IpProtocol::kIp4);
  DnsAnswer raw = QueryNow(r, Server(), "both.test", 1);
  // The parsed hosts file still answers without a descriptor.
  ResolveResult hosts = ResolveNow(r, "myhost.test", IpProtocol::kIp4);
  for (int fd : hogs) close(fd);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old_limit), 0);
  EXPECT_EQ(dns.error,
            "health_exporter out of file descriptors (EMFILE): cannot resolve the host; the "
            "target was not tried");
  EXPECT_EQ(raw.error,
            "health_exporter out of file descriptors (EMFILE): cannot open a DNS socket; the "
            "server was not asked");
  EXPECT_EQ(Texts(hosts), std::vector<std::string>{"10.9.9.9"});
  // And once descriptors are back, so is DNS.
  EXPECT_EQ(Texts(ResolveNow(r, "both.test", IpProtocol::kIp4)),
            std::vector<std::string>{"10.0.0.1"});
}

TEST_F(ResolverTest, ReadsResolvConfAgainWhenItChanges) {
  const std::string conf = (tmp_ / "resolv.conf").string();
  std::ofstream(conf) << "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n";
  Resolver::Options options;
  options.resolv_conf = conf;
  options.resolv_conf_port = dns_->port();
  options.hosts_file = "";
  options.resolv_conf_recheck = milliseconds(0);  // check on every lookup
  resolver_ = std::make_unique<Resolver>(loop(), options);
  Resolver& r = *resolver_;
  EXPECT_EQ(Texts(ResolveNow(r, "both.test", IpProtocol::kIp4)),
            std::vector<std::string>{"10.0.0.1"});

  // A lookup in flight when the file changes finishes on the old server; the
  // next one asks the new one (127.0.0.2: nothing listens there, so it is
  // refused; loopback is the whole of 127/8).
  std::optional<ResolveResult> in_flight;
  auto req = r.Resolve("both.test", IpProtocol::kIp4, [&](ResolveResult res) { in_flight = res; });
  // (A different size too: mtime alone may not move within a clock tick.)
  std::ofstream(conf) << "nameserver 127.0.0.2\noptions timeout:1 attempts:1\n# moved\n";
  EXPECT_EQ(ResolveNow(r, "both.test", IpProtocol::kIp4).error,
            "DNS server refused the connection");
  ASSERT_TRUE(RunUntil([&] { return in_flight.has_value(); }, milliseconds(3000)));
  EXPECT_EQ(Texts(*in_flight), std::vector<std::string>{"10.0.0.1"});

  // Unchanged since: no new channel, same answer.
  EXPECT_EQ(ResolveNow(r, "both.test", IpProtocol::kIp4).error,
            "DNS server refused the connection");
  std::ofstream(conf) << "nameserver 127.0.0.1\n";
  EXPECT_EQ(Texts(ResolveNow(r, "both.test", IpProtocol::kIp4)),
            std::vector<std::string>{"10.0.0.1"});
  // Retired channels close once idle: only the current channel's socket stays.
  RunUntil([&] { return r.open_sockets() <= 1; }, milliseconds(1000));
  EXPECT_EQ(r.open_sockets(), 1u);
}

TEST(AddressTextTest, FormatsAndParses) {
  sockaddr_storage a{};
  ASSERT_TRUE(ParseIpLiteral("10.0.0.1", &a));
  EXPECT_EQ(AddressText(a), "10.0.0.1");
  ASSERT_TRUE(ParseIpLiteral("[::1]", &a));
  EXPECT_EQ(AddressText(a), "::1");
  EXPECT_FALSE(ParseIpLiteral("api.internal", &a));
  EXPECT_FALSE(ParseIpLiteral("10.0.0", &a));
  EXPECT_FALSE(ParseIpLiteral("", &a));
  EXPECT_FALSE(ParseIpLiteral("[::1", &a));
}

}  // namespace
}  // namespace hx
