#pragma once
// Parsing and formatting of the units used in config files: durations in
// Prometheus form ("1m30s", "500ms"), byte sizes ("1MiB", "512KB", "1024")
// and percentages ("90%"). All functions are pure and thread-safe.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hx {

/// Durations everywhere in health_exporter; nanosecond resolution so measured
/// latencies keep their precision.
using Duration = std::chrono::nanoseconds;

/// Parses a Prometheus duration: one or more <int><unit> groups, units in
/// descending order, each at most once: y w d h m s ms (e.g. "1h30m", "250ms",
/// "0s"). A bare "0" is accepted. On failure returns nullopt and sets *error to
/// a message such as `not a valid duration "5 sec" (use e.g. 500ms, 10s, 1m30s)`.
std::optional<Duration> ParseDuration(std::string_view text, std::string* error);

/// Formats a duration the way a user would write it: "1m30s", "500ms", "2s",
/// "1.5ms" below a millisecond resolution is rounded to microseconds ("750us").
std::string FormatDuration(Duration d);

/// Nanoseconds as milliseconds with one decimal, "1.2ms": enough precision
/// to tell loopback from a slow network, for details.
std::string FormatMillis(uint64_t nanos);

/// Parses a byte size: an integer with an optional unit B, KB, MB, GB (powers
/// of 1000) or KiB, MiB, GiB (powers of 1024), e.g. "1MiB", "64KB", "4096".
std::optional<uint64_t> ParseByteSize(std::string_view text, std::string* error);

/// Parses a percentage "90%" or "99.5%" into a fraction in [0, 1].
std::optional<double> ParsePercent(std::string_view text, std::string* error);

/// Seconds as a double, for metrics.
inline double ToSeconds(Duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace hx
