#pragma once
// Days of history per check: the view the status page, the public page and
// their JSON read uptime bars, uptime percentages and latency trends from.
// Past days come from the store's daily aggregates (store/records.h
// DailyAggregate, one row per check and UTC day); the current day from the
// live figures the daemon keeps while it runs. The implementation
// (status/daily_history.h) is fed by the scheduler's results on the loop
// thread; this interface is what readers see.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/records.h"

namespace hx {

/// One check's history as of one moment. A plain value.
struct CheckHistory {
  /// One entry per UTC day, oldest first, ending with today (live figures so
  /// far). A day the check did not run (before it existed, the daemon down)
  /// has attempts == 0 and no seconds in any state.
  std::vector<store::DailyAggregate> days;
  /// Share of the time with a verdict that the check was not unhealthy, over
  /// the last 24 hours, 7, 30 and 90 days (whole UTC days plus today so far);
  /// nullopt when the window holds no verdict at all.
  std::optional<double> uptime_24h;
  std::optional<double> uptime_7d;
  std::optional<double> uptime_30d;
  std::optional<double> uptime_90d;
};

/// Read side of the daily history. Thread-safe: called from HTTP worker
/// threads, any number at once; may read the store (blocking on disk), so
/// never from the loop thread.
class HistoryView {
 public:
  virtual ~HistoryView() = default;

  /// `check`'s last `days` days as of wall time `now` (seconds since the
  /// epoch). An unknown check gets `days` empty days and no uptime.
  virtual CheckHistory ForCheck(std::string_view check, int days, double now) const = 0;
};

}  // namespace hx
