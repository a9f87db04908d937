#include "daemon/store/sqlite_db.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <chrono>

namespace omnisync::store::sqlite {
namespace {

using detail::store_logger;

const char* sync_pragma(synchronous_mode m) {
  switch (m) {
    case synchronous_mode::off: return "PRAGMA synchronous=OFF";
    case synchronous_mode::normal: return "PRAGMA synchronous=NORMAL";
    case synchronous_mode::full: return "PRAGMA synchronous=FULL";
    case synchronous_mode::extra: return "PRAGMA synchronous=EXTRA";
  }
  return "PRAGMA synchronous=FULL";
}

}  // namespace

omnisync::errc classify(int rc) noexcept {
  switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE: return omnisync::errc::ok;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return omnisync::errc::retry;
    case SQLITE_CONSTRAINT:
      switch (rc) {
        case SQLITE_CONSTRAINT_UNIQUE:
        case SQLITE_CONSTRAINT_PRIMARYKEY:
        case SQLITE_CONSTRAINT_FOREIGNKEY:
        case SQLITE_CONSTRAINT_ROWID: return omnisync::errc::conflict;
        default: return omnisync::errc::invalid_input;  // NOT NULL, CHECK, datatype
      }
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE: return omnisync::errc::invalid_input;
    case SQLITE_INTERRUPT: return omnisync::errc::cancelled;
    default: return omnisync::errc::fail;  // FULL, CORRUPT, NOTADB, IOERR, CANTOPEN, READONLY, PERM, ...
  }
}

void raise(sqlite3* db, int rc, std::string_view what) {
  auto e = classify(rc);
  if (e == omnisync::errc::ok) e = omnisync::errc::fail;
  std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  std::string text = std::string(what) + ": " + msg + " (sqlite " + std::to_string(rc) + ")";
  // Logged here, once: callers see only the error class.
  if (e == omnisync::errc::retry)
    store_logger()->warn("store: {}", text);
  else
    store_logger()->error("store: {}", text);
  throw sqlite_error(omnisync::make_error_code(e), std::move(text));
}

void raise(omnisync::errc e, std::string message) {
  throw sqlite_error(omnisync::make_error_code(e), std::move(message));
}

// ---- statement ---------------------------------------------------------------------------------------------

class statement {
 public:
  statement(sqlite3* db, const char* sql) : db_(db), sql_(sql) {
    int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
    if (rc != SQLITE_OK) raise(db, rc, std::string("prepare ") + std::string(sql).substr(0, 60));
  }
  ~statement() { sqlite3_finalize(stmt_); }
  sqlite3* db_;
  const char* sql_;
  sqlite3_stmt* stmt_ = nullptr;

  void check_bind(int rc) {
    if (rc != SQLITE_OK) raise(db_, rc, "bind");
  }
};

query::~query() {
  sqlite3_reset(s_->stmt_);
  sqlite3_clear_bindings(s_->stmt_);
}

query& query::text(int i, std::string_view v) {
  s_->check_bind(sqlite3_bind_text(s_->stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  return *this;
}
query& query::blob(int i, std::string_view v) {
  s_->check_bind(sqlite3_bind_blob(s_->stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  return *this;
}
query& query::text_ref(int i, std::string_view v) {
  s_->check_bind(sqlite3_bind_text(s_->stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC));
  return *this;
}
query& query::blob_ref(int i, std::string_view v) {
  s_->check_bind(sqlite3_bind_blob(s_->stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC));
  return *this;
}
query& query::i64(int i, std::int64_t v) {
  s_->check_bind(sqlite3_bind_int64(s_->stmt_, i, v));
  return *this;
}
query& query::null(int i) {
  s_->check_bind(sqlite3_bind_null(s_->stmt_, i));
  return *this;
}
query& query::opt_text(int i, const std::optional<std::string>& v) { return v ? text(i, *v) : null(i); }

bool query::step() {
  int rc = sqlite3_step(s_->stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  raise(s_->db_, rc, std::string("step ") + std::string(s_->sql_).substr(0, 60));
}

void query::run() {
  while (step()) {
  }
}

std::int64_t query::col_i64(int c) { return sqlite3_column_int64(s_->stmt_, c); }
std::string query::col_text(int c) {
  auto* p = static_cast<const char*>(sqlite3_column_blob(s_->stmt_, c));
  int n = sqlite3_column_bytes(s_->stmt_, c);
  return p ? std::string(p, static_cast<std::size_t>(n)) : std::string();
}
bool query::col_null(int c) { return sqlite3_column_type(s_->stmt_, c) == SQLITE_NULL; }

// ---- connection --------------------------------------------------------------------------------------------

connection::connection(const std::filesystem::path& file, role r, const options& opts) : file_(file) {
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(file.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    // sqlite3_open_v2 hands back a handle even on failure so the message can be read.
    try {
      raise(db_, rc, "open " + file.string());
    } catch (...) {
      sqlite3_close(db_);
      db_ = nullptr;
      throw;
    }
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, static_cast<int>(opts.busy_timeout.count()));
  try {
    {
      auto q = prepare("PRAGMA journal_mode=WAL");
      if (!q.step() || q.col_text(0) != "wal")
        raise(omnisync::errc::fail, "cannot switch " + file.string() + " to WAL mode");
    }
    exec(sync_pragma(opts.synchronous));
    exec("PRAGMA foreign_keys=ON");
    if (r == role::reader) exec("PRAGMA query_only=ON");
    // After a large transaction, truncate the WAL back to this size at the next checkpoint.
    if (r != role::reader) exec("PRAGMA journal_size_limit=67108864");
    // A 32 MiB page cache per connection (SQLite's default is 2 MiB): large resyncs insert into a big records
    // index, and a cache that holds its upper levels keeps them from re-reading pages for every insert. It is
    // a bound, not a growth: memory stays flat whatever the number of records.
    exec(r == role::checkpointer ? "PRAGMA cache_size=-256" : "PRAGMA cache_size=-32768");
    if (r == role::writer && opts.max_db_bytes > 0) {
      std::int64_t page_size = 4096;
      {
        auto q = prepare("PRAGMA page_size");
        if (q.step()) page_size = q.col_i64(0);
      }
      const auto pages = std::max<std::int64_t>(1, static_cast<std::int64_t>(opts.max_db_bytes) / page_size);
      exec(("PRAGMA max_page_count=" + std::to_string(pages)).c_str());
    }
  } catch (const sqlite_error& e) {
    // The operator reads this at a refused start: it names the file, and what to do when the file is damaged.
    const int code = sqlite3_extended_errcode(db_) & 0xff;
    std::string text = file.string() + ": " + e.what();
    if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
      text += "; the file is damaged or is not an omnisync database: restore it from a backup";
    cache_.clear();
    sqlite3_close(db_);
    db_ = nullptr;
    throw sqlite_error(e.code(), std::move(text));
  } catch (...) {
    cache_.clear();
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

connection::~connection() {
  cache_.clear();  // finalize statements before closing
  if (db_) sqlite3_close(db_);
}

query connection::prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) it = cache_.emplace(sql, std::make_unique<statement>(db_, sql)).first;
  return query(*it->second);
}

void connection::exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc != SQLITE_OK) raise(db_, rc, std::string("exec ") + std::string(sql).substr(0, 60));
}

std::int64_t connection::changes() const noexcept { return sqlite3_changes64(db_); }
bool connection::in_transaction() const noexcept { return sqlite3_get_autocommit(db_) == 0; }

// ---- migrations --------------------------------------------------------------------------------------------

int user_version(connection& c) {
  auto q = c.prepare("PRAGMA user_version");
  return q.step() ? static_cast<int>(q.col_i64(0)) : 0;
}

namespace {

/// A database file as detail::run_migrations sees it. Its version is `PRAGMA user_version`; `schema_migrations`
/// records each migration too (name and time), for people.
class file_migrations {
 public:
  explicit file_migrations(connection& c) : c_(c) {}
  int version() { return user_version(c_); }
  void begin() { c_.exec("BEGIN IMMEDIATE"); }
  void apply(const migration& m) {
    c_.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations(version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "applied_at INTEGER NOT NULL)");
    c_.exec(m.sql);
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    c_.prepare("INSERT INTO schema_migrations(version, name, applied_at) VALUES(?1, ?2, ?3)")
        .i64(1, m.version)
        .text(2, m.name)
        .i64(3, now)
        .run();
    // PRAGMA takes no parameters; the version is our own integer.
    c_.exec(("PRAGMA user_version=" + std::to_string(m.version)).c_str());
  }
  void commit() { c_.exec("COMMIT"); }
  void rollback() noexcept {
    if (c_.in_transaction()) sqlite3_exec(c_.raw(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
  std::string subject() const { return c_.file().string(); }
  std::string label() const { return c_.file().filename().string(); }

 private:
  connection& c_;
};

}  // namespace

omnisync::result<int> migrate(connection& c, std::span<const migration> list, std::optional<int> limit,
                              std::string& why) {
  file_migrations db(c);
  return detail::run_migrations(db, list, limit, why);
}

}  // namespace omnisync::store::sqlite
