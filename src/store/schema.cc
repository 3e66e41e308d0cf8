#include "store/schema.h"

#include <string>

namespace hx::store {
namespace {

// v1: the tables of issues 15 (failure journal, heartbeat state) and 16
// (daily aggregates). Checks are named once in `checks` and referred to by a
// small integer id: 900,000 daily rows each repeating a 20-byte name (and its
// index) would double the file. `checks.removed_at` is the tombstone: a
// removed check's rows in every table are dropped once it is older than the
// grace period. Times are wall seconds (REAL); days are days since the epoch
// (UTC). The daily table holds durations as INTEGER milliseconds and
// latencies as INTEGER microseconds: SQLite stores small integers in 1-4
// bytes and a fractional REAL in 8, and 900,000 rows of eight such columns
// made 40 % of the table (91 -> 55 bytes a row, measured with
// bench/store_bench.cc). A day's row is rewritten whole (an upsert) by its
// owner; no index on day: pruning walks the primary key per check.
constexpr const char* kV1 = R"sql(
CREATE TABLE checks (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  removed_at REAL NOT NULL DEFAULT 0
);
CREATE TABLE heartbeat (
  check_id INTEGER PRIMARY KEY REFERENCES checks(id),
  watched_since REAL NOT NULL,
  last_ping REAL NOT NULL,
  last_ok INTEGER NOT NULL,
  exit_code INTEGER,
  detail TEXT NOT NULL
);
CREATE TABLE journal (
  id INTEGER PRIMARY KEY,
  check_id INTEGER NOT NULL REFERENCES checks(id),
  time REAL NOT NULL,
  state TEXT NOT NULL,
  previous_state TEXT NOT NULL,
  reason TEXT NOT NULL,
  detail TEXT NOT NULL,
  duration REAL NOT NULL,
  phases TEXT NOT NULL,
  address TEXT NOT NULL,
  http_status INTEGER,
  body BLOB NOT NULL,
  attempt_id INTEGER NOT NULL
);
CREATE INDEX journal_by_check ON journal (check_id, id);
CREATE TABLE daily (
  check_id INTEGER NOT NULL REFERENCES checks(id),
  day INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  results_healthy INTEGER NOT NULL,
  results_degraded INTEGER NOT NULL,
  results_unhealthy INTEGER NOT NULL,
  ms_healthy INTEGER NOT NULL,
  ms_degraded INTEGER NOT NULL,
  ms_unhealthy INTEGER NOT NULL,
  ms_unknown INTEGER NOT NULL,
  latency_p50_us INTEGER,
  latency_p95_us INTEGER,
  latency_p99_us INTEGER,
  longest_outage_ms INTEGER NOT NULL,
  PRIMARY KEY (check_id, day)
) WITHOUT ROWID;
)sql";

constexpr Migration kMigrations[] = {
    {1, kV1},
};

}  // namespace

std::span<const Migration> Migrations() { return kMigrations; }

MigrationResult ApplyMigrations(Db& db, std::span<const Migration> migrations) {
  MigrationResult result;
  const int known = migrations.empty() ? 0 : migrations.back().version;
  auto fail = [&](std::string what) {
    result.code = db.LastCode();
    result.error = std::move(what);
    db.Exec("ROLLBACK");
    return result;
  };
  // The write lock first: the version read inside it cannot change under us.
  if (auto error = db.Exec("BEGIN IMMEDIATE", &result.code)) {
    result.error = *error;
    return result;
  }
  std::string error;
  const std::optional<int64_t> version = db.QueryInt("PRAGMA user_version", &error);
  if (!version) return fail(error);
  result.from_version = result.to_version = static_cast<int>(*version);
  if (*version > known) {
    result.newer_than_known = true;
    db.Exec("ROLLBACK");
    return result;
  }
  for (const Migration& migration : migrations) {
    if (migration.version <= *version) continue;
    if (auto problem = db.Exec(migration.sql)) {
      return fail("migration to version " + std::to_string(migration.version) +
                  " failed: " + *problem);
    }
    result.to_version = migration.version;
  }
  if (result.to_version != result.from_version) {
    if (auto problem = db.Exec("PRAGMA user_version = " + std::to_string(result.to_version))) {
      return fail(*problem);
    }
  }
  if (auto problem = db.Exec("COMMIT", &result.code)) return fail(*problem);
  return result;
}

}  // namespace hx::store
