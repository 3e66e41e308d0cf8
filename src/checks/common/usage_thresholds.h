#pragma once
// What the resource checks (disk, memory) share: reading a pair of
// "degraded_above / unhealthy_above" percentages, judging a used ratio against
// them, and formatting ratios and byte counts for details. Pure functions;
// thread-safe.

#include <optional>
#include <string>
#include <string_view>

#include "checks/check.h"
#include "config/parse_context.h"

namespace hx {

/// Degraded/unhealthy limits for a used ratio, as fractions of 1; a limit is
/// crossed when the ratio is strictly above it. nullopt: that level is off.
struct UsageThresholds {
  std::optional<double> degraded_above;
  std::optional<double> unhealthy_above;
};

/// Reads the percentages `degraded_key` and `unhealthy_key` from `reader`
/// (keeping `defaults` for absent keys) and, when both keys are given,
/// reports degraded above unhealthy as an error at `degraded_key`.
UsageThresholds ReadUsageThresholds(config::MapReader& reader, std::string_view degraded_key,
                                    std::string_view unhealthy_key, UsageThresholds defaults);

/// The health `ratio` earns; when a limit is crossed, *crossed is set to it.
Health JudgeUsage(double ratio, const UsageThresholds& limits, double* crossed);

/// Lowers `result` to `health` when that is worse than its own health, with
/// `reason` as its failure reason: kThreshold (a used ratio beyond its
/// limit) unless the caller measures something else (icmp: packet_loss).
/// A result already at least as bad keeps its reason.
void LowerTo(CheckResult& result, Health health, FailureReason reason = FailureReason::kThreshold);

/// A used ratio as a percentage with one decimal: 0.4213 -> "42.1%".
std::string FormatUsedPercent(double ratio);
/// A configured limit as written: 0.95 -> "95%", 0.995 -> "99.5%".
std::string FormatLimitPercent(double fraction);
/// Bytes in binary units with one decimal: "57.9 GiB", "512.0 MiB", "100 B".
std::string FormatBinaryBytes(double bytes);

}  // namespace hx
