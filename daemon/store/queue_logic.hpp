#pragma once
/// Internal to daemon/store: what the store decides, written once for both backends. Each function runs inside one
/// job (one transaction, or the reader's snapshot) and reaches the database only through a backend's statement set
/// (`S`: sqlite_sql.hpp, pg_sql.hpp — the SQL text and binding), called directly, never virtually.
///
/// The decisions here: a write equal to what its record already has is skipped (same-as-last); writes for a
/// record with a pending write coalesce into it; an acknowledged write becomes its record's last-written state; a
/// nacked write superseded by a newer one is dropped; a fence is checked before the write it guards; a dead letter
/// goes back to the queue it came from; dead letters are listed in pages; depths are summed per connector.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <string_view>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "daemon/store/job.hpp"
#include "daemon/store/rows.hpp"
#include "daemon/store/store.hpp"

namespace omnisync::store::detail {

// ---- fences --------------------------------------------------------------------------------------------------

/// A lease row as a fence check reads it.
struct lease_state {
  std::int64_t token = 0;
  std::int64_t expires_at = 0;  ///< ms
};

/// Runs inside the writer's transaction before the write `f` guards: refuses it (errc::conflict) unless `f` is
/// still the lease. `s.lease_for_fence(key)` reads the lease row (PostgreSQL locks it until the transaction ends,
/// so a takeover cannot commit between this check and the write).
template <class S>
void check_fence(S& s, const std::optional<fence>& f, timestamp now) {
  if (!f) return;
  const std::optional<lease_state> held = s.lease_for_fence(f->key);
  if (!held) refuse(omnisync::errc::conflict, "lease " + f->key + " is not held");
  if (held->token != f->token) refuse(omnisync::errc::conflict, "lease " + f->key + ": fencing token is stale");
  if (held->expires_at <= ms(now)) refuse(omnisync::errc::conflict, "lease " + f->key + " has expired");
}

// ---- outbox --------------------------------------------------------------------------------------------------

inline void require_record(const outbox_write& w) {
  require(!w.connector.empty() && !w.object.empty() && !w.record_key.empty(),
          "outbox write needs a connector, an object and a record key");
}

/// What the outbox holds for one destination record, as the enqueue decision needs it.
struct record_outbox_state {
  std::optional<std::string> pending;        ///< payload of its pending (unclaimed) write
  std::vector<std::string> in_flight;        ///< payloads of its claimed writes
  std::optional<std::int64_t> last_hash;     ///< payload_hash of the payload last written to it successfully
};

/// Same-as-last: `w` changes nothing when its payload equals the pending write's or, with none pending, the one
/// last written — or, for a forced write (the destination was read holding other values), the one in flight.
/// A write in flight with another payload means `w` must follow it.
inline bool same_as_last(const record_outbox_state& st, const outbox_write& w) {
  if (st.pending) return *st.pending == w.payload;
  bool in_flight = false;
  for (const auto& p : st.in_flight) {
    if (p != w.payload) return false;
    in_flight = true;
  }
  if (w.force) return in_flight;
  return st.last_hash && *st.last_hash == payload_hash(w.payload);
}

/// Enqueues `writes` at `t` (ms): each is skipped (unchanged), inserted as its record's pending write, or
/// coalesced into the pending write (its payload, target id and profile replaced). The writes are put in record
/// order (stable: a record's writes keep theirs), so two instances enqueueing for the same records lock their
/// pending rows in the same order. The statements:
///   std::vector<record_outbox_state> outbox_states(writes)   each write's record as stored before this call
///   std::vector<bool> outbox_put_all(ws, t)                  for each of `ws` in order: insert, or replace the
///                                                            pending write; true where inserted (PostgreSQL
///                                                            pipelines them: one round trip per 256)
template <class S>
enqueue_summary enqueue(S& s, const std::vector<outbox_write>& writes, std::int64_t t) {
  for (const auto& w : writes) require_record(w);
  auto states = s.outbox_states(writes);
  std::vector<std::size_t> order(writes.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&writes](std::size_t a, std::size_t b) {
    const auto& x = writes[a];
    const auto& y = writes[b];
    return std::tie(x.connector, x.object, x.record_key) < std::tie(y.connector, y.object, y.record_key);
  });
  // A record written twice in one call: the later write meets the earlier one as its pending write.
  std::unordered_map<std::string, const std::string*> queued;
  const bool repeats_possible = writes.size() > 1;
  enqueue_summary sum;
  std::vector<const outbox_write*> puts;  // what is queued, in record order: sent together below
  for (const std::size_t i : order) {
    const auto& w = writes[i];
    auto& st = states[i];
    std::string record;
    if (repeats_possible) {
      record = w.connector + '\0' + w.object + '\0' + w.record_key;
      if (auto it = queued.find(record); it != queued.end()) st.pending = *it->second;
    }
    if (same_as_last(st, w)) {
      ++sum.unchanged;
      continue;
    }
    puts.push_back(&w);
    ++sum.queued_per_connector[w.connector];
    if (repeats_possible) queued[std::move(record)] = &w.payload;
  }
  if (puts.empty()) return sum;
  for (const bool inserted : s.outbox_put_all(puts, t)) {
    if (inserted)
      ++sum.inserted;
    else
      ++sum.coalesced;
  }
  return sum;
}

/// Each id once, in the order of its first occurrence.
inline std::vector<std::int64_t> unique_ids(const std::vector<std::int64_t>& ids) {
  std::vector<std::int64_t> out;
  std::unordered_set<std::int64_t> seen;
  for (auto id : ids)
    if (seen.insert(id).second) out.push_back(id);
  return out;
}

/// A claimed write taken off the queue by its acknowledgement.
struct taken_write {
  std::int64_t id = 0;
  std::string connector, object, record_key, payload;
  std::int64_t hash = 0;  ///< payload_hash(payload), stored with it
};

/// Done: each claimed write among `ids` leaves the queue and becomes its record's last-written state (what
/// same-as-last compares with): its payload, or — when `written` is given (one per id, checked by the caller) —
/// what was actually written instead; nullopt there leaves the record's last-written state as it was (nothing was
/// sent). An id named twice counts with its first `written`. Ids no longer claimed (acknowledged already,
/// dropped) are skipped.
///   std::vector<taken_write> outbox_take_claimed(ids)        deletes the claimed ones; returns them in ids' order
///   void outbox_last_put(const std::vector<taken_write>&, t) upserts each record's last-written state in order
template <class S>
void ack_writes(S& s, const std::vector<std::int64_t>& ids, const std::vector<std::optional<std::string>>& written,
                std::int64_t t) {
  auto taken = s.outbox_take_claimed(unique_ids(ids));
  if (!written.empty()) {
    std::unordered_map<std::int64_t, const std::optional<std::string>*> sent;
    for (std::size_t i = 0; i < ids.size(); ++i) sent.try_emplace(ids[i], &written[i]);
    std::vector<taken_write> kept;
    kept.reserve(taken.size());
    for (auto& w : taken) {
      const auto& what = *sent.at(w.id);
      if (!what) continue;
      w.payload = *what;
      kept.push_back(std::move(w));
    }
    taken = std::move(kept);
  }
  if (taken.empty()) return;
  for (auto& w : taken) w.hash = payload_hash(w.payload);
  s.outbox_last_put(taken, t);
}

/// A claimed write a nack finds, and whether a newer pending write for its record supersedes it.
struct claimed_write {
  std::int64_t id = 0;
  std::string connector, object, record_key;
  bool superseded = false;
};

/// Failed: each claimed write among `ids` is due again at `retry_at` (ms) with its error — or dropped when a newer
/// write for its record is pending (that one carries the record's latest state). As if one by one: a write made
/// due again here supersedes a later one for the same record in the same call.
///   std::vector<claimed_write> outbox_claims(ids)            the claimed ones (not acknowledged, not dropped), in
///                                                            ids' order
///   void outbox_delete(ids); void outbox_retry(ids, retry_at, error, uncounted)
template <class S>
void nack_writes(S& s, const std::vector<std::int64_t>& ids, const std::string& error, std::int64_t retry_at,
                 bool uncounted = false) {
  std::vector<std::int64_t> drop, retry;
  std::unordered_set<std::string> pending_now;
  for (const auto& c : s.outbox_claims(unique_ids(ids))) {
    if (c.superseded || !pending_now.insert(c.connector + '\0' + c.object + '\0' + c.record_key).second)
      drop.push_back(c.id);
    else
      retry.push_back(c.id);
  }
  if (!drop.empty()) s.outbox_delete(drop);
  if (!retry.empty()) s.outbox_retry(retry, retry_at, error, uncounted);
}

/// Claims up to `n` due writes until `until` (ms): first drops expired claims that a newer pending write for the
/// same record supersedes, then claims (never two writes for one record at once; see the backends' SQL).
template <class S>
std::vector<outbox_item> claim_writes(S& s, std::int64_t t, std::size_t n, std::int64_t until,
                                      const std::optional<std::string>& connector) {
  s.outbox_drop_superseded(t);
  return s.outbox_claim(t, n, until, connector);
}

// ---- dead letters --------------------------------------------------------------------------------------------

/// A dead-letter filter as both backends' statements bind it (no NULL times: the bounds are open ends).
struct dead_letter_where {
  std::int64_t after_id = 0;
  std::optional<std::string> connector, stage, object;
  std::string like;                                         ///< a LIKE pattern with `\` as escape; "" for any
  std::int64_t since = std::numeric_limits<std::int64_t>::min();
  std::int64_t until = std::numeric_limits<std::int64_t>::max();
  int state = 0;                                            ///< 0 open, 1 resolved, 2 any
  int retryable_only = 0;
  int target = -1;                                          ///< a retry_target as stored; -1 any
};

/// The LIKE pattern of a reason filter: a glob (`*`, `?`) over the whole reason, or else a substring. LIKE's own
/// wildcards in the text are escaped. Both backends compare ignoring ASCII case (SQLite LIKE, PostgreSQL ILIKE).
inline std::string like_pattern(std::string_view p) {
  if (p.empty()) return {};
  const bool glob = p.find_first_of("*?") != std::string_view::npos;
  std::string out = glob ? "" : "%";
  for (char ch : p) {
    if (glob && ch == '*') out += '%';
    else if (glob && ch == '?') out += '_';
    else {
      if (ch == '%' || ch == '_' || ch == '\\') out += '\\';
      out += ch;
    }
  }
  if (!glob) out += '%';
  return out;
}

inline dead_letter_where where_of(const dead_letter_filter& f) {
  dead_letter_where w;
  w.after_id = f.after_id;
  w.connector = f.connector;
  w.stage = f.stage;
  w.object = f.object;
  w.like = like_pattern(f.reason);
  if (f.since) w.since = ms(*f.since);
  if (f.until) w.until = ms(*f.until);
  w.state = f.state == dead_letter_state::open ? 0 : f.state == dead_letter_state::resolved ? 1 : 2;
  w.retryable_only = f.retryable_only ? 1 : 0;
  return w;
}

/// Entries a bulk operation takes per transaction: a drain of 100,000 never holds a writer for long.
inline constexpr std::size_t dead_letter_batch = 1000;

/// The write a dead letter of target outbox goes back as: the record's key, the destination id and the profile
/// kept in its meta — never the payload it failed with. The writer computes what it sends from the profile and
/// the outbound mapping as they are when it sends it (pipeline::prepare), so a retry after a mapping fix sends
/// the fixed values; the outbox row carries an empty object.
inline outbox_write write_of(const dead_letter& dl) {
  outbox_write w(dl.entry.connector, dl.entry.object, dl.entry.record_id, "{}");
  w.target_id = target_id_of(dl.entry.meta);
  w.profile_id = meta_string(dl.entry.meta, "profile_id");
  return w;
}

/// Back to the outbox. A pending write for the same record wins: the dead letter is older.
///   bool outbox_put_unless_pending(w, t)
template <class S>
void requeue_write(S& s, const dead_letter& dl, std::int64_t t) {
  const auto w = write_of(dl);
  require_record(w);
  s.outbox_put_unless_pending(w, t);
}

/// Back to the inbox, due at `t` with its attempts reset, under its event id (or `dlq:<id>` when it had none):
/// an event still there (acknowledged) becomes pending again.
///   void inbox_requeue(connector, dedupe_key, meta, body, t)
template <class I>
void requeue_event(I& inbox, const dead_letter& dl, std::int64_t t) {
  const std::string key = dl.entry.event_id.empty() ? "dlq:" + std::to_string(dl.id) : dl.entry.event_id;
  inbox.inbox_requeue(dl.entry.connector, key, dl.entry.meta, dl.entry.payload, t);
}

/// A page of at most `limit` entries from `rows` (read with limit + 1: one more tells that a next page exists);
/// `next` (the page's cursor member) gets the last entry's id then, else stays 0.
template <class Page, class Item>
Page page_of(std::vector<Item> rows, std::size_t limit, std::int64_t Page::*next) {
  Page page;
  if (rows.size() > limit) {
    rows.resize(limit);
    page.*next = rows.back().id;
  }
  page.items = std::move(rows);
  return page;
}

// ---- audit ---------------------------------------------------------------------------------------------------

/// The position of an entry in the audit log's order (newest first: by at, then id, descending).
struct audit_key {
  std::int64_t at = 0;  ///< ms
  std::int64_t id = 0;
};

/// Entries deleted per transaction by audit_prune: a prune of millions never holds the writer (nor, on SQLite,
/// the file's write lock) for long, and other operations run between its batches.
inline constexpr std::size_t audit_prune_batch = 5000;

inline void require_audit(const audit_entry& e) {
  require(!e.connector.empty() && !e.object.empty() && !e.field.empty(),
          "audit entry needs a connector, an object and a field");
}

inline void require_audit_filter(const audit_filter& f) {
  require(!f.object || f.connector, "audit filter: object needs a connector");
  require(!f.record_id || (f.connector && f.object), "audit filter: record_id needs a connector and an object");
}

// ---- counts --------------------------------------------------------------------------------------------------

/// Per-connector depths into `per` and their sum into `total`.
inline void add_depths(const std::vector<std::pair<std::string, std::int64_t>>& rows,
                       std::map<std::string, std::int64_t>& per, std::int64_t& total) {
  for (const auto& [connector, n] : rows) {
    per[connector] = n;
    total += n;
  }
}

}  // namespace omnisync::store::detail
