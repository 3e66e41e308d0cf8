#include "checks/common/usage_thresholds.h"

#include <array>
#include <cstdio>

namespace hx {

UsageThresholds ReadUsageThresholds(config::MapReader& reader, std::string_view degraded_key,
                                    std::string_view unhealthy_key, UsageThresholds defaults) {
  UsageThresholds out = defaults;
  const std::optional<double> degraded = reader.Percent(degraded_key);
  const std::optional<double> unhealthy = reader.Percent(unhealthy_key);
  if (degraded) out.degraded_above = degraded;
  if (unhealthy) out.unhealthy_above = unhealthy;
  if (degraded && unhealthy && *degraded > *unhealthy) {
    reader.Error(degraded_key, "must not be above " + std::string(unhealthy_key) + " (" +
                                   FormatLimitPercent(*unhealthy) + ")");
  }
  return out;
}

Health JudgeUsage(double ratio, const UsageThresholds& limits, double* crossed) {
  if (limits.unhealthy_above && ratio > *limits.unhealthy_above) {
    *crossed = *limits.unhealthy_above;
    return Health::kUnhealthy;
  }
  if (limits.degraded_above && ratio > *limits.degraded_above) {
    *crossed = *limits.degraded_above;
    return Health::kDegraded;
  }
  return Health::kHealthy;
}

void LowerTo(CheckResult& result, Health health, FailureReason reason) {
  if (health <= result.health) return;
  result.health = health;
  result.reason = reason;
}

std::string FormatUsedPercent(double ratio) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f%%", ratio * 100);
  return buf;
}

std::string FormatLimitPercent(double fraction) {
  // %g drops the float noise of 0.95 * 100 and the trailing zeros.
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g%%", fraction * 100);
  return buf;
}

std::string FormatBinaryBytes(double bytes) {
  static constexpr std::array<const char*, 6> kUnits = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  char buf[32];
  if (bytes < 1024) {
    std::snprintf(buf, sizeof(buf), "%.0f B", bytes);
    return buf;
  }
  size_t unit = 0;
  bytes /= 1024;
  while (bytes >= 1024 && unit + 1 < kUnits.size()) {
    bytes /= 1024;
    ++unit;
  }
  std::snprintf(buf, sizeof(buf), "%.1f %s", bytes, kUnits[unit]);
  return buf;
}

}  // namespace hx
