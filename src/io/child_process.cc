#include "io/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "util/log.h"

namespace hx {
namespace {

std::atomic<bool> g_polling_for_testing{false};

// Output is handed to on_output during the read callback and never kept, so
// one buffer per loop thread serves every child (libuv calls the alloc and
// the read callback back to back). Allocated on first use: a thread_local
// array would be set up (and zeroed) in every thread of the daemon.
char* ReadBuffer(size_t* size) {
  static constexpr size_t kSize = 64 * 1024;
  thread_local std::vector<char> buffer;
  if (buffer.empty()) buffer.resize(kSize);
  *size = buffer.size();
  return buffer.data();
}

int PidfdOpen(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));  // O_CLOEXEC always
#else
  errno = ENOSYS;
  return -1;
#endif
}

// posix_spawn's attributes and file actions, destroyed with the object.
class SpawnSetup {
 public:
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions_);
    posix_spawnattr_init(&attr_);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions_);
    posix_spawnattr_destroy(&attr_);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;

  // 0 or an errno value (only ENOMEM in practice).
  int Prepare(int stdout_fd, int stderr_fd, const std::string& working_dir) {
    int rc = posix_spawn_file_actions_addopen(&actions_, 0, "/dev/null", O_RDONLY, 0);
    // dup2 onto 1 and 2 clears close-on-exec on the copies; the pipe ends
    // themselves (O_CLOEXEC, >= 3) go with closefrom.
    if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions_, stdout_fd, 1);
    if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions_, stderr_fd, 2);
    if (rc == 0) rc = posix_spawn_file_actions_addchdir_np(&actions_, working_dir.c_str());
    if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&actions_, 3);
    sigset_t none;
    sigset_t all;
    sigemptyset(&none);
    sigfillset(&all);
    if (rc == 0) rc = posix_spawnattr_setsigmask(&attr_, &none);
    if (rc == 0) rc = posix_spawnattr_setsigdefault(&attr_, &all);
    if (rc == 0) {
      rc = posix_spawnattr_setflags(
          &attr_, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    }
    return rc;
  }

  const posix_spawn_file_actions_t* actions() const { return &actions_; }
  const posix_spawnattr_t* attr() const { return &attr_; }

 private:
  posix_spawn_file_actions_t actions_;
  posix_spawnattr_t attr_;
};

}  // namespace

struct ChildProcess::State {
  struct Pipe {
    State* state = nullptr;
    Stream stream = Stream::kStdout;
    uv_pipe_t handle{};
    bool open = false;  // reading: not yet at end of file, not closed
  };

  State(uv_loop_t* l, Options o, Callbacks c)
      : loop(l), options(std::move(o)), callbacks(std::move(c)) {
    pipes[0].state = pipes[1].state = this;
    pipes[0].stream = Stream::kStdout;
    pipes[1].stream = Stream::kStderr;
  }

  // On a spawner thread: starts the child, closes the pipes' write ends and
  // hands the result to the loop. Touches nothing but the request fields.
  void RunSpawn() {
    std::vector<char*> argv;
    argv.reserve(options.argv.size() + 1);
    for (const std::string& arg : options.argv) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    envp.reserve(options.env.size() + 1);
    for (const std::string& entry : options.env) envp.push_back(const_cast<char*>(entry.c_str()));
    envp.push_back(nullptr);
    pid_t pid_out = 0;
    int rc = 0;
    {
      SpawnSetup setup;
      rc = setup.Prepare(write_fds[0], write_fds[1], options.working_dir);
      // glibc reports a failed exec (ENOENT, EACCES, ENOEXEC) here and has
      // already reaped that child.
      if (rc == 0) {
        rc =
            posix_spawn(&pid_out, argv[0], setup.actions(), setup.attr(), argv.data(), envp.data());
      }
    }
    close(write_fds[0]);
    close(write_fds[1]);
    {
      std::lock_guard lock(handoff);
      spawned_pid = rc == 0 ? pid_out : 0;
      spawn_error = rc == 0 ? 0 : uv_translate_sys_error(rc);
    }
    // The loop may free this object once the callback has run; libuv makes
    // that wait until uv_async_send has returned.
    uv_async_send(&started);
  }

  // On the loop thread, when RunSpawn() is done.
  static void OnStarted(uv_async_t* handle) {
    State* self = static_cast<State*>(handle->data);
    uv_close(reinterpret_cast<uv_handle_t*>(&self->started), &OnClosed);
    self->start_done = true;
    pid_t spawned_pid = 0;
    int spawn_error = 0;
    {
      // After this, the spawner thread is done with `options` too.
      std::lock_guard lock(self->handoff);
      spawned_pid = self->spawned_pid;
      spawn_error = self->spawn_error;
    }
    self->options = Options{};  // argv and env may hold secrets; not needed now
    if (spawn_error != 0) {
      self->reaped = true;  // nothing to reap
      self->ClosePipe(self->pipes[0]);
      self->ClosePipe(self->pipes[1]);
      if (self->attached && self->callbacks.on_exit) {
        Exit exit;
        exit.spawn_error = spawn_error;
        ++self->depth;
        self->callbacks.on_exit(exit);
        --self->depth;
      }
      self->MaybeFree();
      return;
    }
    self->pid = spawned_pid;
    self->StartExitWatch();
    if (self->kill_when_started) self->KillGroup();
  }

  void KillGroup() {
    if (pid == 0) {
      if (!start_done) kill_when_started = true;  // else it never started
      return;
    }
    if (group_killed_after_reap) return;
    // The child leads its session and group, so the group's id is its pid.
    // The group outlives its reaped leader while any member is left, and
    // Linux does not reuse the number while it exists. Only once the group
    // is empty could a new session leader take the number, within the
    // moment between reaping and this call; accepted as negligible, and done
    // at most once after the reaping.
    kill(-pid, SIGKILL);
    if (reaped) {
      group_killed_after_reap = true;
    } else {
      kill(pid, SIGKILL);  // unreaped, so the pid is still ours
    }
  }

  // 0 or a libuv error; the descriptor belongs to the handle either way.
  int OpenPipe(Pipe& pipe, int fd) {
    uv_pipe_init(loop, &pipe.handle, 0);
    pipe.handle.data = &pipe;
    ++open_handles;
    pipe.open = true;
    int rc = uv_pipe_open(&pipe.handle, fd);
    if (rc < 0) {
      close(fd);
    } else {
      rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&pipe.handle), &OnAlloc, &OnRead);
    }
    if (rc < 0) ClosePipe(pipe);
    return rc;
  }

  void ClosePipe(Pipe& pipe) {
    if (!pipe.open) return;
    pipe.open = false;
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&pipe.handle));
    uv_close(reinterpret_cast<uv_handle_t*>(&pipe.handle), &OnClosed);
  }

  void StartExitWatch() {
    if (!g_polling_for_testing) pidfd = PidfdOpen(pid);
    if (pidfd >= 0) {
      if (uv_poll_init(loop, &exit_poll, pidfd) == 0) {
        exit_poll.data = this;
        ++open_handles;
        uv_poll_start(&exit_poll, UV_READABLE, &OnPidfdReadable);
        return;
      }
      close(pidfd);
      pidfd = -1;
    } else if (!g_polling_for_testing) {
      static std::atomic<bool> logged{false};
      if (!logged.exchange(true)) {
        log::Info("pidfd_open is not available (Linux before 5.3?): child exits are polled",
                  {{"every", std::to_string(kExitPollInterval.count()) + "ms"},
                   {"error", uv_strerror(uv_translate_sys_error(errno))}});
      }
    }
    uv_timer_init(loop, &exit_timer);
    exit_timer.data = this;
    ++open_handles;
    polling = true;
    const auto every = static_cast<uint64_t>(kExitPollInterval.count());
    uv_timer_start(&exit_timer, &OnPollTimer, every, every);
  }

  void TryReap() {
    if (reaped) return;
    int status = 0;
    const pid_t rc = waitpid(pid, &status, WNOHANG);
    if (rc == 0 || (rc < 0 && errno == EINTR)) return;  // not yet; the watch fires again
    Exit exit;
    if (rc == pid && WIFSIGNALED(status)) {
      exit.term_signal = WTERMSIG(status);
    } else if (rc == pid && WIFEXITED(status)) {
      exit.exit_status = WEXITSTATUS(status);
    } else {
      // ECHILD: someone else reaped it (SIGCHLD ignored?); the status is lost.
      exit.exit_status = -1;
    }
    reaped = true;
    if (polling) {
      uv_close(reinterpret_cast<uv_handle_t*>(&exit_timer), &OnClosed);
    } else {
      uv_poll_stop(&exit_poll);
      uv_close(reinterpret_cast<uv_handle_t*>(&exit_poll), &OnClosed);
    }
    if (attached && callbacks.on_exit) {
      ++depth;
      callbacks.on_exit(exit);
      --depth;
    }
    MaybeFree();
  }

  void MaybeFree() {
    if (!attached && reaped && open_handles == 0 && depth == 0) delete this;
  }

  static void OnAlloc(uv_handle_t*, size_t, uv_buf_t* buf) {
    size_t size = 0;
    char* base = ReadBuffer(&size);
    *buf = uv_buf_init(base, static_cast<unsigned>(size));
  }

  static void OnRead(uv_stream_t* handle, ssize_t nread, const uv_buf_t* buf) {
    auto* pipe = static_cast<Pipe*>(handle->data);
    State* self = pipe->state;
    ++self->depth;
    if (nread > 0) {
      if (self->attached && self->callbacks.on_output) {
        self->callbacks.on_output(pipe->stream,
                                  std::string_view(buf->base, static_cast<size_t>(nread)));
      }
    } else if (nread < 0) {
      // UV_EOF, or an error that ends the stream just the same.
      self->ClosePipe(*pipe);
      if (self->attached && self->callbacks.on_output_end) {
        self->callbacks.on_output_end(pipe->stream);
      }
    }
    --self->depth;
    self->MaybeFree();
  }

  static void OnPidfdReadable(uv_poll_t* handle, int, int) {
    static_cast<State*>(handle->data)->TryReap();
  }

  static void OnPollTimer(uv_timer_t* handle) { static_cast<State*>(handle->data)->TryReap(); }

  static void OnClosed(uv_handle_t* handle) {
    State* self = handle->type == UV_NAMED_PIPE
                      ? static_cast<Pipe*>(handle->data)->state
                      : static_cast<State*>(handle->data);  // poll, timer, async
    if (handle->type == UV_POLL && self->pidfd >= 0) {
      close(self->pidfd);
      self->pidfd = -1;
    }
    --self->open_handles;
    self->MaybeFree();
  }

  uv_loop_t* loop;
  Options options;  // for the spawner thread; cleared once started
  Callbacks callbacks;
  int write_fds[2] = {-1, -1};  // the pipes' child ends, closed by RunSpawn()
  uv_async_t started{};         // RunSpawn() -> OnStarted()
  // The spawner's results, handed to the loop under `handoff`. uv_async_send
  // orders them too, but inside uninstrumented libuv, where ThreadSanitizer
  // cannot see it (it reported the spawner's reads of `options` racing with
  // OnStarted() clearing them); the lock makes the order visible.
  std::mutex handoff;
  pid_t spawned_pid = 0;  // under `handoff`
  int spawn_error = 0;    // under `handoff`
  pid_t pid = 0;                // 0 until started (loop thread)
  bool start_done = false;      // OnStarted() ran (loop thread)
  bool kill_when_started = false;
  Pipe pipes[2];
  uv_poll_t exit_poll{};
  uv_timer_t exit_timer{};
  int pidfd = -1;
  int open_handles = 0;  // handles not yet through their close callback
  int depth = 0;         // callbacks running: never free under them
  bool polling = false;  // exit_timer instead of exit_poll
  bool reaped = false;
  bool attached = true;  // the ChildProcess exists: callbacks wanted
  bool group_killed_after_reap = false;
};

// The threads that call posix_spawn; see the header. Created on first use
// and never destroyed (they outlive static destructors blocked on the queue).
class ChildProcess::Spawner {
 public:
  static Spawner& Get() {
    static Spawner* spawner = new Spawner();
    return *spawner;
  }

  void Submit(State* state) {
    {
      std::lock_guard lock(mu_);
      queue_.push_back(state);
    }
    cv_.notify_one();
  }

 private:
  Spawner() {
    // Signals are for the loop thread (libuv's handlers); none lands here.
    sigset_t all;
    sigset_t old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (int i = 0; i < kSpawnerThreads; ++i) std::thread([this] { Run(); }).detach();
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }

  void Run() {
    for (;;) {
      State* state = nullptr;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return !queue_.empty(); });
        state = queue_.front();
        queue_.pop_front();
      }
      state->RunSpawn();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<State*> queue_;
};

std::unique_ptr<ChildProcess> ChildProcess::Spawn(uv_loop_t* loop, Options options,
                                                  Callbacks callbacks, int* error) {
  *error = 0;
  if (options.argv.empty()) {
    *error = UV_EINVAL;
    return nullptr;
  }
  int out[2];
  int err[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    *error = uv_translate_sys_error(errno);
    return nullptr;
  }
  if (pipe2(err, O_CLOEXEC) != 0) {
    *error = uv_translate_sys_error(errno);
    close(out[0]);
    close(out[1]);
    return nullptr;
  }
  auto* state = new State(loop, std::move(options), std::move(callbacks));
  // The loop's first async handle opens an eventfd, which can fail (EMFILE).
  if (const int rc = uv_async_init(loop, &state->started, &State::OnStarted); rc < 0) {
    for (int fd : {out[0], out[1], err[0], err[1]}) close(fd);
    delete state;
    *error = rc;
    return nullptr;
  }
  state->write_fds[0] = out[1];
  state->write_fds[1] = err[1];
  state->started.data = state;
  ++state->open_handles;
  // From here on the destructor kills, closes and reaps whatever happens.
  std::unique_ptr<ChildProcess> child(new ChildProcess(state));
  // The read ends see EOF only once the spawner closed the write ends.
  state->OpenPipe(state->pipes[0], out[0]);
  state->OpenPipe(state->pipes[1], err[0]);
  Spawner::Get().Submit(state);
  return child;
}

ChildProcess::~ChildProcess() {
  KillGroup();
  state_->attached = false;
  state_->ClosePipe(state_->pipes[0]);
  state_->ClosePipe(state_->pipes[1]);
  state_->MaybeFree();
}

pid_t ChildProcess::pid() const { return state_->pid; }

void ChildProcess::KillGroup() { state_->KillGroup(); }

void ChildProcess::UsePollingExitWatchForTesting(bool polling) { g_polling_for_testing = polling; }

}  // namespace hx
