#pragma once
// The daemon's one embedded store (issues 15 and 16): heartbeat state, the
// failure journal, daily aggregates and check tombstones in one SQLite file,
// <storage.path>/health_exporter.db, in WAL mode with synchronous=NORMAL.
//
// Writes never wait on disk. PutHeartbeat(), AppendJournal(), PutDaily() and
// SetChecks() append to a bounded in-memory queue (a mutex held for one
// push_back) and return; a writer thread owns the write connection, sleeps
// while the queue is empty, and from the first write on gathers for
// flush_interval (or until batch_max operations wait) and commits them, one
// transaction per batch_max operations. A full queue drops the operation,
// counts it (stats().dropped) and the writer logs the count, at most once per
// log_interval: the loop thread never blocks and never logs for the store.
//
// Reads (Heartbeats(), Journal(), Daily(), ...) run synchronously on the
// caller's thread over a second, read-only connection guarded by a mutex: in
// WAL mode it reads while the writer writes, and the status page's reads are
// rare and short, so one connection is enough (a pool would fit behind the
// same methods). They see what has been committed, not what is still queued:
// the live state stays in the callers' memory; the store is for restarts and
// history. Call them at start-up or from HTTP worker threads, never from the
// loop thread.
//
// Failures are never fatal and never silent. A file that is not a database or
// is corrupt is renamed to <file>.corrupt-<UTC time> (with its -wal and -shm)
// and a fresh one is created: found at open (a bad header), by the writer's
// quick_check right after open (broken pages; it reads the whole file, so it
// does not delay start-up), or by a batch that hits a broken page. A database
// locked by another process, a schema newer than this binary knows, a
// migration that fails (rolled back whole), or a directory that cannot be
// created or written: one log line (path, what is wrong, what happens now)
// and the store runs memory-only (mode() == kMemoryOnly) over an in-memory
// SQLite database with the same schema, so every method keeps working until
// the daemon stops; the file is not touched in that mode. A failed batch
// (disk full, I/O error, a lock held too long) is rolled back, counted
// (stats().failed) and logged, and the next batch tries again: a full disk is
// freed by an operator, and forgetting the history on disk for it would be
// worse than losing a few writes.
//
// Bounded on disk: the journal keeps the newest journal_per_check entries per
// check (pruned in the batch that inserts), daily rows older than
// history_days are deleted, and a check whose tombstone (SetChecks) is older
// than removed_check_grace loses all its rows; both at open and then every
// maintenance_interval.
//
// Thread-safety: every public method may be called from any thread at any
// time; writes never block on I/O, reads block on the read connection's mutex
// and on disk.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "store/records.h"
#include "store/schema.h"
#include "store/sqlite.h"

namespace hx::store {

enum class StoreMode {
  /// Writing to the file.
  kPersistent,
  /// Writing to an in-memory database: everything is lost when the daemon
  /// stops. problem() says why.
  kMemoryOnly,
};

/// "persistent", "memory-only".
std::string_view StoreModeName(StoreMode mode);

/// How Open() sets the store up. A plain value, copied into the Store.
struct StoreOptions {
  /// The directory (--storage.path); created if missing. Empty: memory-only
  /// on purpose.
  std::string dir;
  std::string file_name = "health_exporter.db";
  /// Journal entries kept per check (issue 15: default 50).
  size_t journal_per_check = 50;
  /// Days of daily aggregates kept (global.history_days, issue 16: 90).
  int history_days = 90;
  /// How long a removed check's rows wait for it to come back (the heartbeat
  /// file's grace, HeartbeatStore::kRemovedRecordGrace).
  double removed_check_grace = 24 * 3600;
  /// Operations waiting for the writer; beyond this they are dropped.
  size_t queue_capacity = 100'000;
  /// The writer commits at least this often while operations wait...
  std::chrono::milliseconds flush_interval{200};
  /// ...and at once when this many wait.
  size_t batch_max = 5'000;
  /// How long a connection waits for another's lock before failing.
  std::chrono::milliseconds busy_timeout{250};
  /// How often the writer prunes old days and expired tombstones.
  std::chrono::seconds maintenance_interval{3600};
  /// The shortest time between two log lines about dropped or failed writes.
  std::chrono::seconds log_interval{10};
  /// Wall seconds now (tombstones, pruning); default: the system clock.
  std::function<double()> wall_clock;
  /// The schema (tests substitute a longer list to test a migration).
  std::span<const Migration> migrations = Migrations();
  /// If > 0, PRAGMA max_page_count: the file cannot grow beyond this many
  /// 4 KiB pages and writes fail as on a full disk (tests simulate one).
  int64_t max_page_count = 0;
};

/// Counters since Open(). Plain values.
struct StoreStats {
  uint64_t enqueued = 0;   // operations accepted into the queue
  uint64_t committed = 0;  // operations committed by the writer
  uint64_t dropped = 0;    // operations refused because the queue was full
  uint64_t failed = 0;     // operations lost in a batch that failed
  uint64_t batches = 0;    // transactions committed
  uint64_t queued = 0;     // operations waiting now
};

class Store {
 public:
  /// Opens (creating, migrating, or moving a corrupt file aside) and starts
  /// the writer thread. Never fails: see mode() and problem(). Blocking file
  /// I/O: call at start-up, before the loop runs.
  static std::unique_ptr<Store> Open(StoreOptions options);

  /// Commits what is queued, stops the writer and closes the file.
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  StoreMode mode() const { return mode_.load(std::memory_order_acquire); }
  /// Why the store is memory-only, or what was repaired at open (a corrupt
  /// file moved aside); empty when all is well.
  std::string problem() const;
  /// <dir>/<file_name>.
  const std::string& path() const { return path_; }
  const StoreOptions& options() const { return options_; }

  // --- Writes: queued, never block on I/O; false when dropped (queue full).

  /// Replaces the check's heartbeat row.
  bool PutHeartbeat(HeartbeatRow row);
  /// PutHeartbeat for an import (ImportHeartbeatJson): keeps a stored row
  /// whose last ping is newer, and stamps `removed_at` as the check's
  /// tombstone if the store did not know the check.
  bool ImportHeartbeat(HeartbeatRow row, double removed_at);
  /// Appends a journal entry; the check's oldest entries beyond
  /// journal_per_check are deleted in the same transaction. The body excerpt
  /// is cut to JournalEntry::kMaxBodyExcerpt bytes, the detail to
  /// kMaxDetailBytes (at a UTF-8 boundary).
  bool AppendJournal(JournalEntry entry);
  /// Inserts or replaces the check's row for entry.day.
  bool PutDaily(DailyAggregate row);
  /// The checks now configured (after a load or reload): a check not in the
  /// list gets a tombstone stamped now (kept if it has one), a listed check
  /// loses its tombstone (back within the grace: its rows are kept).
  bool SetChecks(std::vector<std::string> configured);

  /// Waits until every operation queued before the call is committed (or
  /// lost). Returns true if none was dropped or failed since the previous
  /// Flush(). For shutdown, start-up imports and tests; not on the loop.
  bool Flush();

  /// Runs the pruning pass (old days, expired tombstones) in the writer's
  /// next batch, as it does every maintenance_interval.
  void RequestMaintenance();

  // --- Reads: synchronous, committed data only. On a read error the result
  // is empty and the error is logged.

  std::vector<HeartbeatRow> Heartbeats();
  /// The check's journal, newest first, at most `limit` entries.
  std::vector<JournalEntry> Journal(std::string_view check, size_t limit = SIZE_MAX);
  /// Every check's journal, newest first (start-up load).
  std::map<std::string, std::vector<JournalEntry>, std::less<>> AllJournals();
  /// The check's days in [from_day, to_day], oldest first.
  std::vector<DailyAggregate> Daily(std::string_view check, int64_t from_day, int64_t to_day);
  /// Every check's days from from_day on, by check then day (start-up load).
  std::vector<DailyAggregate> AllDaily(int64_t from_day);
  /// Every check the store knows, with its tombstone.
  std::vector<CheckRow> Checks();
  /// PRAGMA integrity_check over the read connection: "ok" or the problems.
  std::string IntegrityCheck();

  StoreStats stats() const;

  /// Longest detail kept in a journal entry.
  static constexpr size_t kMaxDetailBytes = 1024;

  /// One queued operation (defined in store.cc).
  struct Op;

 private:
  explicit Store(StoreOptions options);

  // Open-time work, on the caller's thread before the writer starts.
  void OpenFile();
  std::optional<std::string> TryOpenPersistent(int* code, bool* newer);
  void OpenMemory(const std::string& why);
  std::string MoveAside(int code, const std::string& error);

  bool Enqueue(Op op);
  void WriterMain();
  void ApplyBatch(std::span<Op> batch);
  // quick_check on the writer's connection; a corrupt file is moved aside
  // and replaced (RecoverFromCorruption). Returns false if it was.
  bool VerifyFile();
  void RecoverFromCorruption(const std::string& why, int code);
  bool ApplyOp(Op& op, std::vector<int64_t>* touched_journals, std::string* error);
  bool RunMaintenance(std::string* error);
  std::optional<int64_t> IdFor(const std::string& name, std::string* error);
  bool LoadCheckCache(std::string* error);
  // The writer's prepared statement for `sql` (a string literal), prepared on
  // first use; nullptr and *error if it does not compile.
  Statement* Cached(const char* sql, std::string* error);
  // Finalizes the cached statements and closes write_db_.
  void CloseWriter();
  void SwitchToMemory(const std::string& why);
  void LogWriteTrouble(bool force);
  double Now() const;

  // Runs `fn(db)` on the read connection under read_mutex_.
  template <typename Fn>
  void WithReader(Fn&& fn);
  void LogReadError(std::string_view what, const std::string& error);

  const StoreOptions options_;
  const std::string path_;
  std::atomic<StoreMode> mode_{StoreMode::kPersistent};

  mutable std::mutex problem_mutex_;
  std::string problem_;  // guarded by problem_mutex_

  // The queue, shared by every writing thread and the writer.
  mutable std::mutex queue_mutex_;
  std::condition_variable queue_cv_;        // wakes the writer
  std::condition_variable done_cv_;         // wakes Flush()
  std::unique_ptr<std::vector<Op>> queue_;  // guarded by queue_mutex_
  uint64_t next_seq_ = 0;                   // guarded: sequence of the last queued op
  uint64_t done_seq_ = 0;                   // guarded: ops up to this one are committed or lost
  bool flush_requested_ = false;            // guarded
  bool maintenance_requested_ = false;      // guarded
  bool stop_ = false;                       // guarded
  bool lost_since_flush_ = false;           // guarded
  StoreStats stats_;                        // guarded (queued computed on read)

  // The writer thread's own state: touched only by it (and by Open() before
  // it starts).
  Db write_db_;
  std::map<std::string, std::pair<int64_t, double>, std::less<>>
      check_cache_;                              // name -> id, removed_at
  std::map<const char*, Statement> statements_;  // by SQL literal; see Cached()
  double last_maintenance_ = 0;
  std::chrono::steady_clock::time_point last_trouble_log_{};
  uint64_t logged_dropped_ = 0;
  uint64_t logged_failed_ = 0;
  std::string last_failure_;

  // The read side. In memory-only mode there is one connection: reads use
  // write_db_ and the writer holds read_mutex_ for each batch.
  std::mutex read_mutex_;
  Db read_db_;           // guarded by read_mutex_
  bool shared_ = false;  // guarded by read_mutex_; changed only by the writer (or Open)
  std::chrono::steady_clock::time_point last_read_log_{};  // guarded by read_mutex_

  std::thread writer_;
};

/// The heartbeat rows of the store file at `path`, read over a read-only
/// connection that changes nothing (no migration, no pruning, no writer): for
/// the debug run beside a running daemon. A missing file reads as none; an
/// unreadable one sets *error. Blocking I/O.
std::vector<HeartbeatRow> ReadHeartbeatsReadOnly(const std::string& path, std::string* error);

}  // namespace hx::store
