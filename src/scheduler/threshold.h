#pragma once
// Turns a stream of raw attempt results into a stable state, so that one
// blip does not flap a check. Pure and deterministic; not thread-safe.
//
// Rules (after Envoy's health checker, extended to three levels):
//  - the first result sets the state at once;
//  - moving to a worse state needs `failure_threshold` consecutive results at
//    that level or worse (unhealthy wins over degraded when both are reached);
//  - moving to a better state needs `success_threshold` consecutive results at
//    that level or better (healthy wins over degraded when both are reached);
//  - a result that would move the state without reaching its threshold yet is
//    reported as kChangePending.

#include <cstdint>
#include <optional>

#include "checks/check.h"

namespace hx {

enum class Transition : uint8_t { kUnchanged, kChanged, kChangePending };

class ThresholdTracker {
 public:
  ThresholdTracker(int failure_threshold, int success_threshold);

  /// Feeds one raw result; returns how the state moved.
  Transition Record(Health result);

  /// nullopt until the first result.
  std::optional<Health> state() const { return state_; }
  /// Consecutive unhealthy results (health_check_consecutive_failures).
  int consecutive_failures() const { return consecutive_unhealthy_; }
  /// Consecutive healthy results.
  int consecutive_successes() const { return consecutive_healthy_; }

 private:
  int failure_threshold_;
  int success_threshold_;
  std::optional<Health> state_;
  int consecutive_healthy_ = 0;      // results == healthy
  int consecutive_not_healthy_ = 0;  // results degraded or unhealthy
  int consecutive_unhealthy_ = 0;    // results == unhealthy
  int consecutive_not_unhealthy_ = 0;  // results healthy or degraded
};

}  // namespace hx
