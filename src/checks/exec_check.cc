#include "checks/exec_check.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "checks/perfdata.h"
#include "io/io_context.h"
#include "util/duration.h"
#include "util/quote.h"

namespace hx {
namespace {


// "/usr/bin/foo -x y" -> "a list, e.g. [/usr/bin/foo, -x, y]".
std::string SuggestList(const std::string& line) {
  std::string out = "a list, e.g. [";
  size_t i = 0;
  bool first = true;
  while (i < line.size()) {
    const size_t start = line.find_first_not_of(" \t", i);
    if (start == std::string::npos) break;
    const size_t end = std::min(line.find_first_of(" \t", start), line.size());
    if (!first) out += ", ";
    out += line.substr(start, end - start);
    first = false;
    i = end;
  }
  return out + "]";
}

// Checks that `path` names something of the wanted kind; an error message
// naming the path otherwise, "" when fine. Runs at config load, not on the
// loop.
std::string CheckExecutable(const std::string& path) {
  if (path.empty() || path.front() != '/') {
    return "must be an absolute path, got " + Quote(path) +
           " (the command runs without a shell or PATH search)";
  }
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return "cannot use " + Quote(path) + ": " + strerror(errno);
  if (!S_ISREG(st.st_mode)) return Quote(path) + " is not a regular file";
  if (access(path.c_str(), X_OK) != 0) return Quote(path) + " is not executable";
  return "";
}

std::string CheckDirectory(const std::string& path) {
  if (path.empty() || path.front() != '/') {
    return "must be an absolute path, got " + Quote(path);
  }
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return "cannot use " + Quote(path) + ": " + strerror(errno);
  if (!S_ISDIR(st.st_mode)) return Quote(path) + " is not a directory";
  return "";
}

// Marks every descriptor >= 3 close-on-exec so that uv_spawn's child starts
// with stdin/stdout/stderr only; see ExecCheck's comment.
void MarkDescriptorsCloseOnExec() {
  if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  // Kernels before 5.11 lack CLOSE_RANGE_CLOEXEC; /proc is memory-backed,
  // so walking it on the loop thread does not block on a disk.
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return;
  const int dir_fd = dirfd(dir);
  while (dirent* entry = readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd < 3 || fd == dir_fd) continue;
    const int flags = fcntl(static_cast<int>(fd), F_GETFD);
    if (flags >= 0 && (flags & FD_CLOEXEC) == 0) {
      fcntl(static_cast<int>(fd), F_SETFD, flags | FD_CLOEXEC);
    }
  }
  closedir(dir);
}

}  // namespace

ExecCheckSpec::ExecCheckSpec(ExecCheckSettings settings)
    : settings_(std::make_shared<const ExecCheckSettings>(std::move(settings))) {}

std::unique_ptr<Check> ExecCheckSpec::CreateCheck(IoContext& io) const {
  return std::make_unique<ExecCheck>(io, settings_);
}

std::string ExecCheckSpec::Target() const { return settings_->command.front(); }

std::shared_ptr<const ExecCheckSpec> ParseExecCheckSpec(config::MapReader& reader) {
  config::ParseContext& ctx = reader.context();
  ExecCheckSettings settings;

  if (reader.Require("command")) {
    if (auto command = reader.StringList("command")) {
      const YAML::Node node = reader.node()["command"];
      if (command->empty()) {
        reader.Error("command", "must not be empty: give the program and its arguments as a list");
      } else if (!node.IsSequence() && command->front().find_first_of(" \t") != std::string::npos &&
                 access(command->front().c_str(), X_OK) != 0) {
        // "command: /usr/bin/foo -x" reads like a shell line; nothing splits it.
        reader.Error("command", "is run without a shell: write the program and its arguments as " +
                                    SuggestList(command->front()));
      } else if (std::string error = CheckExecutable(command->front()); !error.empty()) {
        // Point at the program itself when the command is a list.
        if (node.IsSequence()) {
          ctx.Error(node[0], reader.PathOf("command") + "[0]", error);
        } else {
          reader.Error("command", error);
        }
      } else {
        settings.command = std::move(*command);
      }
    }
  }
  if (reader.Has("env")) {
    if (auto env = reader.StringMap("env")) {
      for (const auto& [name, value] : *env) {
        if (name.empty() || name.find('=') != std::string::npos) {
          reader.Error("env",
                       "variable name " + Quote(name) + " must not be empty or contain \"=\"");
        }
      }
      settings.env = std::move(*env);
    }
  }
  if (auto max_output = reader.ByteSize("max_output_bytes")) {
    if (*max_output < 1 || *max_output > ExecCheckSettings::kMaxMaxOutputBytes) {
      reader.Error("max_output_bytes", "must be from 1 byte to 16MiB");
    } else {
      settings.max_output_bytes = *max_output;
    }
  }
  if (auto working_dir = reader.String("working_dir")) {
    if (std::string error = CheckDirectory(*working_dir); !error.empty()) {
      reader.Error("working_dir", error);
    } else {
      settings.working_dir = std::move(*working_dir);
    }
  }
  if (!reader.Finish()) return nullptr;
  return std::make_shared<const ExecCheckSpec>(std::move(settings));
}

CheckType ExecCheckType() {
  return {"exec", &ParseExecCheckSpec};
}

// One attempt's libuv state: the process, its two output pipes and the grace
// timer, all members of this object. It frees itself once it is over
// (finished or cancelled) and every handle is closed; the process handle is
// closed only in its exit callback, so the object (and the handle libuv
// keeps in its list of children) outlives the child, which is always reaped.
class ExecCheck::Attempt {
 public:
  // read_buffer_ is left uninitialised on purpose: libuv fills it before any
  // byte is read, and zeroing 64 KiB for every attempt would be wasted work.
  // cppcheck-suppress uninitMemberVar
  Attempt(ExecCheck* owner, DoneCallback done)
      : owner_(owner),
        done_(std::move(done)),
        settings_(owner->settings_),
        loop_(owner->io_.loop()) {
    stdout_.attempt = this;
    stdout_.cap = settings_->max_output_bytes;
    stderr_.attempt = this;
    stderr_.cap = std::min<size_t>(settings_->max_output_bytes, kMaxStderrBytes);
  }

  void Begin() {
    uv_timer_init(loop_, &grace_timer_);
    grace_timer_.data = this;
    ++open_handles_;
    for (Stream* stream : {&stdout_, &stderr_}) {
      uv_pipe_init(loop_, &stream->pipe, 0);
      stream->pipe.data = stream;
      ++open_handles_;
    }

    std::vector<char*> args;
    for (const std::string& arg : settings_->command)
      args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    std::vector<std::string> env_strings;
    if (settings_->env.find("PATH") == settings_->env.end()) {
      env_strings.push_back(std::string("PATH=") + kExecDefaultPath);
    }
    for (const auto& [name, value] : settings_->env) {
      std::string& entry = env_strings.emplace_back(name);
      entry += '=';
      entry += value;
    }
    std::vector<char*> env;
    env.reserve(env_strings.size() + 1);
    for (std::string& entry : env_strings) env.push_back(entry.data());
    env.push_back(nullptr);

    uv_stdio_container_t stdio[3];
    stdio[0].flags = UV_IGNORE;  // libuv opens /dev/null for it
    stdio[1].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
    stdio[1].data.stream = reinterpret_cast<uv_stream_t*>(&stdout_.pipe);
    stdio[2].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
    stdio[2].data.stream = reinterpret_cast<uv_stream_t*>(&stderr_.pipe);

    uv_process_options_t options{};
    options.exit_cb = &Attempt::OnExit;
    options.file = args[0];
    options.args = args.data();
    options.env = env.data();
    options.cwd = settings_->working_dir.c_str();
    options.flags = UV_PROCESS_DETACHED;
    options.stdio_count = 3;
    options.stdio = stdio;

    MarkDescriptorsCloseOnExec();
    process_.data = this;
    ++open_handles_;  // uv_spawn initialises the handle even when it fails
    const int rc = uv_spawn(loop_, &process_, &options);
    if (rc < 0) {
      CloseHandle(reinterpret_cast<uv_handle_t*>(&process_));
      Finish(CheckResult::Unhealthy("cannot run " + Quote(settings_->command.front()) + ": " +
                                    uv_strerror(rc)));
      return;
    }
    // The child is running detached: it leads its own process group.
    process_group_ = process_.pid;
    for (Stream* stream : {&stdout_, &stderr_}) {
      const int read_rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&stream->pipe),
                                        &Attempt::OnAlloc, &Attempt::OnRead);
      if (read_rc < 0) CloseStream(*stream);
    }
  }

  void Cancel() {
    if (over_) return;
    over_ = true;
    owner_ = nullptr;
    done_ = nullptr;
    Release();
  }

  void DeleteIfDone() {
    if (over_ && open_handles_ == 0) delete this;
  }

 private:
  struct Stream {
    Attempt* attempt = nullptr;
    uv_pipe_t pipe{};
    std::string data;
    size_t cap = 0;
    bool open = true;  // not yet at EOF (or error) and not closed
  };

  static void OnAlloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
    Attempt* self = static_cast<Stream*>(handle->data)->attempt;
    *buf = uv_buf_init(self->read_buffer_, sizeof(self->read_buffer_));
  }

  static void OnRead(uv_stream_t* handle, ssize_t nread, const uv_buf_t* buf) {
    auto* stream = static_cast<Stream*>(handle->data);
    Attempt* self = stream->attempt;
    if (nread > 0) {
      // Beyond the cap the bytes are read and dropped: a child blocked on a
      // full pipe would never exit.
      const size_t room = stream->cap - std::min(stream->cap, stream->data.size());
      stream->data.append(buf->base, std::min(room, static_cast<size_t>(nread)));
    } else if (nread < 0) {
      // UV_EOF, or an error that ends the stream just the same.
      self->CloseStream(*stream);
      if (!self->over_ && self->exited_ && !self->AnyStreamOpen()) self->Complete();
    }
    self->DeleteIfDone();
  }

  static void OnExit(uv_process_t* process, int64_t exit_status, int term_signal) {
    auto* self = static_cast<Attempt*>(process->data);
    self->exited_ = true;
    self->exit_status_ = exit_status;
    self->term_signal_ = term_signal;
    self->CloseHandle(reinterpret_cast<uv_handle_t*>(&self->process_));
    if (!self->over_) {
      if (!self->AnyStreamOpen()) {
        self->Complete();
      } else {
        // A descendant may hold the pipes open; give the output a moment to
        // drain, then end it (OnGraceOver).
        const auto grace = std::chrono::duration_cast<std::chrono::milliseconds>(kExitGrace);
        uv_timer_start(&self->grace_timer_, &Attempt::OnGraceOver,
                       static_cast<uint64_t>(grace.count()), 0);
      }
    }
    self->DeleteIfDone();
  }

  static void OnGraceOver(uv_timer_t* timer) {
    auto* self = static_cast<Attempt*>(timer->data);
    if (!self->over_) self->Complete();
    self->DeleteIfDone();
  }

  bool AnyStreamOpen() const { return stdout_.open || stderr_.open; }

  // The child has exited (and the output ended or the grace passed).
  void Complete() {
    CheckResult result;
    const PluginOutput output = ParsePluginOutput(stdout_.data);
    if (term_signal_ != 0) {
      result.health = Health::kUnhealthy;
      result.detail = "killed by signal " + std::to_string(term_signal_);
    } else {
      switch (exit_status_) {
        case 0:
          result.health = Health::kHealthy;
          break;
        case 1:
          result.health = Health::kDegraded;
          break;
        default:  // 2 CRITICAL, 3 UNKNOWN, anything else: a broken plugin
          result.health = Health::kUnhealthy;
      }
      std::string text = ShortenForDetail(output.summary, kMaxDetailBytes);
      if (text.empty()) {
        // Plugins that fail to start (missing library, bad interpreter)
        // only say why on stderr.
        const std::string_view err = stderr_.data;
        text = ShortenForDetail(err.substr(0, err.find('\n')), kMaxDetailBytes);
      }
      const std::string status = "exit status " + std::to_string(exit_status_);
      if (text.empty()) {
        result.detail = status;
      } else if (exit_status_ < 0 || exit_status_ > 3) {
        result.detail = text + " (" + status + ")";
      } else {
        result.detail = std::move(text);
      }
    }
    for (const PerfDataItem& item : output.perfdata) {
      result.observations.push_back({"plugin_value", item.value, "metric", item.label});
    }
    Finish(std::move(result));
  }

  void Finish(CheckResult result) {
    if (over_) return;
    over_ = true;
    Release();
    if (owner_ != nullptr) owner_->attempt_ = nullptr;
    owner_ = nullptr;
    // The callback may destroy the check or start the next attempt; neither
    // touches this object, which DeleteIfDone() frees afterwards.
    DoneCallback done = std::move(done_);
    done_ = nullptr;
    if (done) done(std::move(result));
  }

  // Ends everything the attempt started except the process handle, which
  // closes in OnExit once the (now killed) child has been reaped.
  void Release() {
    KillProcessGroup();
    CloseStream(stdout_);
    CloseStream(stderr_);
    if (!timer_closed_) {
      timer_closed_ = true;
      CloseHandle(reinterpret_cast<uv_handle_t*>(&grace_timer_));
    }
  }

  void KillProcessGroup() {
    if (process_group_ <= 0) return;
    // The group outlives its reaped leader while any member is left, and
    // Linux does not reuse its number while it exists. Only once the group is
    // empty could a new session leader take the number, within the few
    // microseconds between reaping and this call; accepted as negligible.
    kill(-process_group_, SIGKILL);
    if (!exited_) kill(process_group_, SIGKILL);
    process_group_ = 0;
  }

  void CloseStream(Stream& stream) {
    if (!stream.open) return;
    stream.open = false;
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&stream.pipe));
    CloseHandle(reinterpret_cast<uv_handle_t*>(&stream.pipe));
  }

  void CloseHandle(uv_handle_t* handle) { uv_close(handle, &Attempt::OnClosed); }

  static void OnClosed(uv_handle_t* handle) {
    // Every handle's data leads back to the attempt.
    Attempt* self = handle->type == UV_NAMED_PIPE ? static_cast<Stream*>(handle->data)->attempt
                                                  : static_cast<Attempt*>(handle->data);
    --self->open_handles_;
    self->DeleteIfDone();
  }

  ExecCheck* owner_;  // null once the attempt is over
  DoneCallback done_;
  std::shared_ptr<const ExecCheckSettings> settings_;
  uv_loop_t* loop_;
  uv_process_t process_{};
  uv_timer_t grace_timer_{};
  Stream stdout_;
  Stream stderr_;
  int process_group_ = 0;  // pid of the child, which leads its group; 0 once killed
  int open_handles_ = 0;   // handles not yet through their close callback
  int64_t exit_status_ = 0;
  int term_signal_ = 0;
  bool exited_ = false;
  bool timer_closed_ = false;
  bool over_ = false;  // finished or cancelled: never report again
  char read_buffer_[64 * 1024];
};

ExecCheck::ExecCheck(IoContext& io, std::shared_ptr<const ExecCheckSettings> settings)
    : io_(io), settings_(std::move(settings)) {}

ExecCheck::~ExecCheck() { Cancel(); }

void ExecCheck::Start(DoneCallback done) {
  Cancel();  // the scheduler never overlaps attempts; be safe if someone does
  auto* attempt = new Attempt(this, std::move(done));
  attempt_ = attempt;
  // From here on `this` may be destroyed by the callback; only touch `attempt`.
  attempt->Begin();
  attempt->DeleteIfDone();
}

void ExecCheck::Cancel() {
  if (attempt_ == nullptr) return;
  Attempt* attempt = std::exchange(attempt_, nullptr);
  attempt->Cancel();
  attempt->DeleteIfDone();
}

}  // namespace hx
