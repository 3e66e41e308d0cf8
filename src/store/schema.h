#pragma once
// The store's schema as an ordered list of migrations. PRAGMA user_version is
// the number of migrations applied; opening applies the missing ones in one
// transaction, so a file is always at one whole version. A migration is
// never edited once released: a change is a new migration appended here.
// Stateless functions: thread-safe as long as each Db is used by one thread.

#include <optional>
#include <span>
#include <string>

#include "store/sqlite.h"

namespace hx::store {

/// One step of the schema (a plain constant value). `version` is 1, 2, ... in order; `sql` takes
/// the schema from version - 1 to version.
struct Migration {
  int version;
  const char* sql;
};

/// The migrations this binary knows, in order (today: v1).
std::span<const Migration> Migrations();

/// The outcome of ApplyMigrations. A plain value.
struct MigrationResult {
  int from_version = 0;
  int to_version = 0;
  /// Set when the file's version is above the last migration: nothing was
  /// touched.
  bool newer_than_known = false;
  /// The failure (already rolled back), if any.
  std::optional<std::string> error;
  /// The extended SQLite result code of the failure.
  int code = 0;
};

/// Reads user_version and applies `migrations` above it inside one
/// BEGIN IMMEDIATE transaction (so a database locked by someone else fails
/// here, after the connection's busy timeout, rather than later).
MigrationResult ApplyMigrations(Db& db, std::span<const Migration> migrations);

}  // namespace hx::store
