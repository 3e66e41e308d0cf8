#pragma once
// Fans the scheduler's results out to the status board, the metrics and the
// log. Loop-thread only (it is the scheduler's RunSink); the board and the
// metrics it feeds are themselves thread-safe for their readers.

#include "metrics/check_metrics.h"
#include "scheduler/check_scheduler.h"
#include "status/status_board.h"

namespace hx {

class RunPublisher final : public RunSink {
 public:
  RunPublisher(StatusBoard& board, CheckMetrics& metrics) : board_(board), metrics_(metrics) {}

  void OnRun(const RunRecord& run) override;
  void OnSkipped(size_t check_id) override;

 private:
  StatusBoard& board_;
  CheckMetrics& metrics_;
};

}  // namespace hx
