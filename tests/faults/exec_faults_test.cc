// Fault injection, plugins: beside ~50 healthy checks, exec checks run a
// plugin that sleeps past its timeout, one that leaves a grandchild holding
// its stdout open, and one that prints 100 MB. Each must finish in bounded
// time with the right result, leave no process behind, and the daemon's fds
// and memory must come back (the output is capped, not buffered).

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include "support/daemon_process.h"
#include "support/fault_harness.h"

namespace hx {
namespace {

using namespace std::chrono_literals;

// Replaces the plugin atomically (write + rename), so a run that starts
// meanwhile sees either the old or the new script, never half of one.
void WritePlugin(const TempDir& dir, const std::string& name, const std::string& body) {
  const std::string path = dir.path() + "/" + name;
  const std::string tmp = dir.Write(name + ".new", "#!/bin/sh\n" + body);
  ASSERT_EQ(chmod(tmp.c_str(), 0755), 0);
  ASSERT_EQ(std::rename(tmp.c_str(), path.c_str()), 0);
}

pid_t ReadPid(const std::string& path) {
  std::ifstream in(path);
  pid_t pid = 0;
  in >> pid;
  return pid;
}

// True once `pid` no longer exists (killed and reaped by whoever owned it).
bool WaitGone(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  do {
    if (kill(pid, 0) != 0) return true;
    std::this_thread::sleep_for(20ms);
  } while (std::chrono::steady_clock::now() < deadline);
  return false;
}

TEST(ExecFaultsTest, MisbehavingPluginsWhileFiftyHealthyChecksKeepTime) {
  TempDir dir;
  const std::string healthy = "echo 'OK - fine'\n";
  for (const char* name : {"sleeper", "forker", "flood"}) WritePlugin(dir, name, healthy);

  HealthyFleet fleet;
  const std::string yaml =
      "checks:\n" + fleet.Yaml() +
      "  - name: fault-plugin-sleeps\n    interval: 1500ms\n    timeout: 1s\n"
      "    exec: {command: ['" +
      dir.path() +
      "/sleeper']}\n"
      "  - name: fault-plugin-grandchild\n    interval: 1500ms\n    timeout: 1s\n"
      "    exec: {command: ['" +
      dir.path() +
      "/forker']}\n"
      "  - name: fault-plugin-100mb\n    interval: 4s\n    timeout: 3s\n"
      "    exec: {command: ['" +
      dir.path() + "/flood']}\n";
  DaemonProcess daemon(yaml);
  ASSERT_TRUE(daemon.started()) << daemon.Logs();
  ASSERT_TRUE(WaitForAllRuns(daemon, 2, 20s));
  const Usage baseline = SampleUsage(daemon);
  const HealthyFleet::Sample before = fleet.Take(daemon);

  const std::string sleeper_pid = dir.path() + "/sleeper.pid";
  const std::string grandchild_pid = dir.path() + "/grandchild.pid";
  // exec keeps the pid, so the file names the process the timeout must kill.
  WritePlugin(dir, "sleeper", "echo $$ > " + sleeper_pid + "\nexec sleep 60\n");
  WritePlugin(dir, "forker",
              "sleep 60 &\necho $! > " + grandchild_pid + "\necho 'OK - left a child behind'\n");
  WritePlugin(dir, "flood", "echo 'OK - about to print 100 MB'\nhead -c 104857600 /dev/zero\n");

  ExpectFault(daemon, {.check = "fault-plugin-sleeps",
                       .detail_regex = "timeout after 1s",
                       .timeout = 1s,
                       .reason = "timeout"});
  const pid_t sleeper = ReadPid(sleeper_pid);
  ASSERT_GT(sleeper, 0);
  EXPECT_TRUE(WaitGone(sleeper, 2s)) << "the timed-out plugin " << sleeper << " still runs";

  // Healthy, and not held up by the grandchild's open stdout: the run ends
  // 100 ms after the plugin exits (docs/checks/exec.md), far below the timeout.
  FaultMeasurement grandchild = ExpectFault(daemon, {.check = "fault-plugin-grandchild",
                                                     .health = "healthy",
                                                     .detail_regex = "OK - left a child behind",
                                                     .timeout = 1s,
                                                     .reason = ""});
  EXPECT_LT(grandchild.max_duration_ms, 500);
  const pid_t orphan = ReadPid(grandchild_pid);
  ASSERT_GT(orphan, 0);
  EXPECT_TRUE(WaitGone(orphan, 2s)) << "the plugin's grandchild " << orphan << " still runs";

  // 100 MB of output: read and thrown away past max_output_bytes.
  ExpectFault(daemon, {.check = "fault-plugin-100mb",
                       .health = "healthy",
                       .detail_regex = "OK - about to print 100 MB",
                       .timeout = 3s,
                       .reason = ""});
  const Usage during = SampleUsage(daemon, 1);
  EXPECT_LT(during.rss_bytes, baseline.rss_bytes + (8 << 20)) << "the output was buffered";

  fleet.ExpectKeptSchedule(before, fleet.Take(daemon));
  ExpectLatenessBounded(daemon, 1.0);

  for (const char* name : {"sleeper", "forker", "flood"}) WritePlugin(dir, name, healthy);
  for (const char* name :
       {"fault-plugin-sleeps", "fault-plugin-grandchild", "fault-plugin-100mb"}) {
    ExpectFault(daemon, {.check = name,
                         .health = "healthy",
                         .detail_regex = "OK - fine",
                         .timeout = 1s,
                         .results = 1,
                         .reason = ""});
  }
  ExpectUsageBackToBaseline(daemon, baseline, /*fd_slack=*/2, /*rss_slack_bytes=*/8 << 20);
}

}  // namespace
}  // namespace hx
