#pragma once
// The state of push-based (heartbeat) checks: when each watched job last
// pinged and whether it reported success. Pings arrive on the web server's
// worker threads, checks read on the loop thread, so the records are kept in
// memory behind a mutex and reads (Find(), NameOf()) do no I/O.
//
// Persistence is the daemon's one store (store/store.h, docs/storage.md):
// every change is handed to Store::PutHeartbeat, which queues it for the
// store's writer thread and returns at once, so the last heartbeat of a daily
// job survives a restart (a SIGKILL loses at most the store's flush_interval,
// 200 ms) and a ping never waits on disk. Load() reads the store's rows back
// at start-up. A removed check's tombstone is the store's (Store::SetChecks,
// called by CheckServices for every applied config): it keeps the check's
// row for the grace period across restarts and drops it afterwards. Without a
// store (unit tests) the state lives in memory only; with a store that runs
// memory-only (locked, newer schema: the store logs why) heartbeats work as
// usual and are gone at stop. Nothing here ever throws or crashes on bad
// state.

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hx {

namespace store {
class Store;
}  // namespace store

class CheckSpec;

/// Seconds since the Unix epoch. Injectable so tests control time; must be
/// callable from any thread.
using WallClock = std::function<double()>;

/// CLOCK_REALTIME in seconds.
WallClock SystemWallClock();

/// What is known about one watched heartbeat check.
struct HeartbeatRecord {
  /// Wall seconds when the daemon first watched this name (start of the
  /// grace period before a first heartbeat is due). Survives restarts.
  double watched_since = 0;
  /// Wall seconds of the last ping (ok or fail); 0 = never pinged.
  double last_ping = 0;
  /// Whether the last ping reported success.
  bool last_ok = false;
  /// The sanitised text of the last failure ping; empty after a success.
  std::string detail;
  /// Wall seconds when the check left the config; 0 while it is watched.
  /// Such a record is kept for HeartbeatStore::kRemovedRecordGrace and comes
  /// back if the check does. In memory; on disk it is the store's tombstone
  /// of the check (read back by Load()).
  double removed_at = 0;

  bool pinged() const { return last_ping > 0; }
};

/// Name -> HeartbeatRecord, persisted through the daemon's store.
/// Thread-safe: every method may be called from any thread. Only Load()
/// reads the store (blocking: call it at start-up, before the loop runs);
/// Watch() and Record() queue their writes and never wait on disk; Find(),
/// NameOf() and Now() do no I/O.
class HeartbeatStore {
 public:
  /// `store` may be null (state in memory only) and must outlive this.
  explicit HeartbeatStore(store::Store* store, WallClock wall_clock = SystemWallClock());
  HeartbeatStore(const HeartbeatStore&) = delete;
  HeartbeatStore& operator=(const HeartbeatStore&) = delete;

  /// Replaces the in-memory state with the store's heartbeat rows (those of
  /// removed checks still in their grace come with their tombstone). Without
  /// a store: empty. Blocking; read errors are logged by the store.
  void Load();

  /// How long the record of a check removed from the config is kept: a
  /// check that comes back within this time (a config written in two steps,
  /// a drop-in briefly missing, a restart in between) resumes its last
  /// heartbeat and failure instead of starting over as "waiting". The
  /// store's StoreOptions::removed_check_grace is the same 24 h.
  static constexpr double kRemovedRecordGrace = 24 * 3600;

  /// Sets the watched checks: each name is bound to its spec (see NameOf()),
  /// a name seen for the first time starts its grace period now (written to
  /// the store), a name removed less than kRemovedRecordGrace ago gets its
  /// record back, and records of names no longer watched are kept (not
  /// watched: Find() and Record() ignore them) until kRemovedRecordGrace
  /// after their removal. Never waits on disk.
  void Watch(const std::vector<std::pair<std::string, const CheckSpec*>>& checks);

  /// Records a ping of `name` at Now() and queues it for the store. A fail
  /// ping keeps `detail` (already sanitised by the caller); a success clears
  /// it. Returns false if `name` is not watched (nothing changes). A write
  /// the store drops (its queue full) is counted and logged by the store;
  /// the ping is kept in memory.
  bool Record(std::string_view name, bool ok, std::string detail);

  /// The record of a watched name; nullopt if not watched (also while a
  /// removed check's record waits out its grace).
  std::optional<HeartbeatRecord> Find(std::string_view name) const;

  /// The check name `spec` was bound to by Watch().
  std::optional<std::string> NameOf(const CheckSpec* spec) const;

  /// The store's wall clock (pings are stamped with it).
  double Now() const { return wall_clock_(); }
  const WallClock& wall_clock() const { return wall_clock_; }

  /// The daemon's store, or null.
  store::Store* store() const { return store_; }

 private:
  // Queues `record` of `name` for the store; caller holds mutex_, so writes
  // reach the store's queue in the order the records changed.
  void PutLocked(const std::string& name, const HeartbeatRecord& record) const;

  store::Store* const store_;
  const WallClock wall_clock_;

  mutable std::mutex mutex_;  // guards the members below
  std::map<std::string, HeartbeatRecord, std::less<>> records_;
  std::map<const CheckSpec*, std::string> names_;
};

}  // namespace hx
