#pragma once
// The panel of one check at GET /check/<name>: what its card on the status
// page shows, in full, plus its failure journal newest first
// (docs/failure-journal.md). Server-rendered and complete without
// JavaScript (it has none): the card's link opens it, the browser's back
// button or the "All checks" link returns. Same look as the status page (its
// stylesheet plus a few panel rules) under the same kind of
// Content-Security-Policy: only the page's own inline styles, by hash.
// Everything from config, targets and journal entries is HTML-escaped.
// Pure functions of their arguments; thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "status/history.h"
#include "status/status_board.h"
#include "store/records.h"

namespace hx {

/// What the panel shows besides the board's snapshot.
struct CheckPanelInput {
  /// The check's journal from the store, newest first.
  std::vector<store::JournalEntry> journal;
  /// Where the journal lives: "persistent", "memory-only" or "none".
  std::string journal_storage = "none";
  /// How many entries the store keeps per check (global.journal_entries).
  size_t journal_capacity = 0;
  /// Days of history (the 30-day latency trend); null: not available.
  const HistoryView* history = nullptr;
};

/// The whole HTML document for the check at `index` of `snapshot` (index <
/// snapshot.checks.size()) as of wall time `now` (seconds since the epoch).
std::string RenderCheckPanel(const BoardSnapshot& snapshot, size_t index, double now,
                             const CheckPanelInput& input);

}  // namespace hx
