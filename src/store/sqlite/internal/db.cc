#include "store/sqlite/internal/db.h"

namespace parley::store::sqlite_internal {

using core::Errc;

core::Errc errc_for(int rc) {
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return Errc::kConflict;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return Errc::kNotFound;
    default:
      break;
  }
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
    case SQLITE_NOMEM:
    case SQLITE_INTERRUPT:
      return Errc::kUnavailable;
    case SQLITE_CONSTRAINT:
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
      return Errc::kInvalidArgument;
    default:
      return Errc::kInternal;
  }
}

core::Error db_error(sqlite3* db, int rc, std::string_view what) {
  std::string msg = "store: ";
  msg += what;
  msg += ": ";
  // sqlite3_errmsg never contains bound values (no message bodies or secrets leak into it).
  msg += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return core::make_error(errc_for(rc), std::move(msg));
}

core::Status Stmt::exec(std::string_view what) {
  int rc;
  while ((rc = step()) == SQLITE_ROW) {
  }
  if (rc != SQLITE_DONE) return db_error(db_, sqlite3_extended_errcode(db_), what);
  return core::ok_status();
}

core::Result<std::unique_ptr<Conn>> Conn::open(const std::string& path, int flags) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    core::Error e = db_error(db, rc, "open " + path);
    e.code = Errc::kUnavailable;
    sqlite3_close_v2(db);
    return e;
  }
  sqlite3_extended_result_codes(db, 1);
  return std::unique_ptr<Conn>(new Conn(db));
}

Conn::~Conn() {
  for (auto& [sql, s] : cache_) sqlite3_finalize(s);
  for (auto& [sql, s] : generated_) sqlite3_finalize(s);
  sqlite3_close_v2(db_);
}

core::Result<sqlite3_stmt*> Conn::prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return it->second;
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
  if (rc != SQLITE_OK) return db_error(db_, rc, "prepare");
  cache_.emplace(sql, s);
  return s;
}

core::Result<sqlite3_stmt*> Conn::prepare_generated(const std::string& sql) {
  auto it = generated_.find(sql);
  if (it != generated_.end()) return it->second;
  if (generated_.size() >= kMaxGeneratedStatements) {
    // Only reached by a caller that is not using its statement any more (one thread per Conn,
    // and a Stmt lives within one store call).
    for (auto& [text, s] : generated_) sqlite3_finalize(s);
    generated_.clear();
  }
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &s, nullptr);
  if (rc != SQLITE_OK) return db_error(db_, rc, "prepare");
  generated_.emplace(sql, s);
  return s;
}

core::Status Conn::exec_script(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = "store: ";
    msg += err != nullptr ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return core::make_error(errc_for(sqlite3_extended_errcode(db_)), std::move(msg));
  }
  return core::ok_status();
}

}  // namespace parley::store::sqlite_internal
