#include "scheduler/threshold.h"

#include <algorithm>

namespace hx {

namespace {

// Health is ordered best to worst, so "worse" is simply "greater".
bool IsWorse(Health a, Health b) { return static_cast<int>(a) > static_cast<int>(b); }

}  // namespace

ThresholdTracker::ThresholdTracker(int failure_threshold, int success_threshold)
    // A threshold below one would mean "change before any result"; treat it
    // as the smallest meaningful value instead of misbehaving.
    : failure_threshold_(std::max(1, failure_threshold)),
      success_threshold_(std::max(1, success_threshold)) {}

Transition ThresholdTracker::Record(Health result) {
  // The four counters describe the current streak from every angle a
  // transition needs; each result extends two of them and breaks the other two.
  if (result == Health::kHealthy) {
    ++consecutive_healthy_;
    consecutive_not_healthy_ = 0;
  } else {
    consecutive_healthy_ = 0;
    ++consecutive_not_healthy_;
  }
  if (result == Health::kUnhealthy) {
    ++consecutive_unhealthy_;
    consecutive_not_unhealthy_ = 0;
  } else {
    consecutive_unhealthy_ = 0;
    ++consecutive_not_unhealthy_;
  }

  if (!state_) {
    // Nothing to protect yet: waiting for a threshold here would only report
    // a made-up state during start-up.
    state_ = result;
    return Transition::kChanged;
  }
  const Health current = *state_;
  if (result == current) return Transition::kUnchanged;

  if (IsWorse(result, current)) {
    if (consecutive_unhealthy_ >= failure_threshold_) {
      state_ = Health::kUnhealthy;
      return Transition::kChanged;
    }
    // Only a healthy check can get worse by becoming degraded; the streak of
    // "degraded or unhealthy" results counts towards it.
    if (current == Health::kHealthy && consecutive_not_healthy_ >= failure_threshold_) {
      state_ = Health::kDegraded;
      return Transition::kChanged;
    }
    return Transition::kChangePending;
  }

  if (consecutive_healthy_ >= success_threshold_) {
    state_ = Health::kHealthy;
    return Transition::kChanged;
  }
  if (current == Health::kUnhealthy && consecutive_not_unhealthy_ >= success_threshold_) {
    state_ = Health::kDegraded;
    return Transition::kChanged;
  }
  return Transition::kChangePending;
}

}  // namespace hx
