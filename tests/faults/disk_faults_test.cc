// Fault injection, disk: a disk check on a FUSE mount whose statfs hangs (the
// test is the filesystem, over /dev/fuse, and simply does not answer), beside
// ~50 healthy checks of which five are disk checks sharing libuv's thread
// pool with the blocked call. The check must report the timeout, then report
// "still blocked" at once instead of queueing a second statfs, recover when
// the filesystem answers, and the healthy checks must keep time throughout.

#include <gtest/gtest.h>

#include <iostream>
#include <string>

#include "support/daemon_process.h"
#include "support/fault_harness.h"
#include "support/fault_servers.h"

namespace hx {
namespace {

using namespace std::chrono_literals;

TEST(DiskFaultsTest, HungStatfsWhileFiftyHealthyChecksKeepTime) {
  // First, while this process has one thread: keep the mount out of sight of
  // everything else on the machine (a `df` elsewhere would hang on it).
  const std::string no_namespace = UsePrivateMountNamespace();
  if (!no_namespace.empty()) GTEST_SKIP() << "no private mount namespace: " << no_namespace;
  const std::string no_fuse = HangingFuseMount::Unsupported();
  if (!no_fuse.empty()) GTEST_SKIP() << "FUSE is not available here: " << no_fuse;

  HangingFuseMount fuse;
  fuse.Release();  // answers normally until the fault starts
  HealthyFleet fleet({.http = 28, .tcp = 17, .disk = 5});
  const std::string yaml = "checks:\n" + fleet.Yaml() +
                           "  - name: fault-disk-hung\n    interval: 1500ms\n    timeout: 1s\n"
                           "    disk: {path: '" +
                           fuse.path() + "'}\n";
  DaemonProcess daemon(yaml);
  ASSERT_TRUE(daemon.started()) << daemon.Logs();
  ASSERT_TRUE(WaitForAllRuns(daemon, 2, 15s));
  ExpectFault(daemon, {.check = "fault-disk-hung",
                       .health = "healthy",
                       .detail_regex = fuse.path() + R"( 10\.0% used \(3\.5 MiB free\).*)",
                       .timeout = 1s,
                       .results = 1,
                       .reason = ""});
  const Usage baseline = SampleUsage(daemon);
  const HealthyFleet::Sample before = fleet.Take(daemon);

  fuse.Hang();
  ASSERT_TRUE(fuse.WaitForHeld(1, 5s));
  // The first attempt times out; later ones see the blocked call and say so
  // at once.
  ExpectFault(daemon, {.check = "fault-disk-hung",
                       .detail_regex =
                           fuse.path() +
                           R"(: an earlier attempt is still blocked \(filesystem not responding\))",
                       .timeout = 1s,
                       .results = 3,
                       .reason = "timeout"});
  bool saw_timeout = false;
  const auto history = CheckJson(daemon, "fault-disk-hung")["history"];
  for (const auto& h : history) {
    if (h["detail"] != "timeout after 1s") continue;
    saw_timeout = true;
    EXPECT_EQ(h["reason"], "timeout") << "the scheduler's hard timeout";
    std::cout << "FAULT| fault-disk-hung (blocked attempt) | timeout after 1s | "
              << h["duration_ms"].get<double>() << " ms\n";
    EXPECT_LE(h["duration_ms"].get<double>(), 1200) << "timeout + 200 ms";
  }
  EXPECT_TRUE(saw_timeout) << "the blocked attempt was not cut off by the timeout: "
                           << history.dump();
  EXPECT_EQ(fuse.held_requests(), 1) << "a second statfs was queued behind the blocked one";

  fleet.ExpectKeptSchedule(before, fleet.Take(daemon));
  ExpectLatenessBounded(daemon, 1.0);

  fuse.Release();
  ExpectFault(daemon, {.check = "fault-disk-hung",
                       .health = "healthy",
                       .detail_regex = fuse.path() + R"( 10\.0% used.*)",
                       .timeout = 1s,
                       .results = 1,
                       .reason = ""});
  ExpectUsageBackToBaseline(daemon, baseline, /*fd_slack=*/2, /*rss_slack_bytes=*/8 << 20);
}

}  // namespace
}  // namespace hx
