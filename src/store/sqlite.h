#pragma once
// A thin RAII layer over the SQLite C API: a connection and a prepared
// statement, errors as text naming what failed. No policy lives here (that is
// store.cc's job). Not thread-safe: a Db and its Statements are used by one
// thread at a time (the store serialises access, see store.h).

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hx::store {

/// An open SQLite connection; closed by the destructor. Not thread-safe: one
/// thread at a time (opened with SQLITE_OPEN_NOMUTEX; the owner serialises).
class Db {
 public:
  Db() = default;
  ~Db();
  Db(Db&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Db& operator=(Db&& other) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  /// Opens `path` with sqlite3_open_v2 `flags` (SQLITE_OPEN_NOMUTEX is added:
  /// callers serialise). Returns an error text, or nullopt.
  std::optional<std::string> Open(const std::string& path, int flags);
  void Close();
  bool is_open() const { return db_ != nullptr; }
  sqlite3* get() const { return db_; }

  /// Runs one or more statements without results. Returns the error, or nullopt;
  /// *code gets the extended result code when given.
  std::optional<std::string> Exec(std::string_view sql, int* code = nullptr);
  /// Runs a query returning one integer (e.g. PRAGMA user_version).
  std::optional<int64_t> QueryInt(std::string_view sql, std::string* error = nullptr,
                                  int* code = nullptr);
  /// The connection's last error, "<message> (code N)".
  std::string LastError() const;
  int LastCode() const;

 private:
  sqlite3* db_ = nullptr;
};

/// One prepared statement; finalized by the destructor. Not thread-safe: used
/// by the thread that uses its Db, and finalized before that Db closes.
class Statement {
 public:
  Statement() = default;
  ~Statement();
  Statement(Statement&& other) noexcept : stmt_(other.stmt_) { other.stmt_ = nullptr; }
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  /// Compiles `sql`; returns the error, or nullopt.
  std::optional<std::string> Prepare(Db& db, std::string_view sql);
  bool ok() const { return stmt_ != nullptr; }

  // Parameters are numbered from 1, as in SQLite.
  void Bind(int i, int64_t value);
  void Bind(int i, double value);
  void Bind(int i, std::string_view text);
  void BindBlob(int i, std::string_view bytes);
  void BindNull(int i);
  template <typename T>
  void Bind(int i, const std::optional<T>& value) {
    if (value) {
      Bind(i, *value);
    } else {
      BindNull(i);
    }
  }

  /// Steps once: SQLITE_ROW, SQLITE_DONE or an error code.
  int Step();
  /// Resets for the next use and clears the bindings.
  void Reset();

  int64_t Int(int column) const;
  double Double(int column) const;
  std::string Text(int column) const;
  bool IsNull(int column) const;

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace hx::store
