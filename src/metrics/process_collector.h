#pragma once
// process_* metrics of the running process, read from /proc/self at scrape
// time, with the names and meanings of the Prometheus client libraries.

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <vector>

namespace hx {

/// Collects process_cpu_seconds_total, process_resident_memory_bytes,
/// process_virtual_memory_bytes, process_open_fds, process_max_fds and
/// process_start_time_seconds. A value that cannot be read is left out rather
/// than reported as 0. Stateless; thread-safe.
class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace hx
