#pragma once
// The per-check half of /metrics: walks one BoardSnapshot family by family
// into an ExpositionWriter. Every per-check series comes from here, so a scrape
// is as consistent as the snapshot (runs_total by result always sums to the
// duration histogram's _count, last_run matches runs_total), and a check that
// is not in the snapshot has no series at all.

#include "exposition/exposition.h"
#include "status/status_board.h"

namespace hx::metrics {

/// Writes, in this order and with today's names, labels and label order
/// (dashboards and alerts match on them): health_check_status,
/// health_check_duration_seconds, health_check_runs_total,
/// health_check_timeouts_total, health_check_skipped_runs_total,
/// health_check_last_run_timestamp_seconds, health_check_consecutive_failures,
/// health_check_state_change_timestamp_seconds, health_check_blocked,
/// health_check_slo_objective, the observation families of
/// metric::kObservationFamilies, health_overall_status and health_checks.
/// Families without series are left out. Does not call Finish().
///
/// Pure function of its arguments; safe to call from any number of threads
/// at once with different writers (the snapshot is immutable).
void WriteCheckFamilies(const BoardSnapshot& snapshot, ExpositionWriter& writer);

/// The unit OpenMetrics' # UNIT shows for a family name: "seconds", "bytes"
/// or "ratio" when the name (without "_total") ends with it, else "".
std::string_view UnitOf(std::string_view name);

}  // namespace hx::metrics
