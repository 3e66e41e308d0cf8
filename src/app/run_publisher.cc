#include "app/run_publisher.h"

#include "status/daily_history.h"
#include "util/log.h"

namespace hx {

void RunPublisher::OnRun(const RunRecord& run) {
  // The rare result whose text a pattern matches is copied and masked; the
  // rest pass as they are (one scan of each text per pattern).
  if (redactor_ != nullptr && !redactor_->empty() &&
      (redactor_->Matches(run.result.detail) || redactor_->Matches(run.result.body_excerpt))) {
    RunRecord masked = run;
    redactor_->RedactInPlace(masked.result.detail);
    redactor_->RedactInPlace(masked.result.body_excerpt);
    Publish(masked);
    return;
  }
  Publish(run);
}

void RunPublisher::Publish(const RunRecord& run) {
  // Board first: /readyz must never lag behind a state the log already announced.
  board_.Record(run);
  if (history_ != nullptr) history_->Record(run);
  metrics_.ObserveLateness(run.lateness);

  const bool changed = run.transition == Transition::kChanged || !run.previous_state;
  const bool journaled = journal_ != nullptr && (changed || run.result.health != Health::kHealthy);
  // Every successful run lands here: at info nothing more is done for it.
  if (!changed && !journaled && !log::Enabled(spdlog::level::debug)) return;
  auto status = board_.Find(run.check_id);
  // After the board: the entry carries the attempt number /status shows.
  if (journaled && status) journal_->Record(run, *status);
  const std::string name =
      status && status->info ? status->info->name : std::to_string(run.check_id);
  if (changed) {
    const std::string from =
        run.previous_state ? std::string(HealthName(*run.previous_state)) : "pending";
    const std::string to(HealthName(run.state));
    if (run.result.health == Health::kHealthy && run.state == Health::kHealthy) {
      log::Info("check state changed", {{"check", name},
                                        {"from", from},
                                        {"to", to},
                                        {"detail", run.result.detail},
                                        {"duration", FormatDuration(run.duration)}});
    } else {
      auto level = run.state == Health::kHealthy ? spdlog::level::info : spdlog::level::warn;
      log::Write(level, "check state changed",
                 {{"check", name},
                  {"from", from},
                  {"to", to},
                  {"reason", std::string(FailureReasonName(run.result.reason == FailureReason::kNone
                                                               ? FailureReason::kInternal
                                                               : run.result.reason))},
                  {"detail", run.result.detail},
                  {"duration", FormatDuration(run.duration)}});
    }
  } else if (log::Enabled(spdlog::level::debug)) {
    log::Debug("check ran", {{"check", name},
                             {"result", std::string(HealthName(run.result.health))},
                             {"state", std::string(HealthName(run.state))},
                             {"reason", std::string(FailureReasonName(run.result.reason))},
                             {"detail", run.result.detail},
                             {"duration", FormatDuration(run.duration)}});
  }
}

void RunPublisher::OnSkipped(size_t check_id) {
  board_.RecordSkip(check_id);
  const MonoTime now = clock_.Now();
  PruneSkipLogs(now);
  auto [it, first] = skip_logs_.try_emplace(check_id);
  SkipLog& entry = it->second;
  ++entry.unlogged;
  if (!first && now - entry.last_line < kSkipLogPeriod) return;
  auto status = board_.Find(check_id);
  log::Warn("run skipped: the previous attempt was still in flight or the daemon was too busy",
            {{"check", status && status->info ? status->info->name : std::to_string(check_id)},
             {"skipped", std::to_string(entry.unlogged)}});
  entry.last_line = now;
  entry.unlogged = 0;
}

void RunPublisher::PruneSkipLogs(MonoTime now) {
  if (now - last_prune_ < kSkipLogPeriod) return;
  last_prune_ = now;
  std::erase_if(skip_logs_, [now](const auto& item) {
    return item.second.unlogged == 0 && now - item.second.last_line >= kSkipLogPeriod;
  });
}

}  // namespace hx
