#pragma once
// Fans the scheduler's results out to the status board (the one store every
// endpoint reads), the failure journal (status/failure_journal.h), the
// scheduler-lateness metric and the log, after masking the configured
// `redact` patterns in the result's detail and body excerpt: no surface ever
// sees what they match. Loop-thread only
// (it is the scheduler's RunSink); the board and the metrics it feeds are
// themselves thread-safe for their readers.

#include <cstdint>
#include <memory>
#include <unordered_map>

#include "metrics/check_metrics.h"
#include "scheduler/check_scheduler.h"
#include "scheduler/clock.h"
#include "status/failure_journal.h"
#include "status/status_board.h"
#include "util/redactor.h"

namespace hx {

class DailyHistory;

class RunPublisher final : public RunSink {
 public:
  /// A check's "run skipped" warning is written at most once per this
  /// period (every skip is still counted in the board).
  static constexpr Duration kSkipLogPeriod = std::chrono::minutes(1);

  RunPublisher(StatusBoard& board, CheckMetrics& metrics, Clock& clock)
      : board_(board), metrics_(metrics), clock_(clock) {}

  /// Where non-healthy results and state changes are journaled (loop
  /// thread, like this class); null: none. Must outlive the publisher.
  void set_journal(FailureJournal* journal) { journal_ = journal; }
  /// The patterns of `global.redact` (null: none); set at start and on
  /// every reload, for the results that arrive from then on.
  void set_redactor(std::shared_ptr<const Redactor> redactor) { redactor_ = std::move(redactor); }

  void OnRun(const RunRecord& run) override;
  /// Also feeds every run to `history` (may be null; must outlive this).
  void set_history(DailyHistory* history) { history_ = history; }
  /// Logs the first skip of a check, then at most one line per
  /// kSkipLogPeriod with the number of runs skipped since the last line
  /// (a loop stalled for seconds would otherwise write a line per check
  /// per slot).
  void OnSkipped(size_t check_id) override;

 private:
  void Publish(const RunRecord& run);

  struct SkipLog {
    MonoTime last_line{};
    uint64_t unlogged = 0;  // skips since last_line
  };
  /// Forgets checks whose last line is over a period old and that skipped
  /// nothing since (removed checks, recovered ones); at most once a period.
  void PruneSkipLogs(MonoTime now);

  StatusBoard& board_;
  CheckMetrics& metrics_;
  Clock& clock_;
  FailureJournal* journal_ = nullptr;
  std::shared_ptr<const Redactor> redactor_;
  DailyHistory* history_ = nullptr;
  std::unordered_map<size_t, SkipLog> skip_logs_;
  MonoTime last_prune_{};
};

}  // namespace hx
