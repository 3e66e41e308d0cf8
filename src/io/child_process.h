#pragma once
// Runs a program as a child of the daemon without copying the daemon, and
// watches it (its exit and its output) on the libuv loop.
//
// Why not uv_spawn: libuv 1.44 fork()s, and a fork of a large multi-threaded
// daemon copies its page tables, shoots down every CPU's TLB and leaves the
// parent to take copy-on-write faults on its next writes: 11-14 ms of daemon
// CPU per spawn, during which the loop thread runs no other check (issue 17).
// posix_spawn (glibc: clone(CLONE_VM | CLONE_VFORK)) shares the address space
// until the exec, so its cost does not grow with the daemon.
//
// posix_spawn still blocks its calling thread until the child has exec'd,
// and the new task has to get a CPU for that: 0.1 ms on an idle machine,
// 5-15 ms on a loaded one, which at 200 spawns/s would again fill the loop
// thread. So the call runs on one of kSpawnerThreads dedicated threads (not
// the libuv pool, where a statfs of a hung NFS mount can hold every thread),
// and the result comes back to the loop through a uv_async_t. The loop
// thread only creates two pipes and queues the request.
//
// The child:
//   - runs argv[0] (an absolute path; no PATH search, no shell: a script needs
//     its #! line) with argv and exactly `env`, in `working_dir`;
//   - leads a new session and so a new process group (POSIX_SPAWN_SETSID);
//   - has stdin from /dev/null and stdout / stderr into two pipes that are
//     read on the loop;
//   - gets no other descriptor: everything from 3 up is closed in the child
//     just before the exec (closefrom), so descriptors other threads open
//     without O_CLOEXEC cannot leak either;
//   - starts with every signal at its default disposition and an empty mask.
//
// Exit watch: a pidfd (pidfd_open, Linux 5.3+) polled on the loop, so the
// child is reaped (waitpid) in the loop turn its exit becomes visible. On
// kernels without pidfd_open the child is polled with waitpid(WNOHANG) every
// kExitPollInterval on a loop timer instead (a zombie then lives at most that
// long).
//
// Lifetime: the loop handles live in a state object that outlives the
// ChildProcess until the child has been reaped and every handle is closed
// (as ThreadPoolJob does for its request). Destroying the ChildProcess
// SIGKILLs the child's process group, stops reading, and calls no callback
// afterwards; the child is still reaped in the background, and the loop keeps
// running (uv_run returns) only once that happened. It may be destroyed from
// inside its own callbacks.
//
// Loop-thread only: Spawn(), every method and the destructor must be called
// on the loop's thread, and the callbacks run there. Not thread-safe.

#include <sys/types.h>
#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hx {

class ChildProcess {
 public:
  enum class Stream { kStdout = 0, kStderr = 1 };

  struct Options {
    /// argv[0] is the absolute path of the program.
    std::vector<std::string> argv;
    /// The whole environment, "NAME=value" each; nothing is inherited.
    std::vector<std::string> env;
    std::string working_dir = "/";
  };

  /// How the child ended: exit_status when term_signal is 0, unless
  /// spawn_error is set (the program could not be started: a libuv error
  /// code, < 0, -errno on Linux, e.g. UV_ENOENT or UV_EACCES from the exec;
  /// -ENOEXEC, which has no UV_ name, for a file that is no program).
  struct Exit {
    int exit_status = 0;
    int term_signal = 0;
    int spawn_error = 0;
  };

  /// Every callback runs on the loop thread, never from inside Spawn().
  struct Callbacks {
    /// Bytes the child wrote; only valid during the call.
    std::function<void(Stream, std::string_view)> on_output;
    /// The stream reached end of file (or a read error ended it).
    std::function<void(Stream)> on_output_end;
    /// The child has exited and has been reaped, or could not be started
    /// (Exit::spawn_error; output ends may come before it then). Output may
    /// still follow when a descendant holds the pipes open.
    std::function<void(Exit)> on_exit;
  };

  static constexpr std::chrono::milliseconds kExitPollInterval{10};
  /// Threads that call posix_spawn, shared by every loop of the process and
  /// started on first use.
  static constexpr int kSpawnerThreads = 4;

  /// Queues the start of the child. Returns nullptr and sets *error (a libuv
  /// error code, e.g. UV_EMFILE) when not even the pipes could be made;
  /// failures of the start itself arrive as on_exit with spawn_error.
  static std::unique_ptr<ChildProcess> Spawn(uv_loop_t* loop, Options options, Callbacks callbacks,
                                             int* error);

  /// KillGroup(), stops reading; no callback afterwards. See above.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  /// The child's pid (which is also its process group's id) once started;
  /// 0 before that and when it could not be started.
  pid_t pid() const;

  /// SIGKILLs the child's process group: the child (while not yet reaped)
  /// and every descendant that did not leave the group (setsid escapes). If
  /// the child is still being started, as soon as it has been.
  void KillGroup();

  /// For tests: watch exits by polling waitpid, as on kernels without
  /// pidfd_open (applies to children spawned afterwards).
  static void UsePollingExitWatchForTesting(bool polling);

 private:
  struct State;
  class Spawner;
  explicit ChildProcess(State* state) : state_(state) {}

  State* state_;  // frees itself once detached, reaped and closed
};

}  // namespace hx
