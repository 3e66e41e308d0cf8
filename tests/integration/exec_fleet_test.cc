// Many exec checks beside HTTP checks, in the real daemon: behaviour, not
// speed. 40 exec checks at 200 ms (/bin/true, /bin/false and a plugin that
// sleeps 50 ms: 200 spawns/s) run beside 30 HTTP checks at 1 s against a
// local test server. Every check keeps its plan (within one run), nothing is
// skipped, no child of the daemon stays a zombie longer than the daemon takes
// to notice, and every exec guarantee holds at the same time: the process
// group is killed on timeout, when a reload removes the check and at
// shutdown; a grandchild holding stdout does not hold the run up; output is
// capped; the environment is minimal; no descriptor of the daemon leaks.
//
// A fork of the daemon per spawn (libuv's uv_spawn) cost 11-14 ms of the loop
// thread's time (issue 17): 200 spawns/s then need more than two cores, so
// runs fall off their plan and are skipped, and zombies wait for the loop.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "checks/exec/exec_check.h"
#include "scheduler/check_scheduler.h"
#include "support/daemon_process.h"
#include "support/fault_harness.h"

namespace hx {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<pid_t> ReadPid(const std::string& path) {
  std::ifstream in(path);
  pid_t pid = 0;
  if (in >> pid && pid > 0) return pid;
  return std::nullopt;
}

// The state letter of /proc/PID/stat ('Z' zombie), or 0 when it is gone.
char ProcessState(pid_t pid) {
  const std::string stat = ReadAll("/proc/" + std::to_string(pid) + "/stat");
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) return 0;
  return stat[paren + 2];
}

bool ProcessGone(pid_t pid) { return ProcessState(pid) == 0; }
// Killed: gone, or a zombie of a parent that is not the daemon (PID 1 here
// may not reap orphans).
bool ProcessDead(pid_t pid) {
  const char state = ProcessState(pid);
  return state == 0 || state == 'Z';
}

bool WaitFor(const std::function<bool()>& predicate, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  do {
    if (predicate()) return true;
    std::this_thread::sleep_for(10ms);
  } while (Clock::now() < deadline);
  return predicate();
}

// Direct children of `parent` (every thread's), from /proc/PID/task/*/children.
std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> children;
  std::error_code ec;
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/" + std::to_string(parent) + "/task", ec)) {
    std::istringstream in(ReadAll(task.path() / "children"));
    for (pid_t pid = 0; in >> pid;) children.push_back(pid);
  }
  return children;
}

std::string Comm(pid_t pid) {
  std::string comm = ReadAll("/proc/" + std::to_string(pid) + "/comm");
  if (!comm.empty() && comm.back() == '\n') comm.pop_back();
  return comm;
}

// Samples the daemon's children every few ms on its own thread and keeps,
// for every pid ever seen as a zombie, the first and last time it was seen.
class ZombieWatch {
 public:
  explicit ZombieWatch(pid_t daemon) : daemon_(daemon), thread_([this] { Run(); }) {}
  ~ZombieWatch() { Stop(); }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  // Longest a zombie was seen, in ms (a lower bound of its life as one).
  double LongestMs() const {
    std::lock_guard lock(mu_);
    double longest = 0;
    for (const auto& [pid, seen] : zombies_) {
      longest = std::max(
          longest, std::chrono::duration<double, std::milli>(seen.second - seen.first).count());
    }
    return longest;
  }
  size_t MostAtOnce() const {
    std::lock_guard lock(mu_);
    return most_at_once_;
  }
  size_t Seen() const {
    std::lock_guard lock(mu_);
    return zombies_.size();
  }
  size_t samples() const { return samples_; }

 private:
  void Run() {
    while (!stop_) {
      const auto now = Clock::now();
      size_t at_once = 0;
      for (pid_t pid : ChildrenOf(daemon_)) {
        if (ProcessState(pid) != 'Z') continue;
        ++at_once;
        std::lock_guard lock(mu_);
        auto [it, added] = zombies_.try_emplace(pid, now, now);
        it->second.second = now;
      }
      {
        std::lock_guard lock(mu_);
        most_at_once_ = std::max(most_at_once_, at_once);
      }
      ++samples_;
      std::this_thread::sleep_for(5ms);
    }
  }

  const pid_t daemon_;
  mutable std::mutex mu_;
  std::map<pid_t, std::pair<Clock::time_point, Clock::time_point>> zombies_;
  size_t most_at_once_ = 0;
  std::atomic<size_t> samples_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

double RunsOf(const MetricsText& m, const std::string& check) {
  double runs = 0;
  for (const char* health : {"healthy", "degraded", "unhealthy"}) {
    runs += m.Get("health_check_runs_total", {{"check", check}, {"status", health}}, 0);
  }
  return runs;
}

// A name starting with `prefix` whose first run comes within 2 s of the
// scheduler's start (first runs are spread over the interval by a stable
// hash of the name), so a check with a long interval starts early.
std::string NameStartingEarly(const std::string& prefix, std::chrono::seconds interval) {
  for (int i = 0;; ++i) {
    const std::string name = prefix + "-" + std::to_string(i);
    if (CheckScheduler::FirstRunOffset(name, interval) < 2s) return name;
  }
}

constexpr int kFleetExecChecks = 40;
constexpr auto kExecInterval = 200ms;

class ExecFleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const std::string& name :
         {std::string("timeout"), removed_, shutdown_, std::string("grandchild")}) {
      std::filesystem::create_directory(dir_.path() + "/" + name);
    }
    const std::string sleepy =
        dir_.Write("sleepy.sh", "#!/bin/sh\nsleep 0.05\necho 'OK - slept'\n");
    ASSERT_EQ(chmod(sleepy.c_str(), 0755), 0);
    const std::string cap = dir_.Write("cap.sh", "#!/bin/sh\necho 'OK | a=1 b=2 c=3'\n");
    ASSERT_EQ(chmod(cap.c_str(), 0755), 0);
  }

  std::string Pids(const std::string& name) const { return dir_.path() + "/" + name; }

  // The exec checks that must keep their plan, and their YAML.
  std::string FleetYaml() {
    std::string yaml;
    for (int i = 0; i < kFleetExecChecks; ++i) {
      const std::string name = "exec-" + std::to_string(i);
      std::string command;
      switch (i % 3) {
        case 0:
          command = "[/bin/true]";
          break;
        case 1:
          command = "[/bin/false]";
          break;
        default:
          command = "['" + dir_.path() + "/sleepy.sh']";
      }
      fleet_exec_.push_back(name);
      // failure_threshold 3: the states asserted below are not flipped by
      // the rare timeout the fleet is allowed.
      yaml += "  - name: " + name +
              "\n    interval: 200ms\n    timeout: 150ms\n    failure_threshold: 3\n" +
              "    exec: {command: " + command + "}\n";
    }
    return yaml;
  }

  // A check whose plugin (and its background child) hang, writing their pids.
  std::string HangYaml(const std::string& name, const std::string& interval,
                       const std::string& timeout) {
    return "  - name: " + name + "\n    interval: " + interval + "\n    timeout: " + timeout +
           "\n    exec: {command: ['" + kScripts + "hang_with_child.sh'], env: {PID_DIR: '" +
           Pids(name) + "'}}\n";
  }

  std::string GuaranteesYaml(bool with_removed) {
    std::string yaml = HangYaml("timeout", "1s", "300ms") + HangYaml(shutdown_, "60s", "50s");
    if (with_removed) yaml += HangYaml(removed_, "60s", "50s");
    yaml +=
        "  - name: grandchild\n    interval: 1s\n    timeout: 900ms\n"
        "    exec: {command: ['" +
        kScripts + "leave_grandchild.sh'], env: {PID_DIR: '" + Pids("grandchild") + "'}}\n";
    yaml +=
        "  - name: cap\n    interval: 1s\n    timeout: 900ms\n"
        "    exec: {command: ['" +
        dir_.path() + "/cap.sh'], max_output_bytes: 10}\n";
    yaml +=
        "  - name: env\n    interval: 1s\n    timeout: 900ms\n"
        "    exec: {command: ['" +
        kScripts + "print_env.sh']}\n";
    // sleep opens nothing itself, so its descriptors are exactly what it got.
    yaml += "  - name: " + fds_ + "\n    interval: 60s\n    timeout: 50s\n" +
            "    exec: {command: [/usr/bin/sleep, '300']}\n";
    return yaml;
  }

  const std::string kScripts = std::string(HX_TESTDATA) + "/plugins/";
  TempDir dir_;
  std::vector<std::string> fleet_exec_;
  const std::string removed_ = NameStartingEarly("removed", 60s);
  const std::string shutdown_ = NameStartingEarly("shutdown", 60s);
  const std::string fds_ = NameStartingEarly("fds", 60s);
};

TEST_F(ExecFleetTest, FortyExecChecksAt200msBesideHttpChecksKeepEveryGuarantee) {
  HealthyFleet http({.http = 30, .tcp = 0});
  const std::string head = "checks:\n" + http.Yaml() + FleetYaml();
  DaemonProcess daemon(head + GuaranteesYaml(/*with_removed=*/true), {},
                       {{"HX_DAEMON_SECRET", "hunter2"}});
  ASSERT_TRUE(daemon.started()) << daemon.Logs();
  ZombieWatch zombies(daemon.pid());

  // --- every check keeps its plan -----------------------------------------
  ASSERT_TRUE(WaitForMoreRuns(daemon, "exec-0", 5, 20s));
  std::this_thread::sleep_for(1s);  // every HTTP check has run (1 s interval)
  const auto t0 = Clock::now();
  const MetricsText m0 = MetricsText::Scrape(daemon);
  const HealthyFleet::Sample http0 = http.Take(daemon);
  std::this_thread::sleep_for(10s);
  const auto t1 = Clock::now();
  const MetricsText m1 = MetricsText::Scrape(daemon);
  const HealthyFleet::Sample http1 = http.Take(daemon);
  const double window = std::chrono::duration<double>(t1 - t0).count();
  const double planned = window / std::chrono::duration<double>(kExecInterval).count();
  double worst = 0;
  double runs = 0;
  double timeouts = 0;
  for (const std::string& name : fleet_exec_) {
    const double ran = RunsOf(m1, name) - RunsOf(m0, name);
    worst = std::max(worst, std::abs(ran - planned));
    runs += ran;
    // One run, plus the spread of the sleeping plugin's 50 ms attempts (a
    // run is counted when it ends).
    EXPECT_NEAR(ran, planned, 1.5) << name << " over " << window << " s";
    EXPECT_EQ(m1.Get("health_check_skipped_runs_total", {{"check", name}}, 0), 0) << name;
    timeouts += m1.Get("health_check_timeouts_total", {{"check", name}}, 0) -
                m0.Get("health_check_timeouts_total", {{"check", name}}, 0);
  }
  std::cout << "EXEC| " << fleet_exec_.size() << " exec checks at 200 ms, " << window
            << " s, planned " << planned << " runs each, largest deviation " << worst << ", "
            << timeouts << " timeouts in " << runs << " runs\n";
  // A 50 ms plugin under a 150 ms timeout: on a loaded 2-CPU machine a rare
  // attempt misses it (2 in 2,000 were seen while a CI run and a soak shared
  // the machine). Spawning that held up the loop would time out most.
  EXPECT_LE(timeouts, 0.01 * runs);
  http.ExpectKeptSchedule(http0, http1, 1.5);
  // Results are right while they keep time.
  EXPECT_EQ(CheckJson(daemon, "exec-0")["state"], "healthy");
  EXPECT_EQ(CheckJson(daemon, "exec-1")["state"], "degraded");  // exit 1: WARNING
  EXPECT_EQ(CheckJson(daemon, "exec-2")["last_result"]["detail"], "OK - slept");

  // --- group killed on timeout ---------------------------------------------
  std::optional<pid_t> leader;
  std::optional<pid_t> child;
  ASSERT_TRUE(WaitFor(
      [&] {
        leader = ReadPid(Pids("timeout") + "/leader");
        child = ReadPid(Pids("timeout") + "/child");
        return leader && child;
      },
      5s));
  EXPECT_TRUE(WaitFor([&] { return ProcessGone(*leader) && ProcessDead(*child); }, 3s))
      << "timed-out plugin " << *leader << " (" << ProcessState(*leader) << ") or its child "
      << *child << " (" << ProcessState(*child) << ") survived";
  EXPECT_EQ(CheckJson(daemon, "timeout")["last_result"]["detail"], "timeout after 300ms");

  // --- grandchild holding stdout -------------------------------------------
  nlohmann::json grandchild = CheckJson(daemon, "grandchild");
  EXPECT_EQ(grandchild["state"], "healthy");
  EXPECT_EQ(grandchild["last_result"]["detail"], "OK - parent done");
  for (const nlohmann::json& h : grandchild["history"]) {
    // The run ends 100 ms (ExecCheck::kExitGrace) after the plugin's exit.
    EXPECT_LT(h["duration_ms"].get<double>(), 500) << h.dump();
  }
  std::optional<pid_t> orphan = ReadPid(Pids("grandchild") + "/grandchild");
  ASSERT_TRUE(orphan.has_value());
  EXPECT_TRUE(WaitFor([&] { return ProcessDead(*orphan); }, 3s)) << *orphan;

  // --- output cap, minimal environment -------------------------------------
  const MetricsText m = MetricsText::Scrape(daemon);
  EXPECT_EQ(CheckJson(daemon, "cap")["last_result"]["detail"], "OK");
  EXPECT_EQ(m.Get("health_check_plugin_value", {{"check", "cap"}, {"metric", "a"}}), 1);
  EXPECT_EQ(m.Get("health_check_plugin_value", {{"check", "cap"}, {"metric", "b"}}), -1);
  EXPECT_EQ(CheckJson(daemon, "env")["last_result"]["detail"],
            std::string("FROM_CONFIG=unset DAEMON_SECRET=unset HOME=unset PWD=/ PATH=") +
                kExecDefaultPath);

  // --- no descriptor of the daemon -----------------------------------------
  std::optional<pid_t> sleeper;
  ASSERT_TRUE(WaitFor(
      [&] {
        for (pid_t pid : ChildrenOf(daemon.pid())) {
          if (Comm(pid) == "sleep") sleeper = pid;
        }
        return sleeper.has_value();
      },
      10s));
  std::set<std::string> fds;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(*sleeper) + "/fd")) {
    fds.insert(entry.path().filename());
  }
  EXPECT_EQ(fds, (std::set<std::string>{"0", "1", "2"}));
  EXPECT_EQ(std::filesystem::read_symlink("/proc/" + std::to_string(*sleeper) + "/fd/0"),
            "/dev/null");

  // --- group killed when a reload removes the check ------------------------
  std::optional<pid_t> removed_leader = ReadPid(Pids(removed_) + "/leader");
  std::optional<pid_t> removed_child = ReadPid(Pids(removed_) + "/child");
  ASSERT_TRUE(removed_leader && removed_child);
  ASSERT_EQ(ProcessState(*removed_leader), 'S');
  {
    std::ofstream config(daemon.config_path(), std::ios::trunc);
    config << head << GuaranteesYaml(/*with_removed=*/false);
  }
  daemon.Signal(SIGHUP);
  EXPECT_TRUE(WaitFor([&] { return CheckJson(daemon, removed_).is_null(); }, 10s));
  EXPECT_TRUE(
      WaitFor([&] { return ProcessGone(*removed_leader) && ProcessDead(*removed_child); }, 3s))
      << "removed check's plugin " << *removed_leader << " (" << ProcessState(*removed_leader)
      << ") or its child " << *removed_child << " survived the reload";

  // --- zombies ---------------------------------------------------------------
  // A child is reaped in the loop turn its exit is seen; the watch samples
  // every 5 ms, so a zombie seen over more than ~100 ms waited for the loop
  // (a sanitized daemon's loop turns are several times slower: 133 ms was
  // seen under TSan).
  std::cout << "ZOMBIES| " << zombies.samples() << " samples, " << zombies.Seen()
            << " zombies seen, at most " << zombies.MostAtOnce() << " at once, longest seen "
            << zombies.LongestMs() << " ms\n";
  EXPECT_LT(zombies.LongestMs(), kSanitized ? 500 : 100);
  // How many are seen at once depends on the machine: 40 plugins end 200
  // times a second, and under load several end within one loop turn (6 were
  // seen, each reaped within 21 ms, while two CI runs and a soak shared the
  // 2 CPUs). Children piling up unreaped is what this bound is for (the fork
  // based spawner of 5b06924 reached 19).
  EXPECT_LE(zombies.MostAtOnce(), 10u);

  // --- group killed at shutdown --------------------------------------------
  std::optional<pid_t> last_leader = ReadPid(Pids(shutdown_) + "/leader");
  std::optional<pid_t> last_child = ReadPid(Pids(shutdown_) + "/child");
  ASSERT_TRUE(last_leader && last_child);
  ASSERT_EQ(ProcessState(*last_leader), 'S');
  zombies.Stop();
  EXPECT_EQ(daemon.Stop(SIGTERM, 10s), 0) << daemon.Logs();
  // Reaped by the daemon before it exited (not left to PID 1), group killed.
  EXPECT_TRUE(ProcessGone(*last_leader)) << ProcessState(*last_leader);
  EXPECT_TRUE(WaitFor([&] { return ProcessDead(*last_child); }, 3s)) << *last_child;
  EXPECT_EQ(daemon.Logs().find("hunter2"), std::string::npos);
}

}  // namespace
}  // namespace hx
