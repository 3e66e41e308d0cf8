#pragma once
// CheckSet keeps the running checks in step with the config across reloads:
// a check whose fingerprint (CheckConfig::fingerprint) is unchanged keeps
// everything — its state, thresholds, history, counters, histogram and its
// place on the scheduler's timeline, so a reload causes no gap, no reset and
// no burst of runs, and its counters keep their created time. A changed check
// is stopped (an attempt in flight is cancelled and not recorded) and started
// again as new; a removed check is stopped and leaves the board, and with it
// every endpoint; a new check starts on its own phase.
//
// Loop thread only; not thread-safe (the board it updates is).

#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.h"

namespace hx {

class CheckScheduler;
class CheckServices;
class IoContext;
class StatusBoard;

class CheckSet {
 public:
  /// What Apply() did, by check name in config order (removed: old order).
  struct Changes {
    std::vector<std::string> added;
    std::vector<std::string> removed;
    std::vector<std::string> changed;
    size_t unchanged = 0;
  };

  /// Every reference must outlive the set. Checks are created with `io`
  /// and `services` in their CheckContext.
  CheckSet(CheckScheduler& scheduler, StatusBoard& board, IoContext& io, CheckServices& services);

  /// Makes the running checks exactly those of `config` (already filtered to
  /// this instance's shard). Each unchanged check's spec in `config` is
  /// replaced by the running one, so that `config` describes what runs; the
  /// services are then told every check that will run
  /// (CheckServices::ChecksWillRun(), `first` on the first call) before any
  /// new check is created. Cannot fail: `config` is validated.
  Changes Apply(Config& config);

  size_t size() const { return running_.size(); }

 private:
  struct Running {
    size_t id = 0;
    std::string fingerprint;
    std::shared_ptr<const CheckSpec> spec;
  };
  void Stop(const Running& running);

  CheckScheduler& scheduler_;
  StatusBoard& board_;
  IoContext& io_;
  CheckServices& services_;
  bool applied_ = false;                              // Apply() ran before
  std::unordered_map<std::string, Running> running_;  // by check name
};

}  // namespace hx
