#include "app/run_publisher.h"

#include "util/log.h"

namespace hx {

void RunPublisher::OnRun(const RunRecord& run) {
  // Board first: /readyz must never lag behind a state the log already announced.
  board_.Record(run);
  metrics_.Record(run);
  metrics_.ObserveLateness(run.lateness);

  const bool changed = run.transition == Transition::kChanged || !run.previous_state;
  // Every successful run lands here: at info nothing more is done for it.
  if (!changed && !log::Enabled(spdlog::level::debug)) return;
  auto status = board_.Find(run.check_id);
  const std::string name = status && status->info ? status->info->name : std::to_string(run.check_id);
  if (changed) {
    auto level = run.state == Health::kHealthy ? spdlog::level::info : spdlog::level::warn;
    log::Write(level, "check state changed",
               {{"check", name},
                {"from", run.previous_state ? std::string(HealthName(*run.previous_state)) : "pending"},
                {"to", std::string(HealthName(run.state))},
                {"detail", run.result.detail},
                {"duration", FormatDuration(run.duration)}});
  } else if (log::Enabled(spdlog::level::debug)) {
    log::Debug("check ran", {{"check", name},
                             {"result", std::string(HealthName(run.result.health))},
                             {"state", std::string(HealthName(run.state))},
                             {"detail", run.result.detail},
                             {"duration", FormatDuration(run.duration)}});
  }
}

void RunPublisher::OnSkipped(size_t check_id) {
  board_.RecordSkip(check_id);
  metrics_.RecordSkip(check_id);
  auto status = board_.Find(check_id);
  log::Warn("run skipped: the previous attempt was still in flight or the daemon was too busy",
            {{"check", status && status->info ? status->info->name : std::to_string(check_id)}});
}

}  // namespace hx
