#include "store/sqlite.h"

#include <string>

namespace hx::store {

Db::~Db() { Close(); }

Db& Db::operator=(Db&& other) noexcept {
  if (this != &other) {
    Close();
    db_ = other.db_;
    other.db_ = nullptr;
  }
  return *this;
}

std::optional<std::string> Db::Open(const std::string& path, int flags) {
  Close();
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string error = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return error;
  }
  sqlite3_extended_result_codes(db, 1);
  db_ = db;
  return std::nullopt;
}

void Db::Close() {
  if (db_ != nullptr) {
    // _v2: statements still open (a bug) would keep it alive rather than leak
    // it in an unusable state.
    sqlite3_close_v2(db_);
    db_ = nullptr;
  }
}

std::optional<std::string> Db::Exec(std::string_view sql, int* code) {
  const std::string text(sql);
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (code != nullptr) *code = rc == SQLITE_OK ? SQLITE_OK : sqlite3_extended_errcode(db_);
  if (rc == SQLITE_OK) return std::nullopt;
  std::string error = message != nullptr ? message : sqlite3_errstr(rc);
  sqlite3_free(message);
  return error;
}

std::optional<int64_t> Db::QueryInt(std::string_view sql, std::string* error, int* code) {
  Statement statement;
  if (auto problem = statement.Prepare(*this, sql)) {
    if (error != nullptr) *error = *problem;
    if (code != nullptr) *code = LastCode();
    return std::nullopt;
  }
  const int rc = statement.Step();
  if (rc != SQLITE_ROW) {
    if (error != nullptr) *error = LastError();
    if (code != nullptr) *code = rc;
    return std::nullopt;
  }
  return statement.Int(0);
}

std::string Db::LastError() const {
  if (db_ == nullptr) return "not open";
  return std::string(sqlite3_errmsg(db_)) + " (code " +
         std::to_string(sqlite3_extended_errcode(db_)) + ")";
}

int Db::LastCode() const { return db_ == nullptr ? SQLITE_MISUSE : sqlite3_extended_errcode(db_); }

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = other.stmt_;
    other.stmt_ = nullptr;
  }
  return *this;
}

std::optional<std::string> Statement::Prepare(Db& db, std::string_view sql) {
  sqlite3_finalize(stmt_);
  stmt_ = nullptr;
  const int rc = sqlite3_prepare_v3(db.get(), sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
    return db.LastError();
  }
  return std::nullopt;
}

void Statement::Bind(int i, int64_t value) { sqlite3_bind_int64(stmt_, i, value); }
void Statement::Bind(int i, double value) { sqlite3_bind_double(stmt_, i, value); }
void Statement::Bind(int i, std::string_view text) {
  sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}
void Statement::BindBlob(int i, std::string_view bytes) {
  sqlite3_bind_blob(stmt_, i, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
}
void Statement::BindNull(int i) { sqlite3_bind_null(stmt_, i); }

int Statement::Step() {
  const int rc = sqlite3_step(stmt_);
  return rc;
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }
double Statement::Double(int column) const { return sqlite3_column_double(stmt_, column); }
std::string Statement::Text(int column) const {
  const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
  const int size = sqlite3_column_bytes(stmt_, column);
  return data == nullptr ? std::string() : std::string(data, static_cast<size_t>(size));
}
bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

}  // namespace hx::store
