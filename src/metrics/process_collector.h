#pragma once
// process_* metrics of the running process, read from /proc/self at scrape
// time, with the names and meanings of the Prometheus client libraries.

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <mutex>
#include <optional>
#include <vector>

namespace hx {

/// Collects process_cpu_seconds_total, process_resident_memory_bytes,
/// process_virtual_memory_bytes, process_open_fds, process_max_fds and
/// process_start_time_seconds. A value that cannot be read is left out rather
/// than reported as 0 — except process_open_fds, which matters most exactly
/// when the process is out of descriptors: /proc/self/fd is opened once, at
/// construction, and kept (that descriptor is counted), and each scrape
/// re-reads it with getdents64 on the kept descriptor, which needs no new
/// one. Thread-safe: Collect() may run on several threads at once (the kept
/// descriptor's read position is guarded by a mutex).
class ProcessCollector : public prometheus::Collectable {
 public:
  ProcessCollector();
  ~ProcessCollector() override;
  ProcessCollector(const ProcessCollector&) = delete;
  ProcessCollector& operator=(const ProcessCollector&) = delete;

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::optional<double> OpenFds() const;

  int fd_dir_ = -1;  // /proc/self/fd, kept open; -1 if it could not be opened
  mutable std::mutex fd_dir_mutex_;
};

}  // namespace hx
