#include "metrics/check_exposition.h"

#include <array>
#include <string>
#include <vector>

#include "metrics/metric_names.h"

namespace hx::metrics {
namespace {

constexpr std::array<Health, 3> kAllHealth = {Health::kHealthy, Health::kDegraded,
                                              Health::kUnhealthy};

FamilyDesc Desc(const metric::MetricName& name, MetricType type) {
  return {name.name, type, name.help, UnitOf(name.name)};
}

double OverallValue(OverallStatus overall) {
  return overall == OverallStatus::kHealthy ? 1.0 : overall == OverallStatus::kDegraded ? 0.5 : 0.0;
}

// One family whose series exist for every check.
template <typename Each>
void EveryCheck(ExpositionWriter& writer, const FamilyDesc& desc, const BoardSnapshot& snapshot,
                Each each) {
  if (snapshot.checks.empty()) return;
  writer.BeginFamily(desc);
  for (const auto& check : snapshot.checks) each(*check);
  writer.EndFamily();
}

// One gauge family whose series exist only for the checks `value` returns
// a value for (e.g. only after the first result).
template <typename Value>
void SomeChecks(ExpositionWriter& writer, const FamilyDesc& desc, const BoardSnapshot& snapshot,
                Value value) {
  bool begun = false;
  for (size_t i = 0; i < snapshot.checks.size(); ++i) {
    const CheckStatus& check = *snapshot.checks[i];
    const std::optional<double> v = value(check, i);
    if (!v) continue;
    if (!begun) writer.BeginFamily(desc);
    begun = true;
    writer.Gauge(check.info->check_labels, {}, *v);
  }
  if (begun) writer.EndFamily();
}

void WriteObservations(const BoardSnapshot& snapshot, ExpositionWriter& writer) {
  // Sorted into families in one pass over the checks, so each of the
  // families below costs only its own series.
  struct Entry {
    const CheckInfo* info;
    const Observation* observation;
  };
  std::array<std::vector<Entry>, kObservationCount> families;
  for (const auto& check : snapshot.checks) {
    if (!check->last) continue;
    for (const Observation& o : check->last->observations) {
      const auto f = static_cast<size_t>(o.id);
      if (f < families.size()) families[f].push_back({check->info.get(), &o});
    }
  }
  for (size_t f = 0; f < families.size(); ++f) {
    if (families[f].empty()) continue;
    const auto id = static_cast<ObservationId>(f);
    const char* label = KindOf(id).label;
    writer.BeginFamily(Desc(metric::FamilyOf(id), MetricType::kGauge));
    for (const Entry& e : families[f]) {
      const ExtraLabel extra =
          *label ? ExtraLabel{label, e.observation->label_value} : ExtraLabel{};
      writer.Gauge(e.info->check_labels, extra, e.observation->value);
    }
    writer.EndFamily();
  }
}

}  // namespace

std::string_view UnitOf(std::string_view name) {
  if (name.ends_with("_total")) name.remove_suffix(6);
  for (std::string_view unit : {"seconds", "bytes", "ratio"}) {
    if (name.size() > unit.size() && name.ends_with(unit) &&
        name[name.size() - unit.size() - 1] == '_') {
      return unit;
    }
  }
  return "";
}

void WriteCheckFamilies(const BoardSnapshot& snapshot, ExpositionWriter& writer) {
  // health_check_status carries the status labels, not only check=.
  {
    bool begun = false;
    for (const auto& check : snapshot.checks) {
      if (!check->state) continue;
      if (!begun) writer.BeginFamily(Desc(metric::kCheckStatus, MetricType::kGauge));
      begun = true;
      writer.Gauge(check->info->status_labels, {}, HealthValue(*check->state));
    }
    if (begun) writer.EndFamily();
  }

  EveryCheck(writer, Desc(metric::kCheckDuration, MetricType::kHistogram), snapshot,
             [&writer](const CheckStatus& check) {
               const DurationHistogram& d = *check.duration;
               HistogramView view;
               view.count = d.count;
               view.sum = d.sum;
               view.upper_bounds = d.layout->upper_bounds;
               view.cumulative_counts = d.cumulative_counts;
               view.native = &d.native_buckets;
               view.created = check.created;
               // The exemplar's id is the attempt's number, as /status shows
               // it in last_result and history.
               std::string attempt_id;
               Exemplar exemplar;
               if (d.exemplar_attempt > 0) {
                 attempt_id = std::to_string(d.exemplar_attempt);
                 exemplar = {attempt_id, d.exemplar_value, d.exemplar_timestamp};
                 view.exemplar = &exemplar;
               }
               writer.Histogram(check.info->check_labels, view);
             });

  EveryCheck(writer, Desc(metric::kCheckRuns, MetricType::kCounter), snapshot,
             [&writer](const CheckStatus& check) {
               for (Health h : kAllHealth) {
                 writer.Counter(check.info->check_labels, {"status", HealthName(h)},
                                static_cast<double>(check.runs_by_result[static_cast<size_t>(h)]),
                                check.created);
               }
             });
  EveryCheck(writer, Desc(metric::kCheckTimeouts, MetricType::kCounter), snapshot,
             [&writer](const CheckStatus& check) {
               writer.Counter(check.info->check_labels, {}, static_cast<double>(check.timeouts),
                              check.created);
             });
  EveryCheck(writer, Desc(metric::kCheckSkippedRuns, MetricType::kCounter), snapshot,
             [&writer](const CheckStatus& check) {
               writer.Counter(check.info->check_labels, {}, static_cast<double>(check.skipped_runs),
                              check.created);
             });

  // Series created on first use: a reason's counter appears with its first
  // failure, so a check that never failed writes none.
  {
    bool begun = false;
    for (const auto& check : snapshot.checks) {
      for (unsigned r = 1; r < kFailureReasonCount; ++r) {
        const uint64_t n = check->failures_by_reason[r];
        if (n == 0) continue;
        if (!begun) writer.BeginFamily(Desc(metric::kCheckFailures, MetricType::kCounter));
        begun = true;
        writer.Counter(check->info->check_labels,
                       {"reason", FailureReasonName(static_cast<FailureReason>(r))},
                       static_cast<double>(n), check->created);
      }
    }
    if (begun) writer.EndFamily();
  }
  {
    bool begun = false;
    for (const auto& check : snapshot.checks) {
      if (check->last_failure_reason == FailureReason::kNone) continue;
      if (!begun) writer.BeginFamily(Desc(metric::kCheckLastFailureReason, MetricType::kGauge));
      begun = true;
      writer.Gauge(check->info->check_labels,
                   {"reason", FailureReasonName(check->last_failure_reason)}, 1.0);
    }
    if (begun) writer.EndFamily();
  }

  SomeChecks(writer, Desc(metric::kCheckLastRun, MetricType::kGauge), snapshot,
             [](const CheckStatus& check, size_t) {
               return check.last ? std::optional<double>(check.last->finished_at) : std::nullopt;
             });
  SomeChecks(writer, Desc(metric::kCheckConsecutiveFailures, MetricType::kGauge), snapshot,
             [](const CheckStatus& check, size_t) {
               return check.state ? std::optional<double>(check.consecutive_failures)
                                  : std::nullopt;
             });
  SomeChecks(writer, Desc(metric::kCheckStateChange, MetricType::kGauge), snapshot,
             [](const CheckStatus& check, size_t) {
               return check.state ? std::optional<double>(check.state_since) : std::nullopt;
             });
  // Blocked is a relation between checks' current states, so it comes from
  // the snapshot's dependency evaluation rather than from each check.
  SomeChecks(writer, Desc(metric::kCheckBlocked, MetricType::kGauge), snapshot,
             [&snapshot](const CheckStatus& check, size_t i) -> std::optional<double> {
               if (check.info->depends_on.empty() || !check.state) return std::nullopt;
               return i < snapshot.blocked_by.size() && !snapshot.blocked_by[i].empty() ? 1.0 : 0.0;
             });
  SomeChecks(writer, Desc(metric::kCheckSloObjective, MetricType::kGauge), snapshot,
             [](const CheckStatus& check, size_t) { return check.info->slo; });

  WriteObservations(snapshot, writer);

  static const LabelSet kNoLabels;
  if (snapshot.overall != OverallStatus::kPending) {
    writer.BeginFamily(Desc(metric::kOverallStatus, MetricType::kGauge));
    writer.Gauge(kNoLabels, {}, OverallValue(snapshot.overall));
    writer.EndFamily();
  }
  std::array<double, 3> by_health{};
  double pending = 0;
  for (const auto& check : snapshot.checks) {
    if (check->state) {
      ++by_health[static_cast<size_t>(*check->state)];
    } else {
      ++pending;
    }
  }
  writer.BeginFamily(Desc(metric::kChecksByState, MetricType::kGauge));
  for (Health h : kAllHealth) {
    writer.Gauge(kNoLabels, {"state", HealthName(h)}, by_health[static_cast<size_t>(h)]);
  }
  writer.Gauge(kNoLabels, {"state", "pending"}, pending);
  writer.EndFamily();
}

}  // namespace hx::metrics
