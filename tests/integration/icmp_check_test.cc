// IcmpCheck for real, inside network namespaces of the test's own: the test
// thread enters the namespace (setns is per thread) and runs the check on a
// real libuv loop there, so every packet stays inside that namespace. Each
// namespace is set up with `ip netns` and (where a case needs it) sysctl and
// nftables, and removed when the test ends, however it ends.

#include "checks/icmp/icmp_check.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "io/io_context.h"
#include "io/resolver.h"
#include "support/daemon_process.h"
#include "support/loop_test.h"

namespace hx {
namespace {

using std::chrono::milliseconds;

std::optional<double> Find(const CheckResult& r, ObservationId id, const std::string& label = "") {
  for (const Observation& o : r.observations) {
    if (o.id == id && o.label_value == label) return o.value;
  }
  return std::nullopt;
}

std::shared_ptr<IcmpCheckSettings> Settings(const std::string& host, int count,
                                            milliseconds interval, milliseconds reply_wait) {
  auto s = std::make_shared<IcmpCheckSettings>();
  s->host = host;
  s->count = count;
  s->packet_interval = interval;
  s->reply_wait = reply_wait;
  return s;
}

// A network namespace of this test, entered by the calling thread while the
// object lives. Only loopback is up in it.
class NetNamespace {
 public:
  NetNamespace() {
    static int serial = 0;
    name_ = "hx-icmp-" + std::to_string(getpid()) + "-" + std::to_string(serial++);
    if (Run({"ip", "netns", "add", name_}) != 0) {
      error_ = "ip netns add failed: " + last_output_;
      return;
    }
    created_ = true;
    if (Exec({"ip", "link", "set", "lo", "up"}) != 0) error_ = "lo up failed: " + last_output_;
  }
  ~NetNamespace() {
    Leave();
    if (created_) Run({"ip", "netns", "del", name_});
  }
  NetNamespace(const NetNamespace&) = delete;
  NetNamespace& operator=(const NetNamespace&) = delete;

  /// Empty when the namespace exists (and loopback is up).
  const std::string& error() const { return error_; }
  const std::string& name() const { return name_; }

  /// Runs a command inside the namespace; its exit code.
  int Exec(std::vector<std::string> argv) {
    argv.insert(argv.begin(), {"ip", "netns", "exec", name_});
    return Run(argv);
  }
  const std::string& last_output() const { return last_output_; }

  /// Lets every group open ICMP datagram sockets in this namespace.
  void AllowPingSockets() {
    ASSERT_EQ(Exec({"sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647"}), 0) << last_output_;
  }

  /// Moves the calling thread into the namespace.
  void Enter() {
    own_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    const int target = open(("/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(own_, 0);
    ASSERT_GE(target, 0);
    ASSERT_EQ(setns(target, CLONE_NEWNET), 0) << std::strerror(errno);
    close(target);
  }
  void Leave() {
    if (own_ < 0) return;
    setns(own_, CLONE_NEWNET);
    close(own_);
    own_ = -1;
  }

 private:
  int Run(const std::vector<std::string>& argv) {
    CommandResult r = RunCommand(argv);
    last_output_ = r.output;
    return r.exit_code;
  }

  std::string name_;
  std::string error_;
  std::string last_output_;
  bool created_ = false;
  int own_ = -1;
};

// Drops CAP_NET_RAW from this thread's effective set while alive (as an
// unprivileged daemon has it), keeping it permitted so it can come back.
class WithoutNetRaw {
 public:
  WithoutNetRaw() {
    header_.version = _LINUX_CAPABILITY_VERSION_3;
    syscall(SYS_capget, &header_, saved_);
    __user_cap_data_struct dropped[2] = {saved_[0], saved_[1]};
    dropped[CAP_NET_RAW / 32].effective &= ~(1U << (CAP_NET_RAW % 32));
    ok_ = syscall(SYS_capset, &header_, dropped) == 0;
  }
  ~WithoutNetRaw() { syscall(SYS_capset, &header_, saved_); }
  bool ok() const { return ok_; }

 private:
  __user_cap_header_struct header_{};
  __user_cap_data_struct saved_[2]{};
  bool ok_ = false;
};

class IcmpCheckTest : public LoopTest {
 protected:
  IcmpCheckTest() : LoopTest(milliseconds(10000)) {}

  void SetUp() override {
    ns_ = std::make_unique<NetNamespace>();
    if (!ns_->error().empty()) {
      // Only a machine where namespaces cannot be made (no CAP_SYS_ADMIN, no
      // iproute2) skips; everything else runs for real.
      GTEST_SKIP() << "cannot make a network namespace here: " << ns_->error();
    }
    LoopTest::SetUp();
    // Names come from a hosts file of the test's own; anything else goes to
    // a DNS "server" on the namespace's loopback that is not there.
    hosts_file_ = hosts_dir_.Write("hosts", "127.0.0.1 gw.test\n::1 gw.test\n");
    Resolver::Options options;
    options.servers = {"127.0.0.1:9"};
    options.hosts_file = hosts_file_;
    options.timeout = milliseconds(200);
    options.tries = 1;
    io().set_resolver_options(options);
  }
  void TearDown() override {
    if (!ns_->error().empty()) return;
    check_.reset();
    LoopTest::TearDown();
    ns_.reset();  // leaves and deletes the namespace
  }

  CheckResult RunOnce(std::shared_ptr<IcmpCheckSettings> settings) {
    check_ = std::make_unique<IcmpCheck>(io(), std::move(settings));
    // The attempt times itself from the loop's clock, as the scheduler's
    // timers do; the scheduler starts it from a timer callback, when that
    // clock is fresh. Here the loop sat still while ip/nft/ping ran.
    uv_update_time(loop());
    return RunAttempt(*check_).value_or(CheckResult{});
  }

  std::unique_ptr<NetNamespace> ns_;
  std::unique_ptr<Check> check_;
  TempDir hosts_dir_;
  std::string hosts_file_;
};

TEST_F(IcmpCheckTest, DatagramSocketsPingIpv4AndIpv6Loopback) {
  ns_->AllowPingSockets();
  ns_->Enter();
  for (const char* family : {"4", "6"}) {
    IcmpSocket socket = OpenIcmpSocket(family[0] == '4' ? AF_INET : AF_INET6);
    ASSERT_GE(socket.fd, 0) << socket.reason;
    EXPECT_FALSE(socket.raw) << "IPv" << family << ": a datagram socket was allowed";
    close(socket.fd);
  }
  for (const char* host : {"127.0.0.1", "::1"}) {
    CheckResult r = RunOnce(Settings(host, 5, milliseconds(20), milliseconds(500)));
    EXPECT_EQ(r.health, Health::kHealthy) << host << ": " << r.detail;
    EXPECT_TRUE(std::regex_match(r.detail, std::regex(R"(5/5 replies, rtt avg \d+\.\d+ms)")))
        << r.detail;
    EXPECT_EQ(r.reason, FailureReason::kNone);
    EXPECT_EQ(r.address, host);
    EXPECT_EQ(Find(r, ObservationId::kIcmpLossRatio), 0.0);
    const auto min = Find(r, ObservationId::kIcmpRttSeconds, "min");
    const auto avg = Find(r, ObservationId::kIcmpRttSeconds, "avg");
    const auto max = Find(r, ObservationId::kIcmpRttSeconds, "max");
    const auto stddev = Find(r, ObservationId::kIcmpRttSeconds, "stddev");
    ASSERT_TRUE(min && avg && max && stddev) << host;
    EXPECT_GT(*min, 0.0);
    EXPECT_LE(*min, *avg);
    EXPECT_LE(*avg, *max);
    EXPECT_LT(*max, 0.5);  // loopback, however loaded the machine
    EXPECT_GE(*stddev, 0.0);
    EXPECT_LE(*stddev, *max - *min);
  }
}

TEST_F(IcmpCheckTest, EverySizeFromHeaderOnlyToJumboIsAnswered) {
  ns_->AllowPingSockets();
  ns_->Enter();
  for (int size : {0, 1, 1472, 9000, 65507}) {
    for (const char* host : {"127.0.0.1", "::1"}) {
      auto settings = Settings(host, 2, milliseconds(10), milliseconds(500));
      settings->size = size;
      CheckResult r = RunOnce(settings);
      EXPECT_EQ(r.health, Health::kHealthy) << host << " size " << size << ": " << r.detail;
    }
  }
}

TEST_F(IcmpCheckTest, ANameIsPingedAtTheAddressOfItsIpProtocol) {
  ns_->AllowPingSockets();
  ns_->Enter();
  const std::pair<IpProtocol, std::string> cases[] = {
      {IpProtocol::kIp4, "127.0.0.1"}, {IpProtocol::kIp6, "::1"}, {IpProtocol::kAuto, "::1"}};
  for (const auto& [protocol, address] : cases) {
    auto settings = Settings("gw.test", 2, milliseconds(10), milliseconds(300));
    settings->ip_protocol = protocol;
    CheckResult r = RunOnce(settings);
    EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
    EXPECT_TRUE(r.detail.starts_with("2/2 replies from " + address + ", rtt avg ")) << r.detail;
    EXPECT_EQ(r.address, address) << "the address pinged, not the name";
  }
  CheckResult r = RunOnce(Settings("nx.test", 2, milliseconds(10), milliseconds(300)));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  // The name is not in the hosts file and the DNS server is not there: the
  // resolver's own text is the detail, as for every type.
  EXPECT_TRUE(r.detail.starts_with("DNS ")) << r.detail;
  EXPECT_TRUE(r.reason == FailureReason::kDnsTimeout || r.reason == FailureReason::kDnsError)
      << FailureReasonName(r.reason) << ": " << r.detail;
  EXPECT_EQ(r.address, "");
  EXPECT_TRUE(r.observations.empty());
}

// ip_policy: a name with two addresses, both on the namespace's loopback,
// then echo requests to the second dropped by nftables. all pings both side
// by side (one reply wait, not two), names the silent one and reports each
// address's loss; the loss and RTT observations are the worst address's.
TEST_F(IcmpCheckTest, IpPolicyAllPingsEveryAddressAndNamesTheLossyOnes) {
  ns_->AllowPingSockets();
  ns_->Enter();
  Resolver::Options options;
  options.servers = {"127.0.0.1:9"};
  options.hosts_file = hosts_dir_.Write("two-hosts", "127.0.0.1 two.test\n127.0.0.2 two.test\n");
  options.timeout = milliseconds(200);
  options.tries = 1;
  io().set_resolver_options(options);
  auto settings = Settings("two.test", 3, milliseconds(20), milliseconds(300));
  settings->ip_protocol = IpProtocol::kIp4;
  settings->ip_policy = IpPolicy::kAll;

  CheckResult r = RunOnce(settings);
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_TRUE(std::regex_match(r.detail,
                               std::regex(R"(3/3 replies, rtt avg \d+\.\d+ms \(all 2 addresses\); )"
                                          R"(loss 127\.0\.0\.1 0%, 127\.0\.0\.2 0%)")))
      << r.detail;
  EXPECT_EQ(Find(r, ObservationId::kIcmpLossRatio), 0.0);
  EXPECT_TRUE(Find(r, ObservationId::kIcmpRttSeconds, "avg").has_value());

  ASSERT_EQ(ns_->Exec({"nft",
                       "add table inet t; add chain inet t in { type filter hook input "
                       "priority 0; }; add rule inet t in ip daddr 127.0.0.2 icmp type "
                       "echo-request drop"}),
            0)
      << ns_->last_output();
  // first: 127.0.0.1 answers, the silent 127.0.0.2 goes unseen.
  settings->ip_policy = IpPolicy::kFirst;
  r = RunOnce(settings);
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_TRUE(r.detail.starts_with("3/3 replies from 127.0.0.1, rtt avg ")) << r.detail;

  settings->ip_policy = IpPolicy::kAll;
  const uint64_t start = uv_hrtime();
  r = RunOnce(settings);
  const double elapsed_ms = static_cast<double>(uv_hrtime() - start) / 1e6;
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail,
            "1 of 2 addresses failed: 127.0.0.2: 3 of 3 lost (100%): no reply from 127.0.0.2; "
            "loss 127.0.0.1 0%, 127.0.0.2 100%");
  EXPECT_EQ(r.reason, FailureReason::kPacketLoss) << "the failing address's reason";
  EXPECT_EQ(r.address, "127.0.0.2") << "the failing address";
  EXPECT_EQ(Find(r, ObservationId::kIcmpLossRatio), 1.0);  // the worst address's
  EXPECT_FALSE(Find(r, ObservationId::kIcmpRttSeconds, "avg").has_value());
  // Side by side: two intervals and one reply wait (in turn it would be two).
  EXPECT_GE(elapsed_ms, 2 * 20 + 300 - 2);
  EXPECT_LT(elapsed_ms, 2 * (2 * 20 + 300)) << "the addresses were pinged in turn?";
}

TEST_F(IcmpCheckTest, RawSocketIsTheFallbackWithCapNetRaw) {
  // A new namespace starts with ping_group_range "1 0": no datagram sockets.
  ns_->Enter();
  for (const char* host : {"127.0.0.1", "::1"}) {
    IcmpSocket socket = OpenIcmpSocket(host[0] == ':' ? AF_INET6 : AF_INET);
    ASSERT_GE(socket.fd, 0) << socket.reason;
    EXPECT_TRUE(socket.raw);
    close(socket.fd);
    CheckResult r = RunOnce(Settings(host, 3, milliseconds(20), milliseconds(500)));
    EXPECT_EQ(r.health, Health::kHealthy) << host << ": " << r.detail;
    EXPECT_TRUE(r.detail.starts_with("3/3 replies, rtt avg ")) << r.detail;
  }
}

TEST_F(IcmpCheckTest, NeitherSocketAllowedNamesTheSysctl) {
  ns_->Enter();
  WithoutNetRaw unprivileged;
  ASSERT_TRUE(unprivileged.ok());
  CheckResult r = RunOnce(Settings("127.0.0.1", 3, milliseconds(20), milliseconds(500)));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail,
            "ICMP sockets not permitted: net.ipv4.ping_group_range is \"1 0\"; see "
            "docs/checks/icmp.md");
  EXPECT_EQ(r.reason, FailureReason::kInternal);
  EXPECT_TRUE(r.observations.empty());
}

TEST_F(IcmpCheckTest, LossFromAnNftablesRuleIsMeasured) {
  ns_->AllowPingSockets();
  ASSERT_EQ(ns_->Exec({"nft",
                       "add table inet t; add chain inet t in { type filter hook input "
                       "priority 0; }; add rule inet t in icmp type echo-request numgen "
                       "random mod 10 < 3 drop"}),
            0)
      << ns_->last_output();
  ns_->Enter();
  auto settings = Settings("127.0.0.1", 20, milliseconds(10), milliseconds(300));
  settings->loss_degraded_above = 0.0;
  settings->loss_unhealthy_above = 0.95;
  CheckResult r = RunOnce(settings);
  const auto loss = Find(r, ObservationId::kIcmpLossRatio);
  ASSERT_TRUE(loss.has_value()) << r.detail;
  // 30% of 20 dropped at random: 1..15 lost is all but certain (P(0) = 8e-4).
  EXPECT_GE(*loss, 1.0 / 20) << r.detail;
  EXPECT_LE(*loss, 15.0 / 20) << r.detail;
  EXPECT_EQ(r.health, Health::kDegraded) << r.detail;
  EXPECT_EQ(r.reason, FailureReason::kPacketLoss);
  const int lost = static_cast<int>(*loss * 20 + 0.5);
  EXPECT_TRUE(r.detail.starts_with(std::to_string(lost) + " of 20 lost (")) << r.detail;
  EXPECT_NE(r.detail.find(") > 0%, rtt avg "), std::string::npos) << r.detail;
  std::printf("nftables 30%% drop: %d of 20 lost; %s\n", lost, r.detail.c_str());

  // The same share above loss_unhealthy_above 0% -> unhealthy, with the limit named.
  settings->loss_degraded_above = std::nullopt;
  settings->loss_unhealthy_above = 0.0;
  r = RunOnce(settings);
  ASSERT_TRUE(Find(r, ObservationId::kIcmpLossRatio).has_value());
  if (*Find(r, ObservationId::kIcmpLossRatio) > 0) {
    EXPECT_EQ(r.health, Health::kUnhealthy) << r.detail;
    EXPECT_EQ(r.reason, FailureReason::kPacketLoss);
    EXPECT_NE(r.detail.find(") > 0%"), std::string::npos) << r.detail;
  }
}

// ICMP errors about the target, here every second request rejected by
// nftables: "host unreachable" is a soft error, which a connected socket
// hears of only through the error queue (IP_RECVERR); "administratively
// prohibited" a hard one, a socket error for which libuv stops the poll. Either
// way the detail names it and who sent it, and the other replies still count.
TEST_F(IcmpCheckTest, IcmpErrorsAreNamedAndTheOtherRepliesStillCount) {
  ns_->AllowPingSockets();
  ns_->Enter();
  struct Case {
    const char* host;
    const char* rule;  // nftables: which requests, rejected how
    const char* text;
  };
  const Case cases[] = {
      {"127.0.0.1",
       "icmp type echo-request numgen inc mod 2 == 1 reject with icmp type "
       "host-unreachable",
       "host unreachable"},
      {"127.0.0.1",
       "icmp type echo-request numgen inc mod 2 == 1 reject with icmp type "
       "admin-prohibited",
       "administratively prohibited"},
      {"::1",
       "icmpv6 type echo-request numgen inc mod 2 == 1 reject with icmpv6 type "
       "admin-prohibited",
       "administratively prohibited"},
  };
  for (const Case& c : cases) {
    ns_->Leave();
    ASSERT_EQ(ns_->Exec({"nft", std::string("flush ruleset; add table inet t; add chain inet t in "
                                            "{ type filter hook input priority 0; }; add rule "
                                            "inet t in ") +
                                    c.rule}),
              0)
        << ns_->last_output();
    ns_->Enter();
    auto settings = Settings(c.host, 6, milliseconds(20), milliseconds(300));
    settings->loss_unhealthy_above = 0.9;
    CheckResult r = RunOnce(settings);
    EXPECT_EQ(Find(r, ObservationId::kIcmpLossRatio), 0.5) << r.detail;
    EXPECT_EQ(r.health, Health::kDegraded) << r.detail;
    EXPECT_TRUE(std::regex_match(
        r.detail, std::regex(std::string(R"(3 of 6 lost \(50%\) > 0%, rtt avg \d+\.\d+ms; )") +
                             "last error from " + c.host + ": " + c.text)))
        << r.detail;
    // Some replies came: the loss is the finding, whatever said why.
    EXPECT_EQ(r.reason, FailureReason::kPacketLoss);
  }
}

// Every request rejected with an ICMP error: the kernel says the target
// cannot be reached (IP_RECVERR), which is not the same as silence.
TEST_F(IcmpCheckTest, AllRejectedAsUnreachableIsNetworkUnreachable) {
  ns_->AllowPingSockets();
  for (const auto& [host, rule] :
       {std::pair{"127.0.0.1", "icmp type echo-request reject with icmp type host-unreachable"},
        std::pair{"::1", "icmpv6 type echo-request reject with icmpv6 type admin-prohibited"}}) {
    ns_->Leave();
    ASSERT_EQ(ns_->Exec({"nft", std::string("flush ruleset; add table inet t; add chain inet t in "
                                            "{ type filter hook input priority 0; }; add rule "
                                            "inet t in ") +
                                    rule}),
              0)
        << ns_->last_output();
    ns_->Enter();
    CheckResult r = RunOnce(Settings(host, 3, milliseconds(20), milliseconds(300)));
    EXPECT_EQ(r.health, Health::kUnhealthy) << r.detail;
    EXPECT_TRUE(r.detail.starts_with(std::string("3 of 3 lost (100%): no reply from ") + host))
        << r.detail;
    EXPECT_EQ(r.reason, FailureReason::kNetworkUnreachable) << r.detail;
    EXPECT_EQ(r.address, host);
  }
}

// No route at all: the kernel refuses before anything is sent.
TEST_F(IcmpCheckTest, NoRouteIsNetworkUnreachable) {
  ns_->AllowPingSockets();
  ns_->Enter();
  CheckResult r = RunOnce(Settings("10.98.0.7", 2, milliseconds(20), milliseconds(300)));
  EXPECT_EQ(r.health, Health::kUnhealthy) << r.detail;
  EXPECT_EQ(r.detail, "cannot send to 10.98.0.7: Network is unreachable");
  EXPECT_EQ(r.reason, FailureReason::kNetworkUnreachable);
  EXPECT_EQ(r.address, "10.98.0.7");
}

TEST_F(IcmpCheckTest, AnAddressThatNeverAnswersIsAllLostAfterTheReplyWait) {
  ns_->AllowPingSockets();
  // 10.99.0.7 is on a veth link whose other end has no address (the
  // "dummy" link type is not available on every kernel, e.g. gVisor's): a
  // static neighbour entry makes the kernel send the frames without asking
  // ARP, and nothing at the other end ever answers, or reports an error.
  ASSERT_EQ(ns_->Exec({"ip", "link", "add", "hxv0", "type", "veth", "peer", "name", "hxv1"}), 0)
      << ns_->last_output();
  ASSERT_EQ(ns_->Exec({"ip", "addr", "add", "10.99.0.1/24", "dev", "hxv0"}), 0)
      << ns_->last_output();
  ASSERT_EQ(ns_->Exec({"ip", "link", "set", "hxv0", "up"}), 0) << ns_->last_output();
  ASSERT_EQ(ns_->Exec({"ip", "link", "set", "hxv1", "up"}), 0) << ns_->last_output();
  ASSERT_EQ(ns_->Exec({"ip", "neigh", "replace", "10.99.0.7", "lladdr", "02:00:00:00:00:07", "dev",
                       "hxv0"}),
            0)
      << ns_->last_output();
  ns_->Enter();
  const uint64_t start = uv_hrtime();
  CheckResult r = RunOnce(Settings("10.99.0.7", 3, milliseconds(50), milliseconds(300)));
  const double elapsed_ms = static_cast<double>(uv_hrtime() - start) / 1e6;
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "3 of 3 lost (100%): no reply from 10.99.0.7");
  EXPECT_EQ(r.reason, FailureReason::kPacketLoss) << "silence, not an unreachable network";
  EXPECT_EQ(r.address, "10.99.0.7");
  EXPECT_EQ(Find(r, ObservationId::kIcmpLossRatio), 1.0);
  EXPECT_FALSE(Find(r, ObservationId::kIcmpRttSeconds, "avg").has_value());
  // Two intervals, then the last packet's reply wait.
  EXPECT_GE(elapsed_ms, 2 * 50 + 300 - 2);
  EXPECT_LT(elapsed_ms, 2 * 50 + 300 + 2000);
}

TEST_F(IcmpCheckTest, RttAgreesWithPingInTheSameRun) {
  ns_->AllowPingSockets();
  // ping first, in the same namespace, 20 packets 10ms apart (root may go below 200ms).
  ASSERT_EQ(ns_->Exec({"ping", "-n", "-q", "-c", "20", "-i", "0.01", "127.0.0.1"}), 0)
      << ns_->last_output();
  std::smatch m;
  const std::string ping_output = ns_->last_output();
  ASSERT_TRUE(
      std::regex_search(ping_output, m, std::regex(R"(= ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms)")))
      << ping_output;
  const double ping_avg_ms = std::stod(m[2]);
  ns_->Enter();
  CheckResult r = RunOnce(Settings("127.0.0.1", 20, milliseconds(10), milliseconds(300)));
  ASSERT_EQ(r.health, Health::kHealthy) << r.detail;
  const double avg_ms = *Find(r, ObservationId::kIcmpRttSeconds, "avg") * 1e3;
  std::printf("loopback rtt avg: ping %.3f ms, icmp check %.3f ms (%s)\n", ping_avg_ms, avg_ms,
              r.detail.c_str());
  // Loose: both measure the kernel's receive time against the send; a busy
  // shared machine moves each by tens of microseconds, not by 10x + 1ms.
  EXPECT_LT(avg_ms, ping_avg_ms * 10 + 1.0);
  EXPECT_LT(ping_avg_ms, avg_ms * 10 + 1.0);
}

TEST_F(IcmpCheckTest, RttThresholdsDegradeAndFail) {
  ns_->AllowPingSockets();
  ns_->Enter();
  // Loopback RTT is far above 1ns: the thresholds are crossed for sure.
  auto settings = Settings("127.0.0.1", 2, milliseconds(10), milliseconds(300));
  settings->rtt_degraded_above = std::chrono::nanoseconds(1);
  CheckResult r = RunOnce(settings);
  EXPECT_EQ(r.health, Health::kDegraded) << r.detail;
  EXPECT_TRUE(std::regex_match(r.detail, std::regex(R"(rtt avg \d+\.\d+ms > 1ns, 2/2 replies)")))
      << r.detail;
  EXPECT_EQ(r.reason, FailureReason::kThreshold);
  settings->rtt_unhealthy_above = std::chrono::nanoseconds(1);
  r = RunOnce(settings);
  EXPECT_EQ(r.health, Health::kUnhealthy) << r.detail;
  EXPECT_EQ(r.reason, FailureReason::kThreshold);
}

TEST_F(IcmpCheckTest, CancelAndDestroyMidAttemptReleaseEverything) {
  ns_->AllowPingSockets();
  ns_->Enter();
  auto settings = Settings("127.0.0.1", 10, milliseconds(50), milliseconds(300));
  // Cancel after the first packets: no report, and the loop drains (TearDown
  // fails if a handle were left open).
  Outcome outcome;
  check_ = std::make_unique<IcmpCheck>(io(), settings);
  check_->Start(outcome.Callback());
  RunUntil([] { return false; }, milliseconds(120));
  check_->Cancel();
  EXPECT_TRUE(RunUntilIdle());
  EXPECT_EQ(outcome.calls, 0);
  // Destroyed while waiting: the same.
  check_->Start(outcome.Callback());
  RunUntil([] { return false; }, milliseconds(70));
  check_.reset();
  EXPECT_TRUE(RunUntilIdle());
  EXPECT_EQ(outcome.calls, 0);
}

// The daemon as it is deployed: an unprivileged user without any capability
// (as the systemd unit runs it), in the test's namespace with datagram
// sockets allowed by the sysctl. /metrics has both new families, with their
// labels, for IPv4 and IPv6.
TEST_F(IcmpCheckTest, UnprivilegedDaemonExportsLossAndRttSeries) {
  ns_->AllowPingSockets();
  // A silent peer, as in AnAddressThatNeverAnswers...: the attempt of
  // ping-silent must end by itself (all lost) before the hard timeout.
  ASSERT_EQ(ns_->Exec({"sh", "-c",
                       "ip link add hxv0 type veth peer name hxv1 && ip addr add 10.99.0.1/24 "
                       "dev hxv0 && ip link set hxv0 up && ip link set hxv1 up && ip neigh "
                       "replace 10.99.0.7 lladdr 02:00:00:00:00:07 dev hxv0"}),
            0)
      << ns_->last_output();
  TempDir dir;
  chmod(dir.path().c_str(), 0777);  // nobody's storage path
  const std::string config = dir.Write("c.yml", R"(
checks:
  - name: ping-v4
    interval: 1s
    icmp: {host: 127.0.0.1, count: 3, packet_interval: 20ms}
  - name: ping-v6
    interval: 1s
    icmp: {host: "::1", count: 3, packet_interval: 20ms}
  - name: ping-silent
    interval: 2s
    timeout: 1s
    icmp: {host: 10.99.0.7, count: 3, packet_interval: 100ms}
)");
  chmod(config.c_str(), 0644);
  // The daemon listens on the namespace's own loopback; curl, also inside,
  // reads /metrics once both checks reported.
  const std::string script =
      "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all " +
      std::string(HX_BINARY) + " --config.file=" + config +
      " --web.listen-address=127.0.0.1:19841 --storage.path=" + dir.path() + "/state >" +
      dir.path() +
      "/log 2>&1 & pid=$!; "
      "for i in $(seq 100); do sleep 0.1; "
      "out=$(curl -s http://127.0.0.1:19841/metrics); "
      "case \"$out\" in *'icmp_rtt_seconds{check=\"ping-v4\"'*) "
      "case \"$out\" in *'icmp_rtt_seconds{check=\"ping-v6\"'*) "
      "case \"$out\" in *'icmp_loss_ratio{check=\"ping-silent\"'*) break;; esac;; esac;; esac; "
      "done; kill $pid; wait $pid; printf '%s\\n' \"$out\"; cat " +
      dir.path() + "/log";
  ASSERT_EQ(ns_->Exec({"sh", "-c", script}), 0) << ns_->last_output();
  const std::string metrics = ns_->last_output();
  for (const char* check : {"ping-v4", "ping-v6"}) {
    const std::string c = check;
    EXPECT_NE(metrics.find("health_check_icmp_loss_ratio{check=\"" + c + "\"} 0\n"),
              std::string::npos)
        << metrics;
    for (const char* stat : {"min", "avg", "max", "stddev"}) {
      EXPECT_TRUE(
          std::regex_search(metrics, std::regex("health_check_icmp_rtt_seconds\\{check=\"" + c +
                                                "\",stat=\"" + stat + "\"\\} [0-9.e-]+\n")))
          << c << " " << stat << "\n"
          << metrics;
    }
    EXPECT_TRUE(std::regex_search(
        metrics, std::regex("health_check_status\\{check=\"" + c + "\",[^}]*type=\"icmp\"\\} 1\n")))
        << metrics;
  }
  EXPECT_NE(metrics.find("# TYPE health_check_icmp_rtt_seconds gauge"), std::string::npos);
  // The silent one: all lost, reported by the attempt itself, not a timeout.
  EXPECT_NE(metrics.find("health_check_icmp_loss_ratio{check=\"ping-silent\"} 1\n"),
            std::string::npos)
      << metrics;
  EXPECT_EQ(metrics.find("health_check_icmp_rtt_seconds{check=\"ping-silent\""), std::string::npos);
  EXPECT_FALSE(std::regex_search(
      metrics, std::regex("health_check_timeouts_total\\{check=\"ping-silent\"[^}]*\\} [1-9]")))
      << metrics;
  EXPECT_NE(metrics.find("3 of 3 lost (100%): no reply from 10.99.0.7"), std::string::npos)
      << metrics;  // the daemon's log of the state change
}

}  // namespace
}  // namespace hx
