#include "metrics/check_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <array>
#include <algorithm>
#include <sstream>

#include "build_info.h"
#include "metrics/metric_names.h"

namespace hx {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;
using prometheus::Labels;

namespace {

constexpr std::array<Health, 3> kAllHealth = {Health::kHealthy, Health::kDegraded,
                                              Health::kUnhealthy};

const char* CompilerName() {
#if defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  return "gcc " __VERSION__;
#else
  return "unknown";
#endif
}

template <typename T>
Family<T>& Build(prometheus::detail::Builder<T> builder, const metric::MetricName& name,
                 prometheus::Registry& registry) {
  return builder.Name(name.name).Help(name.help).Register(registry);
}

}  // namespace

// The series of one check. Pointers stay valid until removed from their
// family (prometheus-cpp guarantees stable references from Family::Add).
struct CheckMetrics::CheckSeries {
  Labels check_label;    // {check}
  Labels status_labels;  // {check, type, critical, static labels...}
  Histogram* duration = nullptr;
  std::array<Counter*, 3> runs{};  // indexed by Health
  Counter* timeouts = nullptr;
  Counter* skipped_runs = nullptr;
  // Absent until the first result.
  Gauge* status = nullptr;
  Gauge* last_run = nullptr;
  Gauge* consecutive_failures = nullptr;
  Gauge* state_change = nullptr;
  Gauge* slo_objective = nullptr;  // only with an slo
  std::string name;  // the check's name, the "check" label
  // The latest result's observations, replaced whole by Record(); read by
  // scrapes after copying the pointer under the mutex.
  std::shared_ptr<const std::vector<ObservationValue>> observations;
};

class CheckMetrics::ObservationCollector : public prometheus::Collectable {
 public:
  explicit ObservationCollector(const CheckMetrics& metrics) : metrics_(metrics) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    return metrics_.CollectObservations();
  }

 private:
  const CheckMetrics& metrics_;
};

// health_overall_status and health_checks, computed from a board snapshot at
// scrape time so they can never disagree with /readyz.
class CheckMetrics::BoardCollector : public prometheus::Collectable {
 public:
  explicit BoardCollector(const StatusBoard& board) : board_(board) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    const BoardSnapshot snapshot = board_.Snapshot();
    std::vector<prometheus::MetricFamily> out;

    if (snapshot.overall != OverallStatus::kPending) {
      prometheus::MetricFamily overall{metric::kOverallStatus.name,
                                       metric::kOverallStatus.help,
                                       prometheus::MetricType::Gauge,
                                       {}};
      prometheus::ClientMetric value;
      value.gauge.value = snapshot.overall == OverallStatus::kHealthy    ? 1.0
                          : snapshot.overall == OverallStatus::kDegraded ? 0.5
                                                                         : 0.0;
      overall.metric.push_back(value);
      out.push_back(std::move(overall));
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
    // Blocked is a relation between checks' current states, so it is
    // computed here from one snapshot rather than stored per check.
    prometheus::MetricFamily blocked{metric::kCheckBlocked.name, metric::kCheckBlocked.help,
                                     prometheus::MetricType::Gauge, {}};
    for (size_t i = 0; i < snapshot.checks.size(); ++i) {
      const auto& check = snapshot.checks[i];
      if (check->info->depends_on.empty() || !check->state) continue;
      prometheus::ClientMetric value;
      value.label.push_back({"check", check->info->name});
      value.gauge.value = i < snapshot.blocked_by.size() && !snapshot.blocked_by[i].empty();
      blocked.metric.push_back(std::move(value));
    }
    if (!blocked.metric.empty()) out.push_back(std::move(blocked));

    prometheus::MetricFamily counts{metric::kChecksByState.name,
                                    metric::kChecksByState.help,
                                    prometheus::MetricType::Gauge,
                                    {}};
    auto add_count = [&counts](std::string_view state, double count) {
      prometheus::ClientMetric value;
      value.label.push_back({"state", std::string(state)});
      value.gauge.value = count;
      counts.metric.push_back(std::move(value));
    };
    for (Health h : kAllHealth) add_count(HealthName(h), by_health[static_cast<size_t>(h)]);
    add_count("pending", pending);
    out.push_back(std::move(counts));
    return out;
  }

 private:
  const StatusBoard& board_;
};

CheckMetrics::CheckMetrics(std::vector<double> duration_buckets, const StatusBoard& board)
    : duration_buckets_(std::move(duration_buckets)),
      registry_(std::make_shared<prometheus::Registry>()),
      status_(Build(prometheus::BuildGauge(), metric::kCheckStatus, *registry_)),
      duration_(Build(prometheus::BuildHistogram(), metric::kCheckDuration, *registry_)),
      runs_(Build(prometheus::BuildCounter(), metric::kCheckRuns, *registry_)),
      timeouts_(Build(prometheus::BuildCounter(), metric::kCheckTimeouts, *registry_)),
      skipped_runs_(Build(prometheus::BuildCounter(), metric::kCheckSkippedRuns, *registry_)),
      last_run_(Build(prometheus::BuildGauge(), metric::kCheckLastRun, *registry_)),
      consecutive_failures_(
          Build(prometheus::BuildGauge(), metric::kCheckConsecutiveFailures, *registry_)),
      state_change_(Build(prometheus::BuildGauge(), metric::kCheckStateChange, *registry_)),
      slo_objective_(Build(prometheus::BuildGauge(), metric::kCheckSloObjective, *registry_)),
      lateness_(Build(prometheus::BuildHistogram(), metric::kSchedulerLateness, *registry_)
                    .Add({}, Histogram::BucketBoundaries(std::begin(metric::kLatenessBuckets),
                                                         std::end(metric::kLatenessBuckets)))),
      config_last_reload_successful_(
          Build(prometheus::BuildGauge(), metric::kConfigLastReloadSuccessful, *registry_).Add({})),
      config_last_reload_success_timestamp_(
          Build(prometheus::BuildGauge(), metric::kConfigLastReloadSuccessTimestamp, *registry_)
              .Add({})),
      config_reloads_success_(Build(prometheus::BuildCounter(), metric::kConfigReloads, *registry_)
                                  .Add({{"result", "success"}})),
      config_reloads_failure_(Build(prometheus::BuildCounter(), metric::kConfigReloads, *registry_)
                                  .Add({{"result", "failure"}})),
      config_info_(Build(prometheus::BuildGauge(), metric::kConfigInfo, *registry_)),
      board_collector_(std::make_unique<BoardCollector>(board)) {
  observation_collector_ = std::make_unique<ObservationCollector>(*this);
  Build(prometheus::BuildGauge(), metric::kBuildInfo, *registry_)
      .Add({{"version", build::kVersion},
            {"revision", build::kRevision},
            {"compiler", CompilerName()}})
      .Set(1);
}

CheckMetrics::~CheckMetrics() = default;

void CheckMetrics::AddCheck(size_t id, const CheckInfo& info) {
  auto series = std::make_unique<CheckSeries>();
  series->name = info.name;
  series->check_label = {{"check", info.name}};
  series->status_labels = {
      {"check", info.name}, {"type", info.type}, {"critical", info.critical ? "true" : "false"}};
  for (const auto& [name, value] : info.labels) series->status_labels.emplace(name, value);

  std::lock_guard lock(mutex_);
  if (auto it = series_.find(id); it != series_.end()) {
    RemoveSeries(*it->second);
    series_.erase(it);
  }
  series->duration = &duration_.Add(series->check_label, duration_buckets_);
  for (Health h : kAllHealth) {
    Labels labels = series->check_label;
    labels.emplace("status", HealthName(h));
    series->runs[static_cast<size_t>(h)] = &runs_.Add(labels);
  }
  series->timeouts = &timeouts_.Add(series->check_label);
  series->skipped_runs = &skipped_runs_.Add(series->check_label);
  if (info.slo) {
    series->slo_objective = &slo_objective_.Add(series->check_label);
    series->slo_objective->Set(*info.slo);
  }
  series_.emplace(id, std::move(series));
}

void CheckMetrics::RemoveCheck(size_t id) {
  std::lock_guard lock(mutex_);
  auto it = series_.find(id);
  if (it == series_.end()) return;
  RemoveSeries(*it->second);
  series_.erase(it);
}

void CheckMetrics::Record(const RunRecord& run) {
  // Only observations of a known family with exactly its label are kept: an
  // observation that does not carry the family's label would make an
  // inconsistent series.
  auto values = std::make_shared<std::vector<ObservationValue>>();
  for (const Observation& observation : run.result.observations) {
    for (size_t f = 0; f < std::size(metric::kObservationMetrics); ++f) {
      const metric::ObservationMetric& spec = metric::kObservationMetrics[f];
      if (observation.name != spec.observation) continue;
      if (observation.label_name == spec.label) {
        values->push_back({f, observation.label_value, observation.value});
      }
      break;
    }
  }

  std::lock_guard lock(mutex_);
  auto it = series_.find(run.check_id);
  if (it == series_.end()) return;
  CheckSeries& series = *it->second;

  if (!series.status) {
    series.status = &status_.Add(series.status_labels);
    series.last_run = &last_run_.Add(series.check_label);
    series.consecutive_failures = &consecutive_failures_.Add(series.check_label);
    series.state_change = &state_change_.Add(series.check_label);
  }
  series.status->Set(HealthValue(run.state));
  if (!run.previous_state || *run.previous_state != run.state) {
    series.state_change->Set(run.finished_at);
  }
  series.last_run->Set(run.finished_at);
  series.consecutive_failures->Set(run.consecutive_failures);
  series.duration->Observe(ToSeconds(run.duration));
  series.runs[static_cast<size_t>(run.result.health)]->Increment();
  if (run.timed_out) series.timeouts->Increment();
  series.observations = std::move(values);
}

void CheckMetrics::RecordSkip(size_t id) {
  std::lock_guard lock(mutex_);
  auto it = series_.find(id);
  if (it != series_.end()) it->second->skipped_runs->Increment();
}

void CheckMetrics::ObserveLateness(Duration lateness) { lateness_.Observe(ToSeconds(lateness)); }

void CheckMetrics::SetDurationBuckets(std::vector<double> duration_buckets) {
  std::lock_guard lock(mutex_);
  duration_buckets_ = std::move(duration_buckets);
}

void CheckMetrics::RecordConfigLoad(bool reload, bool success, double timestamp,
                                    const std::string& config_hash) {
  if (reload) (success ? config_reloads_success_ : config_reloads_failure_).Increment();
  config_last_reload_successful_.Set(success ? 1 : 0);
  if (!success) return;
  config_last_reload_success_timestamp_.Set(timestamp);
  std::lock_guard lock(mutex_);
  if (config_info_series_ != nullptr) config_info_.Remove(config_info_series_);
  config_info_series_ = &config_info_.Add({{"hash", config_hash}});
  config_info_series_->Set(1);
}

std::string CheckMetrics::RenderText() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  for (const prometheus::Collectable* collectable :
       {static_cast<const prometheus::Collectable*>(board_collector_.get()),
        static_cast<const prometheus::Collectable*>(observation_collector_.get()),
        static_cast<const prometheus::Collectable*>(&process_collector_)}) {
    auto more = collectable->Collect();
    families.insert(families.end(), std::make_move_iterator(more.begin()),
                    std::make_move_iterator(more.end()));
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return std::move(out).str();
}

void CheckMetrics::RemoveSeries(CheckSeries& series) {
  duration_.Remove(series.duration);
  for (Counter* counter : series.runs) runs_.Remove(counter);
  timeouts_.Remove(series.timeouts);
  skipped_runs_.Remove(series.skipped_runs);
  if (series.slo_objective) slo_objective_.Remove(series.slo_objective);
  if (series.status) {
    status_.Remove(series.status);
    last_run_.Remove(series.last_run);
    consecutive_failures_.Remove(series.consecutive_failures);
    state_change_.Remove(series.state_change);
  }
  series.observations.reset();
}

std::vector<prometheus::MetricFamily> CheckMetrics::CollectObservations() const {
  struct Entry {
    size_t id;
    std::string name;
    std::shared_ptr<const std::vector<ObservationValue>> values;
  };
  std::vector<Entry> entries;
  {
    // Only pointers and names are copied under the lock, so a scrape holds
    // up Record() for microseconds, not for the rendering.
    std::lock_guard lock(mutex_);
    entries.reserve(series_.size());
    for (const auto& [id, series] : series_) {
      if (series->observations && !series->observations->empty()) {
        entries.push_back({id, series->name, series->observations});
      }
    }
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.id < b.id; });
  const size_t n_families = std::size(metric::kObservationMetrics);
  std::vector<prometheus::MetricFamily> families(n_families);
  for (size_t f = 0; f < n_families; ++f) {
    const metric::ObservationMetric& spec = metric::kObservationMetrics[f];
    families[f].name = spec.metric.name;
    families[f].help = spec.metric.help;
    families[f].type = prometheus::MetricType::Gauge;
  }
  for (const Entry& entry : entries) {
    for (const ObservationValue& v : *entry.values) {
      prometheus::ClientMetric metric;
      metric.label.push_back({"check", entry.name});
      const char* label = metric::kObservationMetrics[v.family].label;
      if (*label) metric.label.push_back({label, v.label_value});
      metric.gauge.value = v.value;
      families[v.family].metric.push_back(std::move(metric));
    }
  }
  return families;
}

}  // namespace hx
