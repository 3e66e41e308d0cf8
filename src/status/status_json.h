#pragma once
// JSON views of a BoardSnapshot for /status and /readyz. Pure functions of
// their arguments; thread-safe.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "status/status_board.h"
#include "store/records.h"

namespace hx {

/// Formats a wall-clock time as RFC 3339 in UTC with milliseconds,
/// e.g. "2024-05-01T12:00:03.250Z".
std::string FormatRfc3339(double unix_seconds);

/// The /status document: every check with its config facts, state, last
/// result, counters and history, plus "overall" and "generated_at" (`now`).
/// Invalid UTF-8 in details or labels is replaced, never thrown on.
std::string RenderStatusJson(const BoardSnapshot& snapshot, double now);

/// The position of the check named `name` in `snapshot.checks`, or nullopt.
std::optional<size_t> FindCheck(const BoardSnapshot& snapshot, std::string_view name);

/// GET /status/<check>: the object /status has for the check at `index` of
/// `snapshot` (index < snapshot.checks.size()), plus "generated_at" (`now`),
/// "journal": `journal` as given (the store's entries, newest first) and
/// "journal_storage": `storage` ("persistent", "memory-only", "none").
std::string RenderCheckStatusJson(const BoardSnapshot& snapshot, size_t index, double now,
                                  const std::vector<store::JournalEntry>& journal,
                                  std::string_view storage);

/// The /readyz document: {"status": overall, "checks": {name: {"status",
/// "duration_ms", "detail"}}}; "checks" is left out when `verbose` is false.
/// A pending check has status "pending" and no duration or detail.
std::string RenderReadinessJson(const BoardSnapshot& snapshot, bool verbose);

}  // namespace hx
