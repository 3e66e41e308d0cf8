#include "status/status_board.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <stdexcept>

namespace hx {
namespace {

double SystemWallSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The labels of health_check_status, sorted by name as prometheus-cpp's
// std::map-based Labels always wrote them (dashboards match on them, not on
// their order, but byte-compatible output keeps diffs of scrapes readable).
// A static label named like a built-in one is dropped, as before.
metrics::LabelSet StatusLabels(const CheckInfo& info) {
  std::map<std::string, std::string> sorted = {
      {"check", info.name}, {"type", info.type}, {"critical", info.critical ? "true" : "false"}};
  for (const auto& [name, value] : info.labels) sorted.emplace(name, value);
  return metrics::LabelSet({sorted.begin(), sorted.end()});
}

}  // namespace

DurationHistogram::DurationHistogram(std::shared_ptr<const DurationLayout> layout_in)
    : layout(std::move(layout_in)),
      cumulative_counts(layout->upper_bounds.size(), 0),
      native(layout->native) {
  native.FillBuckets(&native_buckets);
}

void DurationHistogram::Observe(double seconds, uint64_t attempt, double finished_at) {
  ++count;
  sum += seconds;
  const auto& bounds = layout->upper_bounds;
  // Cumulative: every bucket whose bound is at or above the value.
  for (size_t i = std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin();
       i < bounds.size(); ++i) {
    ++cumulative_counts[i];
  }
  native.Observe(seconds);
  native.FillBuckets(&native_buckets);
  exemplar_attempt = attempt;
  exemplar_value = seconds;
  exemplar_timestamp = finished_at;
}

CheckInfo CheckInfoFromConfig(const CheckConfig& config) {
  CheckInfo info;
  info.name = config.name;
  info.type = config.type;
  info.target =
      config.spec ? config::AsWritten(config.spec->Target(), config.expansions) : std::string();
  info.critical = config.critical;
  info.labels = config.labels;
  info.interval = config.interval;
  info.timeout = config.timeout;
  info.depends_on = config.depends_on;
  info.slo = config.slo;
  return info;
}

std::string_view OverallStatusName(OverallStatus status) {
  switch (status) {
    case OverallStatus::kHealthy:
      return "healthy";
    case OverallStatus::kDegraded:
      return "degraded";
    case OverallStatus::kUnhealthy:
      return "unhealthy";
    case OverallStatus::kPending:
      return "pending";
  }
  return "pending";
}

OverallStatus ComputeOverallStatus(const std::vector<std::shared_ptr<const CheckStatus>>& checks) {
  bool any_critical_unhealthy = false;
  bool any_not_healthy = false;
  bool any_critical_pending = false;
  for (const auto& check : checks) {
    const bool critical = check->info->critical;
    if (!check->state) {
      any_critical_pending |= critical;
      continue;
    }
    if (*check->state == Health::kUnhealthy && critical) any_critical_unhealthy = true;
    if (*check->state != Health::kHealthy) any_not_healthy = true;
  }
  if (any_critical_unhealthy) return OverallStatus::kUnhealthy;
  if (any_not_healthy) return OverallStatus::kDegraded;
  if (any_critical_pending) return OverallStatus::kPending;
  return OverallStatus::kHealthy;
}

StatusBoard::StatusBoard(std::function<double()> wall_clock)
    : wall_clock_(wall_clock ? std::move(wall_clock) : SystemWallSeconds),
      layout_(std::make_shared<const DurationLayout>(
          DurationLayout{GlobalConfig{}.duration_buckets, metrics::NativeHistogramOptions{}})) {}

void StatusBoard::SetDurationLayout(DurationLayout layout) {
  auto shared = std::make_shared<const DurationLayout>(std::move(layout));
  std::lock_guard write_lock(write_mutex_);
  layout_ = std::move(shared);
}

void StatusBoard::AddCheck(size_t id, CheckInfo info) {
  info.check_labels = metrics::LabelSet({{"check", info.name}});
  info.status_labels = StatusLabels(info);
  auto status = std::make_shared<CheckStatus>();
  status->id = id;
  status->info = std::make_shared<const CheckInfo>(std::move(info));
  status->created = wall_clock_();
  std::lock_guard write_lock(write_mutex_);
  status->duration = std::make_shared<const DurationHistogram>(layout_);
  std::lock_guard lock(mutex_);
  if (auto it = index_.find(id); it != index_.end()) {
    checks_[it->second] = std::move(status);
    ++generation_;
    return;
  }
  index_.emplace(id, checks_.size());
  checks_.push_back(std::move(status));
  ++generation_;
}

void StatusBoard::RemoveCheck(size_t id) {
  std::lock_guard write_lock(write_mutex_);
  std::lock_guard lock(mutex_);
  auto it = index_.find(id);
  if (it == index_.end()) return;
  const size_t position = it->second;
  checks_.erase(checks_.begin() + static_cast<std::ptrdiff_t>(position));
  index_.erase(it);
  ++generation_;
  // Removal is rare (config reload), so re-indexing the tail is fine.
  for (auto& [other_id, other_position] : index_) {
    if (other_position > position) --other_position;
  }
}

void StatusBoard::SetOrder(const std::vector<size_t>& ids) {
  std::lock_guard write_lock(write_mutex_);
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<const CheckStatus>> ordered;
  ordered.reserve(checks_.size());
  std::vector<bool> taken(checks_.size(), false);
  for (size_t id : ids) {
    auto it = index_.find(id);
    if (it == index_.end() || taken[it->second]) continue;
    taken[it->second] = true;
    ordered.push_back(checks_[it->second]);
  }
  for (size_t i = 0; i < checks_.size(); ++i) {
    if (!taken[i]) ordered.push_back(checks_[i]);
  }
  checks_ = std::move(ordered);
  for (size_t i = 0; i < checks_.size(); ++i) index_[checks_[i]->id] = i;
  ++generation_;
}

void StatusBoard::Record(const RunRecord& run) {
  std::lock_guard write_lock(write_mutex_);
  auto previous = Current(run.check_id);
  if (!previous) return;

  // Copying one CheckStatus is bounded work: its history holds at most
  // kHistorySize entries, and its duration histogram is replaced, not copied
  // twice.
  auto next = std::make_shared<CheckStatus>(*previous);
  if (!previous->state || *previous->state != run.state) next->state_since = run.finished_at;
  next->state = run.state;
  const uint64_t attempt = previous->runs + 1;
  next->last = LastResult{
      run.result.health, run.result.detail,       run.duration, run.started_at, run.finished_at,
      run.timed_out,     run.result.observations, attempt, run.result.reason};
  if (run.result.health != Health::kHealthy) {
    // A type that forgot its reason still counts, as "internal".
    const FailureReason reason =
        run.result.reason == FailureReason::kNone ? FailureReason::kInternal : run.result.reason;
    next->last->reason = reason;
    ++next->failures_by_reason[static_cast<size_t>(reason)];
    next->last_failure_reason = reason;
    next->last_failure_at = run.finished_at;
  } else {
    next->last->reason = FailureReason::kNone;
  }
  next->consecutive_failures = run.consecutive_failures;
  next->consecutive_successes = run.consecutive_successes;
  next->runs = attempt;
  ++next->runs_by_result[static_cast<size_t>(run.result.health)];
  if (run.timed_out) ++next->timeouts;
  auto duration = std::make_shared<DurationHistogram>(*previous->duration);
  duration->Observe(ToSeconds(run.duration), attempt, run.finished_at);
  next->duration = std::move(duration);
  if (next->history.size() >= CheckStatus::kHistorySize) {
    next->history.erase(next->history.begin(),
                        next->history.end() - (CheckStatus::kHistorySize - 1));
  }
  next->history.push_back(
      HistoryEntry{run.result.health, run.finished_at, run.duration, run.result.detail, attempt,
                   next->last->reason});
  Publish(run.check_id, std::move(next));
}

void StatusBoard::RecordSkip(size_t id) {
  std::lock_guard write_lock(write_mutex_);
  auto previous = Current(id);
  if (!previous) return;
  auto next = std::make_shared<CheckStatus>(*previous);
  ++next->skipped_runs;
  Publish(id, std::move(next));
}

BoardSnapshot StatusBoard::Snapshot() const {
  BoardSnapshot snapshot;
  uint64_t generation = 0;
  {
    std::lock_guard lock(mutex_);
    snapshot.checks = checks_;
    generation = generation_;
  }
  snapshot.overall = ComputeOverallStatus(snapshot.checks);
  snapshot.blocked_by.resize(snapshot.checks.size());

  bool any_dependencies = false;
  for (const auto& check : snapshot.checks) any_dependencies |= !check->info->depends_on.empty();
  if (!any_dependencies) return snapshot;

  std::shared_ptr<const DependencyGraph> graph;
  {
    std::lock_guard lock(graph_mutex_);
    if (graph_generation_ != generation) {
      std::vector<DependencyNode> nodes;
      nodes.reserve(snapshot.checks.size());
      for (const auto& check : snapshot.checks) {
        nodes.push_back({check->info->name, check->info->depends_on});
      }
      try {
        graph_ = std::make_shared<const DependencyGraph>(std::move(nodes));
      } catch (const std::invalid_argument&) {
        // Only a config that skipped validation gets here; show no blocking
        // rather than fail the endpoint.
        graph_ = nullptr;
      }
      graph_generation_ = generation;
    }
    graph = graph_;
  }
  if (!graph) return snapshot;

  std::vector<std::optional<Health>> states;
  states.reserve(snapshot.checks.size());
  for (const auto& check : snapshot.checks) states.push_back(check->state);
  const std::vector<BlockedInfo> blocked = graph->Evaluate(states);
  for (size_t i = 0; i < blocked.size(); ++i) {
    if (!blocked[i].blocked) continue;
    for (size_t root : blocked[i].blocked_by) snapshot.blocked_by[i].push_back(graph->name(root));
  }
  return snapshot;
}

std::shared_ptr<const CheckStatus> StatusBoard::Find(size_t id) const { return Current(id); }

std::shared_ptr<const CheckStatus> StatusBoard::Current(size_t id) const {
  std::lock_guard lock(mutex_);
  auto it = index_.find(id);
  return it == index_.end() ? nullptr : checks_[it->second];
}

void StatusBoard::Publish(size_t id, std::shared_ptr<const CheckStatus> status) {
  std::shared_ptr<const CheckStatus> replaced;  // released outside the lock
  std::lock_guard lock(mutex_);
  auto it = index_.find(id);
  if (it == index_.end()) return;
  replaced = std::exchange(checks_[it->second], std::move(status));
}

}  // namespace hx
