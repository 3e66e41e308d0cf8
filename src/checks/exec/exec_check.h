#pragma once
// The `exec:` check type: runs a Nagios / monitoring-plugins compatible
// program and maps its exit status to health.
//
//   exec:
//     command: [/usr/lib/nagios/plugins/check_load, -w, "5,4,3", -c, "10,8,6"]
//     env: {LC_ALL: C}         # optional, added to a minimal environment
//     max_output_bytes: 64KiB  # optional, stdout kept per attempt
//     working_dir: /           # optional
//
// Exit status 0 is healthy, 1 degraded, 2 unhealthy; 3 (UNKNOWN), any other
// status and death by a signal are unhealthy. The detail is the first line
// of the output before '|'; perfdata becomes `plugin_value` observations
// (label `metric`, value in base units; see perfdata.h).
//
// Process hygiene: no shell; argv[0] must be an absolute path; the child
// gets stdin from /dev/null, only PATH plus the configured `env` (never the
// daemon's environment, which may hold secrets), no other descriptor of the
// daemon (see ExecCheck), and runs in its own session and process group,
// which is killed as a whole (SIGKILL) when the attempt ends.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "checks/check.h"
#include "checks/common/attempt.h"

namespace hx {

/// The parsed `exec:` mapping. Plain data; immutable once parsed, safe to share.
struct ExecCheckSettings {
  static constexpr uint64_t kDefaultMaxOutputBytes = 64 * 1024;
  static constexpr uint64_t kMaxMaxOutputBytes = 16 * 1024 * 1024;

  /// argv; argv[0] is an absolute path to an executable regular file.
  std::vector<std::string> command;
  /// Added to (and may override) the minimal environment; values may be secret.
  std::map<std::string, std::string> env;
  uint64_t max_output_bytes = kDefaultMaxOutputBytes;
  std::string working_dir = "/";
};

/// The environment every command starts from.
inline constexpr const char* kExecDefaultPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The validated config of one exec check. Immutable; thread-safe.
class ExecCheckSpec final : public CheckSpec {
 public:
  explicit ExecCheckSpec(ExecCheckSettings settings);

  const ExecCheckSettings& settings() const { return *settings_; }

  std::unique_ptr<Check> CreateCheck(const CheckContext& context) const override;
  /// argv[0] only: arguments may carry secrets (e.g. a password option).
  std::string Target() const override;

 private:
  std::shared_ptr<const ExecCheckSettings> settings_;
};

/// Reads an `exec:` mapping (calls reader.Finish()); nullptr on any error.
/// Checks argv[0] and working_dir on the file system (at load time).
std::shared_ptr<const ExecCheckSpec> ParseExecCheckSpec(config::MapReader& reader);

/// Runs the command once per attempt as a ChildProcess (posix_spawn: the
/// daemon is not copied; the child leads a new session and process group and
/// gets no descriptor but 0, 1 and 2). Reads stdout up to max_output_bytes
/// and stderr up to kMaxStderrBytes, draining and discarding the rest so the
/// child never blocks on a full pipe.
///
/// The attempt ends when the child has exited and both pipes reached EOF. A
/// descendant that keeps the pipes open cannot hold it up: kExitGrace after
/// the child's exit the process group is killed and the attempt ends. The
/// group is SIGKILLed whenever an attempt ends, so no leftover of the group
/// keeps running (a descendant that leaves the group with setsid() escapes;
/// see docs/checks/exec.md).
///
/// Each attempt is an Attempt (checks/common/attempt.h), so Cancel() and the
/// destructor return at once (after SIGKILLing the group) and no callback
/// reaches the caller afterwards; the child is reaped by ChildProcess in the
/// background. Loop-thread only; not thread-safe.
class ExecCheck final : public AsyncCheck {
 public:
  /// How long to wait for EOF after the child exited.
  static constexpr std::chrono::milliseconds kExitGrace{100};
  /// stderr only supplies the detail when stdout is empty.
  static constexpr size_t kMaxStderrBytes = 4096;
  /// Longest detail, in bytes, before "...".
  static constexpr size_t kMaxDetailBytes = 200;

  ExecCheck(IoContext& io, std::shared_ptr<const ExecCheckSettings> settings);
  ExecCheck(const ExecCheck&) = delete;
  ExecCheck& operator=(const ExecCheck&) = delete;

 private:
  class ExecAttempt;

  std::unique_ptr<Attempt> NewAttempt() override;

  IoContext& io_;
  std::shared_ptr<const ExecCheckSettings> settings_;
};

/// The `exec` check type, for the registry.
CheckType ExecCheckType();

}  // namespace hx
