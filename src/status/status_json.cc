#include "status/status_json.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

namespace hx {
namespace {

using nlohmann::json;

double ToMilliseconds(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// A time as both forms people and scripts want: RFC 3339 and unix seconds.
void PutTime(json& out, const std::string& key, double unix_seconds) {
  out[key] = FormatRfc3339(unix_seconds);
  out[key + "_unix"] = unix_seconds;
}

json ObservationsJson(const std::vector<Observation>& observations) {
  json out = json::array();
  for (const auto& o : observations) {
    json item = {{"name", o.name()}, {"value", o.value}};
    if (!o.label_name().empty()) item["labels"] = {{o.label_name(), o.label_value}};
    out.push_back(std::move(item));
  }
  return out;
}

// A failure reason, null when healthy.
json ReasonJson(FailureReason reason) {
  return reason == FailureReason::kNone ? json(nullptr) : json(FailureReasonName(reason));
}

json LastResultJson(const LastResult& last) {
  json out = {
      {"attempt", last.attempt},     {"health", HealthName(last.health)},
      {"detail", last.detail},       {"duration_ms", ToMilliseconds(last.duration)},
      {"timed_out", last.timed_out},
  };
  out["reason"] = ReasonJson(last.reason);
  PutTime(out, "started_at", last.started_at);
  PutTime(out, "finished_at", last.finished_at);
  out["observations"] = ObservationsJson(last.observations);
  return out;
}

json BlockedJson(const std::vector<std::string>& blocked_by) {
  json names = json::array();
  for (const auto& name : blocked_by) names.push_back(name);
  return names;
}

json CheckJson(const CheckStatus& status, const std::vector<std::string>& blocked_by) {
  const CheckInfo& info = *status.info;
  json labels = json::object();
  for (const auto& [name, value] : info.labels) labels[name] = value;
  json out = {
      {"name", info.name},
      {"type", info.type},
      {"target", info.target},
      {"critical", info.critical},
      {"labels", std::move(labels)},
      {"interval_seconds", ToSeconds(info.interval)},
      {"timeout_seconds", ToSeconds(info.timeout)},
      {"state", status.state ? HealthName(*status.state) : "pending"},
      {"depends_on", info.depends_on},
      {"blocked", !blocked_by.empty()},
      {"blocked_by", BlockedJson(blocked_by)},
  };
  if (info.slo) out["slo"] = *info.slo;
  if (status.state) {
    PutTime(out, "state_since", status.state_since);
  } else {
    out["state_since"] = nullptr;
    out["state_since_unix"] = nullptr;
  }
  out["last_result"] = status.last ? LastResultJson(*status.last) : json(nullptr);
  out["consecutive_failures"] = status.consecutive_failures;
  out["consecutive_successes"] = status.consecutive_successes;
  // The same counters as /metrics, from the same snapshot.
  out["runs"] = status.runs;
  out["runs_by_result"] = {{"healthy", status.runs_by_result[0]},
                           {"degraded", status.runs_by_result[1]},
                           {"unhealthy", status.runs_by_result[2]}};
  out["timeouts"] = status.timeouts;
  out["skipped_runs"] = status.skipped_runs;
  json failures = json::object();
  for (unsigned r = 1; r < kFailureReasonCount; ++r) {
    if (status.failures_by_reason[r] > 0) {
      failures[FailureReasonName(static_cast<FailureReason>(r))] = status.failures_by_reason[r];
    }
  }
  out["failures_by_reason"] = std::move(failures);
  if (status.last_failure_reason != FailureReason::kNone) {
    json last_failure = {{"reason", FailureReasonName(status.last_failure_reason)}};
    PutTime(last_failure, "at", status.last_failure_at);
    out["last_failure"] = std::move(last_failure);
  } else {
    out["last_failure"] = nullptr;
  }
  PutTime(out, "created", status.created);
  json history = json::array();
  for (const auto& entry : status.history) {
    json item = {{"attempt", entry.attempt},
                 {"health", HealthName(entry.health)},
                 {"duration_ms", ToMilliseconds(entry.duration)},
                 {"detail", entry.detail},
                 {"reason", ReasonJson(entry.reason)}};
    PutTime(item, "finished_at", entry.finished_at);
    history.push_back(std::move(item));
  }
  out["history"] = std::move(history);
  return out;
}

// Seconds as milliseconds to the microsecond: what was measured, without
// the binary noise of the conversion (0.8589570000000001).
double MillisecondsOf(double seconds) { return std::round(seconds * 1e6) / 1e3; }

// One failure-journal entry (docs/failure-journal.md names every field).
json JournalEntryJson(const store::JournalEntry& entry) {
  json out = json::object();
  PutTime(out, "time", entry.time);
  out["attempt"] = entry.attempt_id;
  out["state"] = entry.state;
  out["previous_state"] = entry.previous_state.empty() ? json(nullptr) : json(entry.previous_state);
  out["reason"] = entry.reason.empty() ? json(nullptr) : json(entry.reason);
  out["detail"] = entry.detail;
  out["duration_ms"] = MillisecondsOf(entry.duration);
  // Written by the journal as a JSON object; anything else (a row written
  // by hand) is shown as no phases rather than failing the page.
  json phases = json::parse(entry.phases_json, nullptr, /*allow_exceptions=*/false);
  out["phases_ms"] = json::object();
  if (phases.is_object()) {
    for (const auto& [phase, seconds] : phases.items()) {
      if (seconds.is_number()) out["phases_ms"][phase] = MillisecondsOf(seconds.get<double>());
    }
  }
  out["address"] = entry.address.empty() ? json(nullptr) : json(entry.address);
  out["http_status"] = entry.http_status ? json(*entry.http_status) : json(nullptr);
  out["body_excerpt"] = entry.body_excerpt.empty() ? json(nullptr) : json(entry.body_excerpt);
  return out;
}

// Details come from remote servers and may hold any bytes; a status page must
// never fail because of them, so invalid UTF-8 is replaced rather than thrown.
std::string Dump(const json& document) {
  return document.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace

std::string FormatRfc3339(double unix_seconds) {
  const auto total_ms = static_cast<int64_t>(std::llround(unix_seconds * 1000.0));
  int64_t seconds = total_ms / 1000;
  int64_t millis = total_ms % 1000;
  if (millis < 0) {  // floor division for times before 1970
    millis += 1000;
    seconds -= 1;
  }
  const auto t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis));
  return buffer;
}

std::string RenderStatusJson(const BoardSnapshot& snapshot, double now) {
  // Written one check at a time, byte for byte what Dump() of the whole
  // document would write: a tree of every check (about 38 KB a check) was
  // built and freed per request, and each web worker's malloc arena kept
  // the peak (4 workers x 38 MB at 1,000 checks; RSS 274 MB in the soak).
  json rest = {{"overall", OverallStatusName(snapshot.overall)}};
  PutTime(rest, "generated_at", now);
  std::string out = "{\n  \"checks\": [";
  for (size_t i = 0; i < snapshot.checks.size(); ++i) {
    const std::string check =
        CheckJson(*snapshot.checks[i], i < snapshot.blocked_by.size()
                                           ? snapshot.blocked_by[i]
                                           : std::vector<std::string>{})
            .dump(2, ' ', false, json::error_handler_t::replace);
    out += i == 0 ? "\n    " : ",\n    ";
    // The check's lines, indented two levels deeper (inside "checks").
    for (char c : check) {
      out += c;
      if (c == '\n') out += "    ";
    }
  }
  out += snapshot.checks.empty() ? "]," : "\n  ],";
  // "checks" sorts before every other key: the rest follows it.
  const std::string tail = Dump(rest);
  out.append(tail, 1, std::string::npos);  // without its opening '{'
  return out;
}

std::optional<size_t> FindCheck(const BoardSnapshot& snapshot, std::string_view name) {
  for (size_t i = 0; i < snapshot.checks.size(); ++i) {
    if (snapshot.checks[i]->info->name == name) return i;
  }
  return std::nullopt;
}

std::string RenderCheckStatusJson(const BoardSnapshot& snapshot, size_t index, double now,
                                  const std::vector<store::JournalEntry>& journal,
                                  std::string_view storage) {
  json document = CheckJson(*snapshot.checks[index], index < snapshot.blocked_by.size()
                                                         ? snapshot.blocked_by[index]
                                                         : std::vector<std::string>{});
  PutTime(document, "generated_at", now);
  json entries = json::array();
  for (const auto& entry : journal) entries.push_back(JournalEntryJson(entry));
  document["journal"] = std::move(entries);
  document["journal_storage"] = storage;
  return Dump(document);
}

std::string RenderReadinessJson(const BoardSnapshot& snapshot, bool verbose) {
  json document = {{"status", OverallStatusName(snapshot.overall)}};
  if (verbose) {
    json checks = json::object();
    for (size_t i = 0; i < snapshot.checks.size(); ++i) {
      const auto& status = snapshot.checks[i];
      json item = {{"status", status->state ? HealthName(*status->state) : "pending"},
                   {"critical", status->info->critical}};
      if (i < snapshot.blocked_by.size() && !snapshot.blocked_by[i].empty()) {
        item["blocked_by"] = BlockedJson(snapshot.blocked_by[i]);
      }
      if (status->last) {
        item["duration_ms"] = ToMilliseconds(status->last->duration);
        item["detail"] = status->last->detail;
        item["reason"] = ReasonJson(status->last->reason);
      }
      checks[status->info->name] = std::move(item);
    }
    document["checks"] = std::move(checks);
  }
  return Dump(document);
}

}  // namespace hx
