#pragma once
/// Internal to daemon/store: the store interface (store.hpp) implemented once for both backends. `queue_store<B>`
/// turns each operation into a job on one of the backend's workers (workers.hpp) — which thread, which
/// transaction — and runs in it the shared decisions of queue_logic.hpp over the backend's statements. A backend
/// (sqlite_store.cpp, pg_store.cpp) supplies only how it talks to its database: connections, transaction driver,
/// statements. Virtual calls stop at the `store` interface (one per operation); below it everything is static.
///
/// A backend `B` provides:
///   static constexpr std::string_view name;   "sqlite", "postgres"
///   static constexpr bool one_database;       the inbox and state tables are in one database, so one transaction
///                                             can change both (PostgreSQL); else two files (SQLite)
///   static constexpr bool orders_appends;     inbox appends carry an order key (group_worker sorts by it)
///   using writer_ctx, reader_ctx;             what its writers' and reader's jobs run on
///   using state_sql, inbox_sql, read_sql;     its statement sets, built on a writer_ctx& (state, inbox) or a
///                                             reader_ctx& (read); their members are named where they are used here
///                                             and in queue_logic.hpp
///   state_writer(), inbox_writer(), reader()  its workers (anything `detail::submit` takes)
///   lease_writer()                            the writer leases are taken and renewed on: its own session on
///                                             PostgreSQL (a renewal never queues behind a large transaction), the
///                                             state writer on SQLite (one writer per file)
///   void add_stats(commit_stats&) const;      what only it counts (SQLite's checkpoints)
///   B(store_counters&, Args...)               counters its writers count commits into
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "daemon/store/history_query.hpp"
#include "daemon/store/job.hpp"
#include "daemon/store/queue_logic.hpp"
#include "daemon/store/rows.hpp"
#include "daemon/store/store.hpp"

namespace omnisync::store::detail {

/// What the shared code counts; the backend's writers add their commits. Outlives the backend's threads.
struct store_counters {
  std::atomic<std::uint64_t> state_commits{0}, inbox_commits{0}, inbox_appends{0};
};

/// The store, over backend `B`. Thread-safe: any thread or strand may start operations concurrently; all
/// database work runs on B's threads. Destruction finishes what is queued (B's workers) before the members the
/// jobs use go away.
template <class B>
class queue_store final : public store {
  using writer_ctx = typename B::writer_ctx;
  using reader_ctx = typename B::reader_ctx;
  using state_sql = typename B::state_sql;
  using inbox_sql = typename B::inbox_sql;
  using read_sql = typename B::read_sql;

 public:
  template <class... Args>
  queue_store(const options& opts, int state_version, int inbox_version, Args&&... backend_args)
      : clock_(opts.clock),
        state_version_(state_version),
        inbox_version_(inbox_version),
        backend_(counters_, std::forward<Args>(backend_args)...) {}

  std::string_view kind() const noexcept override { return B::name; }
  int schema_version() const noexcept override { return state_version_; }
  int inbox_schema_version() const noexcept override { return inbox_version_; }
  commit_stats stats() const noexcept override {
    commit_stats s;
    s.state_commits = counters_.state_commits.load();
    s.inbox_commits = counters_.inbox_commits.load();
    s.inbox_appends = counters_.inbox_appends.load();
    backend_.add_stats(s);
    return s;
  }

  // ---- meta, cursors, records --------------------------------------------------------------------------------

  task<std::optional<std::string>> meta_get(std::string key) override {
    return read<std::optional<std::string>>([key = std::move(key)](read_sql& r) { return r.meta(key); });
  }

  task<void> meta_set(std::string key, std::string value) override {
    return on_state<void>([key = std::move(key), value = std::move(value)](state_sql& s) {
      require(!key.empty(), "meta key is empty");
      s.meta_set(key, value);
    });
  }

  task<std::optional<std::string>> cursor_get(std::string connector, std::string object) override {
    return read<std::optional<std::string>>(
        [connector = std::move(connector), object = std::move(object)](read_sql& r) { return r.cursor(connector, object); });
  }

  task<void> cursor_set(std::string connector, std::string object, std::string value,
                        std::optional<fence> lease) override {
    return on_state<void>([this, connector = std::move(connector), object = std::move(object),
                           value = std::move(value), lease = std::move(lease)](state_sql& s) {
      require(!connector.empty() && !object.empty(), "cursor needs a connector and an object");
      const auto t = now();
      check_fence(s, lease, t);
      s.cursor_write(connector, object, value, ms(t));
    });
  }

  task<std::vector<cursor_entry>> cursor_list() override {
    return read<std::vector<cursor_entry>>([](read_sql& r) { return r.cursors(); });
  }

  task<append_summary> append_records(record_batch batch) override {
    return on_state<append_summary>([this, batch = std::move(batch)](state_sql& s) {
      require(!batch.connector.empty() && !batch.object.empty(), "records need a connector and an object");
      const auto t = now();
      check_fence(s, batch.lease, t);
      for (const auto& rec : batch.records) require(!rec.id.empty(), "record without an id");
      // One upsert per record in order (a later copy of an id in the same page meets the earlier one); an older
      // copy than the stored one (by source_updated_at) changes nothing and counts as stale.
      append_summary sum;
      sum.written = s.records_upsert(batch, ms(t));
      sum.stale = batch.records.size() - sum.written;
      if (batch.new_cursor) s.cursor_write(batch.connector, batch.object, *batch.new_cursor, ms(t));
      for (const auto& e : batch.history) require_history(e);
      if (!batch.history.empty()) s.history_insert(batch.history, ms(t));
      return sum;
    });
  }

  task<std::optional<stored_record>> record_get(std::string connector, std::string object,
                                                std::string id) override {
    return read<std::optional<stored_record>>(
        [connector = std::move(connector), object = std::move(object), id = std::move(id)](read_sql& r) {
          return r.record(connector, object, id);
        });
  }

  task<std::vector<stored_record>> record_scan(std::string connector, std::string object, std::string after_id,
                                               std::size_t limit) override {
    return read<std::vector<stored_record>>([connector = std::move(connector), object = std::move(object),
                                             after_id = std::move(after_id), limit](read_sql& r) {
      return r.records_after(connector, object, after_id, std::clamp<std::size_t>(limit, 1, 100000));
    });
  }

  task<void> record_facts_set(std::string connector, std::string object, std::string id, std::string facts,
                              std::optional<fence> lease) override {
    return on_state<void>([this, connector = std::move(connector), object = std::move(object), id = std::move(id),
                           facts = std::move(facts), lease = std::move(lease)](state_sql& s) -> result<void> {
      require(!connector.empty() && !object.empty() && !id.empty(), "record facts need a connector, an object and an id");
      check_fence(s, lease, now());
      if (!s.record_facts_update(connector, object, id, facts)) return omnisync::errc::not_found;
      return {};
    });
  }

  // ---- inbox -------------------------------------------------------------------------------------------------

  task<append_outcome> inbox_append(inbox_event ev) override {
    std::string order_key;
    if constexpr (B::orders_appends) order_key = ev.connector + '\n' + ev.dedupe_key;
    // One statement, no SAVEPOINT: the hot path (one per webhook). The job may run again when another append of
    // its group aborted the transaction (workers.hpp); it is counted once.
    return submit<append_outcome>(
        backend_.inbox_writer(),
        [this, ev = std::move(ev), counted = false](writer_ctx& c) mutable -> result<append_outcome> {
          require(!ev.connector.empty() && !ev.dedupe_key.empty(), "inbox event needs a connector and a dedupe key");
          if (!std::exchange(counted, true)) counters_.inbox_appends.fetch_add(1, std::memory_order_relaxed);
          inbox_sql i(c);
          return i.inbox_insert(ev, ms(now())) ? append_outcome::inserted : append_outcome::duplicate;
        },
        isolation::single_statement, std::move(order_key));
  }

  task<std::vector<inbox_item>> inbox_claim(std::size_t n, std::chrono::milliseconds lease,
                                            std::optional<std::string> connector) override {
    return on_inbox<std::vector<inbox_item>>([this, n, lease, connector = std::move(connector)](inbox_sql& i) {
      require(lease.count() > 0, "claim lease must be positive");
      const auto t = ms(now());
      return i.inbox_claim(t, n, t + lease.count(), connector);
    });
  }

  task<void> inbox_ack(std::vector<std::int64_t> ids) override {
    return on_inbox<void>([ids = std::move(ids)](inbox_sql& i) { i.inbox_ack(ids); });
  }

  task<void> inbox_nack(std::vector<std::int64_t> ids, std::string error, timestamp retry_at) override {
    return on_inbox<void>([ids = std::move(ids), error = std::move(error), retry_at](inbox_sql& i) {
      i.inbox_nack(ids, error, ms(retry_at));
    });
  }

  task<std::int64_t> inbox_prune(timestamp before) override {
    return on_inbox<std::int64_t>([before](inbox_sql& i) { return i.inbox_prune(ms(before)); });
  }

  task<bool> inbox_pending(std::string connector, timestamp received_before) override {
    // The reader sees every committed append (SQLite's WAL, PostgreSQL's READ COMMITTED): one index probe.
    return read<bool>([connector = std::move(connector), received_before](read_sql& r) {
      require(!connector.empty(), "inbox_pending needs a connector");
      return r.inbox_open(connector, ms(received_before));
    });
  }

  task<std::vector<std::int64_t>> inbox_open_ids(std::string connector, timestamp received_before) override {
    return read<std::vector<std::int64_t>>([connector = std::move(connector), received_before](read_sql& r) {
      require(!connector.empty(), "inbox_open_ids needs a connector");
      return r.inbox_open_ids(connector, ms(received_before));
    });
  }

  task<std::vector<inbox_item>> inbox_open_events(std::vector<std::int64_t> ids) override {
    return read<std::vector<inbox_item>>([ids = std::move(ids)](read_sql& r) { return r.inbox_open_events(ids); });
  }

  // ---- outbox ------------------------------------------------------------------------------------------------

  task<enqueue_summary> outbox_enqueue(std::vector<outbox_write> writes, std::optional<fence> lease) override {
    return on_state<enqueue_summary>([this, writes = std::move(writes), lease = std::move(lease)](state_sql& s) {
      const auto t = now();
      check_fence(s, lease, t);
      return enqueue(s, writes, ms(t));
    });
  }

  task<std::vector<outbox_item>> outbox_claim(std::size_t n, std::chrono::milliseconds lease,
                                              std::optional<std::string> connector) override {
    return on_state<std::vector<outbox_item>>([this, n, lease, connector = std::move(connector)](state_sql& s) {
      require(lease.count() > 0, "claim lease must be positive");
      const auto t = ms(now());
      return claim_writes(s, t, n, t + lease.count(), connector);
    });
  }

  task<std::vector<std::optional<std::string>>> outbox_last_written(std::vector<outbox_write> writes) override {
    using out_t = std::vector<std::optional<std::string>>;
    return on_state<out_t>([writes = std::move(writes)](state_sql& s) { return s.outbox_last_payloads(writes); });
  }

  task<void> outbox_ack(std::vector<std::int64_t> ids, std::vector<std::optional<std::string>> written) override {
    return on_state<void>([this, ids = std::move(ids), written = std::move(written)](state_sql& s) {
      require(written.empty() || written.size() == ids.size(), "outbox_ack: one written payload per id");
      ack_writes(s, ids, written, ms(now()));
    });
  }

  task<void> outbox_nack(std::vector<std::int64_t> ids, std::string error, timestamp retry_at) override {
    return on_state<void>([ids = std::move(ids), error = std::move(error), retry_at](state_sql& s) {
      nack_writes(s, ids, error, ms(retry_at));
    });
  }

  task<void> outbox_settle(write_settlement w) override {
    return on_state<void>([this, w = std::move(w)](state_sql& s) {
      require(w.written.empty() || w.written.size() == w.acked.size(), "outbox_settle: one written payload per id");
      for (const auto& e : w.audit) require_audit(e);
      for (const auto& d : w.dead_letters) require(!d.second.stage.empty(), "dead letter needs a stage");
      if (w.meta) require(!w.meta->first.empty(), "meta key is empty");
      const auto t = ms(now());
      // The runs count the writes in the transaction that takes them out of the queue (runs show --follow).
      for (const auto& [id, d] : w.runs)
        if (id > 0 && !d.destination.empty()) s.run_writes_add(id, d);
      if (!w.acked.empty()) ack_writes(s, w.acked, w.written, t);
      for (const auto& r : w.retried) nack_writes(s, std::vector<std::int64_t>{r.id}, r.error, ms(r.at), r.uncounted);
      for (const auto& [id, e] : w.dead_letters) {
        const std::int64_t retries = e.record_id.empty() ? 0 : s.dead_letters_of_record_replace(e);
        s.dead_letter_insert(e, t, retries);
        ack_writes(s, std::vector<std::int64_t>{id}, std::vector<std::optional<std::string>>(1), t);
      }
      if (!w.audit.empty()) s.audit_insert(w.audit, t);
      if (w.meta) s.meta_set(w.meta->first, w.meta->second);
    });
  }

  task<outbox_page> outbox_pending(outbox_filter f) override {
    return read<outbox_page>([f = std::move(f)](read_sql& r) {
      const std::size_t limit = std::clamp<std::size_t>(f.limit, 1, 1000);
      return page_of(r.outbox_queued(f, limit + 1), limit, &outbox_page::next_after_id);
    });
  }

  task<std::int64_t> outbox_due_now(std::string connector, std::string object) override {
    return on_state<std::int64_t>([this, connector = std::move(connector), object = std::move(object)](state_sql& s) {
      require(!connector.empty() && !object.empty(), "outbox_due_now needs a connector and an object");
      return s.outbox_due_now(connector, object, ms(now()));
    });
  }

  task<std::int64_t> release_claims() override {
    const auto t = ms(now());
    // A claimed write with a newer pending one for the same record is obsolete; the others are due again.
    auto release_writes = [t](state_sql& s) {
      s.outbox_drop_superseded(std::numeric_limits<std::int64_t>::max());
      return s.outbox_release(t);
    };
    if constexpr (B::one_database) {
      // One transaction for both queues.
      return on_state<std::int64_t>([release_writes, t](state_sql& s) {
        inbox_sql i(s.context());
        return release_writes(s) + i.inbox_release(t);
      });
    } else {
      return release_per_file(t, release_writes);
    }
  }

  // ---- dead letters ------------------------------------------------------------------------------------------

  task<std::int64_t> dead_letter_add(dead_letter_entry e) override {
    return on_state<std::int64_t>([this, e = std::move(e)](state_sql& s) {
      require(!e.stage.empty(), "dead letter needs a stage");
      // A record failing again replaces its earlier open entry: one open dead letter per record and stage, with
      // the scheduled retries made so far.
      const std::int64_t retries = e.record_id.empty() ? 0 : s.dead_letters_of_record_replace(e);
      return s.dead_letter_insert(e, ms(now()), retries);
    });
  }

  task<dead_letter_page> dead_letter_list(dead_letter_filter f) override {
    return read<dead_letter_page>([f = std::move(f)](read_sql& r) {
      const std::size_t limit = std::clamp<std::size_t>(f.limit, 1, 1000);
      return page_of(r.dead_letters(where_of(f), limit + 1), limit, &dead_letter_page::next_after_id);
    });
  }

  task<std::vector<dead_letter_group>> dead_letter_stats(dead_letter_filter f) override {
    return read<std::vector<dead_letter_group>>([f = std::move(f)](read_sql& r) {
      auto w = where_of(f);
      w.after_id = 0;
      return r.dead_letter_groups(w, std::clamp<std::size_t>(f.limit, 1, 1000));
    });
  }

  task<std::int64_t> dead_letter_drop_matching(dead_letter_filter f) override {
    auto w = where_of(f);
    w.after_id = 0;
    return on_state<std::int64_t>([w](state_sql& s) { return s.dead_letters_delete_where(w); });
  }

  task<dead_letter_bulk> dead_letter_retry_matching(dead_letter_filter f) override {
    auto w = where_of(f);
    w.after_id = 0;
    dead_letter_bulk total;
    for (;;) {
      // One batch per transaction, by id: entries left in place (nowhere to go back to) are passed over.
      auto op = on_state<retry_batch>([this, w](state_sql& s) { return retry_some(s, w); });
      auto got = co_await std::move(op);
      if (!got) co_return got.error();
      total.requeued += got->done.requeued;
      total.not_retryable += got->done.not_retryable;
      if (!got->events.empty()) {
        // SQLite: the inbox is another file. Put the events back first, then remove their entries; a crash in
        // between leaves both, and a second retry only queues the same events again (processing is idempotent).
        auto requeue = on_inbox<void>([this, events = got->events](inbox_sql& i) {
          for (const auto& dl : events) requeue_event(i, dl, ms(now()));
        });
        auto back = co_await std::move(requeue);
        if (!back) co_return back.error();
        auto remove = on_state<void>([events = got->events](state_sql& s) {
          for (const auto& dl : events) s.dead_letter_delete(dl.id);
        });
        auto removed = co_await std::move(remove);
        if (!removed) co_return removed.error();
        total.requeued += static_cast<std::int64_t>(got->events.size());
      }
      if (got->last_id == 0) co_return total;
      w.after_id = got->last_id;
    }
  }

  task<std::int64_t> dead_letter_resolve(std::string connector, std::string object, std::string stage,
                                         std::vector<std::string> record_ids) override {
    if (record_ids.empty()) return nothing_resolved();
    return on_state<std::int64_t>([this, connector = std::move(connector), object = std::move(object),
                                   stage = std::move(stage), ids = std::move(record_ids)](state_sql& s) {
      return s.dead_letters_resolve(connector, object, stage, ids, ms(now()));
    });
  }

  task<std::int64_t> dead_letter_retry_scheduled(std::vector<std::int64_t> ids) override {
    return on_state<std::int64_t>([this, ids = std::move(ids)](state_sql& s) {
      std::int64_t n = 0;
      const auto t = ms(now());
      for (const auto id : ids) {
        auto dl = s.dead_letter_open(id);
        if (!dl || dl->entry.target != retry_target::outbox) continue;
        requeue_write(s, *dl, t);
        s.dead_letter_count_retry(id);
        ++n;
      }
      return n;
    });
  }

  task<dead_letter> dead_letter_get(std::int64_t id) override {
    return read<dead_letter>([id](read_sql& r) -> result<dead_letter> {
      auto dl = r.dead_letter_by_id(id);
      if (!dl) return omnisync::errc::not_found;
      return std::move(*dl);
    });
  }

  task<void> dead_letter_retry(std::int64_t id) override {
    if constexpr (B::one_database) {
      // One transaction for either target: the entry is re-queued and removed together.
      return on_state<void>([this, id](state_sql& s) -> result<void> {
        auto dl = s.dead_letter_take(id);
        if (!dl) return omnisync::errc::not_found;
        const auto t = ms(now());
        switch (dl->entry.target) {
          case retry_target::outbox: requeue_write(s, *dl, t); return {};
          case retry_target::inbox: {
            inbox_sql i(s.context());
            requeue_event(i, *dl, t);
            return {};
          }
          case retry_target::none: break;
        }
        // Only dropped: the removal is undone with this job's savepoint.
        refuse(omnisync::errc::invalid_input, "dead letter " + std::to_string(id) + " has no queue to retry to");
      });
    } else {
      return retry_per_file(id);
    }
  }

  task<void> dead_letter_drop(std::int64_t id) override {
    return on_state<void>([id](state_sql& s) -> result<void> {
      if (!s.dead_letter_delete(id)) return omnisync::errc::not_found;
      return {};
    });
  }

  // ---- runs --------------------------------------------------------------------------------------------------

  task<std::int64_t> run_begin(run_record run) override {
    return on_state<std::int64_t>([this, run = std::move(run)](state_sql& s) {
      require(!run.kind.empty(), "a run needs a kind");
      return s.run_insert(run, ms(now()));
    });
  }

  task<void> run_add(std::int64_t id, run_counts delta) override {
    return on_state<void>([id, delta](state_sql& s) -> result<void> {
      if (!s.run_add(id, delta)) return omnisync::errc::not_found;
      return {};
    });
  }

  task<void> run_count_writes(std::vector<std::pair<std::int64_t, run_writes>> deltas) override {
    return on_state<void>([deltas = std::move(deltas)](state_sql& s) {
      for (const auto& [id, w] : deltas)
        if (id > 0 && !w.destination.empty()) s.run_writes_add(id, w);
    });
  }

  task<void> run_finish(std::int64_t id, std::string outcome, std::string error) override {
    return on_state<void>([this, id, outcome = std::move(outcome), error = std::move(error)](state_sql& s) -> result<void> {
      require(!outcome.empty() && outcome != "running", "a finished run needs an outcome");
      if (!s.run_finish(id, outcome, error, ms(now()))) return omnisync::errc::not_found;
      return {};
    });
  }

  // ---- acknowledged segment membership (sqlite_membership_sql.cpp, pg_membership_sql.cpp) ----------------------

  task<void> membership_record(std::string segment, std::string connector, std::vector<acked_member> added,
                               std::vector<std::string> removed) override {
    return on_state<void>([this, segment = std::move(segment), connector = std::move(connector),
                           added = std::move(added), removed = std::move(removed)](state_sql& s) {
      require(!segment.empty() && !connector.empty(), "membership needs a segment and a connector");
      const auto t = ms(now());
      for (const auto& a : added) s.membership_put(segment, connector, a.member, a.profile, a.row, t);
      for (const auto& member : removed) s.membership_delete(segment, connector, member);
    });
  }

  task<std::vector<std::pair<std::string, std::string>>> membership_known(std::string segment, std::string connector,
                                                                          std::vector<std::string> member_ids) override {
    using known = std::vector<std::pair<std::string, std::string>>;
    return on_state<known>([segment = std::move(segment), connector = std::move(connector),
                            ids = std::move(member_ids)](state_sql& s) {
      known out;
      for (const auto& id : ids)
        if (auto row = s.membership_row(segment, connector, id)) out.emplace_back(id, std::move(*row));
      return out;
    });
  }

  task<std::int64_t> membership_size(std::string segment, std::string connector) override {
    return on_state<std::int64_t>([segment = std::move(segment), connector = std::move(connector)](state_sql& s) {
      return s.membership_count(segment, connector);
    });
  }

  task<std::vector<std::pair<std::string, std::string>>> membership_members(std::string segment,
                                                                            std::string connector) override {
    return on_state<std::vector<std::pair<std::string, std::string>>>(
        [segment = std::move(segment), connector = std::move(connector)](state_sql& s) {
          return s.membership_all(segment, connector);
        });
  }

  task<bool> run_idle(std::string connector, std::string object) override {
    return on_state<bool>([this, connector = std::move(connector), object = std::move(object)](state_sql& s) {
      return s.run_idle(connector, object, ms(now()));
    });
  }

  task<run_page> run_list(run_filter f) override {
    return read<run_page>([f = std::move(f)](read_sql& r) {
      const std::size_t limit = std::clamp<std::size_t>(f.limit, 1, 1000);
      return page_of(r.runs(f, limit + 1), limit, &run_page::next_after_id);
    });
  }

  task<run_record> run_get(std::int64_t id) override {
    return read<run_record>([id](read_sql& r) -> result<run_record> {
      auto run = r.run(id);
      if (!run) return omnisync::errc::not_found;
      return std::move(*run);
    });
  }

  task<std::int64_t> run_prune(timestamp before) override {
    return on_state<std::int64_t>([before](state_sql& s) { return s.runs_delete_ended_before(ms(before)); });
  }

  task<std::int64_t> run_writes_queued(std::int64_t id) override {
    return read<std::int64_t>([id](read_sql& r) { return r.outbox_of_run(id); });
  }

  // ---- segment membership ------------------------------------------------------------------------------------

  using store::segment_apply;
  task<std::vector<segment_transition>> segment_apply(std::vector<segment_verdict> verdicts, timestamp at,
                                                      segment_describer describe) override {
    return on_state<std::vector<segment_transition>>(
        [verdicts = std::move(verdicts), at, describe = std::move(describe)](state_sql& s) {
          std::vector<segment_transition> changed;
          std::vector<history_entry> rows;
          auto ranges = stored_ranges(s, verdicts);
          for (const auto& v : verdicts) {
            require(!v.segment.empty() && !v.profile.empty(), "segment verdict needs a segment and a profile");
            auto r = ranges.find(v.segment);
            stored_range* k = r == ranges.end() ? nullptr : &r->second;
            std::optional<std::int64_t> since;
            if (!k) {
              since = s.segment_member_since(v.segment, v.profile);
            } else if (auto m = k->members.find(v.profile); m != k->members.end()) {
              since = m->second;
            }
            bool flipped = false;
            if (v.member && !since) {
              s.segment_member_put(v.segment, v.profile, ms(at));
              if (k) k->members.emplace(v.profile, ms(at));
              changed.emplace_back(v.segment, v.profile, true, at);
              flipped = true;
            } else if (!v.member && since) {
              s.segment_member_delete(v.segment, v.profile);
              if (k) k->members.erase(v.profile);
              changed.emplace_back(v.segment, v.profile, false, from_ms(*since));
              flipped = true;
            }
            if (flipped) {
              auto& t = changed.back();
              t.cause = describe ? describe(v, t.entered) : v.cause;
              if (t.cause.empty()) t.cause = "{}";
              rows.emplace_back(v.profile, "segment", v.segment, t.entered ? "out" : "in", t.entered ? "in" : "out", at,
                                t.cause);
            }
            // Where the range is known, a timer is written only when it changes and deleted only when there is one.
            if (v.next_flip) {
              const auto due = ms(*v.next_flip);
              bool same = false;
              if (k) {
                auto t = k->timers.find(v.profile);
                same = t != k->timers.end() && t->second == due;
              }
              if (!same) {
                s.segment_timer_put(v.segment, v.profile, due);
                if (k) k->timers.insert_or_assign(v.profile, due);
              }
            } else if (!k || k->timers.erase(v.profile) > 0) {
              s.segment_timer_delete(v.segment, v.profile);
            }
          }
          // The transitions' history rows in the same transaction as the membership they record.
          if (!rows.empty()) s.history_insert(rows, ms(at));
          return changed;
        });
  }

  /// What is stored of one segment over a range of profiles: its members (profile → since) and timers (profile →
  /// due_at), kept up to date while a segment_apply writes.
  struct stored_range {
    std::unordered_map<std::string, std::int64_t> members, timers;
  };

  /// A backfill's chunk brings many verdicts of a segment for a narrow range of profiles: what is stored in that
  /// range is read with one range read each for members and timers, instead of a look-up per verdict. Segments
  /// with few verdicts here (a change of one profile), or whose range holds far more rows than the verdicts (the
  /// profiles spread wide), are left out: their verdicts are looked up one by one.
  static std::unordered_map<std::string, stored_range> stored_ranges(state_sql& s,
                                                                     const std::vector<segment_verdict>& verdicts) {
    constexpr std::size_t range_read_min = 16;
    struct span {
      std::string_view lo, hi;
      std::size_t n = 0;
    };
    std::unordered_map<std::string_view, span> spans;
    for (const auto& v : verdicts) {
      auto& sp = spans[v.segment];
      if (sp.n++ == 0 || v.profile < sp.lo) sp.lo = v.profile;
      if (sp.n == 1 || v.profile > sp.hi) sp.hi = v.profile;
    }
    std::unordered_map<std::string, stored_range> out;
    for (const auto& [segment, sp] : spans) {
      if (sp.n < range_read_min) continue;
      const std::string key(segment), lo(sp.lo), hi(sp.hi);
      const std::size_t limit = 2 * sp.n + 64;
      auto members = s.segment_members_between(key, lo, hi, limit);
      if (!members) continue;
      auto timers = s.segment_timers_between(key, lo, hi, limit);
      if (!timers) continue;
      stored_range r;
      r.members.insert(members->begin(), members->end());
      r.timers.insert(timers->begin(), timers->end());
      out.emplace(key, std::move(r));
    }
    return out;
  }

  task<std::vector<segment_member>> segment_members(std::string segment, std::string after,
                                                    std::size_t limit) override {
    return read<std::vector<segment_member>>(
        [segment = std::move(segment), after = std::move(after), limit](read_sql& r) {
          return r.segment_members(segment, after, std::clamp<std::size_t>(limit, 1, 10000));
        });
  }

  task<std::int64_t> segment_count(std::string segment) override {
    return read<std::int64_t>([segment = std::move(segment)](read_sql& r) { return r.segment_count(segment); });
  }

  task<std::vector<segment_timer>> segment_timers_due(timestamp until, std::size_t limit) override {
    return read<std::vector<segment_timer>>([until, limit](read_sql& r) {
      return r.segment_timers_due(ms(until), std::clamp<std::size_t>(limit, 1, 10000));
    });
  }

  task<std::optional<timestamp>> segment_next_timer() override {
    return read<std::optional<timestamp>>([](read_sql& r) -> std::optional<timestamp> {
      if (auto t = r.segment_next_timer()) return from_ms(*t);
      return std::nullopt;
    });
  }

  task<std::vector<std::string>> segment_keys() override {
    return read<std::vector<std::string>>([](read_sql& r) { return r.segment_keys(); });
  }

  task<std::int64_t> segment_forget(std::string segment) override {
    return on_state<std::int64_t>([segment = std::move(segment)](state_sql& s) { return s.segment_delete_all(segment); });
  }

  // ---- audit -------------------------------------------------------------------------------------------------

  task<void> audit_append(std::vector<audit_entry> entries) override {
    return on_state<void>([this, entries = std::move(entries)](state_sql& s) {
      for (const auto& e : entries) require_audit(e);
      s.audit_insert(entries, ms(now()));
    });
  }

  task<audit_page> audit_list(audit_filter f) override {
    return read<audit_page>([f = std::move(f)](read_sql& r) {
      require_audit_filter(f);
      const std::size_t limit = std::clamp<std::size_t>(f.limit, 1, 1000);
      return page_of(r.audit_entries(f, limit + 1), limit, &audit_page::next_before_id);
    });
  }

  task<std::int64_t> audit_prune(timestamp before, std::size_t keep_at_most) override {
    // Batches of audit_prune_batch, each its own job (its own transaction, unless it shares a group): a prune of
    // millions never holds the writer, or SQLite's write lock, for long. The newest `keep_at_most` are found on the
    // reader (counting them writes nothing).
    constexpr std::size_t batch = audit_prune_batch;
    std::int64_t total = 0;
    for (;;) {
      auto op = on_state<std::int64_t>([b = ms(before)](state_sql& s) { return s.audit_delete_before(b, batch); });
      auto n = co_await std::move(op);
      if (!n) co_return n.error();
      total += *n;
      if (static_cast<std::size_t>(*n) < batch) break;
    }
    if (keep_at_most >= static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())) co_return total;
    auto find = read<std::optional<audit_key>>([keep_at_most](read_sql& r) { return r.audit_nth_newest(keep_at_most); });
    auto last = co_await std::move(find);
    if (!last) co_return last.error();
    if (!*last) co_return total;
    for (;;) {
      auto op = on_state<std::int64_t>([k = **last](state_sql& s) { return s.audit_delete_through(k, batch); });
      auto n = co_await std::move(op);
      if (!n) co_return n.error();
      total += *n;
      if (static_cast<std::size_t>(*n) < batch) break;
    }
    co_return total;
  }

  // ---- history -----------------------------------------------------------------------------------------------

  task<void> history_append(std::vector<history_entry> rows) override {
    return on_state<void>([this, rows = std::move(rows)](state_sql& s) {
      for (const auto& e : rows) require_history(e);
      s.history_insert(rows, ms(now()));
    });
  }

  task<std::vector<history_entry>> history_query(history_filter f) override {
    return read<std::vector<history_entry>>([f = std::move(f)](read_sql& r) {
      return r.history_rows(f, std::clamp<std::size_t>(f.limit, 1, 10000));
    });
  }

  task<std::uint64_t> history_prune(timestamp older_than) override {
    // Batches, each its own job (as audit_prune): the writer is never held for long.
    std::uint64_t total = 0;
    for (;;) {
      auto op = on_state<std::int64_t>(
          [b = ms(older_than)](state_sql& s) { return s.history_delete_before(b, history_prune_batch); });
      auto n = co_await std::move(op);
      if (!n) co_return n.error();
      total += static_cast<std::uint64_t>(*n);
      if (static_cast<std::size_t>(*n) < history_prune_batch) break;
    }
    co_return total;
  }

  task<std::optional<timestamp>> history_cap_bound(std::size_t keep_at_most) override {
    return read<std::optional<timestamp>>([keep_at_most](read_sql& r) -> std::optional<timestamp> {
      const auto at = r.history_nth_newest_at(keep_at_most);
      if (!at) return std::nullopt;
      return from_ms(*at + 1);
    });
  }

  // ---- leases ------------------------------------------------------------------------------------------------

  task<lease_grant> lease(std::string key, std::string owner, std::chrono::milliseconds ttl) override {
    return on_lease<lease_grant>(
        [this, key = std::move(key), owner = std::move(owner), ttl](state_sql& s) -> result<lease_grant> {
          require(!key.empty() && !owner.empty(), "lease needs a key and an owner");
          require(ttl.count() > 0, "lease ttl must be positive");
          const auto t = ms(now());
          // Free, expired or already ours: taken (renewal keeps the token; a change of owner increments it, so the
          // old owner's fenced writes are refused). Held by another owner: conflict. One statement on both backends
          // (on PostgreSQL two instances racing for it are ordered by the row lock).
          auto grant = s.lease_take(key, owner, t, t + ttl.count());
          if (!grant) return omnisync::errc::conflict;
          return *grant;
        });
  }

  task<void> lease_release(std::string key, std::string owner) override {
    return on_lease<void>([this, key = std::move(key), owner = std::move(owner)](state_sql& s) {
      s.lease_release(key, owner, ms(now()));
    });
  }

  task<std::vector<lease_info>> lease_list() override {
    return read<std::vector<lease_info>>([](read_sql& r) { return r.leases(); });
  }

  // ---- status ------------------------------------------------------------------------------------------------

  task<counts> get_counts() override {
    return read<counts>([](read_sql& r) {
      counts out;
      auto snapshot = r.snapshot();  // one read transaction for all the numbers
      add_depths(r.outbox_depths(), out.outbox_depth_per_connector, out.outbox_depth);
      out.dead_letters = r.dead_letter_count();
      for (const auto& [connector, n] : r.record_counts()) out.records_per_connector[connector] = n;
      for (const auto& [key, n] : r.record_counts_by_object()) {
        const auto tab = key.find('\t');
        if (tab != std::string::npos) out.records_per_object[{key.substr(0, tab), key.substr(tab + 1)}] = n;
      }
      add_depths(r.inbox_depths(), out.inbox_depth_per_connector, out.inbox_depth);
      for (const auto& [connector, at] : r.inbox_oldest()) out.oldest_inbox_per_connector[connector] = from_ms(at);
      for (const auto& [connector, at] : r.outbox_oldest()) out.oldest_outbox_per_connector[connector] = from_ms(at);
      std::tie(out.state_db_bytes, out.inbox_db_bytes) = r.sizes();
      return out;
    });
  }

  task<std::string> integrity_check() override {
    return read<std::string>([this](read_sql& r) { return r.integrity_check(state_version_, inbox_version_); });
  }

 private:
  timestamp now() const {
    if (clock_) return clock_();
    return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
  }

  /// `f(sql)` as a job on `worker`: its value (or error) is the operation's result.
  template <class T, class Sql, class Worker, class F>
  static task<T> run_on(Worker& worker, F f, isolation iso = isolation::savepoint) {
    using ctx_t = typename Worker::context_type;
    return submit<T>(
        worker,
        [f = std::move(f)](ctx_t& c) mutable -> result<T> {
          Sql sql(c);
          if constexpr (std::is_void_v<std::invoke_result_t<F&, Sql&>>) {
            f(sql);
            return {};
          } else {
            return f(sql);
          }
        },
        iso);
  }
  template <class T, class F>
  task<T> on_state(F f) {
    return run_on<T, state_sql>(backend_.state_writer(), std::move(f));
  }
  /// Lease statements change at most one row, so they run without a SAVEPOINT (two round trips fewer per renewal on
  /// PostgreSQL).
  template <class T, class F>
  task<T> on_lease(F f) {
    return run_on<T, state_sql>(backend_.lease_writer(), std::move(f), isolation::single_statement);
  }
  template <class T, class F>
  task<T> on_inbox(F f) {
    return run_on<T, inbox_sql>(backend_.inbox_writer(), std::move(f));
  }
  template <class T, class F>
  task<T> read(F f) {
    return run_on<T, read_sql>(backend_.reader(), std::move(f));
  }

  static task<std::int64_t> nothing_resolved() { co_return std::int64_t{0}; }

  /// One batch of a bulk retry: what it did, the inbox entries still to put back when the inbox is another file
  /// (SQLite), and the last id it looked at (0: no more).
  struct retry_batch {
    dead_letter_bulk done;
    std::vector<dead_letter> events;
    std::int64_t last_id = 0;
  };

  /// Re-queues up to dead_letter_batch matching entries inside the state writer's transaction.
  retry_batch retry_some(state_sql& s, const dead_letter_where& w) {
    retry_batch out;
    const auto t = ms(now());
    auto rows = s.dead_letters_where(w, dead_letter_batch);
    if (rows.size() == dead_letter_batch) out.last_id = rows.back().id;
    for (auto& dl : rows) {
      switch (dl.entry.target) {
        case retry_target::none: ++out.done.not_retryable; break;
        case retry_target::outbox:
          s.dead_letter_delete(dl.id);
          requeue_write(s, dl, t);
          ++out.done.requeued;
          break;
        case retry_target::inbox:
          if constexpr (B::one_database) {
            inbox_sql i(s.context());
            s.dead_letter_delete(dl.id);
            requeue_event(i, dl, t);
            ++out.done.requeued;
          } else {
            out.events.push_back(std::move(dl));
          }
          break;
      }
    }
    return out;
  }

  /// release_claims with the queues in two files: one transaction each.
  template <class F>
  task<std::int64_t> release_per_file(std::int64_t t, F release_writes) {
    auto writes = co_await on_state<std::int64_t>(std::move(release_writes));
    if (!writes) co_return writes.error();
    auto events = co_await on_inbox<std::int64_t>([t](inbox_sql& i) { return i.inbox_release(t); });
    if (!events) co_return events.error();
    co_return *writes + *events;
  }

  /// dead_letter_retry with the queues in two files.
  task<void> retry_per_file(std::int64_t id) {
    auto got = co_await dead_letter_get(id);
    if (!got) co_return got.error();
    const dead_letter dl = std::move(*got);
    switch (dl.entry.target) {
      case retry_target::none: co_return omnisync::errc::invalid_input;
      case retry_target::outbox: {
        // The outbox and the dead letters share a file: re-enqueue and remove in one transaction.
        // Named, not a temporary inside the co_await expression (GCC 12 bug, see README).
        auto op = on_state<void>([this, dl](state_sql& s) -> result<void> {
          if (!s.dead_letter_delete(dl.id)) return omnisync::errc::not_found;
          requeue_write(s, dl, ms(now()));
          return {};
        });
        co_return co_await std::move(op);
      }
      case retry_target::inbox: {
        // Two files: put the event back first, then remove the entry. A crash in between leaves both, and a
        // second retry only re-queues the same event again (processing is idempotent).
        auto requeue = on_inbox<void>([this, dl](inbox_sql& i) { requeue_event(i, dl, ms(now())); });
        auto back = co_await std::move(requeue);
        if (!back) co_return back.error();
        co_return co_await dead_letter_drop(dl.id);
      }
    }
    co_return omnisync::errc::invalid_input;
  }

  clock_fn clock_;
  int state_version_, inbox_version_;
  store_counters counters_;
  // Last: destroyed first, so its threads finish the queued jobs while the members above (used by them) live.
  B backend_;
};

}  // namespace omnisync::store::detail
