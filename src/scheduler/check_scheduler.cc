#include "scheduler/check_scheduler.h"

#include <algorithm>
#include <utility>

namespace hx {

namespace {

using std::chrono::milliseconds;

// libuv timers have millisecond resolution; a 0 ms timer would also fire on
// the very next loop turn, so no run is ever armed closer than this.
constexpr Duration kMinTimerDelay = milliseconds(1);
constexpr Duration kMaxJitter = std::chrono::seconds(1);
// Added to the jitter window when deciding to defer rather than skip a run:
// covers timer resolution (1 ms) and loop latency.
constexpr Duration kDeferSlack = milliseconds(20);

// The largest jitter of a run of a check with this interval (or period).
Duration MaxJitter(Duration interval) { return std::min(interval / 20, kMaxJitter); }

// 64-bit FNV-1a followed by the MurmurHash3 finaliser: FNV alone is stable
// across builds and platforms (std::hash is not) but mixes short, similar
// names ("api-1", "api-2") poorly into the low bits a modulo uses.
uint64_t StableHash(const std::string& text) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

// A measured duration for a user: whole milliseconds, unless that would hide
// why it exceeded `limit` (612.4ms vs 612ms), then microseconds.
std::string FormatMeasured(Duration measured, Duration limit) {
  Duration shown = std::chrono::round<milliseconds>(measured);
  if (shown <= limit) shown = std::chrono::round<std::chrono::microseconds>(measured);
  return FormatDuration(shown);
}

}  // namespace

struct CheckScheduler::Entry {
  Entry(size_t id, const CheckConfig& config, std::unique_ptr<Check> check, Clock& clock)
      : id(id),
        name(config.name),
        interval(std::max(config.interval, kMinTimerDelay)),
        unhealthy_interval(config.unhealthy_interval && *config.unhealthy_interval > interval
                               ? config.unhealthy_interval
                               : std::nullopt),
        timeout(config.timeout),
        degraded_latency(config.degraded_latency),
        offset(FirstRunOffset(config.name, interval)),
        check(std::move(check)),
        interval_timer(clock.CreateTimer()),
        timeout_timer(clock.CreateTimer()),
        thresholds(config.failure_threshold, config.success_threshold) {}

  const size_t id;
  const std::string name;
  const Duration interval;
  // Set only when longer than `interval`: an equal one would change nothing.
  const std::optional<Duration> unhealthy_interval;
  const Duration timeout;
  const std::optional<Duration> degraded_latency;
  const Duration offset;
  std::unique_ptr<Check> check;
  std::unique_ptr<Timer> interval_timer;
  std::unique_ptr<Timer> timeout_timer;
  ThresholdTracker thresholds;

  // The normal cadence: runs at base_phase + k * interval.
  MonoTime base_phase{};
  // The cadence in force: run k is due at phase + k * period (before
  // jitter). It is the normal one, or while backing off, every
  // unhealthy_interval from the slot of the run that found the check unhealthy.
  MonoTime phase{};
  Duration period{};
  bool backing_off = false;
  int64_t next_run = 0;
  MonoTime slot{};     // the armed run's due time before jitter
  MonoTime planned{};  // when the armed interval timer should fire

  bool in_flight = false;
  // Bumped whenever an attempt starts or is abandoned; callbacks carrying an
  // older value belong to an attempt that is over and are ignored.
  uint64_t attempt = 0;
  MonoTime attempt_slot{};  // the unjittered due time of the attempt in flight
  MonoTime attempt_started{};
  Duration attempt_lateness{};
  double attempt_started_wall = 0;
  // A run that came due while the attempt in flight was about to end (by its
  // timeout at the latest): it starts as soon as that attempt ends instead
  // of being skipped. Its slot and planned time.
  std::optional<std::pair<MonoTime, MonoTime>> deferred;
};

CheckScheduler::CheckScheduler(Clock& clock, RunSink& sink, uint64_t seed)
    : clock_(clock), sink_(sink), rng_(seed), reaper_(clock.CreateTimer()) {}

CheckScheduler::~CheckScheduler() {
  Stop();
  reaper_->Stop();
  entries_.clear();
  graveyard_.clear();
}

size_t CheckScheduler::Add(const CheckConfig& config, std::unique_ptr<Check> check) {
  const size_t id = next_id_++;
  entries_.push_back(std::make_unique<Entry>(id, config, std::move(check), clock_));
  if (started_) {
    // Added by a reload: the start window counted from now, so a new critical
    // check does not hold /readyz at pending for up to its interval, and a
    // reload adding many checks spreads their first runs as a start does.
    // Never inside Add(): the caller registers the check with the sink after
    // Add() returns, so even an instant check waits for the next loop turn.
    ScheduleFirstRun(*entries_.back(), clock_.Now());
  }
  return id;
}

void CheckScheduler::Remove(size_t check_id) {
  Entry* e = Find(check_id);
  if (e == nullptr) return;
  Abandon(*e);
  e->interval_timer->Stop();
  graveyard_.push_back(std::move(entries_[check_id]));
  reaper_->Start(Duration::zero(), [this] {
    // Swapped out first so destructors that (wrongly) re-enter the scheduler
    // cannot disturb the vector being cleared.
    std::vector<std::unique_ptr<Entry>> dead;
    dead.swap(graveyard_);
  });
}

void CheckScheduler::SetStartupSpread(Duration spread) {
  startup_spread_ = std::max(spread, Duration::zero());
}

void CheckScheduler::Start() {
  started_ = true;
  start_time_ = clock_.Now();
  const size_t count = entries_.size();
  for (size_t id = 0; id < count; ++id) {
    if (Entry* e = Find(id)) ScheduleFirstRun(*e, start_time_);
  }
  // Instant checks run now, all timers being armed first: their results
  // exist before anything reads the sink's view (a restored heartbeat is
  // never "pending"). By id, looked up again: the sink may Remove() or Stop().
  for (size_t id = 0; id < count && started_; ++id) {
    Entry* e = Find(id);
    if (e == nullptr || !e->check->IsInstant() || e->in_flight) continue;
    e->planned = e->slot;
    OnDue(id);
  }
}

void CheckScheduler::Stop() {
  started_ = false;
  for (auto& e : entries_) {
    if (!e) continue;
    Abandon(*e);
    e->interval_timer->Stop();
  }
}

size_t CheckScheduler::InFlight() const { return in_flight_; }

Duration CheckScheduler::FirstRunOffset(const std::string& name, Duration interval) {
  if (interval.count() <= 0) return Duration::zero();
  return Duration(static_cast<int64_t>(StableHash(name) % static_cast<uint64_t>(interval.count())));
}

Duration CheckScheduler::StartWindowOffset(const std::string& name, Duration interval,
                                           Duration startup_spread) {
  return FirstRunOffset(name, std::min(startup_spread, interval));
}

CheckScheduler::Entry* CheckScheduler::Find(size_t check_id) {
  return check_id < entries_.size() ? entries_[check_id].get() : nullptr;
}

void CheckScheduler::ResetCadence(Entry& e, MonoTime from) {
  e.base_phase = from + e.offset;
  e.phase = e.base_phase;
  e.period = e.interval;
  e.backing_off = false;
  e.next_run = 0;
}

void CheckScheduler::ScheduleFirstRun(Entry& e, MonoTime from) {
  ResetCadence(e, from);
  const MonoTime first =
      e.check->IsInstant() ? from : from + StartWindowOffset(e.name, e.interval, startup_spread_);
  // The cadence resumes at its first slot more than a jitter window after
  // the first run (a slot closer than that could pass while the first run
  // is still being started, and would be counted as skipped). With interval
  // <= startup_spread the first run is slot 0 itself and this is slot 1.
  const MonoTime reach = first + MaxJitter(e.interval);
  const int64_t resume = reach < e.base_phase ? 0 : (reach - e.base_phase) / e.interval + 1;
  // OnDue() counts the run it starts as a slot of the cadence; the first run
  // is off the cadence, so it is counted as the slot before `resume`.
  e.next_run = resume - 1;
  e.slot = first;
  const MonoTime now = clock_.Now();
  e.planned = std::max(first, now + kMinTimerDelay);
  const size_t id = e.id;
  e.interval_timer->Start(e.planned - now, [this, id] { OnDue(id); });
}

uint64_t CheckScheduler::ScheduleNext(Entry& e) {
  const MonoTime now = clock_.Now();
  MonoTime due = e.phase + e.next_run * e.period;
  uint64_t passed = 0;
  if (due < now) {
    // The loop stalled for more than an interval: resume the cadence at the
    // next slot instead of firing a burst of catch-up runs.
    const uint64_t next_run = (now - e.phase) / e.period + 1;
    passed = next_run - e.next_run;
    e.next_run = next_run;
    due = e.phase + e.next_run * e.period;
  }
  e.slot = due;
  // Jitter is drawn per run from the unjittered slot, so it never accumulates.
  e.planned = std::max(due + Jitter(e.period), now + kMinTimerDelay);
  const size_t id = e.id;
  e.interval_timer->Start(e.planned - now, [this, id] { OnDue(id); });
  return passed;
}

void CheckScheduler::OnDue(size_t check_id) {
  Entry* e = Find(check_id);
  if (e == nullptr || !started_) return;
  const MonoTime now = clock_.Now();
  const MonoTime planned = e->planned;
  const Duration lateness = std::max(Duration::zero(), now - planned);
  const MonoTime slot = e->slot;
  ++e->next_run;
  // Arm the next run before calling out: the sink or the check may Remove()
  // or Stop(), after which `e` must not be touched again.
  const uint64_t missed = ScheduleNext(*e);
  if (missed > 0) {
    // Slots that passed while the loop was busy elsewhere (this timer fired
    // more than an interval late): runs lost, counted like overlaps so that
    // "no skipped run" really means every planned run happened.
    for (uint64_t i = 0; i < missed; ++i) sink_.OnSkipped(check_id);
    e = Find(check_id);
    if (e == nullptr || !started_) return;
  }
  if (e->in_flight) {
    // With timeout == interval (e.g. the default timeout clamped to a short
    // interval) a hung target's attempt ends just after the next run is due,
    // jitter and timer resolution deciding which comes first. Skipping then
    // would drop every other run of a failing check; run it right after the
    // attempt ends instead. An attempt that still has long to go is a real
    // overlap: skip and count it.
    const MonoTime deadline = e->attempt_started + e->timeout;
    const Duration window = MaxJitter(e->interval) + kDeferSlack;
    if (deadline <= now + window && !e->deferred) {
      e->deferred.emplace(slot, planned);
      return;
    }
    sink_.OnSkipped(check_id);
    return;
  }
  StartAttempt(*e, slot, now, lateness);
}

void CheckScheduler::StartAttempt(Entry& e, MonoTime slot, MonoTime now, Duration lateness) {
  e.in_flight = true;
  e.attempt_slot = slot;
  ++in_flight_;
  const uint64_t attempt = ++e.attempt;
  e.attempt_started = now;
  e.attempt_lateness = lateness;
  e.attempt_started_wall = clock_.WallSeconds();
  const size_t id = e.id;
  // Armed before Start() so a completion inside Start() can disarm it.
  e.timeout_timer->Start(e.timeout, [this, id, attempt] { OnTimeout(id, attempt); });
  e.check->Start(
      [this, id, attempt](CheckResult result) { OnDone(id, attempt, std::move(result)); });
  // `e` may be gone or stopped here: nothing more to do.
}

void CheckScheduler::OnTimeout(size_t check_id, uint64_t attempt) {
  Entry* e = Find(check_id);
  if (e == nullptr || !e->in_flight || e->attempt != attempt) return;
  e->in_flight = false;
  --in_flight_;
  ++e->attempt;  // whatever the check still reports belongs to the past
  e->check->Cancel();
  Finish(*e, CheckResult::Unhealthy(FailureReason::kTimeout, "timeout after " + FormatDuration(e->timeout)),
         /*timed_out=*/true);
  StartDeferred(check_id);
}

void CheckScheduler::StartDeferred(size_t check_id) {
  // Looked up again: the sink may have removed the check or stopped us.
  Entry* e = Find(check_id);
  if (e == nullptr || !started_ || e->in_flight || !e->deferred) return;
  const auto [slot, planned] = *e->deferred;
  e->deferred.reset();
  const MonoTime now = clock_.Now();
  StartAttempt(*e, slot, now, std::max(Duration::zero(), now - planned));
}

void CheckScheduler::OnDone(size_t check_id, uint64_t attempt, CheckResult result) {
  Entry* e = Find(check_id);
  if (e == nullptr || !e->in_flight || e->attempt != attempt) return;
  e->in_flight = false;
  --in_flight_;
  e->timeout_timer->Stop();
  Finish(*e, std::move(result), /*timed_out=*/false);
  StartDeferred(check_id);
}

void CheckScheduler::Finish(Entry& e, CheckResult result, bool timed_out) {
  const MonoTime now = clock_.Now();
  const Duration duration = now - e.attempt_started;
  if (result.health == Health::kHealthy && e.degraded_latency && duration > *e.degraded_latency) {
    std::string detail = "slow: " + FormatMeasured(duration, *e.degraded_latency) + " > " +
                         FormatDuration(*e.degraded_latency);
    if (!result.detail.empty()) detail += " (" + result.detail + ")";
    result.health = Health::kDegraded;
    result.reason = FailureReason::kSlow;
    result.detail = std::move(detail);
  }

  RunRecord run;
  run.check_id = e.id;
  run.previous_state = e.thresholds.state();
  run.transition = e.thresholds.Record(result.health);
  run.state = *e.thresholds.state();
  // Before the sink is called: it may remove the check or stop the scheduler.
  FollowState(e, run.state);
  run.consecutive_failures = e.thresholds.consecutive_failures();
  run.consecutive_successes = e.thresholds.consecutive_successes();
  run.result = std::move(result);
  run.timed_out = timed_out;
  run.duration = duration;
  run.lateness = e.attempt_lateness;
  run.started_at = e.attempt_started_wall;
  run.finished_at = clock_.WallSeconds();
  sink_.OnRun(run);
  // The sink may have removed this check or stopped the scheduler.
}

void CheckScheduler::FollowState(Entry& e, Health state) {
  if (!e.unhealthy_interval || !started_) return;
  const bool unhealthy = state == Health::kUnhealthy;
  if (unhealthy == e.backing_off) return;
  e.backing_off = unhealthy;
  if (unhealthy) {
    // Circuit open: the next run is unhealthy_interval after this run's slot,
    // and so on from there. The run of the normal cadence already armed is
    // replaced, not added to.
    e.phase = e.attempt_slot;
    e.period = *e.unhealthy_interval;
    e.next_run = 1;
  } else {
    // Recovered: back onto the normal grid (base_phase + k * interval), at
    // the first slot after this run's (or, if that passed while this run was
    // in flight, the first one still ahead: ScheduleNext), so the check keeps
    // the phase its name gives it, and its spread against other checks,
    // across any outage.
    e.phase = e.base_phase;
    e.period = e.interval;
    const Duration since_base = e.attempt_slot - e.base_phase;
    e.next_run = since_base < Duration::zero() ? 0 : since_base / e.interval + 1;
  }
  ScheduleNext(e);
}

void CheckScheduler::Abandon(Entry& e) {
  e.timeout_timer->Stop();
  e.deferred.reset();
  if (!e.in_flight) return;
  e.in_flight = false;
  --in_flight_;
  ++e.attempt;
  e.check->Cancel();
}

Duration CheckScheduler::Jitter(Duration interval) {
  const Duration max_jitter = MaxJitter(interval);
  if (max_jitter.count() <= 0) return Duration::zero();
  std::uniform_int_distribution<int64_t> dist(0, max_jitter.count());
  return Duration(dist(rng_));
}

}  // namespace hx
