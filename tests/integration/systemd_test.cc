// The systemd integration: sd_notify messages from the real daemon, and the
// shipped unit file checked by systemd-analyze (verify + offline security).

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "support/daemon_process.h"

namespace hx {
namespace {

using namespace std::chrono_literals;

// A NOTIFY_SOCKET of the test's own: collects datagrams.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    timeval tv{0, 100 * 1000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~NotifySocket() { close(fd_); }

  // Reads until a message containing `needle` arrives or `timeout` passes.
  bool WaitFor(const std::string& needle, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      char buf[4096];
      ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n > 0) messages_.emplace_back(buf, static_cast<size_t>(n));
      for (const auto& m : messages_) {
        if (m.find(needle) != std::string::npos) return true;
      }
    }
    return false;
  }
  int Count(const std::string& needle) const {
    int n = 0;
    for (const auto& m : messages_) n += m.find(needle) != std::string::npos;
    return n;
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::vector<std::string> messages_;
};

TEST(SystemdTest, NotifiesReadyWatchdogAndStopping) {
  TempDir dir;
  NotifySocket notify(dir.path() + "/notify.sock");
  DaemonProcess d("checks: [{name: t, interval: 1h, tcp: {address: '127.0.0.1:9'}}]\n", {},
                  {{"NOTIFY_SOCKET", dir.path() + "/notify.sock"}, {"WATCHDOG_USEC", "200000"}});
  ASSERT_TRUE(d.started()) << d.Logs();
  ASSERT_TRUE(notify.WaitFor("READY=1", 5s));
  EXPECT_TRUE(notify.WaitFor("STATUS=1 checks, serving on 127.0.0.1:", 1s));
  // WatchdogSec=200ms -> a ping every 100 ms from the loop.
  const auto until = std::chrono::steady_clock::now() + 1s;
  while (std::chrono::steady_clock::now() < until && notify.Count("WATCHDOG=1") < 3) {
    notify.WaitFor("never", 100ms);
  }
  EXPECT_GE(notify.Count("WATCHDOG=1"), 3);
  EXPECT_EQ(d.Stop(SIGTERM, 5s), 0);
  EXPECT_TRUE(notify.WaitFor("STOPPING=1", 2s));
}

TEST(SystemdTest, NoNotifySocketMeansNoNotifications) {
  // Outside systemd nothing is sent and nothing fails.
  DaemonProcess d("checks: [{name: t, interval: 1h, tcp: {address: '127.0.0.1:9'}}]\n");
  ASSERT_TRUE(d.started()) << d.Logs();
  EXPECT_EQ(d.Stop(SIGTERM, 5s), 0);
}

// The shipped unit, with ExecStart pointing at the built binary so that
// systemd-analyze can check it on a machine where nothing is installed.
std::string UnitForAnalysis(const TempDir& dir) {
  std::ifstream in(std::string(HX_SOURCE_DIR) + "/systemd/health_exporter.service");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string unit = std::regex_replace(ss.str(), std::regex("/usr/bin/health_exporter"), HX_BINARY);
  return dir.Write("health_exporter.service", unit);
}

TEST(SystemdTest, UnitPassesVerify) {
  if (access("/usr/bin/systemd-analyze", X_OK) != 0) GTEST_SKIP() << "systemd-analyze missing";
  TempDir dir;
  auto r = RunCommand({"systemd-analyze", "verify", "--man=no", UnitForAnalysis(dir)});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // Unknown keys are only warnings for verify: fail on them too.
  EXPECT_EQ(r.output.find("Unknown key"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("Unknown section"), std::string::npos) << r.output;
}

TEST(SystemdTest, UnitExposureIsAtMost2) {
  if (access("/usr/bin/systemd-analyze", X_OK) != 0) GTEST_SKIP() << "systemd-analyze missing";
  TempDir dir;
  auto r = RunCommand({"systemd-analyze", "security", "--offline=true", "--threshold=20",
                       UnitForAnalysis(dir)});
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex(R"(Overall exposure level for \S+: (\d+\.\d+))")))
      << r.output;
  std::printf("systemd-analyze security exposure: %s\n", m[1].str().c_str());
  EXPECT_LE(std::stod(m[1]), 2.0) << r.output;
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

}  // namespace
}  // namespace hx
