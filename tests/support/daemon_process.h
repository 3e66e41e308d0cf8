#pragma once
// Runs the real health_exporter binary as a child process for end-to-end
// tests: writes the config into a temp dir, starts the daemon on
// 127.0.0.1:0, learns the bound port from its "started" log line, and stops it
// with a signal. Not thread-safe; one test thread drives it.

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hx {

// Whether this test binary, and so the daemon built with it, is sanitized
// (ASan or TSan: everything runs several times slower).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif

/// Result of a blocking HTTP request made by a test.
struct HttpReply {
  long status = 0;  ///< 0 when the request failed
  std::string body;
  std::map<std::string, std::string> headers;  ///< lower-case names
  std::string error;                           ///< curl's message when status == 0
};

/// A plain blocking GET (or other method) with libcurl; `accept_gzip` asks for
/// gzip and returns the decoded body, with content-encoding in headers.
HttpReply HttpRequest(const std::string& url, const std::string& method = "GET",
                      bool accept_gzip = false);

/// POSTs `body` with an Authorization header; returns the status (0 on failure).
long HttpPost(const std::string& url, const std::string& authorization, const std::string& body);

/// The sanitizer report (ASan, LSan, UBSan, TSan) in a process's output, or
/// "" when there is none. Sanitized builds (scripts/sanitize.sh) also
/// instrument the daemon the tests spawn; its reports go to its own stderr,
/// so DaemonProcess and RunCommand look for them and fail the running test.
std::string FindSanitizerReport(const std::string& output);

/// Runs `argv` to completion, returning its exit code and combined output.
/// Adds a test failure when the output holds a sanitizer report.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& stdin_data = "");

/// Creates and removes a temporary directory.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  /// Writes `content` to path()/name and returns the full path.
  std::string Write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

class DaemonProcess {
 public:
  /// Starts HX_BINARY with the given config text and extra flags, plus
  /// environment additions. A --config.file among the flags is used instead
  /// of the written config. Returns once it logged "started" (or exited).
  /// The destructor kills a daemon still running (SIGTERM first in sanitized
  /// builds, so the leak check at exit runs) and adds a test failure when the
  /// daemon's output holds a sanitizer report.
  DaemonProcess(const std::string& config_yaml, std::vector<std::string> extra_args = {},
                std::map<std::string, std::string> env = {});
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  /// True when the daemon logged its start and is still running.
  bool started() const { return port_ != 0; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  /// Sends `signal` (e.g. SIGHUP) without waiting for anything.
  void Signal(int signal) const;
  std::string Url(const std::string& path) const;
  const std::string& config_path() const { return config_path_; }
  /// The --storage.path the daemon was given by default (<its temp dir>/data;
  /// another one when the test passed --storage.path itself).
  std::string storage_path() const { return dir_.path() + "/data"; }

  /// Everything the daemon wrote to stderr and stdout so far.
  std::string Logs() const;

  /// Sends `signal` and waits up to `timeout` for exit; returns the exit code
  /// (-1 if it did not exit in time, then it is killed).
  int Stop(int signal, std::chrono::milliseconds timeout, std::chrono::milliseconds* took = nullptr);

  /// Waits for the process to exit by itself; returns its exit code or -1.
  int WaitExit(std::chrono::milliseconds timeout);

  /// Polls GET `path` until `predicate(reply)` holds or `timeout` passes;
  /// returns the last reply.
  template <typename Predicate>
  HttpReply PollUntil(const std::string& path, Predicate predicate,
                      std::chrono::milliseconds timeout) const;

 private:
  TempDir dir_;
  std::string config_path_;
  std::string log_path_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::optional<int> exit_code_;
};

template <typename Predicate>
HttpReply DaemonProcess::PollUntil(const std::string& path, Predicate predicate,
                                   std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  HttpReply reply;
  do {
    reply = HttpRequest(Url(path));
    if (predicate(reply)) return reply;
    struct timespec ts {0, 20 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  } while (std::chrono::steady_clock::now() < deadline);
  return reply;
}

}  // namespace hx
