#include "daemon/store/pg_conn.hpp"

#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

namespace omnisync::store::pg {
namespace {

using detail::store_logger;

std::atomic<std::uint64_t> round_trip_count{0};

/// One request sent and its answer awaited.
void count_round_trip() noexcept { round_trip_count.fetch_add(1, std::memory_order_relaxed); }

/// libpq's NOTICEs ("relation already exists, skipping") would go to stderr: send them to the debug log.
void on_notice(void*, const char* message) {
  std::string m(message ? message : "");
  while (!m.empty() && m.back() == '\n') m.pop_back();
  store_logger()->debug("store: postgres: {}", m);
}

std::string trimmed(const char* s) {
  std::string m(s ? s : "");
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

}  // namespace

omnisync::errc classify(std::string_view st) noexcept {
  using omnisync::errc;
  if (connection_lost(st)) return errc::retry;  // incl. no SQLSTATE: the connection went away mid-statement
  if (st == "40001" || st == "40P01" || st == "55P03" || st == "53300") return errc::retry;
  if (st == "23505" || st == "23503") return errc::conflict;
  if (st.starts_with("22") || st.starts_with("23")) return errc::invalid_input;
  if (st == "57014") return errc::cancelled;
  return errc::fail;  // 53100 disk full, 53200 out of memory, XX001/XX002 corruption, 42xxx (our bug), ...
}

std::uint64_t round_trips() noexcept { return round_trip_count.load(std::memory_order_relaxed); }

bool connection_lost(std::string_view st) noexcept {
  return st.size() != 5 || st.starts_with("08") || st == "57P01" || st == "57P02" || st == "57P03";
}

void raise(omnisync::errc e, std::string message) {
  throw pg_error(omnisync::make_error_code(e), std::move(message));
}

// ---- parameters --------------------------------------------------------------------------------------------

void param_list::push(const char* v, int len, int format) {
  values_.push_back(v);
  lengths_.push_back(len);
  formats_.push_back(format);
}

void param_list::add(const std::string& s) {
  // Text parameters travel NUL-terminated; PostgreSQL text cannot hold NUL anyway (SQLSTATE 22021).
  if (std::memchr(s.data(), 0, s.size())) raise(omnisync::errc::invalid_input, "text value contains a NUL byte");
  push(s.c_str(), static_cast<int>(s.size()), 0);
}

void param_list::add(std::string_view s) { add_owned(std::string(s)); }

void param_list::add_owned(std::string s) {
  owned_.push_back(std::move(s));
  add(owned_.back());
}

void param_list::add(bytea b) {
  // Binary format: the bytes as they are, length given, NULs allowed. An empty value still needs a non-null
  // pointer (null means SQL NULL).
  push(b.bytes.empty() ? "" : b.bytes.data(), static_cast<int>(b.bytes.size()), 1);
}

void param_list::add(const std::optional<std::string>& s) {
  if (s)
    add(*s);
  else
    push(nullptr, 0, 0);
}


void param_list::add(bool b) { push(b ? "t" : "f", 1, 0); }

// ---- result ------------------------------------------------------------------------------------------------

result::~result() {
  if (r_) PQclear(r_);
}

result& result::operator=(result&& o) noexcept {
  if (this != &o) {
    if (r_) PQclear(r_);
    r_ = o.r_;
    o.r_ = nullptr;
  }
  return *this;
}

int result::rows() const noexcept { return r_ ? PQntuples(r_) : 0; }

std::int64_t result::affected() const noexcept {
  const char* n = r_ ? PQcmdTuples(r_) : "";
  return n && *n ? std::strtoll(n, nullptr, 10) : 0;
}

bool result::is_null(int row, int col) const noexcept { return PQgetisnull(r_, row, col) != 0; }

std::string result::text(int row, int col) const {
  return std::string(PQgetvalue(r_, row, col), static_cast<std::size_t>(PQgetlength(r_, row, col)));
}

std::int64_t result::i64(int row, int col) const {
  if (is_null(row, col)) return 0;
  return std::strtoll(PQgetvalue(r_, row, col), nullptr, 10);
}

bool result::boolean(int row, int col) const {
  const char* v = PQgetvalue(r_, row, col);
  return v && v[0] == 't';
}

std::string result::bytes(int row, int col) const {
  std::size_t n = 0;
  unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r_, row, col)), &n);
  if (!raw) raise(omnisync::errc::fail, "cannot decode a bytea value");
  std::string out(reinterpret_cast<const char*>(raw), n);
  PQfreemem(raw);
  return out;
}

// ---- connection --------------------------------------------------------------------------------------------

connection::connection(std::string dsn, std::string name, session_options session)
    : dsn_(std::move(dsn)), name_(std::move(name)), session_(session) {
  open();
}

connection::~connection() {
  if (conn_) PQfinish(conn_);
}

void connection::open() {
  if (conn_) {
    PQfinish(conn_);
    conn_ = nullptr;
  }
  prepared_.clear();
  deferred_.clear();
  broken_ = false;
  // The DSN (a conninfo string or URI) is expanded in place of dbname; the keywords before it are defaults it
  // may override.
  const std::string app = "omnisyncd/" + name_;
  const char* keys[] = {"application_name", "connect_timeout", "dbname", nullptr};
  const char* vals[] = {app.c_str(), "10", dsn_.c_str(), nullptr};
  conn_ = PQconnectdbParams(keys, vals, 1);
  if (!conn_) raise(omnisync::errc::fail, "out of memory opening a PostgreSQL connection");
  auto drop = [this] {  // a constructor that throws has no destructor to do it
    PQfinish(conn_);
    conn_ = nullptr;
    broken_ = true;
  };
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string msg = "cannot connect to PostgreSQL (" + describe() + "): " + trimmed(PQerrorMessage(conn_));
    drop();
    // A server that is down or restarting is worth retrying; bad credentials or a bad DSN are not, but libpq
    // reports both the same way, so: retry (the operation fails, the next one tries again). Not logged here:
    // the caller logs once per outage, not once per attempt.
    throw pg_error(omnisync::make_error_code(omnisync::errc::retry), std::move(msg));
  }
  PQsetNoticeProcessor(conn_, on_notice, nullptr);
  // Set explicitly, whatever the server's defaults: the durability promised by store.synchronous holds on any
  // server. (SET takes no parameters; the values are our own.)
  std::string set = std::string("SET synchronous_commit = ") + (session_.synchronous_commit ? "on" : "off");
  if (session_.lock_timeout.count() > 0) set += "; SET lock_timeout = " + std::to_string(session_.lock_timeout.count());
  try {
    script(set.c_str());
  } catch (...) {
    drop();
    throw;
  }
}

void connection::reconnect() { open(); }

bool connection::alive() noexcept {
  if (broken()) return false;
  // Nothing is expected while idle: whatever is there is a notice, the FATAL error a server sends before it
  // closes the session (read and parsed first, as a notice), or EOF (PQconsumeInput fails).
  for (int round = 0; round < 3 && !broken(); ++round) {
    pollfd p{PQsocket(conn_), POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) break;
    if (!PQconsumeInput(conn_)) {
      broken_ = true;
      break;
    }
    (void)PQisBusy(conn_);  // parses what arrived
    while (PGnotify* n = PQnotifies(conn_)) PQfreemem(n);
  }
  return !broken();
}

bool connection::broken() const noexcept { return broken_ || !conn_ || PQstatus(conn_) != CONNECTION_OK; }

bool connection::in_transaction() const noexcept {
  if (!conn_) return false;
  auto s = PQtransactionStatus(conn_);
  return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE;
}

bool connection::transaction_failed() const noexcept {
  return conn_ && PQtransactionStatus(conn_) == PQTRANS_INERROR;
}

void connection::rollback_quietly() noexcept {
  deferred_.clear();  // never sent: nothing to undo
  if (!conn_ || broken() || !in_transaction()) return;
  count_round_trip();
  PGresult* r = PQexec(conn_, "ROLLBACK");
  if (PQresultStatus(r) != PGRES_COMMAND_OK) broken_ = true;
  PQclear(r);
}

std::string connection::describe() const {
  std::string host, db;
  if (conn_) {
    if (const char* h = PQhost(conn_)) host = h;
    if (const char* d = PQdb(conn_)) db = d;
  }
  if (host.empty()) host = "?";
  if (db.empty()) db = "?";
  return host + "/" + db;
}

void connection::fail(PGresult* r, std::string_view what) {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string sqlstate = state ? state : "";
  last_sqlstate_ = sqlstate;
  std::string msg = trimmed(r ? PQresultErrorMessage(r) : nullptr);
  if (msg.empty()) msg = trimmed(PQerrorMessage(conn_));
  if (r) PQclear(r);
  if (connection_lost(sqlstate) || PQstatus(conn_) != CONNECTION_OK) broken_ = true;
  auto e = broken_ ? omnisync::errc::retry : classify(sqlstate);
  std::string text = std::string(what) + ": " + msg + " (sqlstate " + (sqlstate.empty() ? "none" : sqlstate) + ")";
  // Logged here, once: callers see only the error class.
  if (e == omnisync::errc::retry)
    store_logger()->warn("store: {}", text);
  else
    store_logger()->error("store: {}", text);
  throw pg_error(omnisync::make_error_code(e), std::move(text));
}

const std::string& connection::prepared_name(const char* sql) {
  if (broken()) raise(omnisync::errc::retry, "PostgreSQL connection lost");
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = "s" + std::to_string(prepared_.size());
    count_round_trip();
    PGresult* r = PQprepare(conn_, name.c_str(), sql, 0, nullptr);  // parameter types inferred
    if (PQresultStatus(r) != PGRES_COMMAND_OK) fail(r, std::string("prepare ") + std::string(sql).substr(0, 60));
    PQclear(r);
    it = prepared_.emplace(sql, std::move(name)).first;
  }
  return it->second;
}

void connection::defer(const char* sql) { deferred_.push_back(sql); }

bool connection::undefer(const char* sql) noexcept {
  if (deferred_.empty() || std::strcmp(deferred_.back(), sql) != 0) return false;
  deferred_.pop_back();
  return true;
}

result connection::exec_params(const char* sql, const param_list& p) {
  const auto& name = prepared_name(sql);
  if (!deferred_.empty()) {
    result out;
    pipeline(name, sql, {&p}, 0, [&out](std::size_t, result r) { out = std::move(r); });
    return out;
  }
  count_round_trip();
  PGresult* r = PQexecPrepared(conn_, name.c_str(), p.size(), p.values(), p.lengths(), p.formats(), 0);
  auto st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) fail(r, std::string(sql).substr(0, 60));
  return result(r);
}

void connection::pipeline(const std::string& name, const char* sql, const std::vector<const param_list*>& params,
                          std::size_t first, const std::function<void(std::size_t, result)>& take) {
  const std::string what = std::string(sql).substr(0, 60);
  std::vector<const char*> pre;
  pre.swap(deferred_);  // sent now, whatever happens next
  if (!PQenterPipelineMode(conn_)) fail(nullptr, "enter pipeline mode");
  bool sent = true;
  for (const char* c : pre)
    if (sent) sent = PQsendQueryParams(conn_, c, 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
  for (const auto* p : params)
    if (sent)
      sent = PQsendQueryPrepared(conn_, name.c_str(), p->size(), p->values(), p->lengths(), p->formats(), 0) == 1;
  count_round_trip();  // sent together, answered together
  if (!sent || !PQpipelineSync(conn_)) {
    broken_ = true;  // the session's protocol state is unknown: reconnect rather than guess
    fail(nullptr, what);
  }
  // Results: per statement one result then NULL; after a failure the rest are PIPELINE_ABORTED; then SYNC.
  PGresult* first_error = nullptr;
  std::size_t seen = 0;
  for (;;) {
    PGresult* r = PQgetResult(conn_);
    if (!r) {
      if (broken()) break;
      continue;  // end of one statement's results
    }
    const auto st = PQresultStatus(r);
    if (st == PGRES_PIPELINE_SYNC) {
      PQclear(r);
      break;
    }
    const std::size_t at = seen++;
    if ((st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) && !first_error) {
      if (at < pre.size())
        PQclear(r);  // BEGIN, SAVEPOINT, RELEASE: nothing to read
      else
        take(first + at - pre.size(), result(r));
      continue;
    }
    if (st == PGRES_FATAL_ERROR && !first_error)
      first_error = r;
    else
      PQclear(r);
  }
  PQexitPipelineMode(conn_);
  if (first_error) fail(first_error, what);
  if (broken() || seen != pre.size() + params.size()) fail(nullptr, what);
}

void connection::exec_each(const char* sql, std::size_t n, const std::function<void(std::size_t, param_list&)>& bind,
                           const std::function<void(std::size_t, result)>& take) {
  const std::string name = prepared_name(sql);
  // Chunks keep what the server sends back (one small CommandComplete per statement) well inside the socket
  // buffers: in blocking mode, sending without reading could otherwise stall both sides.
  constexpr std::size_t chunk = 256;
  for (std::size_t first = 0; first < n; first += chunk) {
    const std::size_t last = std::min(n, first + chunk);
    // Bound before anything is sent: a value refused here (a NUL in text) leaves the session as it was.
    std::deque<param_list> params(last - first);
    std::vector<const param_list*> ptrs;
    ptrs.reserve(last - first);
    for (std::size_t i = first; i < last; ++i) {
      bind(i, params[i - first]);
      ptrs.push_back(&params[i - first]);
    }
    pipeline(name, sql, ptrs, first, take);
  }
}

std::vector<std::int64_t> connection::exec_many(const char* sql, std::size_t n,
                                                const std::function<void(std::size_t, param_list&)>& bind) {
  std::vector<std::int64_t> out;
  out.reserve(n);
  exec_each(sql, n, bind, [&out](std::size_t, result r) { out.push_back(r.affected()); });
  return out;
}

void connection::script(const char* sql) {
  if (broken()) raise(omnisync::errc::retry, "PostgreSQL connection lost");
  // Deferred statements go first, in the same simple query (one round trip; it stops at the first failure).
  std::string text;
  for (const char* c : deferred_) (text += c) += "; ";
  deferred_.clear();
  if (!text.empty()) text += sql;
  count_round_trip();
  PGresult* r = PQexec(conn_, text.empty() ? sql : text.c_str());
  auto st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) fail(r, std::string(sql).substr(0, 60));
  PQclear(r);
}

// ---- migrations --------------------------------------------------------------------------------------------

int schema_version(connection& c, const char* schema) {
  auto exists = c.exec("SELECT to_regclass('schema_migrations') IS NOT NULL");
  if (!exists.boolean(0, 0)) return 0;
  auto v = c.exec("SELECT coalesce(max(version), 0) FROM schema_migrations WHERE db = $1", schema);
  return static_cast<int>(v.i64(0, 0));
}

namespace {

/// The tables of one list ("state" or "inbox") as detail::run_migrations sees them: `schema_migrations(db,
/// version)` records each list's progress separately.
class schema_migrations {
 public:
  schema_migrations(connection& c, const char* schema) : c_(c), schema_(schema) {}
  int version() { return schema_version(c_, schema_); }
  void begin() {
    // One lock for every omnisync migration of this database ('omni' in ASCII), released with the transaction:
    // instances starting at once apply each migration once.
    constexpr std::int64_t migration_lock = 0x6f6d6e69;
    c_.script("BEGIN");
    c_.exec("SELECT pg_advisory_xact_lock($1)", migration_lock);
  }
  void apply(const migration& m) {
    c_.script(
        "CREATE TABLE IF NOT EXISTS schema_migrations(db TEXT NOT NULL, version INTEGER NOT NULL, "
        "name TEXT NOT NULL, applied_at BIGINT NOT NULL, PRIMARY KEY(db, version))");
    c_.script(m.sql);
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    c_.exec("INSERT INTO schema_migrations(db, version, name, applied_at) VALUES($1, $2, $3, $4)", schema_,
            m.version, m.name, now);
  }
  void commit() { c_.script("COMMIT"); }
  void rollback() noexcept { c_.rollback_quietly(); }
  std::string subject() const {
    return "the PostgreSQL database " + c_.describe() + " (" + schema_ + " tables)";
  }
  std::string label() const { return std::string("postgres ") + schema_ + " tables"; }

 private:
  connection& c_;
  const char* schema_;
};

}  // namespace

omnisync::result<int> migrate(connection& c, const char* schema, std::span<const migration> list,
                              std::optional<int> limit, std::string& why) {
  schema_migrations db(c, schema);
  return detail::run_migrations(db, list, limit, why);
}

}  // namespace omnisync::store::pg
