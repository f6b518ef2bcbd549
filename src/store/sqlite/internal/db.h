// store/sqlite/internal/db.h: a thin RAII layer over one sqlite3 connection, private to the
// SQLite store. A Conn owns its sqlite3* and a cache of prepared statements keyed by the SQL
// text's address (callers pass string constants, so the same query reuses one statement).
//
// Threading: a Conn is used by exactly one thread at a time (the store gives each worker thread
// its own connection and opens them with SQLITE_OPEN_NOMUTEX). Nothing here is thread-safe.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/result.h"
#include "core/types.h"

namespace parley::store::sqlite_internal {

// Ids are uint64 in the domain and INTEGER (int64) in SQLite: a bit cast both ways, so ids
// above 2^63 survive the round trip (they sort wrongly in SQL, which we never rely on for ids).
inline std::int64_t to_db(core::Id id) { return static_cast<std::int64_t>(id); }
inline core::Id from_db(std::int64_t v) { return static_cast<core::Id>(v); }

// Maps an SQLite result code onto the store's error enum. Constraint violations of unique keys
// become kConflict, foreign keys kNotFound, I/O, locking and "database closed" kUnavailable.
core::Errc errc_for(int rc);
core::Error db_error(sqlite3* db, int rc, std::string_view what);

// One prepared statement in use. Resets and clears bindings when it goes out of scope, so a
// cached statement can be reused by the next caller.
// REQUIRES: text bound with bind() outlives this Stmt (bound with SQLITE_STATIC, no copy).
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }

  Stmt& bind(int i, std::int64_t v) { sqlite3_bind_int64(s_, i, v); return *this; }
  Stmt& bind_id(int i, core::Id v) { sqlite3_bind_int64(s_, i, to_db(v)); return *this; }
  Stmt& bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  Stmt& bind_null(int i) { sqlite3_bind_null(s_, i); return *this; }

  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(s_); }
  // Runs a statement expected to return no rows (or to ignore them).
  core::Status exec(std::string_view what);

  std::int64_t i64(int col) const { return sqlite3_column_int64(s_, col); }
  core::Id id(int col) const { return from_db(sqlite3_column_int64(s_, col)); }
  bool is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  std::string text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    if (p == nullptr) return {};
    return std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col)));
  }
  std::string_view text_view(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    if (p == nullptr) return {};
    return std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col)));
  }

  sqlite3* db() const { return db_; }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_;
};

class Conn {
 public:
  // Opens `path` with SQLite open flags (SQLITE_OPEN_NOMUTEX is always added).
  static core::Result<std::unique_ptr<Conn>> open(const std::string& path, int flags);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // The cached prepared statement for `sql`. `sql` must be a string with static storage
  // duration (the cache keys on its address). An error here is a bug or a broken database.
  core::Result<sqlite3_stmt*> prepare(const char* sql);
  // The same for SQL built at run time (search queries), cached by its text. The caller builds
  // it from a bounded set of fragments, never from user input (which is bound); the cache
  // still holds at most kMaxGeneratedStatements and is emptied when full.
  core::Result<sqlite3_stmt*> prepare_generated(const std::string& sql);
  static constexpr std::size_t kMaxGeneratedStatements = 128;
  // Runs one or more statements without caching (migrations, pragmas).
  core::Status exec_script(const char* sql);

  sqlite3* raw() const { return db_; }
  // True outside a transaction (also after SQLite rolled one back by itself on I/O errors).
  bool autocommit() const { return sqlite3_get_autocommit(db_) != 0; }
  std::int64_t changes() const { return sqlite3_changes64(db_); }

 private:
  explicit Conn(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<const char*, sqlite3_stmt*> cache_;
  std::unordered_map<std::string, sqlite3_stmt*> generated_;
};

}  // namespace parley::store::sqlite_internal

// Prepares `sql` on `conn` into a Stmt named `var`, or returns the error from the enclosing
// function (which must return a core::Result<...>).
#define PARLEY_SQL(var, conn, sql)                               \
  auto var##_prepared = (conn).prepare(sql);                     \
  if (!var##_prepared) return var##_prepared.take_error();       \
  ::parley::store::sqlite_internal::Stmt var((conn).raw(), *var##_prepared)
