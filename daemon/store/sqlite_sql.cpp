#include "daemon/store/sqlite_sql.hpp"

#include <algorithm>

#include <sqlite3.h>

#include <filesystem>

#include "daemon/store/rows.hpp"

namespace omnisync::store::sqlite {
namespace {

using detail::from_ms;

std::optional<std::string> single_text(query& q) {
  if (!q.step()) return std::nullopt;
  return q.col_text(0);
}

depth_rows pairs(query& q) {
  depth_rows out;
  while (q.step()) out.emplace_back(q.col_text(0), q.col_i64(1));
  return out;
}

std::uint64_t file_bytes(const std::filesystem::path& db) {
  std::uint64_t total = 0;
  for (const auto& p : {db, std::filesystem::path(db.string() + "-wal")}) {
    std::error_code ec;
    auto n = std::filesystem::file_size(p, ec);
    if (!ec) total += n;
  }
  return total;
}

}  // namespace

// ---- state.db ------------------------------------------------------------------------------------------------

void state_sql::meta_set(const std::string& key, const std::string& value) {
  c_.prepare("INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
      .text(1, key)
      .text(2, value)
      .run();
}

std::optional<detail::lease_state> state_sql::lease_for_fence(const std::string& key) {
  auto q = c_.prepare("SELECT token, expires_at FROM leases WHERE key = ?1");
  q.text(1, key);
  if (!q.step()) return std::nullopt;
  return detail::lease_state{q.col_i64(0), q.col_i64(1)};
}

void state_sql::cursor_write(const std::string& connector, const std::string& object, const std::string& value,
                             std::int64_t t) {
  c_.prepare(
        "INSERT INTO cursors(connector, object, value, updated_at) VALUES(?1, ?2, ?3, ?4) "
        "ON CONFLICT(connector, object) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at")
      .text(1, connector)
      .text(2, object)
      .text(3, value)
      .i64(4, t)
      .run();
}

std::size_t state_sql::records_upsert(const record_batch& batch, std::int64_t t) {
  std::size_t written = 0;
  for (const auto& rec : batch.records) {
    c_.prepare(
          "INSERT INTO records(connector, object, id, payload, source_ts, deleted, stored_at, first_seen, facts) "
          "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
          "ON CONFLICT(connector, object, id) DO UPDATE SET payload = excluded.payload, "
          "source_ts = excluded.source_ts, deleted = excluded.deleted, stored_at = excluded.stored_at, "
          "facts = excluded.facts WHERE excluded.source_ts >= records.source_ts")
        .text(1, batch.connector)
        .text(2, batch.object)
        .text(3, rec.id)
        .text(4, rec.payload)
        .i64(5, detail::ms(rec.source_updated_at))
        .i64(6, rec.deleted ? 1 : 0)
        .i64(7, t)
        .i64(8, rec.first_seen == timestamp{} ? t : detail::ms(rec.first_seen))
        .text(9, rec.facts)
        .run();
    if (c_.changes() > 0) ++written;
  }
  return written;
}

bool state_sql::record_facts_update(const std::string& connector, const std::string& object, const std::string& id,
                                    const std::string& facts) {
  c_.prepare("UPDATE records SET facts = ?4 WHERE connector = ?1 AND object = ?2 AND id = ?3")
      .text(1, connector)
      .text(2, object)
      .text(3, id)
      .text(4, facts)
      .run();
  return c_.changes() > 0;
}

std::vector<detail::record_outbox_state> state_sql::outbox_states(const std::vector<outbox_write>& writes) {
  std::vector<detail::record_outbox_state> out(writes.size());
  for (std::size_t i = 0; i < writes.size(); ++i) {
    const auto& w = writes[i];
    // state 0 pending, 1 claimed, and (as 2) the hash of the payload last written.
    auto q = c_.prepare(
        "SELECT state, payload FROM outbox WHERE connector = ?1 AND object = ?2 AND record_key = ?3 "
        "UNION ALL SELECT 2, payload_hash FROM outbox_last WHERE connector = ?1 AND object = ?2 AND record_key = ?3");
    q.text(1, w.connector).text(2, w.object).text(3, w.record_key);
    while (q.step()) {
      const auto state = q.col_i64(0);
      if (state == 0)
        out[i].pending = q.col_text(1);
      else if (state == 1)
        out[i].in_flight.push_back(q.col_text(1));
      else
        out[i].last_hash = q.col_i64(1);
    }
  }
  return out;
}

bool state_sql::outbox_put(const outbox_write& w, std::int64_t t) {
  c_.prepare(
        "UPDATE outbox SET payload = ?4, target_id = ?5, profile_id = ?6, run_id = ?7 "
        "WHERE connector = ?1 AND object = ?2 AND record_key = ?3 AND state = 0")
      .text(1, w.connector)
      .text(2, w.object)
      .text(3, w.record_key)
      .text(4, w.payload)
      .text(5, w.target_id)
      .text(6, w.profile_id)
      .i64(7, w.run)
      .run();
  if (c_.changes() > 0) return false;
  c_.prepare(
        "INSERT INTO outbox(connector, object, record_key, payload, next_attempt_at, enqueued_at, target_id, "
        "profile_id, run_id) VALUES(?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8)")
      .text(1, w.connector)
      .text(2, w.object)
      .text(3, w.record_key)
      .text(4, w.payload)
      .i64(5, t)
      .text(6, w.target_id)
      .text(7, w.profile_id)
      .i64(8, w.run)
      .run();
  return true;
}

std::vector<bool> state_sql::outbox_put_all(const std::vector<const outbox_write*>& ws, std::int64_t t) {
  std::vector<bool> out;
  out.reserve(ws.size());
  for (const auto* w : ws) out.push_back(outbox_put(*w, t));
  return out;
}

bool state_sql::outbox_put_unless_pending(const outbox_write& w, std::int64_t t) {
  c_.prepare(
        "INSERT INTO outbox(connector, object, record_key, payload, next_attempt_at, enqueued_at, target_id, "
        "profile_id, run_id) VALUES(?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8) "
        "ON CONFLICT(connector, object, record_key) WHERE state = 0 DO NOTHING")
      .text(1, w.connector)
      .text(2, w.object)
      .text(3, w.record_key)
      .text(4, w.payload)
      .i64(5, t)
      .text(6, w.target_id)
      .text(7, w.profile_id)
      .i64(8, w.run)
      .run();
  return c_.changes() > 0;
}

void state_sql::outbox_drop_superseded(std::int64_t claimed_until) {
  c_.prepare(
        "DELETE FROM outbox WHERE state = 1 AND next_attempt_at <= ?1 AND EXISTS ("
        "SELECT 1 FROM outbox p WHERE p.state = 0 AND p.connector = outbox.connector "
        "AND p.object = outbox.object AND p.record_key = outbox.record_key)")
      .i64(1, claimed_until)
      .run();
}

std::vector<outbox_item> state_sql::outbox_claim(std::int64_t t, std::size_t n, std::int64_t until,
                                                 const std::optional<std::string>& connector) {
  std::vector<outbox_item> out;
  {
    // Due, and no write for the same record in flight (claimed, unexpired): never two at once for one record.
    auto q = c_.prepare(
        "SELECT o.id, o.connector, o.object, o.record_key, o.payload, o.attempts + 1, o.next_attempt_at, "
        "o.last_error, o.target_id, o.profile_id, o.run_id FROM outbox o "
        "WHERE o.next_attempt_at <= ?1 AND (?2 IS NULL OR o.connector = ?2) AND NOT EXISTS ("
        "SELECT 1 FROM outbox b WHERE b.state = 1 AND b.next_attempt_at > ?1 AND b.connector = o.connector "
        "AND b.object = o.object AND b.record_key = o.record_key) "
        "ORDER BY o.next_attempt_at, o.id LIMIT ?3");
    q.i64(1, t).opt_text(2, connector).i64(3, static_cast<std::int64_t>(n));
    while (q.step()) out.push_back(detail::read_outbox_item(row{q}));
  }
  for (const auto& it : out)
    c_.prepare("UPDATE outbox SET state = 1, next_attempt_at = ?2, attempts = attempts + 1 WHERE id = ?1")
        .i64(1, it.id)
        .i64(2, until)
        .run();
  return out;
}

std::int64_t state_sql::outbox_release(std::int64_t t) {
  c_.prepare("UPDATE outbox SET state = 0, next_attempt_at = ?1 WHERE state = 1").i64(1, t).run();
  return c_.changes();
}

std::int64_t state_sql::outbox_due_now(const std::string& connector, const std::string& object, std::int64_t t) {
  c_.prepare("UPDATE outbox SET next_attempt_at = ?3, attempts = 0 WHERE connector = ?1 AND object = ?2 AND state = 0")
      .text(1, connector)
      .text(2, object)
      .i64(3, t)
      .run();
  return c_.changes();
}

std::vector<std::optional<std::string>> state_sql::outbox_last_payloads(const std::vector<outbox_write>& writes) {
  std::vector<std::optional<std::string>> out;
  out.reserve(writes.size());
  for (const auto& w : writes) {
    auto q = c_.prepare("SELECT payload FROM outbox_last WHERE connector = ?1 AND object = ?2 AND record_key = ?3");
    q.text(1, w.connector).text(2, w.object).text(3, w.record_key);
    out.push_back(single_text(q));
  }
  return out;
}

std::vector<detail::taken_write> state_sql::outbox_take_claimed(const std::vector<std::int64_t>& ids) {
  std::vector<detail::taken_write> out;
  for (auto id : ids) {
    {
      auto q = c_.prepare("SELECT connector, object, record_key, payload FROM outbox WHERE id = ?1 AND state = 1");
      q.i64(1, id);
      if (!q.step()) continue;
      out.push_back({id, q.col_text(0), q.col_text(1), q.col_text(2), q.col_text(3)});
    }
    c_.prepare("DELETE FROM outbox WHERE id = ?1").i64(1, id).run();
  }
  return out;
}

void state_sql::outbox_last_put(const std::vector<detail::taken_write>& written, std::int64_t t) {
  for (const auto& w : written)
    c_.prepare(
          "INSERT INTO outbox_last(connector, object, record_key, payload_hash, payload, written_at) "
          "VALUES(?1, ?2, ?3, ?4, ?5, ?6) "
          "ON CONFLICT(connector, object, record_key) DO UPDATE SET payload_hash = excluded.payload_hash, "
          "payload = excluded.payload, written_at = excluded.written_at")
        .text(1, w.connector)
        .text(2, w.object)
        .text(3, w.record_key)
        .i64(4, w.hash)
        .text(5, w.payload)
        .i64(6, t)
        .run();
}

std::vector<detail::claimed_write> state_sql::outbox_claims(const std::vector<std::int64_t>& ids) {
  std::vector<detail::claimed_write> out;
  for (auto id : ids) {
    auto q = c_.prepare(
        "SELECT o.connector, o.object, o.record_key, EXISTS (SELECT 1 FROM outbox p WHERE p.state = 0 "
        "AND p.id <> o.id AND p.connector = o.connector AND p.object = o.object AND p.record_key = o.record_key) "
        "FROM outbox o WHERE o.id = ?1 AND o.state = 1");
    q.i64(1, id);
    if (q.step()) out.push_back({id, q.col_text(0), q.col_text(1), q.col_text(2), q.col_i64(3) != 0});
  }
  return out;
}

void state_sql::outbox_delete(const std::vector<std::int64_t>& ids) {
  for (auto id : ids) c_.prepare("DELETE FROM outbox WHERE id = ?1").i64(1, id).run();
}

void state_sql::outbox_retry(const std::vector<std::int64_t>& ids, std::int64_t retry_at, const std::string& error,
                             bool uncounted) {
  for (auto id : ids)
    c_.prepare("UPDATE outbox SET state = 0, next_attempt_at = ?2, last_error = ?3, "
               "attempts = CASE WHEN ?4 <> 0 THEN MAX(attempts - 1, 0) ELSE attempts END WHERE id = ?1")
        .i64(1, id)
        .i64(2, retry_at)
        .text(3, error)
        .i64(4, uncounted ? 1 : 0)
        .run();
}

std::optional<lease_grant> state_sql::lease_take(const std::string& key, const std::string& owner, std::int64_t t,
                                                 std::int64_t expires_at) {
  // The same statement as PostgreSQL's: taken when free, expired or ours; no row back when another owner holds it.
  auto q = c_.prepare(
      "INSERT INTO leases(key, owner, token, expires_at) VALUES(?1, ?2, 1, ?4) "
      "ON CONFLICT(key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at, "
      "token = CASE WHEN leases.owner = excluded.owner THEN leases.token ELSE leases.token + 1 END "
      "WHERE leases.owner = excluded.owner OR leases.expires_at <= ?3 RETURNING token, expires_at");
  q.text(1, key).text(2, owner).i64(3, t).i64(4, expires_at);
  if (!q.step()) return std::nullopt;
  lease_grant g{q.col_i64(0), from_ms(q.col_i64(1))};
  q.run();
  return g;
}

void state_sql::lease_release(const std::string& key, const std::string& owner, std::int64_t t) {
  c_.prepare("UPDATE leases SET expires_at = ?3 WHERE key = ?1 AND owner = ?2 AND expires_at > ?3")
      .text(1, key)
      .text(2, owner)
      .i64(3, t)
      .run();
}

// ---- inbox.db ------------------------------------------------------------------------------------------------

bool inbox_sql::inbox_insert(const inbox_event& ev, std::int64_t available_at) {
  // Bound without copies: `ev` outlives the statement handle.
  c_.prepare(
        "INSERT INTO inbox(connector, dedupe_key, received_at, meta, body, available_at) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(connector, dedupe_key) DO NOTHING")
      .text_ref(1, ev.connector)
      .text_ref(2, ev.dedupe_key)
      .i64(3, detail::ms(ev.received_at))
      .text_ref(4, ev.meta)
      .blob_ref(5, ev.body)
      .i64(6, available_at)
      .run();
  return c_.changes() > 0;
}

std::vector<inbox_item> inbox_sql::inbox_claim(std::int64_t t, std::size_t n, std::int64_t until,
                                               const std::optional<std::string>& connector) {
  std::vector<inbox_item> out;
  {
    auto q = c_.prepare(
        "SELECT id, connector, dedupe_key, received_at, meta, body, attempts + 1, last_error FROM inbox "
        "WHERE state < 2 AND available_at <= ?1 AND (?2 IS NULL OR connector = ?2) "
        "ORDER BY available_at, id LIMIT ?3");
    q.i64(1, t).opt_text(2, connector).i64(3, static_cast<std::int64_t>(n));
    while (q.step()) out.push_back(detail::read_inbox_item(row{q}));
  }
  for (const auto& it : out)
    c_.prepare("UPDATE inbox SET state = 1, available_at = ?2, attempts = attempts + 1 WHERE id = ?1")
        .i64(1, it.id)
        .i64(2, until)
        .run();
  return out;
}

void inbox_sql::inbox_ack(const std::vector<std::int64_t>& ids) {
  for (auto id : ids)
    c_.prepare("UPDATE inbox SET state = 2, body = x'', meta = '', last_error = '' WHERE id = ?1 AND state < 2")
        .i64(1, id)
        .run();
}

void inbox_sql::inbox_nack(const std::vector<std::int64_t>& ids, const std::string& error, std::int64_t retry_at) {
  for (auto id : ids)
    c_.prepare("UPDATE inbox SET state = 0, available_at = ?2, last_error = ?3 WHERE id = ?1 AND state < 2")
        .i64(1, id)
        .i64(2, retry_at)
        .text(3, error)
        .run();
}

std::int64_t inbox_sql::inbox_prune(std::int64_t before) {
  c_.prepare("DELETE FROM inbox WHERE state = 2 AND received_at < ?1").i64(1, before).run();
  return c_.changes();
}

std::int64_t inbox_sql::inbox_release(std::int64_t t) {
  c_.prepare("UPDATE inbox SET state = 0, available_at = ?1 WHERE state = 1").i64(1, t).run();
  return c_.changes();
}

void inbox_sql::inbox_requeue(const std::string& connector, const std::string& dedupe_key, const std::string& meta,
                              const std::string& body, std::int64_t t) {
  c_.prepare(
        "INSERT INTO inbox(connector, dedupe_key, received_at, meta, body, available_at) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?3) ON CONFLICT(connector, dedupe_key) DO UPDATE SET "
        "state = 0, meta = excluded.meta, body = excluded.body, available_at = excluded.available_at, "
        "attempts = 0, last_error = ''")
      .text(1, connector)
      .text(2, dedupe_key)
      .i64(3, t)
      .text(4, meta)
      .blob(5, body)
      .run();
}

// ---- reads ---------------------------------------------------------------------------------------------------

std::optional<std::string> read_sql::meta(const std::string& key) {
  auto q = r_.state.prepare("SELECT value FROM meta WHERE key = ?1");
  q.text(1, key);
  return single_text(q);
}

std::optional<std::string> read_sql::cursor(const std::string& connector, const std::string& object) {
  auto q = r_.state.prepare("SELECT value FROM cursors WHERE connector = ?1 AND object = ?2");
  q.text(1, connector).text(2, object);
  return single_text(q);
}

std::vector<cursor_entry> read_sql::cursors() {
  std::vector<cursor_entry> out;
  auto q = r_.state.prepare("SELECT connector, object, value, updated_at FROM cursors ORDER BY connector, object");
  while (q.step()) out.push_back(detail::read_cursor(row{q}));
  return out;
}

std::optional<stored_record> read_sql::record(const std::string& connector, const std::string& object,
                                              const std::string& id) {
  auto q = r_.state.prepare(
      "SELECT id, payload, source_ts, deleted, stored_at, first_seen, facts FROM records "
      "WHERE connector = ?1 AND object = ?2 AND id = ?3");
  q.text(1, connector).text(2, object).text(3, id);
  if (!q.step()) return std::nullopt;
  return detail::read_record(row{q}, connector, object);
}

std::vector<stored_record> read_sql::records_after(const std::string& connector, const std::string& object,
                                                   const std::string& after_id, std::size_t limit) {
  std::vector<stored_record> out;
  auto q = r_.state.prepare(
      "SELECT id, payload, source_ts, deleted, stored_at, first_seen, facts FROM records "
      "WHERE connector = ?1 AND object = ?2 AND id > ?3 ORDER BY id LIMIT ?4");
  q.text(1, connector).text(2, object).text(3, after_id).i64(4, static_cast<std::int64_t>(limit));
  while (q.step()) out.push_back(detail::read_record(row{q}, connector, object));
  return out;
}

bool read_sql::inbox_open(const std::string& connector, std::int64_t received_before) {
  // One probe of inbox_open (connector, received_at) WHERE state < 2.
  auto q = r_.inbox.prepare(
      "SELECT EXISTS (SELECT 1 FROM inbox WHERE connector = ?1 AND state < 2 AND received_at <= ?2)");
  q.text(1, connector).i64(2, received_before);
  return q.step() && q.col_i64(0) != 0;
}

std::vector<std::int64_t> read_sql::inbox_open_ids(const std::string& connector, std::int64_t received_before) {
  // The same partial index; the rowid comes with it.
  auto q = r_.inbox.prepare(
      "SELECT id FROM inbox WHERE connector = ?1 AND state < 2 AND received_at <= ?2 ORDER BY id");
  q.text(1, connector).i64(2, received_before);
  std::vector<std::int64_t> out;
  while (q.step()) out.push_back(q.col_i64(0));
  return out;
}

std::vector<inbox_item> read_sql::inbox_open_events(const std::vector<std::int64_t>& ids) {
  // The ids asked for are mostly runs of consecutive ones (the events a listener stored since the last look): one
  // range read per run instead of a point read per id. A run ends at a gap wider than max_gap, so a range never
  // walks far over rows nobody asked for (those it meets are dropped).
  constexpr std::int64_t max_gap = 32;
  std::vector<std::int64_t> wanted(ids);
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  std::vector<inbox_item> out;
  out.reserve(wanted.size());
  for (std::size_t first = 0; first < wanted.size();) {
    std::size_t last = first;
    while (last + 1 < wanted.size() && wanted[last + 1] - wanted[last] <= max_gap) ++last;
    auto q = r_.inbox.prepare(
        "SELECT id, connector, dedupe_key, received_at, meta, body, attempts, last_error FROM inbox "
        "WHERE id BETWEEN ?1 AND ?2 AND state < 2 ORDER BY id");
    q.i64(1, wanted[first]).i64(2, wanted[last]);
    while (q.step())
      if (std::binary_search(wanted.begin() + static_cast<std::ptrdiff_t>(first),
                             wanted.begin() + static_cast<std::ptrdiff_t>(last) + 1, q.col_i64(0)))
        out.push_back(detail::read_inbox_item(row{q}));
    first = last + 1;
  }
  return out;
}

std::vector<outbox_item> read_sql::outbox_queued(const outbox_filter& f, std::size_t limit) {
  std::vector<outbox_item> out;
  auto each = [&out](query& q) {
    while (q.step()) out.push_back(detail::read_outbox_item(row{q}));
  };
  // Two texts rather than "(?2 IS NULL OR connector = ?2)", which no index serves.
  if (f.connector) {
    auto q = r_.state.prepare(
        "SELECT id, connector, object, record_key, payload, attempts, next_attempt_at, last_error, target_id, "
        "profile_id, run_id FROM outbox WHERE connector = ?2 AND id > ?1 ORDER BY id LIMIT ?3");
    q.i64(1, f.after_id).text(2, *f.connector).i64(3, static_cast<std::int64_t>(limit));
    each(q);
  } else {
    auto q = r_.state.prepare(
        "SELECT id, connector, object, record_key, payload, attempts, next_attempt_at, last_error, target_id, "
        "profile_id, run_id FROM outbox WHERE id > ?1 ORDER BY id LIMIT ?2");
    q.i64(1, f.after_id).i64(2, static_cast<std::int64_t>(limit));
    each(q);
  }
  return out;
}

std::vector<lease_info> read_sql::leases() {
  std::vector<lease_info> out;
  auto q = r_.state.prepare("SELECT key, owner, token, expires_at FROM leases ORDER BY key");
  while (q.step()) out.push_back(detail::read_lease(row{q}));
  return out;
}

read_sql::snapshot_scope::snapshot_scope(connection& c) : c_(c) { c_.exec("BEGIN"); }
read_sql::snapshot_scope::~snapshot_scope() {
  if (c_.in_transaction()) sqlite3_exec(c_.raw(), "ROLLBACK", nullptr, nullptr, nullptr);
}

depth_rows read_sql::outbox_depths() {
  auto q = r_.state.prepare("SELECT connector, count(*) FROM outbox GROUP BY connector ORDER BY connector");
  return pairs(q);
}

std::int64_t read_sql::dead_letter_count() {
  auto q = r_.state.prepare("SELECT count(*) FROM dead_letters WHERE resolved_at IS NULL");
  return q.step() ? q.col_i64(0) : 0;
}

depth_rows read_sql::record_counts() {
  auto q = r_.state.prepare("SELECT connector, sum(n) FROM record_counts GROUP BY connector ORDER BY connector");
  return pairs(q);
}

depth_rows read_sql::record_counts_by_object() {
  auto q = r_.state.prepare(
      "SELECT connector || char(9) || object, sum(n) FROM record_counts GROUP BY connector, object ORDER BY 1");
  return pairs(q);
}

depth_rows read_sql::inbox_depths() {
  auto q = r_.inbox.prepare(
      "SELECT connector, count(*) FROM inbox WHERE state < 2 GROUP BY connector ORDER BY connector");
  return pairs(q);
}

depth_rows read_sql::inbox_oldest() {
  auto q = r_.inbox.prepare(
      "SELECT connector, min(received_at) FROM inbox WHERE state < 2 GROUP BY connector ORDER BY connector");
  return pairs(q);
}

depth_rows read_sql::outbox_oldest() {
  // One index seek per connector (outbox_age), not a scan of the backlog: walk the distinct connectors by seeking
  // past each, and take each one's oldest.
  auto q = r_.state.prepare(
      "WITH RECURSIVE c(connector) AS (SELECT min(connector) FROM outbox UNION ALL "
      "SELECT (SELECT min(o.connector) FROM outbox o WHERE o.connector > c.connector) FROM c "
      "WHERE c.connector IS NOT NULL) "
      "SELECT c.connector, (SELECT min(o.enqueued_at) FROM outbox o WHERE o.connector = c.connector) FROM c "
      "WHERE c.connector IS NOT NULL ORDER BY c.connector");
  return pairs(q);
}

std::pair<std::uint64_t, std::uint64_t> read_sql::sizes() {
  return {file_bytes(r_.state.file()), file_bytes(r_.inbox.file())};
}

std::string read_sql::integrity_check(int, int) {
  std::string report;
  for (auto* c : {&r_.state, &r_.inbox}) {
    std::string problems;
    auto q = c->prepare("PRAGMA integrity_check");
    while (q.step()) {
      auto line = q.col_text(0);
      if (line == "ok") continue;
      problems += (problems.empty() ? "" : "; ") + line;
    }
    if (!problems.empty()) report += c->file().filename().string() + ": " + problems + "\n";
  }
  return report.empty() ? std::string("ok") : report;
}

}  // namespace omnisync::store::sqlite
