#pragma once
// The rows the store keeps, as plain values. Each struct is one row of one
// table of the v1 schema (store/schema.cc) keyed by the check's name; the
// store maps names to small integer ids itself. Plain values: safe to copy
// between threads, no shared state.

#include <cstdint>
#include <optional>
#include <string>

namespace hx::store {

/// The last ping of one heartbeat check (table `heartbeat`). A plain value.
struct HeartbeatRow {
  std::string check;
  /// Wall seconds when the daemon first watched this check (start of the
  /// grace before a first ping is due).
  double watched_since = 0;
  /// Wall seconds of the last ping; 0 = never pinged.
  double last_ping = 0;
  /// Whether the last ping reported success.
  bool last_ok = false;
  /// The exit code the job reported with its ping, if it sent one.
  std::optional<int> exit_code;
  /// The sanitised text (body excerpt) of the last failure ping; empty after a
  /// success.
  std::string detail;

  bool operator==(const HeartbeatRow&) const = default;
};

/// One non-healthy result or state change of a check (table `journal`). A
/// plain value.
struct JournalEntry {
  std::string check;
  /// Wall seconds when the attempt ended.
  double time = 0;
  /// "healthy", "degraded", "unhealthy" (a healthy entry is a state change back).
  std::string state;
  /// The state before, when this entry is a state change; empty otherwise.
  std::string previous_state;
  /// The failure reason (one of the fixed documented set; empty when healthy).
  std::string reason;
  std::string detail;
  /// The attempt's duration in seconds.
  double duration = 0;
  /// The attempt's phases as a JSON object, e.g. {"dns":0.001,"connect":0.002}.
  std::string phases_json = "{}";
  /// The address the check connected to, e.g. "127.0.0.1:8080"; may be empty.
  std::string address;
  std::optional<int> http_status;
  /// The first bytes of the response body, already redacted by the caller;
  /// cut to kMaxBodyExcerpt by the store.
  std::string body_excerpt;
  /// The scheduler's attempt id, to match log lines.
  uint64_t attempt_id = 0;

  static constexpr size_t kMaxBodyExcerpt = 512;

  bool operator==(const JournalEntry&) const = default;
};

/// One check's figures for one UTC day (table `daily`). The caller owns the
/// running aggregate and rewrites the day's row as it goes (an upsert); the
/// store does not compute anything. A plain value. Stored to the millisecond (durations)
/// and the microsecond (latencies).
struct DailyAggregate {
  std::string check;
  /// Days since 1970-01-01 UTC (UnixDay()).
  int64_t day = 0;
  int64_t attempts = 0;
  int64_t results_healthy = 0;
  int64_t results_degraded = 0;
  int64_t results_unhealthy = 0;
  double seconds_healthy = 0;
  double seconds_degraded = 0;
  double seconds_unhealthy = 0;
  /// Time without a verdict (waiting for a first result, blocked by a
  /// dependency). Time the daemon was down is in none of the four.
  double seconds_unknown = 0;
  /// Latency quantiles in seconds; nullopt when the day had no attempt.
  std::optional<double> latency_p50;
  std::optional<double> latency_p95;
  std::optional<double> latency_p99;
  /// The longest continuous unhealthy stretch that day, in seconds.
  double longest_outage = 0;

  bool operator==(const DailyAggregate&) const = default;
};

/// A check the store knows, with its tombstone (table `checks`). A plain value.
struct CheckRow {
  std::string check;
  /// Wall seconds when the check left the config; 0 while configured. Its rows
  /// are dropped once this is older than StoreOptions::removed_check_grace.
  double removed_at = 0;

  bool operator==(const CheckRow&) const = default;
};

/// The UTC day (days since the epoch) of wall seconds `unix_seconds`.
int64_t UnixDay(double unix_seconds);

}  // namespace hx::store
