#include "status/failure_journal.h"

#include <nlohmann/json.hpp>

#include "store/store.h"

namespace hx {

std::optional<store::JournalEntry> JournalEntryFor(const RunRecord& run,
                                                   const CheckStatus& status) {
  // A first result is a change from pending; a healthy one is what every
  // start looks like and would flood the journal of 10,000 checks with
  // nothing to investigate, so only a non-healthy first result is kept.
  const bool first = !run.previous_state.has_value();
  const bool changed = run.transition == Transition::kChanged && !first;
  const bool failed = run.result.health != Health::kHealthy;
  if (!failed && !changed) return std::nullopt;

  store::JournalEntry entry;
  entry.check = status.info ? status.info->name : std::to_string(run.check_id);
  entry.time = run.finished_at;
  // A state change is entered under the state it changed to; any other
  // entry under the attempt's own result (a failure not yet past the
  // failure threshold shows as such, not as "healthy").
  entry.state =
      std::string(HealthName(changed || (first && failed) ? run.state : run.result.health));
  if (changed) {
    entry.previous_state = std::string(HealthName(*run.previous_state));
  } else if (first && run.state != Health::kHealthy) {
    entry.previous_state = "pending";
  }
  if (failed) {
    // As the board counts it: a type that forgot its reason is "internal".
    entry.reason = std::string(FailureReasonName(
        run.result.reason == FailureReason::kNone ? FailureReason::kInternal : run.result.reason));
  }
  entry.detail = run.result.detail;
  entry.duration = ToSeconds(run.duration);
  nlohmann::json phases;  // stays null (no allocation) for types without phases
  for (const Observation& observation : run.result.observations) {
    if (observation.label_name() == "phase") {
      phases[observation.label_value] = observation.value;
    } else if (observation.id == ObservationId::kHttpStatusCode) {
      entry.http_status = static_cast<int>(observation.value);
    }
  }
  if (!phases.is_null()) {
    entry.phases_json = phases.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  entry.address = run.result.address;
  entry.body_excerpt = run.result.body_excerpt;
  entry.attempt_id = status.last ? status.last->attempt : status.runs;
  return entry;
}

void FailureJournal::Record(const RunRecord& run, const CheckStatus& status) {
  if (store_ == nullptr) return;
  if (auto entry = JournalEntryFor(run, status)) {
    store_->AppendJournal(std::move(*entry));
  }
}

}  // namespace hx
