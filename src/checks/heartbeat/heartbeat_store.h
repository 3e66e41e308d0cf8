#pragma once
// The state of push-based (heartbeat) checks: when each watched job last
// pinged and whether it reported success. Pings arrive on the web server's
// worker threads, checks read on the loop thread, so the store is guarded by
// a mutex; every change is persisted to one small JSON file under the state
// directory so the last heartbeat of a daily job survives a daemon restart.
//
// Persistence: the file is replaced atomically (temp file in the same
// directory, fsync, rename, fsync of the directory), so a crash leaves either
// the old or the new file, never a partial one. A missing file is a fresh
// start; a corrupt one is moved aside to <file>.corrupt, logged, and the store
// starts empty. Nothing here ever throws or crashes on bad state.

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hx {

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
  /// Such a record is kept for HeartbeatStore::kRemovedRecordGrace and
  /// comes back if the check does.
  double removed_at = 0;

  bool pinged() const { return last_ping > 0; }
};

/// Name -> HeartbeatRecord, persisted. Thread-safe: every method may be
/// called from any thread. Load() and the persisting methods do blocking file
/// I/O; call them at start-up or from worker threads, never from the loop
/// thread (Find(), NameOf() and Now() do no I/O).
class HeartbeatStore {
 public:
  /// The file's name inside the state directory.
  static constexpr std::string_view kFileName = "heartbeats.json";
  /// A larger file is treated as corrupt (a healthy one is ~200 bytes per check).
  static constexpr uint64_t kMaxFileBytes = 4 * 1024 * 1024;

  /// `state_dir` is created on the first save if missing.
  explicit HeartbeatStore(std::string state_dir, WallClock wall_clock = SystemWallClock());
  HeartbeatStore(const HeartbeatStore&) = delete;
  HeartbeatStore& operator=(const HeartbeatStore&) = delete;

  /// Creates the state directory if missing and proves that this process
  /// can write in it (creates and removes a file there): run at start-up so
  /// a bad --storage.path stops the daemon at once rather than losing the
  /// first heartbeat. Returns a message naming the directory and the reason
  /// (e.g. `"/x" is not a directory`, `cannot create "/x/y": Not a
  /// directory`, `cannot write in "/x": Permission denied`), or nullopt.
  std::optional<std::string> CheckDirectory() const;

  /// Replaces the in-memory state with the file's. Missing file: empty, no
  /// warning. Unreadable or corrupt file: empty, a warning is logged and a
  /// corrupt file is renamed to <file>.corrupt so the next save does not
  /// destroy it. Returns a description of the problem, if any.
  std::optional<std::string> Load();

  /// How long the record of a check removed from the config is kept: a
  /// check that comes back within this time (a config written in two steps,
  /// a drop-in briefly missing, a restart in between) resumes its last
  /// heartbeat and failure instead of starting over as "waiting".
  static constexpr double kRemovedRecordGrace = 24 * 3600;

  /// Sets the watched checks: each name is bound to its spec (see NameOf()),
  /// a name seen for the first time starts its grace period now, a name
  /// removed less than kRemovedRecordGrace ago gets its record back, and
  /// records of names no longer watched are kept (not watched: Find() and
  /// Record() ignore them) until kRemovedRecordGrace after their removal.
  /// In memory only; call Save().
  void Watch(const std::vector<std::pair<std::string, const CheckSpec*>>& checks);

  /// Records a ping of `name` at Now() and persists. A fail ping keeps
  /// `detail` (already sanitised by the caller); a success clears it. Returns
  /// false if `name` is not watched (nothing changes). A failed save keeps
  /// the change in memory and is logged (see last_save_error()).
  bool Record(std::string_view name, bool ok, std::string detail);

  /// Writes the current state to the file now. Returns an error message
  /// naming the path, or nullopt.
  std::optional<std::string> Save();

  /// The record of a watched name; nullopt if not watched (also while a
  /// removed check's record waits out its grace).
  std::optional<HeartbeatRecord> Find(std::string_view name) const;

  /// The check name `spec` was bound to by Watch().
  std::optional<std::string> NameOf(const CheckSpec* spec) const;

  /// The store's wall clock (pings are stamped with it).
  double Now() const { return wall_clock_(); }
  const WallClock& wall_clock() const { return wall_clock_; }

  /// "<state_dir>/heartbeats.json".
  const std::string& file_path() const { return file_path_; }

  /// The error of the most recent save, or nullopt if it worked.
  std::optional<std::string> last_save_error() const;

 private:
  // Serialises the records; caller holds mutex_.
  std::string SerializeLocked() const;
  // Writes `text` if it is newer than what was written last.
  std::optional<std::string> Persist(const std::string& text, uint64_t generation);

  const std::string state_dir_;
  const std::string file_path_;
  const WallClock wall_clock_;

  mutable std::mutex mutex_;  // guards the members below up to write_mutex_
  std::map<std::string, HeartbeatRecord, std::less<>> records_;
  std::map<const CheckSpec*, std::string> names_;
  uint64_t generation_ = 0;  // bumped on every change
  std::optional<std::string> last_save_error_;

  // Held while writing the file, so slow disks never block readers of the
  // records (the loop thread).
  std::mutex write_mutex_;
  uint64_t written_generation_ = 0;  // guarded by write_mutex_
};

}  // namespace hx
