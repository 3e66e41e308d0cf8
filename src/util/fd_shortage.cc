#include "util/fd_shortage.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>

#include "util/log.h"

namespace hx {
namespace {

constexpr auto kLogEvery = std::chrono::minutes(1);

int Positive(int error) { return error < 0 ? -error : error; }

const char* Name(int error) { return Positive(error) == ENFILE ? "ENFILE" : "EMFILE"; }

}  // namespace

bool IsFdShortage(int error) {
  // libuv's codes are the negated errno values on Linux.
  const int e = Positive(error);
  return e == EMFILE || e == ENFILE;
}

int ProbeFdShortage(int error) {
  if (IsFdShortage(error)) return Positive(error);
  // Any descriptor that is always open would do; the duplicate (the lowest
  // free number, as a socket would get) is closed at once. 2 is stderr,
  // where the log goes.
  const int fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 0);
  if (fd >= 0) {
    close(fd);
    return 0;
  }
  return IsFdShortage(errno) ? errno : 0;
}

int FdShortageInText(std::string_view text) {
  // "Too many open files in system" contains "Too many open files": ENFILE first.
  if (text.find(std::strerror(ENFILE)) != std::string_view::npos) return ENFILE;
  if (text.find(std::strerror(EMFILE)) != std::string_view::npos) return EMFILE;
  return 0;
}

std::string ReportFdShortage(int error, std::string_view what) {
  static std::mutex mutex;
  static std::chrono::steady_clock::time_point last_logged{};
  static bool logged_once = false;
  static uint64_t not_logged = 0;
  bool log_now = false;
  uint64_t skipped = 0;
  {
    std::lock_guard lock(mutex);
    const auto now = std::chrono::steady_clock::now();
    if (!logged_once || now - last_logged >= kLogEvery) {
      log_now = true;
      logged_once = true;
      last_logged = now;
      skipped = not_logged;
      not_logged = 0;
    } else {
      ++not_logged;
    }
  }
  const std::string name = Name(error);
  if (log_now) {
    rlimit limit{};
    std::string limit_text = "unknown";
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
      limit_text = limit.rlim_cur == RLIM_INFINITY ? "unlimited" : std::to_string(limit.rlim_cur);
    }
    log::Warn(
        name == "ENFILE"
            ? "the system is out of file descriptors: checks fail without trying their targets"
            : "health_exporter is out of file descriptors: checks fail without trying their "
              "targets; raise its limit (LimitNOFILE=) or look for a leak",
        {{"errno", name},
         {"max_fds", limit_text},
         {"failures_not_logged", std::to_string(skipped)}});
  }
  return "health_exporter out of file descriptors (" + name + "): " + std::string(what);
}

}  // namespace hx
