#pragma once
// The health_exporter daemon: wires config, the event loop, the scheduler,
// the status board, the metrics and the web server together, and runs until
// SIGTERM or SIGINT.
//
// Threads: one loop thread (the caller of Run()) owns every check, timer and
// socket; the web server's worker threads only read the StatusBoard's
// immutable snapshots and render the thread-safe CheckMetrics.

#include <chrono>
#include <optional>
#include <string>

#include "app/sharding.h"

namespace hx {

struct DaemonOptions {
  std::string config_file;
  std::string listen_address = ":9841";
  /// exporter-toolkit web config (TLS, basic auth); empty = plain HTTP.
  std::string web_config_file;
  /// Where state that must survive a restart lives (e.g. last heartbeats).
  std::string storage_path = "data";
  /// Run only this instance's share of the checks (--shard=i/n).
  std::optional<Shard> shard;
  /// How long a reload may read and check the config before it is given up
  /// (and how long POST /-/reload waits): --config.reload-timeout.
  std::chrono::milliseconds reload_timeout{10'000};
};

class Daemon {
 public:
  explicit Daemon(DaemonOptions options) : options_(std::move(options)) {}

  /// Loads the config, serves, runs the checks; returns the process exit code
  /// (0 after a clean stop, 2 for a bad config or a storage path it cannot
  /// write in, 1 if it cannot listen).
  int Run();

 private:
  DaemonOptions options_;
};

}  // namespace hx
