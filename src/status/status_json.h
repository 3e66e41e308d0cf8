#pragma once
// JSON views of a BoardSnapshot for /status and /readyz. Pure functions of
// their arguments; thread-safe.

#include <string>

#include "status/status_board.h"

namespace hx {

/// Formats a wall-clock time as RFC 3339 in UTC with milliseconds,
/// e.g. "2024-05-01T12:00:03.250Z".
std::string FormatRfc3339(double unix_seconds);

/// The /status document: every check with its config facts, state, last
/// result, counters and history, plus "overall" and "generated_at" (`now`).
/// Invalid UTF-8 in details or labels is replaced, never thrown on.
std::string RenderStatusJson(const BoardSnapshot& snapshot, double now);

/// The /readyz document: {"status": overall, "checks": {name: {"status",
/// "duration_ms", "detail"}}}; "checks" is left out when `verbose` is false.
/// A pending check has status "pending" and no duration or detail.
std::string RenderReadinessJson(const BoardSnapshot& snapshot, bool verbose);

}  // namespace hx
