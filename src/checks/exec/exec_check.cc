#include "checks/exec/exec_check.h"

#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "checks/exec/perfdata.h"
#include "io/child_process.h"
#include "io/io_context.h"
#include "util/duration.h"
#include "util/fd_shortage.h"
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

}  // namespace

ExecCheckSpec::ExecCheckSpec(ExecCheckSettings settings)
    : settings_(std::make_shared<const ExecCheckSettings>(std::move(settings))) {}

std::unique_ptr<Check> ExecCheckSpec::CreateCheck(const CheckContext& context) const {
  return std::make_unique<ExecCheck>(context.io, settings_);
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

CheckType ExecCheckType() { return {"exec", &ParseExecCheckSpec}; }

// One attempt: the child (see ChildProcess), its output so far and the grace
// timer. Freed by the Attempt base once the timer is closed; the child is
// reaped by ChildProcess, also after that. ChildProcess makes no callback once
// destroyed (Release), so its callbacks are guarded as repeating ones.
class ExecCheck::ExecAttempt final : public Attempt {
 public:
  explicit ExecAttempt(const ExecCheck& owner)
      : settings_(owner.settings_), loop_(owner.io_.loop()) {
    stdout_.cap = settings_->max_output_bytes;
    stderr_.cap = std::min<size_t>(settings_->max_output_bytes, kMaxStderrBytes);
  }

 private:
  struct Output {
    std::string data;
    size_t cap = 0;
    bool open = true;  // not yet at end of file
  };

  void Begin() override {
    uv_timer_init(loop_, &grace_timer_);
    grace_timer_.data = this;

    ChildProcess::Options options;
    options.argv = settings_->command;
    if (settings_->env.find("PATH") == settings_->env.end()) {
      options.env.push_back(std::string("PATH=") + kExecDefaultPath);
    }
    for (const auto& [name, value] : settings_->env) {
      std::string& entry = options.env.emplace_back(name);
      entry += '=';
      entry += value;
    }
    options.working_dir = settings_->working_dir;

    ChildProcess::Callbacks callbacks;
    callbacks.on_output = [this](ChildProcess::Stream stream, std::string_view data) {
      // Beyond the cap the bytes are read and dropped: a child blocked on a
      // full pipe would never exit.
      Output& out = OutputOf(stream);
      const size_t room = out.cap - std::min(out.cap, out.data.size());
      out.data.append(data.data(), std::min(room, data.size()));
    };
    callbacks.on_output_end = [this](ChildProcess::Stream stream) {
      RepeatingCallbackGuard guard(this);
      OutputOf(stream).open = false;
      if (!guard.over() && exited_ && !AnyOutputOpen()) Complete();
    };
    callbacks.on_exit = [this](ChildProcess::Exit exit) {
      RepeatingCallbackGuard guard(this);
      if (exit.spawn_error != 0) {
        FailToStart(exit.spawn_error);
        return;
      }
      exited_ = true;
      exit_ = exit;
      if (!guard.over()) {
        if (!AnyOutputOpen()) {
          Complete();
        } else {
          // A descendant may hold the pipes open; give the output a moment
          // to drain, then end it (OnGraceOver).
          ExpectCallback();
          uv_timer_start(&grace_timer_, &ExecAttempt::OnGraceOver,
                         static_cast<uint64_t>(kExitGrace.count()), 0);
        }
      }
    };

    int error = 0;
    child_ = ChildProcess::Spawn(loop_, std::move(options), std::move(callbacks), &error);
    if (child_ == nullptr) FailToStart(error);
  }

  Output& OutputOf(ChildProcess::Stream stream) {
    return stream == ChildProcess::Stream::kStdout ? stdout_ : stderr_;
  }

  void FailToStart(int error) {
    // Pipes and the pidfd need descriptors: out of them, the daemon is to
    // blame, not the plugin.
    if (IsFdShortage(error)) {
      Finish(CheckResult::Unhealthy(
          FailureReason::kInternal,
          ReportFdShortage(error,
                           "cannot open pipes to run " + Quote(settings_->command.front()))));
      return;
    }
    // libuv has no name for ENOEXEC (uv_strerror would say "Unknown system
    // error -8").
    const std::string why =
        error == -ENOEXEC ? "exec format error (a script needs a #! line)" : uv_strerror(error);
    // A plugin that cannot be run is UNKNOWN, as Nagios reports it.
    Finish(CheckResult::Unhealthy(FailureReason::kPluginUnknown,
                                  "cannot run " + Quote(settings_->command.front()) + ": " + why));
  }

  static void OnGraceOver(uv_timer_t* timer) {
    auto* self = static_cast<ExecAttempt*>(timer->data);
    CallbackGuard guard(self);
    if (!guard.over()) self->Complete();
  }

  static void OnTimerClosed(uv_handle_t* handle) {
    auto* self = static_cast<ExecAttempt*>(handle->data);
    CallbackGuard guard(self);
  }

  bool AnyOutputOpen() const { return stdout_.open || stderr_.open; }

  // The child has exited (and the output ended or the grace passed).
  void Complete() {
    CheckResult result;
    const PluginOutput output = ParsePluginOutput(stdout_.data);
    if (exit_.term_signal != 0) {
      result.health = Health::kUnhealthy;
      result.reason = FailureReason::kPluginUnknown;
      result.detail = "killed by signal " + std::to_string(exit_.term_signal);
    } else {
      const int status = exit_.exit_status;
      switch (status) {
        case 0:
          result.health = Health::kHealthy;
          break;
        case 1:
          result.health = Health::kDegraded;
          result.reason = FailureReason::kPluginWarning;
          break;
        case 2:
          result.health = Health::kUnhealthy;
          result.reason = FailureReason::kPluginCritical;
          break;
        default:  // 3 UNKNOWN, anything else: a broken plugin
          result.health = Health::kUnhealthy;
          result.reason = FailureReason::kPluginUnknown;
      }
      std::string text = ShortenForDetail(output.summary, kMaxDetailBytes);
      if (text.empty()) {
        // Plugins that fail to start (missing library, bad interpreter)
        // only say why on stderr.
        const std::string_view err = stderr_.data;
        text = ShortenForDetail(err.substr(0, err.find('\n')), kMaxDetailBytes);
      }
      const std::string status_text = "exit status " + std::to_string(status);
      if (text.empty()) {
        result.detail = status_text;
      } else if (status < 0 || status > 3) {
        result.detail = text + " (" + status_text + ")";
      } else {
        result.detail = std::move(text);
      }
    }
    for (const PerfDataItem& item : output.perfdata) {
      result.observations.emplace_back(ObservationId::kPluginValue, item.value, item.label);
    }
    Finish(std::move(result));
  }

  // Ends everything the attempt started: destroying the child SIGKILLs its
  // process group and stops reading (it is reaped in the background).
  void Release() override {
    child_.reset();
    // Closing stops the grace timer: its callback will not come.
    if (uv_is_active(reinterpret_cast<uv_handle_t*>(&grace_timer_)) != 0) ForgetCallback();
    ExpectCallback();
    uv_close(reinterpret_cast<uv_handle_t*>(&grace_timer_), &ExecAttempt::OnTimerClosed);
  }

  std::shared_ptr<const ExecCheckSettings> settings_;
  uv_loop_t* loop_;
  std::unique_ptr<ChildProcess> child_;
  uv_timer_t grace_timer_{};
  Output stdout_;
  Output stderr_;
  ChildProcess::Exit exit_;
  bool exited_ = false;
};

ExecCheck::ExecCheck(IoContext& io, std::shared_ptr<const ExecCheckSettings> settings)
    : io_(io), settings_(std::move(settings)) {}

std::unique_ptr<Attempt> ExecCheck::NewAttempt() { return std::make_unique<ExecAttempt>(*this); }

}  // namespace hx
