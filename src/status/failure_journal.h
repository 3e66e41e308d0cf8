#pragma once
// The failure journal's writer (docs/failure-journal.md): turns the
// scheduler's results into store::JournalEntry rows. Every non-healthy result
// and every state change (back to healthy included) becomes one entry, with
// the attempt's evidence (reason, detail, duration, phases, address, HTTP
// status, body excerpt) and the board's attempt number. The RunPublisher
// hands it results whose details and body excerpts already passed the
// configured `redact` patterns (util/redactor.h), so nothing masked is ever
// queued.
//
// The journal lives in the store only (one fact, one store): this class keeps
// no entries. Store::AppendJournal only queues, so the loop never waits on
// disk; readers (GET /status/<check>, the check panel) read the store's
// committed rows on HTTP worker threads.
//
// Thread-safety: Record() is called on the loop thread only (from the
// RunSink); not thread-safe. The store it writes to is thread-safe.

#include <optional>

#include "scheduler/check_scheduler.h"
#include "status/status_board.h"
#include "store/records.h"

namespace hx {
namespace store {
class Store;
}  // namespace store

/// The journal entry for `run` of the check `status` describes (its status
/// *after* the board recorded the run: name and attempt number), or nullopt
/// when the run is neither non-healthy nor a state change (a healthy result
/// in a healthy state; also a first result that is healthy). Pure;
/// thread-safe.
std::optional<store::JournalEntry> JournalEntryFor(const RunRecord& run, const CheckStatus& status);

class FailureJournal {
 public:
  /// `store` may be null (tests, a daemon without one): then nothing is
  /// recorded. It must outlive this object.
  explicit FailureJournal(store::Store* store) : store_(store) {}
  FailureJournal(const FailureJournal&) = delete;
  FailureJournal& operator=(const FailureJournal&) = delete;

  /// Queues the entry for `run`, if it makes one (JournalEntryFor). Never
  /// blocks on disk; a full store queue drops the entry (the store counts it).
  void Record(const RunRecord& run, const CheckStatus& status);

 private:
  store::Store* const store_;
};

}  // namespace hx
