// Fault injection, the `icmp` check type: beside ~50 healthy checks, icmp
// checks ping an address that never answers (a veth peer without an address
// behind a static neighbour entry: the frames go out and nothing comes back,
// not even an error), and loopback, which an nftables rule then silences for
// a while (dropped, then rejected as unreachable). The whole test runs in a network namespace
// of its own: the test thread enters it before it starts anything, so the
// fleet's servers, the daemon and every request the test sends are born in
// it, every packet stays in it, and net.ipv4.ping_group_range (a per-namespace
// sysctl) is set there only, never on the machine.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "support/daemon_process.h"
#include "support/fault_harness.h"

namespace hx {
namespace {

using namespace std::chrono_literals;

// A network namespace made with `ip netns add`, deleted by the destructor.
// The thread that calls Enter() stays in it (this test's thread, for the
// whole test). Not thread-safe: one test thread uses it.
class FaultNamespace {
 public:
  FaultNamespace() : name_("hx-icmp-faults-" + std::to_string(getpid())) {
    created_ = Run({"ip", "netns", "add", name_}) == 0;
  }
  ~FaultNamespace() {
    if (created_) RunCommand({"ip", "netns", "del", name_});
  }
  FaultNamespace(const FaultNamespace&) = delete;
  FaultNamespace& operator=(const FaultNamespace&) = delete;

  bool created() const { return created_; }
  const std::string& output() const { return output_; }

  /// Runs a shell command inside the namespace; its exit code.
  int Shell(const std::string& script) {
    return Run({"ip", "netns", "exec", name_, "sh", "-c", script});
  }

  /// Moves the calling thread into the namespace (threads and processes it
  /// starts afterwards are born there); false with errno on failure.
  bool Enter() {
    const int fd = open(("/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    const bool ok = setns(fd, CLONE_NEWNET) == 0;
    close(fd);
    return ok;
  }

 private:
  int Run(const std::vector<std::string>& argv) {
    CommandResult r = RunCommand(argv);
    output_ = r.output;
    return r.exit_code;
  }

  std::string name_;
  std::string output_;
  bool created_ = false;
};

TEST(IcmpFaultsTest, EachFaultReportsWithinItsTimeoutWhileFiftyHealthyChecksKeepTime) {
  const auto timeout = 1s;
  FaultNamespace ns;
  if (!ns.created()) GTEST_SKIP() << "cannot make a network namespace here: " << ns.output();
  ASSERT_EQ(ns.Shell("ip link set lo up && sysctl -qw net.ipv4.ping_group_range='0 0' && "
                     "ip link add hxv0 type veth peer name hxv1 && "
                     "ip addr add 10.99.0.1/24 dev hxv0 && ip link set hxv0 up && "
                     "ip link set hxv1 up && "
                     "ip neigh replace 10.99.0.7 lladdr 02:00:00:00:00:07 dev hxv0"),
            0)
      << ns.output();
  ASSERT_TRUE(ns.Enter()) << std::strerror(errno);

  HealthyFleet fleet;
  const std::string yaml = "checks:\n" + fleet.Yaml() +
                           "  - name: fault-icmp-silent\n"
                           "    interval: 1500ms\n"
                           "    timeout: 1s\n"
                           "    icmp: {host: 10.99.0.7, count: 3, packet_interval: 100ms}\n"
                           "  - name: fault-icmp-silent-one-packet\n"
                           "    interval: 1500ms\n"
                           "    timeout: 1s\n"
                           "    icmp: {host: 10.99.0.7, count: 1}\n"
                           "  - name: icmp-loopback\n"
                           "    interval: 1500ms\n"
                           "    timeout: 1s\n"
                           "    icmp: {host: 127.0.0.1, count: 3, packet_interval: 100ms}\n";
  DaemonProcess daemon(yaml);
  ASSERT_TRUE(daemon.started()) << daemon.Logs();
  ASSERT_TRUE(WaitForAllRuns(daemon, 2, 15s));
  const Usage baseline = SampleUsage(daemon);
  const HealthyFleet::Sample before = fleet.Take(daemon);

  // The attempt itself ends after the last request's reply wait (the
  // timeout less 100ms), all lost; the scheduler's hard timeout never cuts it.
  ExpectFault(daemon, {.check = "fault-icmp-silent",
                       .detail_regex = R"(3 of 3 lost \(100%\): no reply from 10\.99\.0\.7)",
                       .timeout = timeout,
                       .results = 3,
                       .reason = "packet_loss"});
  ExpectFault(daemon, {.check = "fault-icmp-silent-one-packet",
                       .detail_regex = R"(1 of 1 lost \(100%\): no reply from 10\.99\.0\.7)",
                       .timeout = timeout,
                       .results = 3,
                       .reason = "packet_loss"});
  ExpectFault(daemon, {.check = "icmp-loopback",
                       .health = "healthy",
                       .detail_regex = R"(3/3 replies, rtt avg \d+\.\d+ms)",
                       .timeout = timeout,
                       .results = 3,
                       .reason = ""});

  // Loopback goes silent under a check that was healthy: an nftables rule
  // drops every echo request on input, so nothing answers and nothing
  // reports an error. The attempt ends by itself, all lost; then the rule
  // rejects them instead, and at last goes and the check recovers.
  ASSERT_EQ(ns.Shell("nft 'add table inet hxf; add chain inet hxf in { type filter hook input "
                     "priority 0; }; add rule inet hxf in icmp type echo-request drop'"),
            0)
      << ns.output();
  ExpectFault(daemon, {.check = "icmp-loopback",
                       .detail_regex = R"(3 of 3 lost \(100%\): no reply from 127\.0\.0\.1)",
                       .timeout = timeout,
                       .reason = "packet_loss"});
  // Rejected instead of dropped: the kernel hears "host unreachable" for
  // every request (IP_RECVERR), and the reason says so.
  ASSERT_EQ(ns.Shell("nft 'flush chain inet hxf in; add rule inet hxf in icmp type echo-request "
                     "reject with icmp type host-unreachable'"),
            0)
      << ns.output();
  ExpectFault(
      daemon,
      {.check = "icmp-loopback",
       .detail_regex =
           R"(3 of 3 lost \(100%\): no reply from 127\.0\.0\.1; last error.*: host unreachable)",
       .timeout = timeout,
       .reason = "network_unreachable"});
  ASSERT_EQ(ns.Shell("nft delete table inet hxf"), 0) << ns.output();
  ExpectFault(daemon, {.check = "icmp-loopback",
                       .health = "healthy",
                       .detail_regex = R"(3/3 replies, rtt avg \d+\.\d+ms)",
                       .timeout = timeout,
                       .results = 1,
                       .reason = ""});
  fleet.ExpectKeptSchedule(before, fleet.Take(daemon));
  ExpectLatenessBounded(daemon, 1.0);
  // One socket per attempt, closed when it ends: nothing piles up.
  ExpectUsageBackToBaseline(daemon, baseline, /*fd_slack=*/2, /*rss_slack_bytes=*/8 << 20);
}

}  // namespace
}  // namespace hx
