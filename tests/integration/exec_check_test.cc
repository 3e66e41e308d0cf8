// ExecCheck running real processes (monitoring-plugins and the scripts in
// testdata/plugins) on a real libuv loop, and parsing of the `exec:` mapping.

#include "checks/exec/exec_check.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <uv.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "config/parse_context.h"
#include "io/io_context.h"
#include "support/loop_test.h"

namespace hx {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kWait{10000};
const std::string kPlugins = "/usr/lib/nagios/plugins/";
const std::string kScripts = std::string(HX_TESTDATA) + "/plugins/";

std::shared_ptr<const ExecCheckSettings> Command(std::vector<std::string> argv,
                                                 std::map<std::string, std::string> env = {}) {
  auto s = std::make_shared<ExecCheckSettings>();
  s->command = std::move(argv);
  s->env = std::move(env);
  return s;
}

std::optional<double> FindObservation(const CheckResult& r, const std::string& metric) {
  for (const Observation& o : r.observations) {
    if (o.name() == "plugin_value" && o.label_name() == "metric" && o.label_value == metric) {
      return o.value;
    }
  }
  return std::nullopt;
}

/// True once `pid` has ended: gone, or a zombie nobody reaps (PID 1 here may
/// not reap orphans).
bool ProcessDead(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  const size_t paren = line.rfind(')');
  return paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] == 'Z';
}

bool ProcessGone(pid_t pid) { return !std::filesystem::exists("/proc/" + std::to_string(pid)); }

std::optional<pid_t> ReadPid(const std::string& path) {
  std::ifstream in(path);
  pid_t pid = 0;
  if (in >> pid && pid > 0) return pid;
  return std::nullopt;
}

/// Peak resident memory of this process, in bytes.
uint64_t PeakRssBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmHWM:")) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

/// Children of this process whose command name is `comm`.
std::vector<pid_t> ChildrenNamed(const std::string& comm) {
  std::vector<pid_t> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream status(entry.path() / "status");
    std::string line;
    std::string process_name;
    pid_t parent = 0;
    while (std::getline(status, line)) {
      if (line.starts_with("Name:")) process_name = line.substr(line.find_first_not_of(" \t", 5));
      if (line.starts_with("PPid:")) parent = std::stoi(line.substr(5));
    }
    if (parent == getpid() && process_name == comm) found.push_back(std::stoi(name));
  }
  return found;
}

std::set<std::string> OpenDescriptors(pid_t pid) {
  std::set<std::string> fds;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    fds.insert(entry.path().filename());
  }
  return fds;
}

class ExecCheckTest : public LoopTest {
 protected:
  void SetUp() override {
    LoopTest::SetUp();
    char pattern[] = "/tmp/hx_exec_test_XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    temp_dir_ = pattern;
  }

  void TearDown() override {
    LoopTest::TearDown();
    std::filesystem::remove_all(temp_dir_);
  }

  std::unique_ptr<Check> Make(std::shared_ptr<const ExecCheckSettings> settings) {
    return std::make_unique<ExecCheck>(io(), std::move(settings));
  }

  /// Starts one attempt and runs the loop until it reports.
  CheckResult RunOnce(std::shared_ptr<const ExecCheckSettings> settings) {
    auto check = Make(std::move(settings));
    return RunAttempt(*check).value_or(CheckResult{});
  }

  std::string PidFile(const std::string& name) const { return temp_dir_ + "/" + name; }

  std::string temp_dir_;
};

// --- monitoring-plugins --------------------------------------------------

TEST_F(ExecCheckTest, CheckDummyExitStatusesMapToHealth) {
  struct Case {
    std::string status;
    Health health;
    std::string detail;
    FailureReason reason;
  };
  for (const Case& c :
       {Case{"0", Health::kHealthy, "OK: all good", FailureReason::kNone},
        Case{"1", Health::kDegraded, "WARNING: all good", FailureReason::kPluginWarning},
        Case{"2", Health::kUnhealthy, "CRITICAL: all good", FailureReason::kPluginCritical},
        Case{"3", Health::kUnhealthy, "UNKNOWN: all good", FailureReason::kPluginUnknown}}) {
    CheckResult r = RunOnce(Command({kPlugins + "check_dummy", c.status, "all good"}));
    EXPECT_EQ(r.health, c.health) << c.status;
    EXPECT_EQ(r.detail, c.detail);
    EXPECT_EQ(r.reason, c.reason) << c.status;
    EXPECT_TRUE(r.observations.empty());
  }
}

TEST_F(ExecCheckTest, CheckTcpAgainstALoopbackListener) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 16), 0);  // the kernel completes handshakes; no accept needed
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string port = std::to_string(ntohs(addr.sin_port));

  CheckResult r = RunOnce(Command({kPlugins + "check_tcp", "-H", "127.0.0.1", "-p", port}));
  close(fd);
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_TRUE(r.detail.starts_with("TCP OK")) << r.detail;
  EXPECT_EQ(r.detail.find('|'), std::string::npos) << r.detail;
  std::optional<double> time = FindObservation(r, "time");
  ASSERT_TRUE(time.has_value());
  EXPECT_GE(*time, 0);
  EXPECT_LT(*time, 10);
}

TEST_F(ExecCheckTest, CheckTcpConnectionRefusedIsUnhealthy) {
  // A bound socket that never listens refuses connections.
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string port = std::to_string(ntohs(addr.sin_port));

  CheckResult r = RunOnce(Command({kPlugins + "check_tcp", "-H", "127.0.0.1", "-p", port}));
  close(fd);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_NE(r.detail.find("Connection refused"), std::string::npos) << r.detail;
  EXPECT_EQ(r.reason, FailureReason::kPluginCritical) << "the plugin's verdict, not ours";
}

TEST_F(ExecCheckTest, CheckDiskReportsUsedBytes) {
  CheckResult r =
      RunOnce(Command({kPlugins + "check_disk", "-w", "0%", "-c", "0%", "-p", temp_dir_}));
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_TRUE(r.detail.starts_with("DISK OK")) << r.detail;
  ASSERT_EQ(r.observations.size(), 1u) << r.detail;
  struct statvfs fs {};
  ASSERT_EQ(statvfs(temp_dir_.c_str(), &fs), 0);
  const double total = static_cast<double>(fs.f_blocks) * fs.f_frsize;
  // The value is used space converted to bytes: positive, at most the size.
  EXPECT_GT(r.observations[0].value, 0);
  EXPECT_LE(r.observations[0].value, total);
}

// --- exit statuses, signals, output ---------------------------------------

TEST_F(ExecCheckTest, NonStandardExitStatusIsUnhealthyAndNamed) {
  CheckResult r = RunOnce(Command({kScripts + "exit_with.sh", "7", "weird plugin"}));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "weird plugin (exit status 7)");
  EXPECT_EQ(r.reason, FailureReason::kPluginUnknown);
}

TEST_F(ExecCheckTest, EmptyOutputDetailIsTheExitStatus) {
  for (const auto& [status, health, reason] :
       {std::tuple{"0", Health::kHealthy, FailureReason::kNone},
        std::tuple{"1", Health::kDegraded, FailureReason::kPluginWarning},
        std::tuple{"2", Health::kUnhealthy, FailureReason::kPluginCritical},
        std::tuple{"3", Health::kUnhealthy, FailureReason::kPluginUnknown},
        std::tuple{"7", Health::kUnhealthy, FailureReason::kPluginUnknown}}) {
    CheckResult r = RunOnce(Command({kScripts + "exit_with.sh", status}));
    EXPECT_EQ(r.health, health) << status;
    EXPECT_EQ(r.reason, reason) << status;
    EXPECT_EQ(r.detail, std::string("exit status ") + status);
  }
}

TEST_F(ExecCheckTest, StderrExplainsWhenStdoutIsEmpty) {
  CheckResult r = RunOnce(Command({kScripts + "stderr_only.sh"}));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "error: cannot load library");
  EXPECT_EQ(r.reason, FailureReason::kPluginUnknown);  // exit 3
}

TEST_F(ExecCheckTest, KilledBySignal) {
  CheckResult r = RunOnce(Command({kScripts + "kill_self.sh"}));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "killed by signal 9");
  EXPECT_EQ(r.reason, FailureReason::kPluginUnknown);
}

TEST_F(ExecCheckTest, LongOutputPerfdataBecomesObservations) {
  CheckResult r = RunOnce(Command({kScripts + "long_output.sh"}));
  EXPECT_EQ(r.health, Health::kDegraded);
  EXPECT_EQ(r.detail, "DISK OK - free space: / 3326 MB (56%);");
  EXPECT_EQ(FindObservation(r, "/"), 2643.0 * 1024 * 1024);
  EXPECT_EQ(FindObservation(r, "boot partition"), 68.0 * 1024 * 1024);
  EXPECT_EQ(FindObservation(r, "rta"), 0.0125);
  EXPECT_EQ(FindObservation(r, "pl"), 0.0);
  EXPECT_EQ(FindObservation(r, "load"), std::nullopt);  // "U": unknown
  EXPECT_EQ(r.observations.size(), 4u);
}

TEST_F(ExecCheckTest, LongFirstLineIsCapped) {
  CheckResult r = RunOnce(Command({kScripts + "exit_with.sh", "0", std::string(1000, 'x')}));
  EXPECT_EQ(r.detail.size(), ExecCheck::kMaxDetailBytes);
  EXPECT_TRUE(r.detail.ends_with("...")) << r.detail;
}

TEST_F(ExecCheckTest, HundredMegabytesOfOutputAreDrainedButNotKept) {
  const uint64_t peak_before = PeakRssBytes();
  auto settings = std::make_shared<ExecCheckSettings>(*Command({kScripts + "big_output.sh"}));
  CheckResult r = RunOnce(settings);
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_EQ(r.detail, "BIG OK");
  EXPECT_EQ(FindObservation(r, "lines"), 1.0);
  // The perfdata printed after the cap was never stored.
  EXPECT_EQ(FindObservation(r, "after"), std::nullopt);
  // Keeping the output would have grown the peak by ~100 MB.
  EXPECT_LT(PeakRssBytes() - peak_before, 32u * 1024 * 1024);
}

TEST_F(ExecCheckTest, SmallOutputCapCutsPerfdata) {
  auto settings = std::make_shared<ExecCheckSettings>(
      *Command({kScripts + "exit_with.sh", "0", "OK | a=1 b=2 c=3"}));
  settings->max_output_bytes = 10;  // "OK | a=1 b" -> b has no value
  CheckResult r = RunOnce(settings);
  EXPECT_EQ(r.detail, "OK");
  EXPECT_EQ(FindObservation(r, "a"), 1.0);
  EXPECT_EQ(r.observations.size(), 1u);
}

// --- process hygiene ------------------------------------------------------

TEST_F(ExecCheckTest, EnvironmentIsMinimalPlusConfigured) {
  ASSERT_EQ(setenv("HX_DAEMON_SECRET", "hunter2", 1), 0);
  auto settings = std::make_shared<ExecCheckSettings>(
      *Command({kScripts + "print_env.sh"}, {{"HX_FROM_CONFIG", "visible"}}));
  settings->working_dir = temp_dir_;
  CheckResult r = RunOnce(settings);
  unsetenv("HX_DAEMON_SECRET");
  EXPECT_EQ(r.health, Health::kHealthy);
  EXPECT_EQ(r.detail, "FROM_CONFIG=visible DAEMON_SECRET=unset HOME=unset PWD=" + temp_dir_ +
                          " PATH=" + kExecDefaultPath);
}

TEST_F(ExecCheckTest, ConfiguredPathReplacesTheDefault) {
  CheckResult r = RunOnce(Command({kScripts + "print_env.sh"}, {{"PATH", "/bin"}}));
  EXPECT_TRUE(r.detail.ends_with(" PWD=/ PATH=/bin")) << r.detail;
}

TEST_F(ExecCheckTest, NoDescriptorOfTheDaemonLeaksIntoTheChild) {
  // Opened deliberately without CLOEXEC, as careless code in the daemon might.
  const int file_fd = open("/etc/hostname", O_RDONLY);
  ASSERT_GE(file_fd, 0);
  const int listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listen_fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(listen_fd, 4), 0);
  ASSERT_EQ(fcntl(file_fd, F_GETFD) & FD_CLOEXEC, 0);
  ASSERT_EQ(fcntl(listen_fd, F_GETFD) & FD_CLOEXEC, 0);

  // sleep itself opens nothing, so its descriptors are exactly what it got.
  auto check = Make(Command({"/usr/bin/sleep", "300"}));
  Outcome outcome;
  check->Start(outcome.Callback());
  std::vector<pid_t> children;
  ASSERT_TRUE(RunUntil([&] {
    children = ChildrenNamed("sleep");
    return !children.empty();
  }));
  ASSERT_EQ(children.size(), 1u);
  EXPECT_EQ(OpenDescriptors(children[0]), (std::set<std::string>{"0", "1", "2"}));
  EXPECT_EQ(std::filesystem::read_symlink("/proc/" + std::to_string(children[0]) + "/fd/0"),
            "/dev/null");

  check->Cancel();
  EXPECT_TRUE(RunUntil([&] { return ProcessGone(children[0]); }));
  EXPECT_FALSE(outcome.done());
  close(file_fd);
  close(listen_fd);
}

TEST_F(ExecCheckTest, CancelKillsTheWholeProcessGroupAndReapsTheChild) {
  auto check = Make(Command({kScripts + "hang_with_child.sh"}, {{"PID_DIR", temp_dir_}}));
  Outcome outcome;
  check->Start(outcome.Callback());
  std::optional<pid_t> leader;
  std::optional<pid_t> child;
  ASSERT_TRUE(RunUntil([&] {
    leader = ReadPid(PidFile("leader"));
    child = ReadPid(PidFile("child"));
    return leader && child;
  }));
  // The plugin leads its own process group (UV_PROCESS_DETACHED).
  EXPECT_EQ(getpgid(*leader), *leader);
  EXPECT_EQ(getpgid(*child), *leader);

  check->Cancel();  // what the scheduler does at its hard timeout
  // The direct child is reaped by us (gone, not a zombie); the background
  // child is killed too.
  EXPECT_TRUE(RunUntil([&] { return ProcessGone(*leader) && ProcessDead(*child); }));
  uv_run(loop(), UV_RUN_NOWAIT);
  EXPECT_EQ(outcome.calls, 0);
}

TEST_F(ExecCheckTest, DestroyingTheCheckKillsAndReaps) {
  auto check = Make(Command({kScripts + "hang_with_child.sh"}, {{"PID_DIR", temp_dir_}}));
  Outcome outcome;
  check->Start(outcome.Callback());
  std::optional<pid_t> leader;
  std::optional<pid_t> child;
  ASSERT_TRUE(RunUntil([&] {
    leader = ReadPid(PidFile("leader"));
    child = ReadPid(PidFile("child"));
    return leader && child;
  }));
  check.reset();
  EXPECT_TRUE(RunUntil([&] { return ProcessGone(*leader) && ProcessDead(*child); }));
  EXPECT_EQ(outcome.calls, 0);
}

TEST_F(ExecCheckTest, CancelRightAfterStartStillReaps) {
  auto check = Make(Command({"/usr/bin/sleep", "300"}));
  Outcome outcome;
  check->Start(outcome.Callback());
  const std::vector<pid_t> children = ChildrenNamed("sleep");
  check->Cancel();
  check.reset();
  // TearDown asserts that the loop drains (the process handle closed only
  // after the exit callback reaped the child).
  EXPECT_TRUE(RunUntilIdle());
  for (pid_t pid : children) EXPECT_TRUE(ProcessGone(pid));
  EXPECT_EQ(outcome.calls, 0);
}

TEST_F(ExecCheckTest, GrandchildHoldingStdoutDoesNotHoldUpTheCheck) {
  auto settings = Command({kScripts + "leave_grandchild.sh"}, {{"PID_DIR", temp_dir_}});
  // Far less than the grandchild's 300 s: the check must end after the grace.
  CheckResult r = RunOnce(settings);
  EXPECT_EQ(r.health, Health::kHealthy);
  EXPECT_EQ(r.detail, "OK - parent done");
  EXPECT_EQ(FindObservation(r, "children"), 1.0);
  std::optional<pid_t> grandchild = ReadPid(PidFile("grandchild"));
  ASSERT_TRUE(grandchild.has_value());
  EXPECT_TRUE(RunUntil([&] { return ProcessDead(*grandchild); }));
}

TEST_F(ExecCheckTest, ProgramRemovedAfterLoadIsReported) {
  const std::string path = temp_dir_ + "/gone.sh";
  std::filesystem::copy_file(kScripts + "exit_with.sh", path);
  auto settings = Command({path, "0"});
  std::filesystem::remove(path);
  CheckResult r = RunOnce(settings);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "cannot run \"" + path + "\": no such file or directory");
  EXPECT_EQ(r.reason, FailureReason::kPluginUnknown);
}

TEST_F(ExecCheckTest, FiftyConcurrentChecks) {
  constexpr int kChecks = 50;
  std::vector<std::unique_ptr<Check>> checks;
  std::vector<Outcome> outcomes(kChecks);
  for (int i = 0; i < kChecks; ++i) {
    const std::string status = std::to_string(i % 3);
    checks.push_back(
        Make(Command({kPlugins + "check_dummy", status, "check " + std::to_string(i)})));
  }
  for (int i = 0; i < kChecks; ++i) checks[i]->Start(outcomes[i].Callback());
  ASSERT_TRUE(RunUntil([&] {
    for (const Outcome& o : outcomes) {
      if (!o.done()) return false;
    }
    return true;
  }));
  const char* prefixes[] = {"OK: ", "WARNING: ", "CRITICAL: "};
  for (int i = 0; i < kChecks; ++i) {
    EXPECT_EQ(outcomes[i].calls, 1) << i;
    EXPECT_EQ(outcomes[i].result.health, static_cast<Health>(i % 3)) << i;
    EXPECT_EQ(outcomes[i].result.detail, prefixes[i % 3] + ("check " + std::to_string(i)));
  }
}

TEST_F(ExecCheckTest, StartAgainAfterCompletion) {
  auto check = Make(Command({kPlugins + "check_dummy", "0", "again"}));
  for (int round = 0; round < 3; ++round) {
    Outcome outcome;
    check->Start(outcome.Callback());
    ASSERT_TRUE(RunUntil([&] { return outcome.done(); }));
    EXPECT_EQ(outcome.result.detail, "OK: again");
  }
}

// --- config ---------------------------------------------------------------

struct Parsed {
  std::shared_ptr<const ExecCheckSpec> spec;
  std::vector<std::string> errors;
};

Parsed Parse(const std::string& yaml) {
  config::ParseContext ctx("inline.yml", [](const std::string& name) -> std::optional<std::string> {
    if (name == "DB_PASSWORD") return "s3cret";
    return std::nullopt;
  });
  YAML::Node root = YAML::Load(yaml);
  config::MapReader reader(root, "exec", ctx);
  Parsed out;
  out.spec = ParseExecCheckSpec(reader);
  for (const auto& e : ctx.errors()) out.errors.push_back(e.ToString());
  return out;
}

TEST(ExecConfigTest, CommandOnly) {
  Parsed p = Parse("command: [/usr/lib/nagios/plugins/check_load, -w, '5,4,3']");
  ASSERT_NE(p.spec, nullptr) << ::testing::PrintToString(p.errors);
  const ExecCheckSettings& s = p.spec->settings();
  EXPECT_EQ(s.command,
            (std::vector<std::string>{"/usr/lib/nagios/plugins/check_load", "-w", "5,4,3"}));
  EXPECT_TRUE(s.env.empty());
  EXPECT_EQ(s.max_output_bytes, 64u * 1024);
  EXPECT_EQ(s.working_dir, "/");
  EXPECT_EQ(p.spec->Target(), "/usr/lib/nagios/plugins/check_load");
}

TEST(ExecConfigTest, EveryKeyAndSecretsStayOutOfTarget) {
  Parsed p = Parse(R"(
command: [/usr/lib/nagios/plugins/check_dummy, "0", "--password=${DB_PASSWORD}"]
env: {LC_ALL: C, PGPASSWORD: "${DB_PASSWORD}"}
max_output_bytes: 1KiB
working_dir: /tmp
)");
  ASSERT_NE(p.spec, nullptr) << ::testing::PrintToString(p.errors);
  const ExecCheckSettings& s = p.spec->settings();
  EXPECT_EQ(s.command.back(), "--password=s3cret");
  EXPECT_EQ(s.env, (std::map<std::string, std::string>{{"LC_ALL", "C"}, {"PGPASSWORD", "s3cret"}}));
  EXPECT_EQ(s.max_output_bytes, 1024u);
  EXPECT_EQ(s.working_dir, "/tmp");
  EXPECT_EQ(p.spec->Target().find("s3cret"), std::string::npos);
}

TEST(ExecConfigTest, Errors) {
  struct Case {
    std::string yaml;
    std::string error;
  };
  for (const Case& c : {
           Case{"env: {A: b}", "inline.yml:1:1: exec: missing required key \"command\""},
           Case{"command: []",
                "inline.yml:1:10: exec.command: must not be empty: give the "
                "program and its arguments as a list"},
           Case{"command: [check_load, -w]",
                "inline.yml:1:11: exec.command[0]: must be an absolute path, got \"check_load\" "
                "(the command runs without a shell or PATH search)"},
           Case{"command: [/nonexistent/check_x]",
                "inline.yml:1:11: exec.command[0]: cannot use \"/nonexistent/check_x\": No such "
                "file or directory"},
           Case{"command: [/etc/passwd]",
                "inline.yml:1:11: exec.command[0]: \"/etc/passwd\" is not executable"},
           Case{"command: [/usr/lib]",
                "inline.yml:1:11: exec.command[0]: \"/usr/lib\" is not a regular file"},
           Case{"command: /usr/bin/true -x",
                "inline.yml:1:10: exec.command: is run without a shell: write the program and its "
                "arguments as a list, e.g. [/usr/bin/true, -x]"},
           Case{"command: [/usr/bin/true]\nmax_output_bytes: 0",
                "inline.yml:2:19: exec.max_output_bytes: must be from 1 byte to 16MiB"},
           Case{"command: [/usr/bin/true]\nworking_dir: relative",
                "inline.yml:2:14: exec.working_dir: must be an absolute path, got \"relative\""},
           Case{"command: [/usr/bin/true]\nworking_dir: /etc/passwd",
                "inline.yml:2:14: exec.working_dir: \"/etc/passwd\" is not a directory"},
           Case{"command: [/usr/bin/true]\nenv: {\"A=B\": c}",
                "inline.yml:2:6: exec.env: variable name \"A=B\" must not be empty or contain "
                "\"=\""},
           Case{"command: [/usr/bin/true]\nshell: true",
                "inline.yml:2:1: exec: unknown key \"shell\""},
       }) {
    Parsed p = Parse(c.yaml);
    EXPECT_EQ(p.spec, nullptr) << c.yaml;
    EXPECT_EQ(p.errors, std::vector<std::string>{c.error}) << c.yaml;
  }
}

}  // namespace
}  // namespace hx
