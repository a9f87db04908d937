#include "daemon/store/pg_sql.hpp"

#include <algorithm>
#include <string_view>
#include <tuple>
#include <unordered_map>

#include "daemon/store/rows.hpp"

namespace omnisync::store::pg {
namespace {

using detail::from_ms;

std::optional<std::string> single_text(const result& r) {
  if (r.rows() == 0) return std::nullopt;
  return r.text(0, 0);
}

depth_rows pairs(const result& r) {
  depth_rows out;
  for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.text(i, 0), r.i64(i, 1));
  return out;
}

/// `{1,2,3}`: a bigint[] parameter (bound, not spliced into the SQL).
std::string id_array(const std::vector<std::int64_t>& ids) {
  std::string s = "{";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(ids[i]);
  }
  return s + "}";
}

/// The records of `items` as three text[] parameters: connectors, objects, record keys.
template <class Items>
std::tuple<std::string, std::string, std::string> record_arrays(const Items& items) {
  return {text_array(items, [](const auto& w) -> const std::string& { return w.connector; }),
          text_array(items, [](const auto& w) -> const std::string& { return w.object; }),
          text_array(items, [](const auto& w) -> const std::string& { return w.record_key; })};
}

/// Where each id is in `ids` (to put rows RETURNING gives back unordered in that order).
std::unordered_map<std::int64_t, std::size_t> positions(const std::vector<std::int64_t>& ids) {
  std::unordered_map<std::int64_t, std::size_t> at;
  for (std::size_t i = 0; i < ids.size(); ++i) at.emplace(ids[i], i);
  return at;
}

}  // namespace

// ---- state tables --------------------------------------------------------------------------------------------

void state_sql::meta_set(const std::string& key, const std::string& value) {
  c_.exec("INSERT INTO meta(key, value) VALUES($1, $2) ON CONFLICT(key) DO UPDATE SET value = excluded.value", key,
          value);
}

std::optional<detail::lease_state> state_sql::lease_for_fence(const std::string& key) {
  // FOR KEY SHARE holds the lease row until the transaction ends: a takeover (which locks the row FOR UPDATE, see
  // lease_take) waits for it, so another instance cannot take the lease over between the fence check and the
  // commit of the write it guards. A renewal by the holder (an UPDATE of non-key columns: FOR NO KEY UPDATE) does
  // not conflict with it, so the holder's renewal never waits for its own large transactions.
  auto r = c_.exec("SELECT token, expires_at FROM leases WHERE key = $1 FOR KEY SHARE", key);
  if (r.rows() == 0) return std::nullopt;
  return detail::lease_state{r.i64(0, 0), r.i64(0, 1)};
}

void state_sql::cursor_write(const std::string& connector, const std::string& object, const std::string& value,
                             std::int64_t t) {
  c_.exec("INSERT INTO cursors(connector, object, value, updated_at) VALUES($1, $2, $3, $4) "
          "ON CONFLICT(connector, object) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
          connector, object, value, t);
}

std::size_t state_sql::records_upsert(const record_batch& batch, std::int64_t t) {
  // One upsert per record, in order (a later copy of the same id in the page meets the earlier one as SQLite's
  // would), pipelined: a page of 1,000 records costs a few round trips, not 1,000.
  auto affected = c_.exec_many(
      "INSERT INTO records(connector, object, id, payload, source_ts, deleted, stored_at, first_seen, facts) "
      "VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9) "
      "ON CONFLICT(connector, object, id) DO UPDATE SET payload = excluded.payload, "
      "source_ts = excluded.source_ts, deleted = excluded.deleted, stored_at = excluded.stored_at, "
      "facts = excluded.facts WHERE excluded.source_ts >= records.source_ts",
      batch.records.size(), [&](std::size_t i, param_list& p) {
        const auto& rec = batch.records[i];
        p.add(batch.connector);
        p.add(batch.object);
        p.add(rec.id);
        p.add(rec.payload);
        p.add(detail::ms(rec.source_updated_at));
        p.add(rec.deleted);
        p.add(t);
        p.add(rec.first_seen == timestamp{} ? t : detail::ms(rec.first_seen));
        p.add(rec.facts);
      });
  return static_cast<std::size_t>(std::count_if(affected.begin(), affected.end(), [](auto n) { return n > 0; }));
}

bool state_sql::record_facts_update(const std::string& connector, const std::string& object, const std::string& id,
                                    const std::string& facts) {
  return c_.exec("UPDATE records SET facts = $4 WHERE connector = $1 AND object = $2 AND id = $3", connector, object,
                 id, facts)
             .affected() > 0;
}

std::vector<detail::record_outbox_state> state_sql::outbox_states(const std::vector<outbox_write>& writes) {
  std::vector<detail::record_outbox_state> out(writes.size());
  if (writes.empty()) return out;
  // Every record in one round trip: k.i is the write's position (from 1); state 0 pending, 1 claimed, and (as 2)
  // the hash of the payload last written.
  const auto [connectors, objects, keys] = record_arrays(writes);
  auto r = c_.exec(
      "WITH k AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY "
      "AS k(connector, object, record_key, i)) "
      "SELECT k.i, o.state, o.payload FROM k JOIN outbox o "
      "ON o.connector = k.connector AND o.object = k.object AND o.record_key = k.record_key "
      "UNION ALL SELECT k.i, 2, l.payload_hash::text FROM k JOIN outbox_last l "
      "ON l.connector = k.connector AND l.object = k.object AND l.record_key = k.record_key",
      connectors, objects, keys);
  for (int k = 0; k < r.rows(); ++k) {
    auto& st = out.at(static_cast<std::size_t>(r.i64(k, 0) - 1));
    const auto state = r.i64(k, 1);
    if (state == 0)
      st.pending = r.text(k, 2);
    else if (state == 1)
      st.in_flight.push_back(r.text(k, 2));
    else
      st.last_hash = r.i64(k, 2);
  }
  return out;
}

std::vector<bool> state_sql::outbox_put_all(const std::vector<const outbox_write*>& ws, std::int64_t t) {
  // One upsert per write on the partial unique index, so concurrent enqueues from two instances coalesce too; in
  // order (a record's later write replaces its earlier one as it would one by one), pipelined. xmax = 0 on the
  // returned row: it was inserted, not updated.
  std::vector<bool> out(ws.size(), false);
  c_.exec_each(
      "INSERT INTO outbox(connector, object, record_key, payload, next_attempt_at, enqueued_at, target_id, "
      "profile_id, run_id) VALUES($1, $2, $3, $4, $5, $5, $6, $7, $8) ON CONFLICT(connector, object, record_key) "
      "WHERE state = 0 DO UPDATE SET payload = excluded.payload, target_id = excluded.target_id, "
      "profile_id = excluded.profile_id, run_id = excluded.run_id RETURNING (xmax = 0)",
      ws.size(),
      [&](std::size_t i, param_list& p) {
        const auto& w = *ws[i];
        p.add(w.connector);
        p.add(w.object);
        p.add(w.record_key);
        p.add(w.payload);
        p.add(t);
        p.add(w.target_id);
        p.add(w.profile_id);
        p.add(w.run);
      },
      [&](std::size_t i, result r) { out[i] = r.rows() > 0 && r.boolean(0, 0); });
  return out;
}

bool state_sql::outbox_put_unless_pending(const outbox_write& w, std::int64_t t) {
  return c_.exec("INSERT INTO outbox(connector, object, record_key, payload, next_attempt_at, enqueued_at, "
                 "target_id, profile_id, run_id) VALUES($1, $2, $3, $4, $5, $5, $6, $7, $8) "
                 "ON CONFLICT(connector, object, record_key) WHERE state = 0 DO NOTHING",
                 w.connector, w.object, w.record_key, w.payload, t, w.target_id, w.profile_id, w.run)
             .affected() > 0;
}

void state_sql::outbox_drop_superseded(std::int64_t claimed_until) {
  // Every instance runs this before each claim. SKIP LOCKED: rows another instance is deleting (or acknowledging,
  // or claiming) right now are left to it, so two instances never wait for each other here — a plain DELETE took
  // the rows' locks in no fixed order and deadlocked against another instance's.
  c_.exec("DELETE FROM outbox WHERE id IN (SELECT o.id FROM outbox o WHERE o.state = 1 AND o.next_attempt_at <= $1 "
          "AND EXISTS (SELECT 1 FROM outbox p WHERE p.state = 0 AND p.connector = o.connector "
          "AND p.object = o.object AND p.record_key = o.record_key) ORDER BY o.id FOR UPDATE OF o SKIP LOCKED)",
          claimed_until);
}

std::vector<outbox_item> state_sql::outbox_claim(std::int64_t t, std::size_t n, std::int64_t until,
                                                 const std::optional<std::string>& connector) {
  // Never two writes for one record at once, across instances too: a record with a write in flight (claimed,
  // unexpired) is skipped, and of its due writes only the oldest can be taken (so one claim cannot take two, even
  // when another instance's commit slips in before this statement). SKIP LOCKED: a row another instance is
  // claiming right now is left to it.
  auto r = c_.exec(
      "WITH due AS (SELECT o.id, o.next_attempt_at FROM outbox o "
      "WHERE o.next_attempt_at <= $1 AND ($2::text IS NULL OR o.connector = $2) "
      "AND NOT EXISTS (SELECT 1 FROM outbox b WHERE b.state = 1 AND b.next_attempt_at > $1 "
      "AND b.connector = o.connector AND b.object = o.object AND b.record_key = o.record_key) "
      "AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.id < o.id AND e.next_attempt_at <= $1 "
      "AND e.connector = o.connector AND e.object = o.object AND e.record_key = o.record_key) "
      "ORDER BY o.next_attempt_at, o.id LIMIT $3 FOR UPDATE OF o SKIP LOCKED) "
      "UPDATE outbox u SET state = 1, next_attempt_at = $4, attempts = u.attempts + 1 FROM due "
      "WHERE u.id = due.id RETURNING u.id, u.connector, u.object, u.record_key, u.payload, u.attempts, "
      "due.next_attempt_at, u.last_error, u.target_id, u.profile_id, u.run_id",
      t, connector, n, until);
  std::vector<outbox_item> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) out.push_back(detail::read_outbox_item(row{r, i}));
  // RETURNING has no order: oldest first, as claimed.
  std::sort(out.begin(), out.end(), [](const outbox_item& a, const outbox_item& b) {
    return std::tie(a.next_attempt_at, a.id) < std::tie(b.next_attempt_at, b.id);
  });
  return out;
}

std::int64_t state_sql::outbox_release(std::int64_t t) {
  return c_.exec("UPDATE outbox SET state = 0, next_attempt_at = $1 WHERE state = 1", t).affected();
}

std::int64_t state_sql::outbox_due_now(const std::string& connector, const std::string& object, std::int64_t t) {
  return c_
      .exec("UPDATE outbox SET next_attempt_at = $3, attempts = 0 WHERE connector = $1 AND object = $2 AND state = 0",
            connector, object, t)
      .affected();
}

std::vector<std::optional<std::string>> state_sql::outbox_last_payloads(const std::vector<outbox_write>& writes) {
  std::vector<std::optional<std::string>> out(writes.size());
  if (writes.empty()) return out;
  const auto [connectors, objects, keys] = record_arrays(writes);
  auto r = c_.exec(
      "SELECT k.i, l.payload FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY "
      "AS k(connector, object, record_key, i) JOIN outbox_last l "
      "ON l.connector = k.connector AND l.object = k.object AND l.record_key = k.record_key",
      connectors, objects, keys);
  for (int k = 0; k < r.rows(); ++k) out.at(static_cast<std::size_t>(r.i64(k, 0) - 1)) = r.text(k, 1);
  return out;
}

std::vector<detail::taken_write> state_sql::outbox_take_claimed(const std::vector<std::int64_t>& ids) {
  // Row locks in id order (every statement that locks several outbox rows it names takes them by id), so two
  // instances acknowledging or failing overlapping writes wait for each other instead of deadlocking.
  auto r = c_.exec(
      "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE id = ANY($1::bigint[]) AND state = 1 "
      "ORDER BY id FOR UPDATE) RETURNING id, connector, object, record_key, payload",
      id_array(ids));
  const auto at = positions(ids);
  std::vector<std::pair<std::size_t, detail::taken_write>> rows;
  for (int k = 0; k < r.rows(); ++k)
    rows.emplace_back(at.at(r.i64(k, 0)),
                      detail::taken_write{r.i64(k, 0), r.text(k, 1), r.text(k, 2), r.text(k, 3), r.text(k, 4)});
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<detail::taken_write> out;
  out.reserve(rows.size());
  for (auto& [pos, w] : rows) out.push_back(std::move(w));
  return out;
}

void state_sql::outbox_last_put(const std::vector<detail::taken_write>& written, std::int64_t t) {
  // One upsert for all, one row per record: the last of `written` for it, as upserting them in order would
  // leave it (one statement cannot change a row twice).
  std::unordered_map<std::string, const detail::taken_write*> last;
  std::vector<const detail::taken_write*> rows;
  for (const auto& w : written) {
    auto [it, first] = last.try_emplace(w.connector + '\0' + w.object + '\0' + w.record_key, &w);
    if (first)
      rows.push_back(&w);
    else
      *std::find(rows.begin(), rows.end(), it->second) = it->second = &w;
  }
  auto text_of = [&rows](std::string detail::taken_write::*member) {
    return text_array(rows, [member](const detail::taken_write* w) -> const std::string& { return w->*member; });
  };
  std::string hashes = "{";
  for (const auto* w : rows) hashes += (hashes.size() > 1 ? "," : "") + std::to_string(w->hash);
  hashes += "}";
  c_.exec("INSERT INTO outbox_last(connector, object, record_key, payload_hash, payload, written_at) "
          "SELECT connector, object, record_key, payload_hash, payload, $6 FROM unnest($1::text[], $2::text[], "
          "$3::text[], $4::bigint[], $5::text[]) AS k(connector, object, record_key, payload_hash, payload) "
          "ORDER BY connector, object, record_key "  // row locks in key order (see outbox_take_claimed)
          "ON CONFLICT(connector, object, record_key) DO UPDATE SET payload_hash = excluded.payload_hash, "
          "payload = excluded.payload, written_at = excluded.written_at",
          text_of(&detail::taken_write::connector), text_of(&detail::taken_write::object),
          text_of(&detail::taken_write::record_key), hashes, text_of(&detail::taken_write::payload), t);
}

std::vector<detail::claimed_write> state_sql::outbox_claims(const std::vector<std::int64_t>& ids) {
  auto r = c_.exec(
      "SELECT o.id, o.connector, o.object, o.record_key, EXISTS (SELECT 1 FROM outbox p WHERE p.state = 0 "
      "AND p.id <> o.id AND p.connector = o.connector AND p.object = o.object AND p.record_key = o.record_key) "
      "FROM outbox o WHERE o.id = ANY($1::bigint[]) AND o.state = 1",
      id_array(ids));
  const auto at = positions(ids);
  std::vector<std::pair<std::size_t, detail::claimed_write>> rows;
  for (int k = 0; k < r.rows(); ++k)
    rows.emplace_back(at.at(r.i64(k, 0)),
                      detail::claimed_write{r.i64(k, 0), r.text(k, 1), r.text(k, 2), r.text(k, 3), r.boolean(k, 4)});
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<detail::claimed_write> out;
  out.reserve(rows.size());
  for (auto& [pos, c] : rows) out.push_back(std::move(c));
  return out;
}

void state_sql::outbox_delete(const std::vector<std::int64_t>& ids) {
  c_.exec("DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE)",
          id_array(ids));
}

void state_sql::outbox_retry(const std::vector<std::int64_t>& ids, std::int64_t retry_at, const std::string& error,
                             bool uncounted) {
  c_.exec("UPDATE outbox SET state = 0, next_attempt_at = $2, last_error = $3, "
          "attempts = CASE WHEN $4::bigint <> 0 THEN GREATEST(attempts - 1, 0) ELSE attempts END "
          "WHERE id IN (SELECT id FROM outbox WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE)",
          id_array(ids), retry_at, error, std::int64_t{uncounted ? 1 : 0});
}

std::optional<lease_grant> state_sql::lease_take(const std::string& key, const std::string& owner, std::int64_t t,
                                                 std::int64_t expires_at) {
  // Three statements, tried in turn; at most one changes a row, so the job stays a single-statement job. Each
  // takes the row lock its case needs and no other:
  // - renewal by the holder (the common case: one round trip): an UPDATE of non-key columns, FOR NO KEY UPDATE,
  //   which does not wait for the holder's own fenced transactions (they hold FOR KEY SHARE, see lease_for_fence).
  //   A lease that is not ours is filtered before any lock, so a standby asking never touches the holder's row;
  //   an upsert's ON CONFLICT DO UPDATE would lock it first and check after.
  // - takeover of an expired lease: the row is locked FOR UPDATE first, which waits for every transaction a fence
  //   check let through, so a deposed holder's write cannot commit after the new token exists; the WHERE is
  //   checked again on the row as it is then (a renewal that came first wins).
  // - first take: an insert that does nothing when another instance was faster.
  auto renewed = c_.exec(
      "UPDATE leases SET expires_at = $3 WHERE key = $1 AND owner = $2 RETURNING token, expires_at", key, owner,
      expires_at);
  if (renewed.rows() > 0) return lease_grant{renewed.i64(0, 0), from_ms(renewed.i64(0, 1))};
  auto taken = c_.exec(
      "UPDATE leases SET owner = $2, expires_at = $4, token = leases.token + 1 FROM (SELECT key FROM leases "
      "WHERE key = $1 AND owner <> $2 AND expires_at <= $3 FOR UPDATE) AS expired WHERE leases.key = expired.key "
      "RETURNING leases.token, leases.expires_at",
      key, owner, t, expires_at);
  if (taken.rows() > 0) return lease_grant{taken.i64(0, 0), from_ms(taken.i64(0, 1))};
  auto inserted = c_.exec(
      "INSERT INTO leases(key, owner, token, expires_at) VALUES($1, $2, 1, $3) ON CONFLICT(key) DO NOTHING "
      "RETURNING token, expires_at",
      key, owner, expires_at);
  if (inserted.rows() > 0) return lease_grant{inserted.i64(0, 0), from_ms(inserted.i64(0, 1))};
  return std::nullopt;
}

void state_sql::lease_release(const std::string& key, const std::string& owner, std::int64_t t) {
  c_.exec("UPDATE leases SET expires_at = $3 WHERE key = $1 AND owner = $2 AND expires_at > $3", key, owner, t);
}

// ---- inbox ---------------------------------------------------------------------------------------------------

bool inbox_sql::inbox_insert(const inbox_event& ev, std::int64_t available_at) {
  return c_.exec("INSERT INTO inbox(connector, dedupe_key, received_at, meta, body, available_at) "
                 "VALUES($1, $2, $3, $4, $5, $6) ON CONFLICT(connector, dedupe_key) DO NOTHING",
                 ev.connector, ev.dedupe_key, detail::ms(ev.received_at), ev.meta, bytea{ev.body}, available_at)
             .affected() > 0;
}

std::vector<inbox_item> inbox_sql::inbox_claim(std::int64_t t, std::size_t n, std::int64_t until,
                                               const std::optional<std::string>& connector) {
  // SKIP LOCKED: instances claiming at once take different events instead of waiting for each other; a row
  // another claimer has just taken fails the re-check (its available_at moved) and is skipped.
  auto r = c_.exec(
      "WITH due AS (SELECT id, available_at FROM inbox "
      "WHERE state < 2 AND available_at <= $1 AND ($2::text IS NULL OR connector = $2) "
      "ORDER BY available_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) "
      "UPDATE inbox i SET state = 1, available_at = $4, attempts = i.attempts + 1 FROM due "
      "WHERE i.id = due.id RETURNING i.id, i.connector, i.dedupe_key, i.received_at, i.meta, i.body, "
      "i.attempts, i.last_error, due.available_at",
      t, connector, n, until);
  std::vector<std::pair<std::int64_t, inbox_item>> rows;
  rows.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) rows.emplace_back(r.i64(i, 8), detail::read_inbox_item(row{r, i}));
  // RETURNING has no order: oldest first, as claimed.
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return std::tie(a.first, a.second.id) < std::tie(b.first, b.second.id);
  });
  std::vector<inbox_item> out;
  out.reserve(rows.size());
  for (auto& [due, it] : rows) out.push_back(std::move(it));
  return out;
}

void inbox_sql::inbox_ack(const std::vector<std::int64_t>& ids) {
  // Row locks in id order, as for the outbox (an expired claim another instance took again is the overlap).
  c_.exec("UPDATE inbox SET state = 2, body = ''::bytea, meta = '', last_error = '' WHERE id IN (SELECT id FROM inbox "
          "WHERE id = ANY($1::bigint[]) AND state < 2 ORDER BY id FOR UPDATE)",
          id_array(ids));
}

void inbox_sql::inbox_nack(const std::vector<std::int64_t>& ids, const std::string& error, std::int64_t retry_at) {
  c_.exec("UPDATE inbox SET state = 0, available_at = $2, last_error = $3 WHERE id IN (SELECT id FROM inbox "
          "WHERE id = ANY($1::bigint[]) AND state < 2 ORDER BY id FOR UPDATE)",
          id_array(ids), retry_at, error);
}

std::int64_t inbox_sql::inbox_prune(std::int64_t before) {
  return c_.exec("DELETE FROM inbox WHERE state = 2 AND received_at < $1", before).affected();
}

std::int64_t inbox_sql::inbox_release(std::int64_t t) {
  return c_.exec("UPDATE inbox SET state = 0, available_at = $1 WHERE state = 1", t).affected();
}

void inbox_sql::inbox_requeue(const std::string& connector, const std::string& dedupe_key, const std::string& meta,
                              const std::string& body, std::int64_t t) {
  c_.exec("INSERT INTO inbox(connector, dedupe_key, received_at, meta, body, available_at) "
          "VALUES($1, $2, $3, $4, $5, $3) ON CONFLICT(connector, dedupe_key) DO UPDATE SET "
          "state = 0, meta = excluded.meta, body = excluded.body, available_at = excluded.available_at, "
          "attempts = 0, last_error = ''",
          connector, dedupe_key, t, meta, bytea{body});
}

// ---- reads ---------------------------------------------------------------------------------------------------

std::optional<std::string> read_sql::meta(const std::string& key) {
  return single_text(c_.exec("SELECT value FROM meta WHERE key = $1", key));
}

std::optional<std::string> read_sql::cursor(const std::string& connector, const std::string& object) {
  return single_text(c_.exec("SELECT value FROM cursors WHERE connector = $1 AND object = $2", connector, object));
}

std::vector<cursor_entry> read_sql::cursors() {
  auto r = c_.exec("SELECT connector, object, value, updated_at FROM cursors ORDER BY connector, object");
  std::vector<cursor_entry> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(detail::read_cursor(row{r, i}));
  return out;
}

std::optional<stored_record> read_sql::record(const std::string& connector, const std::string& object,
                                              const std::string& id) {
  auto r = c_.exec(
      "SELECT id, payload, source_ts, deleted, stored_at, first_seen, facts FROM records "
      "WHERE connector = $1 AND object = $2 AND id = $3",
      connector, object, id);
  if (r.rows() == 0) return std::nullopt;
  return detail::read_record(row{r, 0}, connector, object);
}

std::vector<stored_record> read_sql::records_after(const std::string& connector, const std::string& object,
                                                   const std::string& after_id, std::size_t limit) {
  auto r = c_.exec(
      "SELECT id, payload, source_ts, deleted, stored_at, first_seen, facts FROM records "
      "WHERE connector = $1 AND object = $2 AND id > $3 ORDER BY id LIMIT $4",
      connector, object, after_id, limit);
  std::vector<stored_record> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(detail::read_record(row{r, i}, connector, object));
  return out;
}

bool read_sql::inbox_open(const std::string& connector, std::int64_t received_before) {
  return c_.exec("SELECT EXISTS (SELECT 1 FROM inbox WHERE connector = $1 AND state < 2 AND received_at <= $2)",
                 connector, received_before)
      .boolean(0, 0);
}

std::vector<std::int64_t> read_sql::inbox_open_ids(const std::string& connector, std::int64_t received_before) {
  auto r = c_.exec("SELECT id FROM inbox WHERE connector = $1 AND state < 2 AND received_at <= $2 ORDER BY id",
                   connector, received_before);
  std::vector<std::int64_t> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) out.push_back(r.i64(i, 0));
  return out;
}

std::vector<inbox_item> read_sql::inbox_open_events(const std::vector<std::int64_t>& ids) {
  std::vector<inbox_item> out;
  if (ids.empty()) return out;
  auto r = c_.exec(
      "SELECT id, connector, dedupe_key, received_at, meta, body, attempts, last_error FROM inbox "
      "WHERE id = ANY($1::bigint[]) AND state < 2 ORDER BY id",
      id_array(ids));
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) out.push_back(detail::read_inbox_item(row{r, i}));
  return out;
}

std::vector<outbox_item> read_sql::outbox_queued(const outbox_filter& f, std::size_t limit) {
  auto r = f.connector ? c_.exec("SELECT id, connector, object, record_key, payload, attempts, next_attempt_at, "
                                 "last_error, target_id, profile_id, run_id FROM outbox WHERE connector = $2 AND id > $1 "
                                 "ORDER BY id LIMIT $3",
                                 f.after_id, *f.connector, limit)
                       : c_.exec("SELECT id, connector, object, record_key, payload, attempts, next_attempt_at, "
                                 "last_error, target_id, profile_id, run_id FROM outbox WHERE id > $1 ORDER BY id LIMIT $2",
                                 f.after_id, limit);
  std::vector<outbox_item> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) out.push_back(detail::read_outbox_item(row{r, i}));
  return out;
}

std::vector<lease_info> read_sql::leases() {
  auto r = c_.exec("SELECT key, owner, token, expires_at FROM leases ORDER BY key");
  std::vector<lease_info> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(detail::read_lease(row{r, i}));
  return out;
}

read_sql::snapshot_scope::snapshot_scope(connection& c) : c_(c) {
  c_.script("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
}
read_sql::snapshot_scope::~snapshot_scope() { c_.rollback_quietly(); }

depth_rows read_sql::outbox_depths() {
  return pairs(c_.exec("SELECT connector, count(*) FROM outbox GROUP BY connector ORDER BY connector"));
}

std::int64_t read_sql::dead_letter_count() {
  return c_.exec("SELECT count(*) FROM dead_letters WHERE resolved_at IS NULL").i64(0, 0);
}

depth_rows read_sql::record_counts() {
  return pairs(c_.exec("SELECT connector, sum(n) FROM record_counts GROUP BY connector ORDER BY connector"));
}

depth_rows read_sql::record_counts_by_object() {
  return pairs(c_.exec(
      "SELECT connector || chr(9) || object, sum(n) FROM record_counts GROUP BY connector, object ORDER BY 1"));
}

depth_rows read_sql::inbox_depths() {
  return pairs(
      c_.exec("SELECT connector, count(*) FROM inbox WHERE state < 2 GROUP BY connector ORDER BY connector"));
}

depth_rows read_sql::inbox_oldest() {
  return pairs(c_.exec(
      "SELECT connector, min(received_at) FROM inbox WHERE state < 2 GROUP BY connector ORDER BY connector"));
}

depth_rows read_sql::outbox_oldest() {
  // One index seek per connector (outbox_age), not a scan of the backlog: walk the distinct connectors by seeking
  // past each, and take each one's oldest.
  return pairs(c_.exec(
      "WITH RECURSIVE c(connector) AS (SELECT min(connector) FROM outbox UNION ALL "
      "SELECT (SELECT min(o.connector) FROM outbox o WHERE o.connector > c.connector) FROM c "
      "WHERE c.connector IS NOT NULL) "
      "SELECT c.connector, (SELECT min(o.enqueued_at) FROM outbox o WHERE o.connector = c.connector) FROM c "
      "WHERE c.connector IS NOT NULL ORDER BY c.connector"));
}

std::pair<std::uint64_t, std::uint64_t> read_sql::sizes() {
  // Where SQLite reports its files: the tables with their indexes and TOAST.
  auto r = c_.exec(
      "SELECT (SELECT sum(pg_total_relation_size(t::regclass)) FROM unnest(ARRAY['meta', 'cursors', "
      "'records', 'record_counts', 'outbox', 'dead_letters', 'leases', 'outbox_last', 'audit']) t), "
      "pg_total_relation_size('inbox')");
  return {static_cast<std::uint64_t>(r.i64(0, 0)), static_cast<std::uint64_t>(r.i64(0, 1))};
}

std::string read_sql::integrity_check(int state_version, int inbox_version) {
  std::string report;
  auto problem = [&report](const std::string& p) { report += (report.empty() ? "" : "\n") + p; };
  auto snap = snapshot();
  if (c_.exec("SELECT 1").i64(0, 0) != 1) problem("the server did not answer SELECT 1");
  const int sv = schema_version(c_, "state"), iv = schema_version(c_, "inbox");
  if (sv != state_version)
    problem("state schema version " + std::to_string(sv) + ", expected " + std::to_string(state_version));
  if (iv != inbox_version)
    problem("inbox schema version " + std::to_string(iv) + ", expected " + std::to_string(inbox_version));
  // Every table and index the schema creates is there and usable (an index left invalid by a failed concurrent
  // build would silently stop enforcing "one pending write per record").
  auto missing = c_.exec(
      "SELECT t FROM unnest(ARRAY['meta', 'cursors', 'records', 'record_counts', 'outbox', 'dead_letters', "
      "'leases', 'outbox_last', 'audit', 'inbox', 'outbox_pending_key', 'inbox_connector_dedupe_key_key', "
      "'inbox_open', 'audit_at']) t "
      "WHERE to_regclass(t) IS NULL");
  for (int i = 0; i < missing.rows(); ++i) problem("missing: " + missing.text(i, 0));
  auto invalid = c_.exec(
      "SELECT i.indexrelid::regclass::text FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
      "WHERE t.relnamespace = to_regnamespace(current_schema()) AND NOT (i.indisvalid AND i.indisready)");
  for (int i = 0; i < invalid.rows(); ++i) problem("invalid index: " + invalid.text(i, 0));
  // The trigger-kept counts agree with the rows (status shows them).
  auto counts = c_.exec(
      "SELECT coalesce(a.connector, b.connector), coalesce(a.object, b.object), coalesce(a.n, 0), "
      "coalesce(b.n, 0) FROM (SELECT connector, object, count(*) AS n FROM records GROUP BY 1, 2) a "
      "FULL JOIN (SELECT connector, object, sum(n) AS n FROM record_counts GROUP BY 1, 2 HAVING sum(n) <> 0) b "
      "ON a.connector = b.connector AND a.object = b.object WHERE a.n IS DISTINCT FROM b.n");
  for (int i = 0; i < counts.rows(); ++i)
    problem("record count of " + counts.text(i, 0) + "/" + counts.text(i, 1) + " is " + counts.text(i, 3) +
            ", rows: " + counts.text(i, 2));
  if (c_.exec("SELECT count(*) FROM outbox WHERE state NOT IN (0, 1)").i64(0, 0) != 0)
    problem("outbox rows in an unknown state");
  return report.empty() ? std::string("ok") : report;
}

}  // namespace omnisync::store::pg
