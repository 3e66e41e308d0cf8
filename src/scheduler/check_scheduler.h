#pragma once
// CheckScheduler owns time for every check: the interval timer, the spread of
// first runs, jitter, the hard timeout, no overlapping runs, degraded latency
// and thresholds. Check types only start and cancel attempts.
//
// Scheduling: check i's stable cadence is  start + offset_i + k * interval,
// where offset_i is a stable hash of the check name spread over [0, interval)
// so checks don't run in lockstep and a restart keeps the same phases.
//
// Start window (`global.startup_spread`, set with SetStartupSpread()): a
// check's first run is at  start + hash_i mod min(startup_spread, interval)
// (the same hash), so every check's first run starts within startup_spread
// of start, whatever its interval, and first runs are still spread, not a
// stampede. From there it joins its stable cadence at the first slot more
// than a jitter window after the first run. When interval <= startup_spread
// the first run is the cadence's slot 0, as if there were no window. The
// first run is not jittered (the hash already spreads it). A check added
// after Start() (by a reload) gets the same window, counted from when it is
// added. An instant check (Check::IsInstant(): only reads this process's own
// state) runs first at once — inside Start() itself, so its result exists
// before anything could read it — since spreading protects targets and there
// is none.
//
// Every later run is delayed by a small random jitter (at most
// min(interval/20, 1s)) that does not accumulate. A run due while the
// previous attempt is still in flight is skipped and counted, never doubled —
// unless the attempt in flight ends (by its timeout at the latest) within the
// jitter window: then the run starts right after it instead, so timeout ==
// interval does not halve the runs.
// Slots that pass while the loop is stalled (busy for more than an interval)
// are not caught up with a burst: each is counted as skipped and the cadence
// resumes at the next slot.
//
// Backoff (`unhealthy_interval`, a circuit breaker for known-dead targets):
// when a run leaves the check's state (after thresholds) unhealthy, the next
// run is due unhealthy_interval after that run's unjittered slot, and every
// unhealthy_interval from there while the state stays unhealthy. When a run
// leaves the state degraded or healthy, runs return to the normal grid
// start + offset_i + k * interval at the first slot after that run's (the
// first one still ahead if that passed while the run was in flight), so a
// check keeps its phase across an outage. Failures below failure_threshold do
// not slow a check down. Jitter follows the same rule with the period in
// force; the timeout is unchanged.
//
// Hard timeout: `timeout` after an attempt starts, it is cancelled and
// recorded as unhealthy "timeout after 2s", whatever the target does; a
// completion that arrives later is ignored.
//
// Loop-thread only; not thread-safe. Results leave through RunSink.

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "checks/check.h"
#include "config/config.h"
#include "scheduler/clock.h"
#include "scheduler/threshold.h"

namespace hx {

/// Everything known about one finished attempt, after degraded latency and
/// thresholds were applied.
struct RunRecord {
  size_t check_id = 0;
  /// The raw result (health may have been lowered to degraded for latency).
  CheckResult result;
  /// State after thresholds; never empty here.
  Health state = Health::kUnhealthy;
  std::optional<Health> previous_state;  ///< nullopt on the first result
  Transition transition = Transition::kUnchanged;
  int consecutive_failures = 0;
  int consecutive_successes = 0;
  bool timed_out = false;
  Duration duration{};      ///< attempt start to completion (or timeout)
  Duration lateness{};      ///< actual start minus planned start (>= 0)
  double started_at = 0;    ///< wall clock, seconds since the epoch
  double finished_at = 0;   ///< wall clock
};

/// Receives the scheduler's output, on the loop thread.
class RunSink {
 public:
  virtual ~RunSink() = default;
  virtual void OnRun(const RunRecord& run) = 0;
  /// A run did not happen: it was due while the previous one was still in
  /// flight, or its slot passed while the loop was busy elsewhere.
  virtual void OnSkipped(size_t check_id) = 0;
};

class CheckScheduler {
 public:
  /// `seed` drives jitter; tests pass a fixed one.
  CheckScheduler(Clock& clock, RunSink& sink, uint64_t seed = std::random_device{}());
  ~CheckScheduler();
  CheckScheduler(const CheckScheduler&) = delete;
  CheckScheduler& operator=(const CheckScheduler&) = delete;

  /// Adds a check; it is scheduled once Start() has been called (at once if
  /// already started). Returns its id (ids are never reused).
  size_t Add(const CheckConfig& config, std::unique_ptr<Check> check);

  /// Cancels any attempt in flight and forgets the check. No RunRecord is
  /// emitted for a cancelled attempt.
  void Remove(size_t check_id);

  /// The start window for first runs (see the file comment); applies to
  /// checks scheduled from now on (by Start(), or by Add() after it). 0 runs
  /// every first run at once. Default kDefaultStartupSpread.
  void SetStartupSpread(Duration spread);

  /// Schedules the first run of every check added so far. Instant checks run
  /// here, so the sink may be called (and may Remove() or Stop()) before
  /// Start() returns.
  void Start();

  /// Cancels every attempt and timer; no callbacks after this returns.
  void Stop();

  /// Number of attempts in flight (for /metrics and tests).
  size_t InFlight() const;

  /// A stable function of a check's name in [0, interval) (0 if interval is
  /// 0): the phase of its cadence, or with the start window as `interval`,
  /// the offset of its first run. Exposed for tests.
  static Duration FirstRunOffset(const std::string& name, Duration interval);

  /// When a check's first run is due, counted from Start() (or its Add()
  /// after Start()): FirstRunOffset(name, min(startup_spread, interval)).
  /// Instant checks run at 0 instead. Exposed for tests.
  static Duration StartWindowOffset(const std::string& name, Duration interval,
                                    Duration startup_spread);

 private:
  struct Entry;
  // Callbacks hold a check's id, never an Entry*, and look it up again: the
  // entry may have been removed meanwhile.
  Entry* Find(size_t check_id);
  /// Puts the entry on its normal cadence, anchored at `from` + its offset.
  void ResetCadence(Entry& e, MonoTime from);
  /// ResetCadence(), then arms the first run within the start window from
  /// `from`, after which the cadence takes over.
  void ScheduleFirstRun(Entry& e, MonoTime from);
  /// Arms the timer for the next slot; returns how many slots it passed
  /// over because they were already in the past.
  uint64_t ScheduleNext(Entry& e);
  void OnDue(size_t check_id);
  void StartAttempt(Entry& e, MonoTime slot, MonoTime now, Duration lateness);
  /// Switches between the normal cadence and backoff after a result.
  void FollowState(Entry& e, Health state);
  void OnTimeout(size_t check_id, uint64_t attempt);
  void OnDone(size_t check_id, uint64_t attempt, CheckResult result);
  /// Starts the run deferred while the previous attempt was ending, if any.
  void StartDeferred(size_t check_id);
  void Finish(Entry& e, CheckResult result, bool timed_out);
  /// Ends the attempt in flight without a record (Remove, Stop).
  void Abandon(Entry& e);
  Duration Jitter(Duration interval);

  Clock& clock_;
  RunSink& sink_;
  std::mt19937_64 rng_;
  bool started_ = false;
  MonoTime start_time_{};
  Duration startup_spread_ = kDefaultStartupSpread;
  size_t next_id_ = 0;
  size_t in_flight_ = 0;
  std::vector<std::unique_ptr<Entry>> entries_;  // indexed by id; null when removed
  // Removed entries wait here until the next turn of the loop: Remove() may be
  // called from inside the entry's own check or timer callback, whose code must
  // not be destroyed under it.
  std::vector<std::unique_ptr<Entry>> graveyard_;
  std::unique_ptr<Timer> reaper_;
};

}  // namespace hx
