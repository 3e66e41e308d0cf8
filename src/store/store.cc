#include "store/store.h"

#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <set>
#include <utility>
#include <variant>

#include "util/log.h"
#include "util/quote.h"

namespace hx::store {

// The queued operations. Import is PutHeartbeat from the old JSON file: it
// never goes back in time over a newer row, and it may carry a tombstone.
struct PutHeartbeatOp {
  HeartbeatRow row;
  bool only_if_newer = false;
  double removed_at = 0;
};
struct SetChecksOp {
  std::vector<std::string> configured;
  double now = 0;
};
struct Store::Op {
  std::variant<PutHeartbeatOp, JournalEntry, DailyAggregate, SetChecksOp> what;
};

namespace {

int Primary(int code) { return code & 0xff; }

bool IsCorruption(int code) {
  return Primary(code) == SQLITE_CORRUPT || Primary(code) == SQLITE_NOTADB;
}
bool IsLocked(int code) { return Primary(code) == SQLITE_BUSY || Primary(code) == SQLITE_LOCKED; }

double SystemNow() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// "20261206T054012Z" for the moved-aside file's name.
std::string UtcStamp(double unix_seconds) {
  const time_t t = static_cast<time_t>(unix_seconds);
  tm utc{};
  gmtime_r(&t, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y%m%dT%H%M%SZ", &utc);
  return text;
}

// Seconds as a whole number of 1/`per_second` units (the daily table's
// encoding), clamped to what an INTEGER holds.
int64_t ToUnits(double seconds, double per_second) {
  const double units = std::round(seconds * per_second);
  if (!(units > -9e18)) return units != units ? 0 : INT64_MIN;
  if (units > 9e18) return INT64_MAX;
  return static_cast<int64_t>(units);
}

// Cuts `text` to at most `limit` bytes without splitting a UTF-8 sequence.
void CutUtf8(std::string* text, size_t limit) {
  if (text->size() <= limit) return;
  size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>((*text)[end]) & 0xC0) == 0x80) --end;
  text->resize(end);
}

}  // namespace

int64_t UnixDay(double unix_seconds) {
  return static_cast<int64_t>(std::floor(unix_seconds / 86400.0));
}

std::string_view StoreModeName(StoreMode mode) {
  return mode == StoreMode::kPersistent ? "persistent" : "memory-only";
}

// ---------------------------------------------------------------------------
// Opening

Store::Store(StoreOptions options)
    : options_(std::move(options)),
      path_(options_.dir.empty()
                ? std::string()
                : (std::filesystem::path(options_.dir) / options_.file_name).string()),
      queue_(std::make_unique<std::vector<Op>>()) {}

std::unique_ptr<Store> Store::Open(StoreOptions options) {
  std::unique_ptr<Store> store(new Store(std::move(options)));
  store->OpenFile();
  // The first pruning pass now, on the caller's thread (start-up), so the
  // rows loaded next are already within bounds.
  std::string error;
  if (!store->RunMaintenance(&error)) {
    log::Warn("store maintenance failed; retried at the next pass",
              {{"path", store->path_}, {"error", error}});
  }
  store->last_maintenance_ = store->Now();
  store->next_seq_ = 1;  // the writer's quick_check (WriterMain): Flush() waits for it
  store->writer_ = std::thread([s = store.get()] { s->WriterMain(); });
  return store;
}

Store::~Store() {
  {
    std::lock_guard lock(queue_mutex_);
    stop_ = true;
  }
  queue_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  std::lock_guard lock(read_mutex_);
  read_db_.Close();
  CloseWriter();
}

std::string Store::problem() const {
  std::lock_guard lock(problem_mutex_);
  return problem_;
}

double Store::Now() const { return options_.wall_clock ? options_.wall_clock() : SystemNow(); }

void Store::OpenFile() {
  if (options_.dir.empty()) {
    OpenMemory("no storage path configured");
    return;
  }
  std::error_code ec;
  std::filesystem::create_directories(options_.dir, ec);
  if (ec) {
    OpenMemory("cannot create directory " + Quote(options_.dir) + ": " + ec.message());
    return;
  }
  int code = 0;
  bool newer = false;
  std::optional<std::string> error = TryOpenPersistent(&code, &newer);
  std::string repaired;
  if (error && IsCorruption(code)) {
    // Keep the evidence, start afresh: history is lost either way, and a
    // fresh file keeps what comes next.
    repaired = MoveAside(code, *error);
    error = TryOpenPersistent(&code, &newer);
  }
  if (!error) {
    if (!repaired.empty()) {
      std::lock_guard lock(problem_mutex_);
      problem_ = repaired;
    }
    return;
  }
  std::string why;
  if (newer) {
    why = *error;
  } else if (IsLocked(code)) {
    why = "database is locked by another process (" + *error +
          "); is another health_exporter using the same --storage.path?";
  } else {
    why = "cannot open or write: " + *error;
  }
  OpenMemory(why);
}

std::optional<std::string> Store::TryOpenPersistent(int* code, bool* newer) {
  *code = SQLITE_OK;
  *newer = false;
  auto fail = [&](Db& db, const std::string& what) {
    *code = db.LastCode();
    std::string error = what + ": " + db.LastError();
    read_db_.Close();
    CloseWriter();
    return error;
  };
  if (auto error = write_db_.Open(path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) {
    *code = SQLITE_CANTOPEN;
    CloseWriter();
    return "cannot open: " + *error;
  }
  sqlite3_busy_timeout(write_db_.get(), static_cast<int>(options_.busy_timeout.count()));
  // Reading the mode touches the header: a file that is not a database fails here.
  std::string error;
  Statement wal;
  if (wal.Prepare(write_db_, "PRAGMA journal_mode=WAL") || wal.Step() != SQLITE_ROW) {
    return fail(write_db_, "cannot switch to WAL");
  }
  if (wal.Text(0) != "wal") {
    *code = SQLITE_CANTOPEN;
    std::string mode = wal.Text(0);
    CloseWriter();
    return "cannot switch to WAL (journal mode stays " + Quote(mode) + ")";
  }
  wal = Statement();
  if (write_db_.Exec("PRAGMA synchronous=NORMAL")) return fail(write_db_, "cannot set synchronous");
  if (options_.max_page_count > 0 &&
      write_db_.Exec("PRAGMA max_page_count=" + std::to_string(options_.max_page_count))) {
    return fail(write_db_, "cannot set max_page_count");
  }
  MigrationResult migrated = ApplyMigrations(write_db_, options_.migrations);
  if (migrated.newer_than_known) {
    *newer = true;
    *code = SQLITE_OK;
    read_db_.Close();
    CloseWriter();
    const int known = options_.migrations.empty() ? 0 : options_.migrations.back().version;
    return "schema version " + std::to_string(migrated.from_version) +
           " is newer than this binary knows (" + std::to_string(known) +
           "); the file is left untouched for the newer version: upgrade, or move the file away";
  }
  if (migrated.error) {
    *code = migrated.code;
    read_db_.Close();
    CloseWriter();
    return *migrated.error + " (code " + std::to_string(migrated.code) + ")";
  }
  if (migrated.to_version != migrated.from_version) {
    log::Info("store schema migrated", {{"path", path_},
                                        {"from", std::to_string(migrated.from_version)},
                                        {"to", std::to_string(migrated.to_version)}});
  }
  if (!LoadCheckCache(&error)) {
    *code = write_db_.LastCode();
    read_db_.Close();
    CloseWriter();
    return "cannot read the checks table: " + error;
  }
  if (auto problem = read_db_.Open(path_, SQLITE_OPEN_READONLY)) {
    *code = SQLITE_CANTOPEN;
    read_db_.Close();
    CloseWriter();
    return "cannot open the read connection: " + *problem;
  }
  sqlite3_busy_timeout(read_db_.get(), static_cast<int>(options_.busy_timeout.count()));
  shared_ = false;
  mode_.store(StoreMode::kPersistent, std::memory_order_release);
  return std::nullopt;
}

std::string Store::MoveAside(int code, const std::string& error) {
  const std::string aside = path_ + ".corrupt-" + UtcStamp(Now());
  std::string moved;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const std::string from = path_ + suffix;
    if (access(from.c_str(), F_OK) != 0) continue;
    if (rename(from.c_str(), (aside + suffix).c_str()) != 0) {
      moved += std::string(moved.empty() ? "" : "; ") + "cannot move " + Quote(from) + ": " +
               std::strerror(errno);
    }
  }
  std::string what = "the file is corrupt (" + error + ", code " + std::to_string(code) +
                     "); moved to " + Quote(aside) + (moved.empty() ? "" : " (" + moved + ")") +
                     " and starting a fresh one: earlier history and heartbeats are lost";
  log::Error("store file corrupt, moved aside; starting empty",
             {{"path", path_}, {"error", error}, {"moved_to", aside}});
  return what;
}

void Store::OpenMemory(const std::string& why) {
  read_db_.Close();
  CloseWriter();
  write_db_.Open(":memory:", SQLITE_OPEN_READWRITE);
  MigrationResult migrated = ApplyMigrations(write_db_, options_.migrations);
  if (migrated.error) {
    // Cannot happen short of out-of-memory; every write will fail and be counted.
    log::Error("cannot create the in-memory store", {{"error", *migrated.error}});
  }
  check_cache_.clear();
  shared_ = true;
  mode_.store(StoreMode::kMemoryOnly, std::memory_order_release);
  {
    std::lock_guard lock(problem_mutex_);
    problem_ = why;
  }
  if (path_.empty()) {
    log::Info("no storage path: the store runs memory-only (nothing survives a restart)");
    return;
  }
  log::Error(
      "store unusable, running memory-only: journal, history and heartbeat state are lost at "
      "restart",
      {{"path", path_}, {"error", why}});
}

bool Store::LoadCheckCache(std::string* error) {
  check_cache_.clear();
  Statement select;
  if (auto problem = select.Prepare(write_db_, "SELECT id, name, removed_at FROM checks")) {
    *error = *problem;
    return false;
  }
  int rc;
  while ((rc = select.Step()) == SQLITE_ROW) {
    check_cache_[select.Text(1)] = {select.Int(0), select.Double(2)};
  }
  if (rc != SQLITE_DONE) {
    *error = write_db_.LastError();
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------
// The queue

bool Store::Enqueue(Op op) {
  bool wake = false;
  {
    std::lock_guard lock(queue_mutex_);
    ++next_seq_;
    if (queue_->size() >= options_.queue_capacity || stop_) {
      ++stats_.dropped;
      lost_since_flush_ = true;
      // The writer has nothing to commit for it: done as soon as it is reached.
      return false;
    }
    queue_->push_back(std::move(op));
    ++stats_.enqueued;
    // The writer sleeps while the queue is empty, and gathers until
    // batch_max: one wake-up for each.
    wake = queue_->size() == 1 || queue_->size() == options_.batch_max;
  }
  if (wake) queue_cv_.notify_one();
  return true;
}

bool Store::PutHeartbeat(HeartbeatRow row) {
  return Enqueue(Op{PutHeartbeatOp{std::move(row), false, 0}});
}

bool Store::ImportHeartbeat(HeartbeatRow row, double removed_at) {
  return Enqueue(Op{PutHeartbeatOp{std::move(row), true, removed_at}});
}

bool Store::AppendJournal(JournalEntry entry) {
  CutUtf8(&entry.body_excerpt, JournalEntry::kMaxBodyExcerpt);
  CutUtf8(&entry.detail, kMaxDetailBytes);
  return Enqueue(Op{std::move(entry)});
}

bool Store::PutDaily(DailyAggregate row) { return Enqueue(Op{std::move(row)}); }

bool Store::SetChecks(std::vector<std::string> configured) {
  return Enqueue(Op{SetChecksOp{std::move(configured), Now()}});
}

bool Store::Flush() {
  std::unique_lock lock(queue_mutex_);
  const uint64_t target = next_seq_;
  flush_requested_ = true;
  queue_cv_.notify_one();
  done_cv_.wait(lock, [&] { return done_seq_ >= target; });
  const bool clean = !lost_since_flush_;
  lost_since_flush_ = false;
  return clean;
}

void Store::RequestMaintenance() {
  {
    std::lock_guard lock(queue_mutex_);
    maintenance_requested_ = true;
    flush_requested_ = true;
    ++next_seq_;  // so that a Flush() after this waits for the pass
  }
  queue_cv_.notify_one();
}

StoreStats Store::stats() const {
  std::lock_guard lock(queue_mutex_);
  StoreStats stats = stats_;
  stats.queued = queue_->size();
  return stats;
}

// ---------------------------------------------------------------------------
// The writer thread

bool Store::VerifyFile() {
  if (mode() != StoreMode::kPersistent) return true;
  Statement check;
  std::string found;
  int code = SQLITE_CORRUPT;
  if (check.Prepare(write_db_, "PRAGMA quick_check") || check.Step() != SQLITE_ROW) {
    code = write_db_.LastCode();
    found = write_db_.LastError();
    if (!IsCorruption(code)) {
      log::Warn("cannot check the store file; carrying on", {{"path", path_}, {"error", found}});
      return true;
    }
  } else {
    found = check.Text(0);
    if (found == "ok") return true;
  }
  check = Statement();
  RecoverFromCorruption("quick_check: " + found, code);
  return false;
}

void Store::RecoverFromCorruption(const std::string& why, int code) {
  // Readers use read_db_ (persistent mode): keep them out while it changes.
  std::unique_lock<std::mutex> lock;
  if (!shared_) lock = std::unique_lock(read_mutex_);
  read_db_.Close();
  CloseWriter();
  const std::string repaired = MoveAside(code, why);
  int reopen_code = 0;
  bool newer = false;
  if (auto error = TryOpenPersistent(&reopen_code, &newer)) {
    OpenMemory("cannot start a fresh file after moving a corrupt one aside: " + *error);
    return;
  }
  std::lock_guard problem_lock(problem_mutex_);
  problem_ = repaired;
}

void Store::WriterMain() {
  // Named for top -H, gdb and the idle test (15 characters at most).
  pthread_setname_np(pthread_self(), "hx-store-writer");
  std::vector<Op> batch;
  // A sound header can hide broken pages: quick_check reads the whole file
  // (~1 s per 100 MB on an idle disk), so it runs here, before the first
  // batch, rather than delaying start-up. Writes queue meanwhile.
  VerifyFile();
  {
    std::lock_guard lock(queue_mutex_);
    done_seq_ = std::max(done_seq_, uint64_t{1});
  }
  done_cv_.notify_all();
  for (;;) {
    bool maintenance = false;
    bool stopping = false;
    uint64_t through = 0;
    {
      std::unique_lock lock(queue_mutex_);
      // Idle: sleep until the first write (or the next maintenance pass),
      // so an idle daemon's writer does not wake five times a second...
      const double until_maintenance =
          last_maintenance_ + static_cast<double>(options_.maintenance_interval.count()) - Now();
      queue_cv_.wait_for(lock,
                         std::chrono::duration<double>(std::clamp(until_maintenance, 0.0, 86400.0)),
                         [&] { return stop_ || flush_requested_ || !queue_->empty(); });
      // ...then gather for flush_interval, or until batch_max wait.
      queue_cv_.wait_for(lock, options_.flush_interval, [&] {
        return stop_ || flush_requested_ || queue_->size() >= options_.batch_max;
      });
      batch.clear();
      std::swap(batch, *queue_);
      through = next_seq_;
      flush_requested_ = false;
      maintenance = maintenance_requested_;
      maintenance_requested_ = false;
      stopping = stop_;
    }
    const double now = Now();
    if (now - last_maintenance_ >= static_cast<double>(options_.maintenance_interval.count())) {
      maintenance = true;
    }
    if (!batch.empty() || maintenance) {
      if (maintenance) last_maintenance_ = now;
      // In memory-only mode readers share write_db_: hold their mutex. (A
      // batch may switch modes; so asked again before each step.)
      std::unique_lock<std::mutex> shared_lock;
      auto guard = [&] {
        if (shared_ && !shared_lock.owns_lock()) shared_lock = std::unique_lock(read_mutex_);
      };
      // One transaction per batch_max operations: a backlog (a slow disk, a
      // burst) commits in bounded transactions, so the WAL stays small.
      for (size_t first = 0; first < batch.size(); first += options_.batch_max) {
        guard();
        ApplyBatch(std::span<Op>(batch).subspan(
            first, std::min(options_.batch_max, batch.size() - first)));
      }
      if (maintenance) {
        guard();
        std::string error;
        if (!RunMaintenance(&error)) {
          log::Warn("store maintenance failed; retried at the next pass",
                    {{"path", path_}, {"error", error}});
        }
      }
    }
    LogWriteTrouble(false);
    {
      std::lock_guard lock(queue_mutex_);
      done_seq_ = through;
    }
    done_cv_.notify_all();
    if (stopping) {
      std::lock_guard lock(queue_mutex_);
      if (queue_->empty()) break;
    }
  }
  LogWriteTrouble(true);
}

void Store::ApplyBatch(std::span<Op> batch) {
  if (batch.empty()) return;
  std::string error;
  int code = SQLITE_OK;
  bool ok = true;
  if (auto problem = write_db_.Exec("BEGIN IMMEDIATE", &code)) {
    ok = false;
    error = "BEGIN: " + *problem;
  }
  std::vector<int64_t> touched;
  for (size_t i = 0; ok && i < batch.size(); ++i) {
    if (!ApplyOp(batch[i], &touched, &error)) {
      code = write_db_.LastCode();
      ok = false;
    }
  }
  if (ok && !touched.empty()) {
    // Keep the newest journal_per_check entries of each check written to.
    std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    Statement* prune = Cached(
        "DELETE FROM journal WHERE check_id = ?1 AND id <= (SELECT id FROM journal WHERE "
        "check_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
        &error);
    if (prune == nullptr) {
      code = write_db_.LastCode();
      ok = false;
    }
    for (size_t i = 0; ok && i < touched.size(); ++i) {
      prune->Bind(1, touched[i]);
      prune->Bind(2, static_cast<int64_t>(options_.journal_per_check));
      if (prune->Step() != SQLITE_DONE) {
        error = "pruning the journal: " + write_db_.LastError();
        code = write_db_.LastCode();
        ok = false;
      }
      prune->Reset();
    }
  }
  if (ok) {
    if (auto problem = write_db_.Exec("COMMIT", &code)) {
      ok = false;
      error = "COMMIT: " + *problem;
    }
  }
  if (ok) {
    std::lock_guard lock(queue_mutex_);
    stats_.committed += batch.size();
    ++stats_.batches;
    return;
  }
  write_db_.Exec("ROLLBACK");
  {
    std::lock_guard lock(queue_mutex_);
    stats_.failed += batch.size();
    lost_since_flush_ = true;
  }
  last_failure_ = error + " (code " + std::to_string(code) + ")";
  // Ids created in the rolled-back transaction are gone.
  std::string cache_error;
  if (IsCorruption(code)) {
    RecoverFromCorruption(last_failure_, code);
    return;
  }
  if (!LoadCheckCache(&cache_error)) {
    SwitchToMemory("cannot read the checks table after a failed batch: " + cache_error);
    return;
  }
  LogWriteTrouble(false);
}

Statement* Store::Cached(const char* sql, std::string* error) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) return &it->second;
  Statement statement;
  if (auto problem = statement.Prepare(write_db_, sql)) {
    *error = *problem;
    return nullptr;
  }
  return &statements_.emplace(sql, std::move(statement)).first->second;
}

void Store::CloseWriter() {
  statements_.clear();
  write_db_.Close();
}

std::optional<int64_t> Store::IdFor(const std::string& name, std::string* error) {
  auto it = check_cache_.find(name);
  if (it != check_cache_.end()) return it->second.first;
  Statement* insert = Cached("INSERT INTO checks (name) VALUES (?1)", error);
  if (insert == nullptr) return std::nullopt;
  insert->Bind(1, std::string_view(name));
  const int rc = insert->Step();
  insert->Reset();
  if (rc != SQLITE_DONE) {
    *error = "adding check " + Quote(name) + ": " + write_db_.LastError();
    return std::nullopt;
  }
  const int64_t id = sqlite3_last_insert_rowid(write_db_.get());
  check_cache_[name] = {id, 0};
  return id;
}

bool Store::ApplyOp(Op& op, std::vector<int64_t>* touched_journals, std::string* error) {
  // Steps a cached statement once and resets it for its next use.
  auto step = [&](Statement& statement, std::string_view what) {
    const int rc = statement.Step();
    statement.Reset();
    if (rc == SQLITE_DONE) return true;
    *error = std::string(what) + ": " + write_db_.LastError();
    return false;
  };

  if (auto* put = std::get_if<PutHeartbeatOp>(&op.what)) {
    const bool known = check_cache_.contains(put->row.check);
    std::optional<int64_t> id = IdFor(put->row.check, error);
    if (!id) return false;
    if (!known && put->removed_at > 0) {
      Statement* tomb = Cached("UPDATE checks SET removed_at = ?2 WHERE id = ?1", error);
      if (tomb == nullptr) return false;
      tomb->Bind(1, *id);
      tomb->Bind(2, put->removed_at);
      if (!step(*tomb, "tombstone")) return false;
      check_cache_[put->row.check].second = put->removed_at;
    }
#define HX_HEARTBEAT_UPSERT                                                                 \
  "INSERT INTO heartbeat (check_id, watched_since, last_ping, last_ok, exit_code, detail) " \
  "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (check_id) DO UPDATE SET "                   \
  "watched_since = excluded.watched_since, last_ping = excluded.last_ping, "                \
  "last_ok = excluded.last_ok, exit_code = excluded.exit_code, detail = excluded.detail"
    Statement* found = Cached(put->only_if_newer ? HX_HEARTBEAT_UPSERT
                                  " WHERE excluded.last_ping > heartbeat.last_ping"
                                                 : HX_HEARTBEAT_UPSERT,
                              error);
#undef HX_HEARTBEAT_UPSERT
    if (found == nullptr) return false;
    Statement& upsert = *found;
    upsert.Bind(1, *id);
    upsert.Bind(2, put->row.watched_since);
    upsert.Bind(3, put->row.last_ping);
    upsert.Bind(4, static_cast<int64_t>(put->row.last_ok));
    std::optional<int64_t> exit_code;
    if (put->row.exit_code) exit_code = *put->row.exit_code;
    upsert.Bind(5, exit_code);
    upsert.Bind(6, std::string_view(put->row.detail));
    return step(upsert, "writing heartbeat");
  }

  if (auto* entry = std::get_if<JournalEntry>(&op.what)) {
    std::optional<int64_t> id = IdFor(entry->check, error);
    if (!id) return false;
    Statement* found = Cached(
        "INSERT INTO journal (check_id, time, state, previous_state, reason, detail, "
        "duration, phases, address, http_status, body, attempt_id) VALUES (?1, ?2, ?3, "
        "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        error);
    if (found == nullptr) return false;
    Statement& insert = *found;
    insert.Bind(1, *id);
    insert.Bind(2, entry->time);
    insert.Bind(3, std::string_view(entry->state));
    insert.Bind(4, std::string_view(entry->previous_state));
    insert.Bind(5, std::string_view(entry->reason));
    insert.Bind(6, std::string_view(entry->detail));
    insert.Bind(7, entry->duration);
    insert.Bind(8, std::string_view(entry->phases_json));
    insert.Bind(9, std::string_view(entry->address));
    std::optional<int64_t> http_status;
    if (entry->http_status) http_status = *entry->http_status;
    insert.Bind(10, http_status);
    insert.BindBlob(11, entry->body_excerpt);
    insert.Bind(12, static_cast<int64_t>(entry->attempt_id));
    if (!step(insert, "writing journal")) return false;
    touched_journals->push_back(*id);
    return true;
  }

  if (auto* day = std::get_if<DailyAggregate>(&op.what)) {
    std::optional<int64_t> id = IdFor(day->check, error);
    if (!id) return false;
    Statement* found = Cached(
        "INSERT OR REPLACE INTO daily (check_id, day, attempts, results_healthy, "
        "results_degraded, results_unhealthy, ms_healthy, ms_degraded, ms_unhealthy, "
        "ms_unknown, latency_p50_us, latency_p95_us, latency_p99_us, "
        "longest_outage_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
        "?13, ?14)",
        error);
    if (found == nullptr) return false;
    Statement& upsert = *found;
    upsert.Bind(1, *id);
    upsert.Bind(2, day->day);
    upsert.Bind(3, day->attempts);
    upsert.Bind(4, day->results_healthy);
    upsert.Bind(5, day->results_degraded);
    upsert.Bind(6, day->results_unhealthy);
    // Integers (see schema.cc): milliseconds and microseconds.
    auto micros = [](const std::optional<double>& seconds) -> std::optional<int64_t> {
      if (!seconds) return std::nullopt;
      return ToUnits(*seconds, 1e6);
    };
    upsert.Bind(7, ToUnits(day->seconds_healthy, 1e3));
    upsert.Bind(8, ToUnits(day->seconds_degraded, 1e3));
    upsert.Bind(9, ToUnits(day->seconds_unhealthy, 1e3));
    upsert.Bind(10, ToUnits(day->seconds_unknown, 1e3));
    upsert.Bind(11, micros(day->latency_p50));
    upsert.Bind(12, micros(day->latency_p95));
    upsert.Bind(13, micros(day->latency_p99));
    upsert.Bind(14, ToUnits(day->longest_outage, 1e3));
    return step(upsert, "writing daily aggregate");
  }

  auto& set = std::get<SetChecksOp>(op.what);
  std::set<std::string, std::less<>> configured(set.configured.begin(), set.configured.end());
  Statement* update = Cached("UPDATE checks SET removed_at = ?2 WHERE id = ?1", error);
  if (update == nullptr) return false;
  auto stamp = [&](int64_t id, double removed_at) {
    update->Bind(1, id);
    update->Bind(2, removed_at);
    return step(*update, "updating tombstone");
  };
  for (auto& [name, entry] : check_cache_) {
    const bool wanted = configured.contains(name);
    if (wanted && entry.second != 0) {
      if (!stamp(entry.first, 0)) return false;
      entry.second = 0;
    } else if (!wanted && entry.second == 0) {
      if (!stamp(entry.first, set.now)) return false;
      entry.second = set.now;
    }
  }
  // Configured checks the store has not seen yet get their id now.
  for (const std::string& name : configured) {
    if (!IdFor(name, error)) return false;
  }
  return true;
}

bool Store::RunMaintenance(std::string* error) {
  const double now = Now();
  const int64_t first_kept_day = UnixDay(now) - options_.history_days + 1;
  std::vector<std::pair<std::string, int64_t>> expired;
  for (const auto& [name, entry] : check_cache_) {
    if (entry.second > 0 && now - entry.second >= options_.removed_check_grace) {
      expired.emplace_back(name, entry.first);
    }
  }
  if (auto problem = write_db_.Exec("BEGIN IMMEDIATE")) {
    *error = *problem;
    return false;
  }
  bool ok = true;
  // Per check, along the primary key (check_id, day): no index on day to
  // keep up (it cost 11 % of the file), 10,000 short range deletes instead.
  Statement days;
  int64_t days_pruned = 0;
  if (auto problem =
          days.Prepare(write_db_, "DELETE FROM daily WHERE check_id = ?1 AND day < ?2")) {
    *error = *problem;
    ok = false;
  }
  for (auto it = check_cache_.begin(); ok && it != check_cache_.end(); ++it) {
    days.Bind(1, it->second.first);
    days.Bind(2, first_kept_day);
    if (days.Step() != SQLITE_DONE) {
      *error = "pruning days: " + write_db_.LastError();
      ok = false;
    }
    days_pruned += sqlite3_changes(write_db_.get());
    days.Reset();
  }
  for (const char* table : {"heartbeat", "journal", "daily"}) {
    if (!ok || expired.empty()) break;
    Statement drop;
    if (auto problem =
            drop.Prepare(write_db_, std::string("DELETE FROM ") + table + " WHERE check_id = ?1")) {
      *error = *problem;
      ok = false;
      break;
    }
    for (const auto& [name, id] : expired) {
      drop.Bind(1, id);
      if (drop.Step() != SQLITE_DONE) {
        *error = "dropping a removed check: " + write_db_.LastError();
        ok = false;
        break;
      }
      drop.Reset();
    }
  }
  if (ok && !expired.empty()) {
    Statement drop;
    if (auto problem = drop.Prepare(write_db_, "DELETE FROM checks WHERE id = ?1")) {
      *error = *problem;
      ok = false;
    }
    for (size_t i = 0; ok && i < expired.size(); ++i) {
      drop.Bind(1, expired[i].second);
      if (drop.Step() != SQLITE_DONE) {
        *error = "dropping a removed check: " + write_db_.LastError();
        ok = false;
      }
      drop.Reset();
    }
  }
  if (ok) {
    if (auto problem = write_db_.Exec("COMMIT")) {
      *error = *problem;
      ok = false;
    }
  }
  if (!ok) {
    write_db_.Exec("ROLLBACK");
    return false;
  }
  for (const auto& [name, id] : expired) check_cache_.erase(name);
  if (!expired.empty() || days_pruned > 0) {
    log::Info("store pruned", {{"path", path_},
                               {"removed_checks_dropped", std::to_string(expired.size())},
                               {"daily_rows_dropped", std::to_string(days_pruned)}});
  }
  return true;
}

void Store::SwitchToMemory(const std::string& why) {
  std::unique_lock<std::mutex> lock;
  if (!shared_) lock = std::unique_lock(read_mutex_);  // else the writer holds it already
  OpenMemory(why);
}

void Store::LogWriteTrouble(bool force) {
  uint64_t dropped = 0;
  uint64_t failed = 0;
  {
    std::lock_guard lock(queue_mutex_);
    dropped = stats_.dropped;
    failed = stats_.failed;
  }
  if (dropped == logged_dropped_ && failed == logged_failed_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - last_trouble_log_ < options_.log_interval &&
      last_trouble_log_ != std::chrono::steady_clock::time_point{}) {
    return;
  }
  last_trouble_log_ = now;
  if (dropped != logged_dropped_) {
    log::Warn("store queue full, writes dropped (kept in memory only)",
              {{"path", path_},
               {"dropped", std::to_string(dropped - logged_dropped_)},
               {"dropped_total", std::to_string(dropped)},
               {"capacity", std::to_string(options_.queue_capacity)}});
  }
  if (failed != logged_failed_) {
    log::Warn("store writes failed and were rolled back; the next batch tries again",
              {{"path", path_},
               {"failed", std::to_string(failed - logged_failed_)},
               {"failed_total", std::to_string(failed)},
               {"error", last_failure_}});
  }
  logged_dropped_ = dropped;
  logged_failed_ = failed;
}

// ---------------------------------------------------------------------------
// Reads

template <typename Fn>
void Store::WithReader(Fn&& fn) {
  std::lock_guard lock(read_mutex_);
  Db& db = shared_ ? write_db_ : read_db_;
  if (!db.is_open()) return;
  fn(db);
}

void Store::LogReadError(std::string_view what, const std::string& error) {
  // Caller holds read_mutex_.
  const auto now = std::chrono::steady_clock::now();
  if (last_read_log_ != std::chrono::steady_clock::time_point{} &&
      now - last_read_log_ < options_.log_interval) {
    return;
  }
  last_read_log_ = now;
  log::Warn("store read failed, answering without stored data",
            {{"path", path_}, {"reading", std::string(what)}, {"error", error}});
}

namespace {

constexpr const char* kJournalColumns =
    "c.name, j.time, j.state, j.previous_state, j.reason, j.detail, j.duration, j.phases, "
    "j.address, j.http_status, j.body, j.attempt_id";

JournalEntry JournalFrom(const Statement& s) {
  JournalEntry entry;
  entry.check = s.Text(0);
  entry.time = s.Double(1);
  entry.state = s.Text(2);
  entry.previous_state = s.Text(3);
  entry.reason = s.Text(4);
  entry.detail = s.Text(5);
  entry.duration = s.Double(6);
  entry.phases_json = s.Text(7);
  entry.address = s.Text(8);
  if (!s.IsNull(9)) entry.http_status = static_cast<int>(s.Int(9));
  entry.body_excerpt = s.Text(10);
  entry.attempt_id = static_cast<uint64_t>(s.Int(11));
  return entry;
}

constexpr const char* kDailyColumns =
    "c.name, d.day, d.attempts, d.results_healthy, d.results_degraded, d.results_unhealthy, "
    "d.ms_healthy, d.ms_degraded, d.ms_unhealthy, d.ms_unknown, "
    "d.latency_p50_us, d.latency_p95_us, d.latency_p99_us, d.longest_outage_ms";

DailyAggregate DailyFrom(const Statement& s) {
  DailyAggregate row;
  row.check = s.Text(0);
  row.day = s.Int(1);
  row.attempts = s.Int(2);
  row.results_healthy = s.Int(3);
  row.results_degraded = s.Int(4);
  row.results_unhealthy = s.Int(5);
  row.seconds_healthy = static_cast<double>(s.Int(6)) / 1e3;
  row.seconds_degraded = static_cast<double>(s.Int(7)) / 1e3;
  row.seconds_unhealthy = static_cast<double>(s.Int(8)) / 1e3;
  row.seconds_unknown = static_cast<double>(s.Int(9)) / 1e3;
  if (!s.IsNull(10)) row.latency_p50 = static_cast<double>(s.Int(10)) / 1e6;
  if (!s.IsNull(11)) row.latency_p95 = static_cast<double>(s.Int(11)) / 1e6;
  if (!s.IsNull(12)) row.latency_p99 = static_cast<double>(s.Int(12)) / 1e6;
  row.longest_outage = static_cast<double>(s.Int(13)) / 1e3;
  return row;
}

// Runs a prepared query, calling `row` per result; returns the error, if any.
template <typename Bind, typename Row>
std::optional<std::string> Query(Db& db, const std::string& sql, Bind&& bind, Row&& row) {
  Statement s;
  if (auto problem = s.Prepare(db, sql)) return problem;
  bind(s);
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) row(s);
  if (rc != SQLITE_DONE) return db.LastError();
  return std::nullopt;
}

}  // namespace

namespace {

// Every heartbeat row of `db`, by check name.
std::optional<std::string> ReadHeartbeatRows(Db& db, std::vector<HeartbeatRow>* rows) {
  return Query(
      db,
      "SELECT c.name, h.watched_since, h.last_ping, h.last_ok, h.exit_code, h.detail FROM "
      "heartbeat h JOIN checks c ON c.id = h.check_id ORDER BY c.name",
      [](Statement&) {},
      [&](const Statement& s) {
        HeartbeatRow row;
        row.check = s.Text(0);
        row.watched_since = s.Double(1);
        row.last_ping = s.Double(2);
        row.last_ok = s.Int(3) != 0;
        if (!s.IsNull(4)) row.exit_code = static_cast<int>(s.Int(4));
        row.detail = s.Text(5);
        rows->push_back(std::move(row));
      });
}

}  // namespace

std::vector<HeartbeatRow> Store::Heartbeats() {
  std::vector<HeartbeatRow> rows;
  WithReader([&](Db& db) {
    if (auto error = ReadHeartbeatRows(db, &rows)) {
      rows.clear();
      LogReadError("heartbeats", *error);
    }
  });
  return rows;
}

std::vector<HeartbeatRow> ReadHeartbeatsReadOnly(const std::string& path, std::string* error) {
  std::vector<HeartbeatRow> rows;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return rows;
  Db db;
  if (auto problem = db.Open(path, SQLITE_OPEN_READONLY)) {
    *error = *problem;
    return rows;
  }
  if (auto problem = ReadHeartbeatRows(db, &rows)) {
    rows.clear();
    *error = *problem;
  }
  return rows;
}

std::vector<JournalEntry> Store::Journal(std::string_view check, size_t limit) {
  std::vector<JournalEntry> entries;
  const int64_t capped =
      limit > static_cast<size_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(limit);
  WithReader([&](Db& db) {
    auto error = Query(
        db,
        std::string("SELECT ") + kJournalColumns +
            " FROM journal j JOIN checks c ON c.id = j.check_id WHERE c.name = ?1 "
            "ORDER BY j.id DESC LIMIT ?2",
        [&](Statement& s) {
          s.Bind(1, check);
          s.Bind(2, capped);
        },
        [&](const Statement& s) { entries.push_back(JournalFrom(s)); });
    if (error) {
      entries.clear();
      LogReadError("journal", *error);
    }
  });
  return entries;
}

std::map<std::string, std::vector<JournalEntry>, std::less<>> Store::AllJournals() {
  std::map<std::string, std::vector<JournalEntry>, std::less<>> all;
  WithReader([&](Db& db) {
    auto error = Query(
        db,
        std::string("SELECT ") + kJournalColumns +
            " FROM journal j JOIN checks c ON c.id = j.check_id ORDER BY j.check_id, j.id DESC",
        [](Statement&) {},
        [&](const Statement& s) {
          JournalEntry entry = JournalFrom(s);
          std::string name = entry.check;
          all[name].push_back(std::move(entry));
        });
    if (error) {
      all.clear();
      LogReadError("journals", *error);
    }
  });
  return all;
}

std::vector<DailyAggregate> Store::Daily(std::string_view check, int64_t from_day, int64_t to_day) {
  std::vector<DailyAggregate> rows;
  WithReader([&](Db& db) {
    auto error = Query(
        db,
        std::string("SELECT ") + kDailyColumns +
            " FROM daily d JOIN checks c ON c.id = d.check_id WHERE c.name = ?1 AND d.day "
            "BETWEEN ?2 AND ?3 ORDER BY d.day",
        [&](Statement& s) {
          s.Bind(1, check);
          s.Bind(2, from_day);
          s.Bind(3, to_day);
        },
        [&](const Statement& s) { rows.push_back(DailyFrom(s)); });
    if (error) {
      rows.clear();
      LogReadError("daily", *error);
    }
  });
  return rows;
}

std::vector<DailyAggregate> Store::AllDaily(int64_t from_day) {
  std::vector<DailyAggregate> rows;
  WithReader([&](Db& db) {
    auto error = Query(
        db,
        std::string("SELECT ") + kDailyColumns +
            " FROM daily d JOIN checks c ON c.id = d.check_id WHERE d.day >= ?1 "
            "ORDER BY d.check_id, d.day",
        [&](Statement& s) { s.Bind(1, from_day); },
        [&](const Statement& s) { rows.push_back(DailyFrom(s)); });
    if (error) {
      rows.clear();
      LogReadError("daily", *error);
    }
  });
  return rows;
}

std::vector<CheckRow> Store::Checks() {
  std::vector<CheckRow> rows;
  WithReader([&](Db& db) {
    auto error = Query(
        db, "SELECT name, removed_at FROM checks ORDER BY name", [](Statement&) {},
        [&](const Statement& s) {
          rows.push_back(CheckRow{s.Text(0), s.Double(1)});
        });
    if (error) {
      rows.clear();
      LogReadError("checks", *error);
    }
  });
  return rows;
}

std::string Store::IntegrityCheck() {
  std::string result;
  WithReader([&](Db& db) {
    auto error = Query(
        db, "PRAGMA integrity_check", [](Statement&) {},
        [&](const Statement& s) { result += (result.empty() ? "" : "\n") + s.Text(0); });
    if (error) result = "error: " + *error;
  });
  return result.empty() ? "error: no connection" : result;
}

}  // namespace hx::store
