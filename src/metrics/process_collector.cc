#include "metrics/process_collector.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>

#include "metrics/metric_names.h"

namespace hx {
namespace {

std::optional<std::string> ReadFile(const char* path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The fields of /proc/self/stat after "(comm)", which may itself contain
// spaces and parentheses; fields[0] is field 3 of proc(5), "state".
std::vector<std::string> StatFields() {
  std::vector<std::string> fields;
  auto stat = ReadFile("/proc/self/stat");
  if (!stat) return fields;
  const size_t close = stat->rfind(')');
  if (close == std::string::npos) return fields;
  std::istringstream rest(stat->substr(close + 1));
  for (std::string field; rest >> field;) fields.push_back(field);
  return fields;
}

// Field N (1-based, as numbered in proc(5)) of /proc/self/stat.
std::optional<double> StatField(const std::vector<std::string>& fields, size_t n) {
  if (n < 3 || n - 3 >= fields.size()) return std::nullopt;
  try {
    return std::stod(fields[n - 3]);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<double> BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("btime ", 0) == 0) return std::stod(line.substr(6));
  }
  return std::nullopt;
}

void Add(std::vector<prometheus::MetricFamily>& out, const metric::MetricName& name,
         prometheus::MetricType type, std::optional<double> value) {
  if (!value) return;
  prometheus::MetricFamily family;
  family.name = name.name;
  family.help = name.help;
  family.type = type;
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = *value;
  } else {
    metric.gauge.value = *value;
  }
  family.metric.push_back(metric);
  out.push_back(std::move(family));
}

}  // namespace

ProcessCollector::ProcessCollector()
    : fd_dir_(open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {}

ProcessCollector::~ProcessCollector() {
  if (fd_dir_ >= 0) close(fd_dir_);
}

std::optional<double> ProcessCollector::OpenFds() const {
  if (fd_dir_ < 0) {
    // Not opened at start-up: count the usual way (needs a free descriptor).
    std::error_code error;
    double open_fds = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", error), end; !error && it != end;
         it.increment(error)) {
      ++open_fds;
    }
    // The directory iterator's own descriptor was counted too.
    if (error || open_fds == 0) return std::nullopt;
    return open_fds - 1;
  }
  std::lock_guard lock(fd_dir_mutex_);
  // Rewinding a /proc directory makes the next getdents64 list it afresh.
  if (lseek(fd_dir_, 0, SEEK_SET) != 0) return std::nullopt;
  alignas(8) char buffer[16384];
  double open_fds = 0;
  for (;;) {
    const long n = syscall(SYS_getdents64, fd_dir_, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::nullopt;
    }
    if (n == 0) break;
    for (long offset = 0; offset < n;) {
      // struct linux_dirent64: d_ino (8), d_off (8), d_reclen (2), d_type (1), d_name.
      unsigned short reclen = 0;
      std::memcpy(&reclen, buffer + offset + 16, sizeof(reclen));
      const char* name = buffer + offset + 19;
      if (name[0] != '.') ++open_fds;  // skips "." and ".."
      if (reclen == 0) return std::nullopt;
      offset += reclen;
    }
  }
  return open_fds;
}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> out;
  const double ticks_per_second = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page_size = static_cast<double>(sysconf(_SC_PAGESIZE));
  const std::vector<std::string> fields = StatFields();

  const auto utime = StatField(fields, 14);
  const auto stime = StatField(fields, 15);
  if (utime && stime) {
    Add(out, metric::kProcessCpu, MetricType::Counter, (*utime + *stime) / ticks_per_second);
  }
  if (auto rss = StatField(fields, 24)) {
    Add(out, metric::kProcessResidentMemory, MetricType::Gauge, *rss * page_size);
  }
  Add(out, metric::kProcessVirtualMemory, MetricType::Gauge, StatField(fields, 23));

  Add(out, metric::kProcessOpenFds, MetricType::Gauge, OpenFds());

  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    Add(out, metric::kProcessMaxFds, MetricType::Gauge, static_cast<double>(limit.rlim_cur));
  }

  const auto start_ticks = StatField(fields, 22);
  const auto boot_time = BootTimeSeconds();
  if (start_ticks && boot_time) {
    Add(out, metric::kProcessStartTime, MetricType::Gauge,
        *boot_time + *start_ticks / ticks_per_second);
  }
  return out;
}

}  // namespace hx
