// ChildProcess with real processes on a real libuv loop, in both exit-watch
// modes (pidfd, and the waitpid polling used on kernels without pidfd_open):
// exit statuses and signals, output, the process group killed by the
// destructor, destruction from inside a callback, reaping (no zombie), the
// minimal environment and descriptors.

#include "io/child_process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/loop_test.h"

namespace hx {
namespace {

const std::string kScripts = std::string(HX_TESTDATA) + "/plugins/";

// 'Z' for a zombie, 0 once the process is gone.
char ProcessState(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) return 0;
  return stat[paren + 2];
}

std::optional<pid_t> ReadPid(const std::string& path) {
  std::ifstream in(path);
  pid_t pid = 0;
  if (in >> pid && pid > 0) return pid;
  return std::nullopt;
}

struct Seen {
  std::string out;
  std::string err;
  int ends = 0;
  std::optional<ChildProcess::Exit> exit;
};

ChildProcess::Callbacks Record(Seen& seen) {
  ChildProcess::Callbacks c;
  c.on_output = [&seen](ChildProcess::Stream s, std::string_view data) {
    (s == ChildProcess::Stream::kStdout ? seen.out : seen.err).append(data);
  };
  c.on_output_end = [&seen](ChildProcess::Stream) { ++seen.ends; };
  c.on_exit = [&seen](ChildProcess::Exit e) { seen.exit = e; };
  return c;
}

ChildProcess::Options Argv(std::vector<std::string> argv) {
  ChildProcess::Options o;
  o.argv = std::move(argv);
  o.env = {"PATH=/usr/bin:/bin"};
  return o;
}

// Parameter: true for the polling exit watch.
class ChildProcessTest : public LoopTest, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    LoopTest::SetUp();
    ChildProcess::UsePollingExitWatchForTesting(GetParam());
    char pattern[] = "/tmp/hx_child_test_XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    LoopTest::TearDown();  // every handle closed: every child reaped
    ChildProcess::UsePollingExitWatchForTesting(false);
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<ChildProcess> Spawn(ChildProcess::Options options, Seen& seen) {
    int error = 0;
    auto child = ChildProcess::Spawn(loop(), options, Record(seen), &error);
    EXPECT_NE(child, nullptr) << uv_strerror(error);
    return child;
  }

  std::string dir_;
};

TEST_P(ChildProcessTest, ExitStatusOutputAndReaping) {
  Seen seen;
  auto child = Spawn(Argv({"/bin/sh", "-c", "echo some text; exit 3"}), seen);
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(child->pid(), 0);  // started on a spawner thread
  ASSERT_TRUE(RunUntil([&] { return child->pid() != 0 || seen.exit; }));
  const pid_t pid = child->pid();
  ASSERT_NE(pid, 0);
  if (!seen.exit) {
    EXPECT_EQ(getpgid(pid), pid);  // leads its own group
    EXPECT_EQ(getsid(pid), pid);   // and session
  }
  ASSERT_TRUE(RunUntil([&] { return seen.exit && seen.ends == 2; }));
  EXPECT_EQ(seen.exit->exit_status, 3);
  EXPECT_EQ(seen.exit->term_signal, 0);
  EXPECT_EQ(seen.out, "some text\n");
  // Reaped when on_exit ran: neither running nor a zombie.
  EXPECT_EQ(ProcessState(pid), 0);
}

TEST_P(ChildProcessTest, DeathBySignal) {
  Seen seen;
  auto child = Spawn(Argv({kScripts + "kill_self.sh"}), seen);
  ASSERT_NE(child, nullptr);
  ASSERT_TRUE(RunUntil([&] { return seen.exit.has_value(); }));
  EXPECT_EQ(seen.exit->term_signal, SIGKILL);
}

TEST_P(ChildProcessTest, ExecFailureArrivesAsExitWithSpawnError) {
  const std::string no_shebang = dir_ + "/no_shebang";
  std::ofstream(no_shebang) << "echo hi\n";
  std::filesystem::permissions(no_shebang, std::filesystem::perms::owner_all);
  // libuv has no UV_ENOEXEC.
  for (const auto& [path, expected] :
       {std::pair{dir_ + "/missing", int{UV_ENOENT}}, std::pair{no_shebang, -ENOEXEC}}) {
    Seen seen;
    auto child = Spawn(Argv({path}), seen);
    ASSERT_NE(child, nullptr);
    ASSERT_TRUE(RunUntil([&] { return seen.exit.has_value(); })) << path;
    EXPECT_EQ(seen.exit->spawn_error, expected) << path;
    EXPECT_EQ(child->pid(), 0);
  }
}

TEST_P(ChildProcessTest, DestroyedWhileStartingStillKillsAndReaps) {
  for (int i = 0; i < 20; ++i) {
    Seen seen;
    auto child = Spawn(Argv({"/usr/bin/sleep", "300"}), seen);
    ASSERT_NE(child, nullptr);
    child.reset();  // most likely before a spawner thread got to it
    EXPECT_FALSE(seen.exit.has_value());
  }
  // The loop drains only once every child was started, killed and reaped.
  EXPECT_TRUE(RunUntilIdle());
}

TEST_P(ChildProcessTest, DestructorKillsTheGroupAndStillReaps) {
  Seen seen;
  ChildProcess::Options options = Argv({kScripts + "hang_with_child.sh"});
  options.env.push_back("PID_DIR=" + dir_);
  auto child = Spawn(options, seen);
  ASSERT_NE(child, nullptr);
  std::optional<pid_t> leader;
  std::optional<pid_t> background;
  ASSERT_TRUE(RunUntil([&] {
    leader = ReadPid(dir_ + "/leader");
    background = ReadPid(dir_ + "/child");
    return leader && background;
  }));
  EXPECT_EQ(getpgid(*background), *leader);
  child.reset();
  // No callback after the destructor; TearDown's drain proves the watch
  // closed, i.e. the leader was reaped.
  ASSERT_TRUE(RunUntilIdle());
  EXPECT_EQ(ProcessState(*leader), 0);
  // SIGKILLed with the group; it may take a moment to die (PID 1 here may
  // leave it a zombie: it is no child of ours).
  EXPECT_TRUE(RunUntil([&] {
    const char state = ProcessState(*background);
    return state == 0 || state == 'Z';
  }));
  EXPECT_FALSE(seen.exit.has_value());
  EXPECT_EQ(seen.ends, 0);
}

TEST_P(ChildProcessTest, DestroyedFromItsOwnExitCallback) {
  std::unique_ptr<ChildProcess> child;
  int exits = 0;
  ChildProcess::Callbacks c;
  c.on_exit = [&](ChildProcess::Exit) {
    ++exits;
    child.reset();
  };
  int error = 0;
  child = ChildProcess::Spawn(loop(), Argv({"/bin/true"}), std::move(c), &error);
  ASSERT_NE(child, nullptr);
  ASSERT_TRUE(RunUntilIdle());
  EXPECT_EQ(exits, 1);
  EXPECT_EQ(child, nullptr);
}

TEST_P(ChildProcessTest, DestroyedFromItsOwnOutputCallback) {
  std::unique_ptr<ChildProcess> child;
  int outputs = 0;
  ChildProcess::Callbacks c;
  c.on_output = [&](ChildProcess::Stream, std::string_view) {
    ++outputs;
    child.reset();
  };
  int error = 0;
  pid_t pid = 0;
  c.on_exit = [&](ChildProcess::Exit) { ADD_FAILURE() << "no callback after destruction"; };
  child = ChildProcess::Spawn(loop(), Argv({"/usr/bin/yes"}), std::move(c), &error);
  ASSERT_NE(child, nullptr);
  ASSERT_TRUE(RunUntil([&] {
    if (child) pid = child->pid();
    return child == nullptr;
  }));
  ASSERT_TRUE(RunUntilIdle());
  EXPECT_EQ(outputs, 1);
  if (pid != 0) {
    EXPECT_EQ(ProcessState(pid), 0);
  }
}

TEST_P(ChildProcessTest, OnlyTheGivenEnvironmentAndNoOtherDescriptor) {
  // Opened without close-on-exec, as careless code in another thread might.
  const int leaky = open("/etc/hostname", O_RDONLY);
  ASSERT_GE(leaky, 0);
  ASSERT_EQ(setenv("HX_CHILD_SECRET", "hunter2", 1), 0);
  Seen seen;
  ChildProcess::Options options = Argv({"/bin/sh", "-c", "env; ls /proc/self/fd"});
  options.working_dir = dir_;
  auto child = Spawn(options, seen);
  unsetenv("HX_CHILD_SECRET");
  close(leaky);
  ASSERT_NE(child, nullptr);
  ASSERT_TRUE(RunUntil([&] { return seen.exit && seen.ends == 2; }));
  EXPECT_EQ(seen.out.find("hunter2"), std::string::npos) << seen.out;
  EXPECT_NE(seen.out.find("PATH=/usr/bin:/bin\n"), std::string::npos) << seen.out;
  EXPECT_NE(seen.out.find("PWD=" + dir_ + "\n"), std::string::npos) << seen.out;
  // ls lists 0, 1, 2 and the one it opened for the listing.
  std::set<std::string> fds;
  std::istringstream in(seen.out);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.find_first_not_of("0123456789") == std::string::npos) {
      fds.insert(line);
    }
  }
  EXPECT_EQ(fds, (std::set<std::string>{"0", "1", "2", "3"})) << seen.out;
}

TEST_P(ChildProcessTest, SignalsAreResetToDefaults) {
  // The test process ignores SIGTERM; the child must not inherit that.
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction old {};
  ASSERT_EQ(sigaction(SIGTERM, &ignore, &old), 0);
  Seen seen;
  auto child = Spawn(Argv({"/bin/sh", "-c", "kill -TERM $$; sleep 5"}), seen);
  sigaction(SIGTERM, &old, nullptr);
  ASSERT_NE(child, nullptr);
  ASSERT_TRUE(RunUntil([&] { return seen.exit.has_value(); }));
  EXPECT_EQ(seen.exit->term_signal, SIGTERM);
}

INSTANTIATE_TEST_SUITE_P(ExitWatch, ChildProcessTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Polling" : "Pidfd";
                         });

}  // namespace
}  // namespace hx
