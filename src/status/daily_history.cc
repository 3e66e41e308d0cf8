#include "status/daily_history.h"

#include <algorithm>
#include <cmath>

namespace hx {
namespace {

constexpr double kDay = 86400;
constexpr double kMinLatency = 1e-6;
constexpr double kMaxLatency = 3600;

double DayStart(int64_t day) { return static_cast<double>(day) * kDay; }

}  // namespace

// --- LatencyQuantiles

void LatencyQuantiles::Observe(double seconds, uint32_t count) {
  if (std::isnan(seconds) || count == 0) return;
  const double clamped = std::clamp(seconds, kMinLatency, kMaxLatency);
  // Bucket i holds (2^((i-1)/8), 2^(i/8)], as a native histogram of schema 3.
  const auto index = static_cast<int16_t>(std::ceil(std::log2(clamped) * kResolution));
  auto it = std::lower_bound(buckets_.begin(), buckets_.end(), index,
                             [](const auto& bucket, int16_t i) { return bucket.first < i; });
  if (it == buckets_.end() || it->first != index) it = buckets_.insert(it, {index, 0});
  it->second += count;
  count_ += count;
}

std::optional<double> LatencyQuantiles::Quantile(double q) const {
  if (count_ == 0) return std::nullopt;
  // Nearest rank: the smallest observation with at least q of all at or below it.
  const auto rank = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (const auto& [index, count] : buckets_) {
    seen += count;
    if (seen >= rank) return std::exp2((index - 0.5) / kResolution);
  }
  return std::exp2((buckets_.back().first - 0.5) / kResolution);
}

// --- DailyHistory

DailyHistory::DailyHistory(Clock& clock, store::Store* store, Options options)
    : clock_(clock), store_(store), options_(options) {}

DailyHistory::~DailyHistory() { Stop(); }

void DailyHistory::Resume() {
  if (store_ == nullptr) return;
  const int64_t today = store::UnixDay(clock_.WallSeconds());
  for (auto& row : store_->AllDaily(today)) {
    if (row.day == today) resumed_[row.check] = std::move(row);
  }
}

DailyHistory::Day DailyHistory::DayFromRow(const store::DailyAggregate& row) {
  Day day;
  day.day = row.day;
  day.attempts = row.attempts;
  day.results = {row.results_healthy, row.results_degraded, row.results_unhealthy};
  day.seconds = {row.seconds_healthy, row.seconds_degraded, row.seconds_unhealthy,
                 row.seconds_unknown};
  day.longest_outage = row.longest_outage;
  // The histogram is not stored: stand the earlier attempts in for it at
  // their quantiles (half at p50, 45 % at p95, the last 5 % at p99), which
  // keeps the three quantiles where they were until new attempts move them.
  if (row.attempts > 0 && row.latency_p50 && row.latency_p95 && row.latency_p99) {
    const auto n = static_cast<double>(row.attempts);
    const auto at_p50 = static_cast<uint32_t>(std::llround(n * 0.50));
    const auto at_p95 = static_cast<uint32_t>(std::llround(n * 0.95)) - at_p50;
    const auto at_p99 = static_cast<uint32_t>(row.attempts) - at_p50 - at_p95;
    day.latency.Observe(*row.latency_p50, at_p50);
    day.latency.Observe(*row.latency_p95, at_p95);
    day.latency.Observe(*row.latency_p99, at_p99);
  }
  return day;
}

store::DailyAggregate DailyHistory::RowOf(const std::string& name, const Day& day) {
  store::DailyAggregate row;
  row.check = name;
  row.day = day.day;
  row.attempts = day.attempts;
  row.results_healthy = day.results[kHealthy];
  row.results_degraded = day.results[kDegraded];
  row.results_unhealthy = day.results[kUnhealthy];
  row.seconds_healthy = day.seconds[kHealthy];
  row.seconds_degraded = day.seconds[kDegraded];
  row.seconds_unhealthy = day.seconds[kUnhealthy];
  row.seconds_unknown = day.seconds[kUnknown];
  row.latency_p50 = day.latency.Quantile(0.50);
  row.latency_p95 = day.latency.Quantile(0.95);
  row.latency_p99 = day.latency.Quantile(0.99);
  row.longest_outage = day.longest_outage;
  return row;
}

void DailyHistory::Accrue(Tracked& t, double now, std::vector<store::DailyAggregate>* finished) {
  while (t.since < now) {
    const double day_end = DayStart(t.today.day + 1);
    const double until = std::min(now, day_end);
    t.today.seconds[t.verdict] += until - t.since;
    if (t.verdict == kUnhealthy) {
      t.today.longest_outage = std::max(t.today.longest_outage, until - t.outage_start);
    }
    t.since = until;
    t.dirty = true;
    if (until < day_end) break;
    if (finished != nullptr) finished->push_back(RowOf(t.name, t.today));
    t.today = Day{};
    t.today.day = store::UnixDay(day_end);
    t.outage_start = day_end;  // a running outage continues in the new day
  }
}

bool DailyHistory::Blocked(const Tracked& t) const {
  // Unhealthy while something it depends on, directly or not, is unhealthy
  // (status/dependencies.h), judged on the states known now.
  std::vector<const std::string*> stack;
  std::vector<const std::string*> seen;
  for (const auto& dep : t.depends_on) stack.push_back(&dep);
  while (!stack.empty()) {
    const std::string* name = stack.back();
    stack.pop_back();
    if (std::find_if(seen.begin(), seen.end(), [&](auto* s) { return *s == *name; }) != seen.end())
      continue;
    seen.push_back(name);
    const auto it = tracked_.find(*name);
    if (it == tracked_.end() || !it->second.active) continue;
    if (it->second.state == Health::kUnhealthy) return true;
    for (const auto& dep : it->second.depends_on) stack.push_back(&dep);
  }
  return false;
}

void DailyHistory::SetChecks(std::vector<CheckRef> checks) {
  const double now = clock_.WallSeconds();
  const int64_t today = store::UnixDay(now);
  std::vector<store::DailyAggregate> rows;
  {
    std::lock_guard lock(mutex_);
    std::unordered_map<std::string, bool> configured;
    for (const auto& ref : checks) configured[ref.name] = true;
    for (auto& [name, t] : tracked_) {
      if (!t.active || configured.count(name) != 0) continue;
      Accrue(t, now, &rows);
      rows.push_back(RowOf(name, t.today));
      t.active = false;
      t.dirty = false;
      t.state.reset();
    }
    names_.clear();
    for (auto& ref : checks) {
      names_[ref.id] = ref.name;
      auto [it, added] = tracked_.try_emplace(ref.name);
      Tracked& t = it->second;
      t.depends_on = std::move(ref.depends_on);
      if (t.active) continue;  // unchanged or changed in place: keeps counting
      if (added || t.today.day != today) {
        t.name = ref.name;
        const auto resumed = resumed_.find(ref.name);
        if (resumed != resumed_.end() && resumed->second.day == today) {
          t.today = DayFromRow(resumed->second);
          resumed_.erase(resumed);
        } else {
          t.today = Day{};
          t.today.day = today;
        }
      }
      // New, resumed after a restart, or back after a removal: no verdict
      // until its first result; the time it was away counts in no state.
      t.active = true;
      t.verdict = kUnknown;
      t.state.reset();
      t.since = now;
      t.dirty = true;
    }
  }
  for (auto& row : rows) Put(std::move(row));
  // The store's tombstones (a removed check's rows go after the grace) are
  // set once per applied config by CheckServices::ChecksWillRun.
}

void DailyHistory::SetChecks(const BoardSnapshot& board) {
  std::vector<CheckRef> refs;
  refs.reserve(board.checks.size());
  for (const auto& status : board.checks) {
    refs.push_back({status->id, status->info->name, status->info->depends_on});
  }
  SetChecks(std::move(refs));
}

void DailyHistory::Record(const RunRecord& run) {
  const auto name = names_.find(run.check_id);
  if (name == names_.end()) return;
  std::vector<store::DailyAggregate> rows;
  {
    std::lock_guard lock(mutex_);
    const auto it = tracked_.find(name->second);
    if (it == tracked_.end() || !it->second.active) return;
    Tracked& t = it->second;
    const double at = std::max(run.finished_at, t.since);
    Accrue(t, at, &rows);
    ++t.today.attempts;
    ++t.today.results[static_cast<size_t>(run.result.health)];
    t.today.latency.Observe(std::chrono::duration<double>(run.duration).count());
    t.state = run.state;
    Verdict next = static_cast<Verdict>(static_cast<size_t>(run.state));
    if (next == kUnhealthy && Blocked(t)) next = kUnknown;
    if (next == kUnhealthy && t.verdict != kUnhealthy) t.outage_start = at;
    t.verdict = next;
    t.dirty = true;
  }
  for (auto& row : rows) Put(std::move(row));
}

void DailyHistory::Put(store::DailyAggregate row) {
  if (store_ != nullptr) store_->PutDaily(std::move(row));
}

void DailyHistory::WriteRows(bool all) {
  const double now = clock_.WallSeconds();
  const int64_t today = store::UnixDay(now);
  std::vector<store::DailyAggregate> rows;
  {
    std::lock_guard lock(mutex_);
    for (auto it = tracked_.begin(); it != tracked_.end();) {
      Tracked& t = it->second;
      if (!t.active) {
        // A removed check's day is written; forget it once the day is over.
        it = t.today.day < today ? tracked_.erase(it) : std::next(it);
        continue;
      }
      Accrue(t, now, &rows);
      if (t.dirty || all) rows.push_back(RowOf(t.name, t.today));
      t.dirty = false;
      ++it;
    }
    std::erase_if(resumed_, [today](const auto& entry) { return entry.second.day != today; });
  }
  for (auto& row : rows) Put(std::move(row));
}

void DailyHistory::Tick() { WriteRows(/*all=*/false); }

void DailyHistory::Flush() { WriteRows(/*all=*/true); }

void DailyHistory::Arm() {
  // Fires at the next flush interval or just after midnight, whichever is
  // first, so a day's row is final within moments of its end.
  const double now = clock_.WallSeconds();
  const double to_midnight = DayStart(store::UnixDay(now) + 1) - now + 0.001;
  const double interval = std::chrono::duration<double>(options_.flush_interval).count();
  const Duration delay = std::chrono::duration_cast<Duration>(
      std::chrono::duration<double>(std::min(interval, to_midnight)));
  timer_->Start(delay, [this] {
    Tick();
    if (running_) Arm();
  });
}

void DailyHistory::Start() {
  if (running_) return;
  running_ = true;
  if (!timer_) timer_ = clock_.CreateTimer();
  Arm();
}

void DailyHistory::Stop() {
  running_ = false;
  if (timer_) timer_->Stop();
}

void DailyHistory::ComputeUptime(CheckHistory& history, double now) {
  auto share = [](double up, double with_verdict) -> std::optional<double> {
    if (with_verdict <= 0) return std::nullopt;
    return up / with_verdict;
  };
  auto window = [&](size_t days) {
    double up = 0, all = 0;
    const size_t n = history.days.size();
    for (size_t i = n - std::min(days, n); i < n; ++i) {
      const auto& d = history.days[i];
      up += d.seconds_healthy + d.seconds_degraded;
      all += d.seconds_healthy + d.seconds_degraded + d.seconds_unhealthy;
    }
    return share(up, all);
  };
  history.uptime_7d = window(7);
  history.uptime_30d = window(30);
  history.uptime_90d = window(90);
  // 24 hours: today so far, plus the part of yesterday inside the 24 hours,
  // taking yesterday's time as spread evenly over it.
  double up = 0, all = 0;
  const size_t n = history.days.size();
  if (n >= 1) {
    const auto& d = history.days[n - 1];
    up += d.seconds_healthy + d.seconds_degraded;
    all += d.seconds_healthy + d.seconds_degraded + d.seconds_unhealthy;
  }
  if (n >= 2) {
    const double elapsed = std::clamp(now - DayStart(history.days[n - 1].day), 0.0, kDay);
    const double weight = 1.0 - elapsed / kDay;
    const auto& d = history.days[n - 2];
    up += weight * (d.seconds_healthy + d.seconds_degraded);
    all += weight * (d.seconds_healthy + d.seconds_degraded + d.seconds_unhealthy);
  }
  history.uptime_24h = share(up, all);
}

CheckHistory DailyHistory::ForCheck(std::string_view check, int days, double now) const {
  CheckHistory history;
  days = std::max(days, 1);
  const int64_t today = store::UnixDay(now);
  const int64_t first = today - days + 1;
  // Today's live figures (and yesterday's, if midnight passed since the last
  // tick), counted up to `now` on a copy.
  std::vector<store::DailyAggregate> live;
  {
    std::lock_guard lock(mutex_);
    const auto it = tracked_.find(std::string(check));
    if (it != tracked_.end()) {
      Tracked copy = it->second;
      if (copy.active) Accrue(copy, now, &live);
      live.push_back(RowOf(copy.name, copy.today));
    }
  }
  std::vector<store::DailyAggregate> stored;
  if (store_ != nullptr && days > 1) stored = store_->Daily(check, first, today);
  history.days.resize(static_cast<size_t>(days));
  for (int i = 0; i < days; ++i) {
    history.days[static_cast<size_t>(i)].check = std::string(check);
    history.days[static_cast<size_t>(i)].day = first + i;
  }
  auto place = [&](store::DailyAggregate& row) {
    if (row.day < first || row.day > today) return;
    history.days[static_cast<size_t>(row.day - first)] = std::move(row);
  };
  for (auto& row : stored) place(row);
  for (auto& row : live) place(row);  // newer than anything committed
  ComputeUptime(history, now);
  return history;
}

}  // namespace hx
