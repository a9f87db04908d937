#include "daemon/sync/writer.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "daemon/sync/runs.hpp"

namespace omnisync::sync::detail {
namespace asio = boost::asio;
namespace json = boost::json;
using std::chrono::milliseconds;

writer::writer(context& ctx, pipeline& p, connector_state& c)
    : ctx_(ctx), pipeline_(p), c_(c), open_(ctx, c), chunks_(ctx.ex, static_cast<std::size_t>(std::max(1, c.write_concurrency))),
      membership_(ctx, p, c) {}

asio::awaitable<bool> writer::news_pending() {
  // Every object this connector is written to must have been read to the end since start-up (or since this
  // instance took the pipeline): edits made while omnisync was away come in before anything is written.
  const auto plans = ctx_.current_plans();
  for (const auto& o : c_.objects) {
    bool written_to = false;
    for (const auto& p : plans->outbound)
      if (p->system() == c_.cfg.kind && p->object() == o->st.object) written_to = true;
    if (written_to && !o->caught_up.load()) co_return true;
  }
  // Resolution settles first: until every system omnisync reads was read to the end once (its initial sync), a
  // profile may still gain records and values, and a write computed now would be sent again once it has them. A
  // connector that is disabled, paused or failing does not hold the writes up.
  for (auto* other : ctx_.list()) {
    if (other == &c_ || !other->cfg.enabled || other->paused.load()) continue;
    for (const auto& o : other->objects) {
      if (o->caught_up.load() || !plans->inbound(other->cfg.kind, o->st.object)) continue;
      std::lock_guard lk(ctx_.mu);
      if (o->st.phase != "error" && o->st.phase != "paused") co_return true;
    }
  }
  // After a claim gave up waiting for the events naming its records (below), every event from this system stored
  // before now is processed before the next claim, as if the news rule were per system.
  if (!whole_system_) co_return false;
  auto waiting = co_await ctx_.db.inbox_pending(c_.cfg.name, ctx_.now());
  if (waiting && !*waiting) whole_system_ = false;
  co_return whole_system_;
}

asio::awaitable<std::vector<store::outbox_item>> writer::news_about(std::vector<store::outbox_item> items,
                                                                     timestamp claimed_at) {
  // A webhook event from this system stored before the claim and not yet processed may carry an edit to a record
  // a write is about to be computed for: the writes whose records such events name are held (still claimed)
  // until those events are processed — and only those: the others are computed at once, and the writer goes on
  // claiming meanwhile (release_held), so a write to one record never waits behind an event about another.
  auto named = co_await open_.named(items, claimed_at);
  std::vector<store::outbox_item> now;
  const auto give_up = ctx_.now() + ctx_.opt.write_lease / 2;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (named[i]) held_.push_back(held_write{std::move(items[i]), claimed_at, give_up});
    else now.push_back(std::move(items[i]));
  }
  co_return now;
}

asio::awaitable<std::vector<store::outbox_item>> writer::release_held() {
  std::vector<store::outbox_item> now;
  if (held_.empty()) co_return now;
  // Paused, deposed, or waiting longer than half the claim's lease: the held writes return to the queue, and the
  // next claim waits for every event of the system (the inbox is not getting to them).
  const bool stop = c_.paused.load() || !ctx_.leading();
  std::vector<std::int64_t> back;
  std::vector<held_write> still;
  std::map<timestamp, std::vector<std::size_t>> by_claim;
  for (std::size_t i = 0; i < held_.size(); ++i) by_claim[held_[i].claimed_at].push_back(i);
  std::vector<bool> named(held_.size(), true);
  if (!stop)
    for (const auto& [at, idx] : by_claim) {
      std::vector<store::outbox_item> items;
      for (auto i : idx) items.push_back(held_[i].item);
      auto each = co_await open_.named(items, at);
      for (std::size_t k = 0; k < idx.size(); ++k) named[idx[k]] = each[k];
    }
  const auto t = ctx_.now();
  for (std::size_t i = 0; i < held_.size(); ++i) {
    if (!stop && !named[i]) now.push_back(std::move(held_[i].item));
    else if (stop || t >= held_[i].give_up) back.push_back(held_[i].item.id);
    else still.push_back(std::move(held_[i]));
  }
  held_ = std::move(still);
  if (!back.empty()) {
    co_await ctx_.db.outbox_nack(std::move(back), "waiting for webhook events about these records", t);
    if (!stop) whole_system_ = true;
  }
  co_return now;
}

asio::awaitable<void> writer::claims() {
  bool releases_loaded = false;  // taken up again on each start of leading (a restart, a failover)
  for (;;) {
    if (!ctx_.leading()) releases_loaded = false;
    if (c_.paused.load() || !ctx_.leading()) {
      if (!held_.empty()) co_await release_held();  // back to the queue
      co_await ctx_.clk.sleep_for(milliseconds(100));
      continue;
    }
    if (!releases_loaded) {
      releases_loaded = true;
      co_await membership_.load_releases();  // before the first claim: what an operator released stays released
    }
    if (c_.shadow.load()) {  // computed and queued, never sent: `plan` shows them
      co_await c_.outbox_bell.wait(ctx_.clk, milliseconds(1000));
      continue;
    }
    // Held writes whose records' events were processed meanwhile go with the next claim's (full chunks).
    auto freed = co_await release_held();
    const auto recheck = held_.empty() ? ctx_.opt.queue_idle : milliseconds(10);
    const int free_slots = c_.write_concurrency - in_flight_.load();
    const std::size_t room = std::max<std::size_t>(1, c_.adapter->max_batch("")) * static_cast<std::size_t>(std::max(free_slots, 0));
    // No new claims while the system's news may be waiting (news_pending); freed writes passed their own check.
    if (free_slots <= 0 || co_await news_pending()) {
      if (!freed.empty()) {
        if (!co_await compute(std::move(freed))) co_return;
        continue;
      }
      if (free_slots <= 0) co_await c_.outbox_bell.wait(ctx_.clk, std::min(recheck, milliseconds(50)));  // a chunk rings
      else co_await ctx_.clk.sleep_for(milliseconds(20));
      continue;
    }
    std::optional<std::vector<store::outbox_item>> items;
    const auto claimed_at = ctx_.now();
    if (room > freed.size()) {
      auto got = co_await ctx_.db.outbox_claim(room - freed.size(), ctx_.opt.write_lease, c_.cfg.name);
      if (got) items = std::move(*got);
    }
    if ((!items || items->empty()) && freed.empty()) {
      co_await c_.outbox_bell.wait(ctx_.clk, recheck);
      continue;
    }
    std::vector<store::outbox_item> now;
    if (items) now = co_await news_about(std::move(*items), claimed_at);  // (no co_await in ?: with GCC 12)
    for (auto& it : freed) now.push_back(std::move(it));
    if (now.empty()) continue;  // all held
    if (!co_await compute(std::move(now))) co_return;
  }
}

asio::awaitable<bool> writer::compute(std::vector<store::outbox_item> items) {
  // Segment membership writes are not mapped: they go to membership_sync, one chunk per segment.
  {
      std::map<std::string, std::vector<store::outbox_item>> segments;
      std::erase_if(items, [&](store::outbox_item& it) {
        if (!membership_sync::is_membership(it.write.object)) return false;
        segments[it.write.object].push_back(std::move(it));
        return true;
      });
      bool stopping = false;
      for (auto& [object, list] : segments) {
        chunk ch;
        ch.object = object;
        ch.membership = std::move(list);
        in_flight_.fetch_add(1);
        auto [ec] = co_await chunks_.async_send(boost::system::error_code(), std::move(ch),
                                                asio::as_tuple(asio::use_awaitable));
        if (ec) stopping = true;
      }
      if (stopping) co_return false;
      if (items.empty()) co_return true;
  }
  {
    std::vector<store::outbox_write> keys;
    keys.reserve(items.size());
    for (const auto& it : items) keys.push_back(it.write);
    auto last = co_await ctx_.db.outbox_last_written(std::move(keys));
    if (!last) {
      auto fields = fields_of(c_, {});
      const auto code = error_code_name(last.error());
      fields.error = code;
      log_with(spdlog::level::warn, fields,
               "{}: reading what was last written failed: {} (the claimed writes return to the queue)", c_.cfg.name,
               last.error().message());
      std::vector<std::int64_t> ids;
      for (const auto& it : items) ids.push_back(it.id);
      co_await ctx_.db.outbox_nack(std::move(ids), last.error().message(), ctx_.now() + ctx_.opt.write_retry);
      co_return true;
    }
    auto prepared = pipeline_.prepare(c_, std::move(items), *last, evals_);
    // Noted from now: a read of one of these records from here on means its echoes are re-read (echoes.hpp).
    const auto computed_ms = to_epoch_ms(ctx_.now());
    for (const auto& p : prepared)
      if (p.write && p.write->what == profile::computed_write::kind::update)
        ctx_.echoes.computing(p.item.id, c_.cfg.name, p.item.write.object, p.write->write.target_id,
                              p.write->write.payload, computed_ms);
    // Nothing to send (the destination already holds every value, or the record left the profile): done.
    std::vector<std::int64_t> unchanged;
    std::map<std::string, std::vector<pipeline::prepared>> by_object;
    for (auto& p : prepared) {
      if (!p.write) unchanged.push_back(p.item.id);
      else by_object[p.item.write.object].push_back(std::move(p));
    }
    if (!unchanged.empty()) {
      // The destination holds what the profile says now (or the record left the profile): a dead letter of an
      // earlier attempt for it is resolved too.
      std::map<std::string, std::vector<std::string>> settled;
      for (const auto& p : prepared)
        if (!p.write) settled[p.item.write.object].push_back(p.item.write.record_key);
      std::vector<std::int64_t> unchanged_runs;
      for (const auto& p : prepared)
        if (!p.write) unchanged_runs.push_back(p.item.write.run);
      // Counted on their runs in the transaction that acknowledges them.
      store::write_settlement done;
      done.runs = run_write_deltas(c_.cfg.name, {}, {}, unchanged_runs);
      done.written.resize(unchanged.size());
      done.acked = std::move(unchanged);
      auto acked = co_await ctx_.db.outbox_settle(std::move(done));
      if (acked)
        for (auto& [object, keys] : settled)
          co_await ctx_.letters.succeeded(ctx_.db, ctx_.clk, c_.cfg.name, object, "write", std::move(keys));
    }
    for (auto& [object, list] : by_object) {
      const std::size_t batch = std::max<std::size_t>(1, c_.adapter->max_batch(object));
      for (std::size_t at = 0; at < list.size(); at += batch) {
        chunk ch;
        ch.object = object;
        const auto end = std::min(list.size(), at + batch);
        ch.items.assign(std::make_move_iterator(list.begin() + static_cast<std::ptrdiff_t>(at)),
                        std::make_move_iterator(list.begin() + static_cast<std::ptrdiff_t>(end)));
        in_flight_.fetch_add(1);
        auto [ec] = co_await chunks_.async_send(boost::system::error_code(), std::move(ch),
                                                asio::as_tuple(asio::use_awaitable));
        if (ec) co_return false;  // cancelled: stopping
      }
    }
  }
  co_return true;
}

asio::awaitable<void> writer::work() {
  for (;;) {
    auto [ec, ch] = co_await chunks_.async_receive(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;  // cancelled: the daemon is stopping (claimed writes return to the queue at the next start)
    try {
      if (!ch.membership.empty()) co_await membership_.send(std::move(ch.object), std::move(ch.membership));
      else co_await write_items(std::move(ch.object), std::move(ch.items));
    } catch (const boost::system::system_error& e) {
      in_flight_.fetch_sub(1);
      if (e.code() == asio::error::operation_aborted) throw;  // stopping
      spdlog::error("{}: writing failed: {} (the writes are retried when their claim expires)", c_.cfg.name, e.what());
      continue;
    } catch (const std::exception& e) {
      spdlog::error("{}: writing failed: {} (the writes are retried when their claim expires)", c_.cfg.name, e.what());
    }
    in_flight_.fetch_sub(1);
    c_.outbox_bell.notify();
  }
}

namespace {

/// The audit entries of one write: one per field it changes.
void audit_of(const pipeline::prepared& p, const std::string& record_id, const std::string& outcome,
              const std::string& answer, const std::string& request_id, timestamp at,
              std::vector<store::audit_entry>& out) {
  for (const auto& f : p.write->changes) {
    store::audit_entry e;
    e.at = at;
    e.connector = p.item.write.connector;
    e.object = p.item.write.object;
    e.record_id = record_id;
    e.field = f.field;
    e.before = f.before;
    e.after = f.after;
    e.attribute = f.attribute;
    e.rule = p.write->what == profile::computed_write::kind::create   ? "create: " + f.rule
             : p.write->what == profile::computed_write::kind::remove ? "delete"
                                                                      : f.rule;
    e.source = f.source;
    e.source_ts = timestamp(milliseconds(f.source_ts));
    e.profile_id = p.profile_id;
    e.request_id = request_id;
    e.outcome = outcome;
    e.answer = answer.substr(0, 500);
    out.push_back(std::move(e));
  }
  if (p.write->what == profile::computed_write::kind::remove) {
    store::audit_entry e;
    e.at = at;
    e.connector = p.item.write.connector;
    e.object = p.item.write.object;
    e.record_id = record_id;
    e.field = "*";
    e.after = "null";
    e.rule = "delete";
    e.profile_id = p.profile_id;
    e.request_id = request_id;
    e.outcome = outcome;
    e.answer = answer.substr(0, 500);
    out.push_back(std::move(e));
  }
}

}  // namespace

asio::awaitable<void> writer::write_items(std::string object, std::vector<pipeline::prepared> list) {
  auto& c = c_;
  std::vector<adapters::write_item> batch, deletions;
  std::map<std::int64_t, const pipeline::prepared*> by_id;
  for (const auto& p : list) {
    const auto& w = p.write->write;
    auto& to = p.write->what == profile::computed_write::kind::remove ? deletions : batch;
    to.emplace_back(p.item.id, w.record_key, w.payload);
    to.back().target_id = w.target_id;
    by_id[p.item.id] = &p;
    // Known before it is sent: its webhook event and read-back may be processed before the vendor's answer here.
    if (p.write->what == profile::computed_write::kind::update) pipeline_.written(p, w.target_id);
    ctx_.echoes.sending(p.item.id, to_epoch_ms(ctx_.now()));
  }
  co_await save_in_flight(list, {});
  omnisync::result<std::vector<adapters::write_result>> res = std::vector<adapters::write_result>{};
  if (!batch.empty()) res = co_await c.adapter->write(object, std::move(batch));
  if (res && !deletions.empty()) {
    auto removed = co_await c.adapter->remove(object, std::move(deletions));
    if (removed) res->insert(res->end(), removed->begin(), removed->end());
    else res = removed.error();
  }
  const auto now = ctx_.now();
  if (!res)
    for (const auto& p : list) ctx_.echoes.settled(p.item.id, false, to_epoch_ms(now));
  else
    for (const auto& r : *res)
      ctx_.echoes.settled(r.outbox_id, r.status == adapters::write_result::outcome::written, to_epoch_ms(now));
  std::vector<std::int64_t> ok;
  std::vector<std::optional<std::string>> written;
  std::vector<const pipeline::prepared*> retry, rejected;
  std::map<std::int64_t, std::string> errors;
  std::vector<store::audit_entry> audit;
  if (!res) {
    for (auto& [id, p] : by_id) {
      retry.push_back(p);
      errors[id] = res.error().message();
    }
  } else {
    for (const auto& r : *res) {
      auto f = by_id.find(r.outbox_id);
      if (f == by_id.end()) continue;
      const auto* p = f->second;
      const std::string record_id = !p->write->write.target_id.empty() ? p->write->write.target_id
                                    : !r.destination_id.empty()        ? r.destination_id
                                                                       : p->write->write.record_key;
      if (r.status == adapters::write_result::outcome::written) {
        ok.push_back(r.outbox_id);
        written.emplace_back(p->write->full_payload);
        if (p->write->what == profile::computed_write::kind::create && !r.destination_id.empty())
          pipeline_.written(*p, r.destination_id);
        audit_of(*p, record_id, "written", "", r.request_id, now, audit);
      } else if (r.status == adapters::write_result::outcome::rejected) {
        rejected.push_back(p);
        audit_of(*p, record_id, "rejected", r.error, r.request_id, now, audit);
      } else {
        retry.push_back(p);
      }
      errors[r.outbox_id] = r.error;
      by_id.erase(f);
    }
    for (auto& [id, p] : by_id) {  // the adapter said nothing about these: try again
      retry.push_back(p);
      errors[id] = "no result from the adapter";
    }
  }
  // What became of the chunk, stored in one transaction: the runs whose records caused these writes learn what
  // became of them (runs show: written / refused) in the transaction that takes the writes out of the outbox, so
  // a resync's --follow never sees its writes gone but not yet counted; the acknowledgements with what was
  // written, the retries, the dead letters, the audit entries and the in-flight note follow. Nothing depends on
  // any of it before it commits; killed before, the writes are sent again after their claim (upserts: harmless).
  store::write_settlement settle;
  {
    std::vector<std::int64_t> written_runs, refused_runs;
    for (const auto& p : list)
      if (std::find(ok.begin(), ok.end(), p.item.id) != ok.end()) written_runs.push_back(p.item.write.run);
    for (const auto* p : rejected) refused_runs.push_back(p->item.write.run);
    for (const auto* p : retry)  // out of attempts: dead-lettered below
      if (p->item.attempts >= ctx_.opt.max_write_attempts) refused_runs.push_back(p->item.write.run);
    settle.runs = run_write_deltas(c.cfg.name, written_runs, refused_runs, {});
  }
  std::vector<std::string> keys, targets;  // of the written records
  for (const auto& p : list)
    if (std::find(ok.begin(), ok.end(), p.item.id) != ok.end()) {
      keys.push_back(p.item.write.record_key);
      if (!p.item.write.target_id.empty()) targets.push_back(p.item.write.target_id);
    }
  const auto ok_count = ok.size();
  settle.acked = std::move(ok);
  settle.written = std::move(written);
  std::size_t retried = 0;
  std::set<std::int64_t> transient;  // out of attempts with a transient error: the retry schedule tries again
  for (const auto* p : retry) {
    if (p->item.attempts >= ctx_.opt.max_write_attempts) {
      rejected.push_back(p);
      transient.insert(p->item.id);
      continue;
    }
    ++retried;
    settle.retried.emplace_back(p->item.id, errors[p->item.id],
                                now + ctx_.opt.write_retry * (1 << std::min(p->item.attempts, 8)));
  }
  {
    std::map<std::string, std::pair<std::size_t, std::string>> reasons;  // reason -> count, one record
    for (const auto* p : rejected) {
      auto& [n, key] = reasons[errors[p->item.id]];
      // The vendor's id where the write targets a known record (an e-mail upsert key otherwise).
      if (n++ == 0) key = !p->write->write.target_id.empty() ? p->write->write.target_id : p->item.write.record_key;
    }
    for (const auto& [reason, seen] : reasons) log_refused(object, reason, seen.first, seen.second);
  }
  for (const auto* p : rejected) {  // each leaves the queue; its dead letter holds it
    json::object meta;
    if (!p->write->write.target_id.empty()) meta["target_id"] = p->write->write.target_id;
    if (!p->profile_id.empty()) meta["profile_id"] = p->profile_id;
    store::dead_letter_entry e(store::retry_target::outbox, c.cfg.name, object, p->item.write.record_key,
                               std::string(), "write", errors[p->item.id], p->write->write.payload,
                               json::serialize(meta));
    e.retryable = transient.count(p->item.id) > 0;
    settle.dead_letters.emplace_back(p->item.id, std::move(e));
  }
  const auto audited = audit.size();
  settle.audit = std::move(audit);
  if (auto note = in_flight_update({}, list)) settle.meta.emplace(pipeline::in_flight_key(c.cfg.name), std::move(*note));
  auto settled = co_await ctx_.db.outbox_settle(std::move(settle));
  if (!settled) {
    spdlog::error("{}: storing the outcome of {} write(s) to {} failed: {} (their claims expire and they are sent "
                  "again; {} audit entries not recorded)", c.cfg.name, list.size(), object, settled.error().message(),
                  audited);
  } else {
    // Written: an open dead letter of an earlier attempt for the record is resolved, and so is one of a webhook
    // event about the record that could not be parsed (the record is known good in this system now).
    if (ok_count > 0) {
      co_await ctx_.letters.succeeded(ctx_.db, ctx_.clk, c.cfg.name, object, "write", std::move(keys));
      co_await ctx_.letters.succeeded(ctx_.db, ctx_.clk, c.cfg.name, object, "parse", std::move(targets));
    }
    for (std::size_t i = 0; i < rejected.size(); ++i) {
      ctx_.letters.added(c.cfg.name, object, "write");
      if (ctx_.m.dead_letters) ctx_.m.dead_letters->with({c.cfg.name, "write"}).inc();
    }
  }

  if (ctx_.m.writes_out) {
    ctx_.m.writes_out->with({c.cfg.name, object, "written"}).inc(static_cast<double>(ok_count));
    ctx_.m.writes_out->with({c.cfg.name, object, "rejected"}).inc(static_cast<double>(rejected.size()));
    ctx_.m.writes_out->with({c.cfg.name, object, "retried"}).inc(static_cast<double>(retried));
  }
  std::lock_guard lk(ctx_.mu);
  c.counters.writes_ok += static_cast<std::int64_t>(ok_count);
  c.counters.writes_rejected += static_cast<std::int64_t>(rejected.size());
  c.counters.writes_retried += static_cast<std::int64_t>(retried);
  for (auto& [id, e] : errors)
    if (!e.empty()) c.counters.last_write_error = e;
}

std::optional<std::string> writer::in_flight_update(const std::vector<pipeline::prepared>& adding,
                                                    const std::vector<pipeline::prepared>& done) {
  std::lock_guard lk(sending_mu_);
  bool changed = false;
  for (const auto& p : adding)
    if (auto notes = pipeline::in_flight_notes(p); !notes.empty()) {
      sending_[p.item.id] = std::move(notes);
      changed = true;
    }
  for (const auto& p : done) changed |= sending_.erase(p.item.id) > 0;
  if (!changed) return std::nullopt;
  std::string value = "[";
  for (const auto& [id, notes] : sending_) {
    if (value.size() > 1) value += ',';
    value += notes;
  }
  value += ']';
  return value;
}

asio::awaitable<void> writer::save_in_flight(const std::vector<pipeline::prepared>& adding,
                                             const std::vector<pipeline::prepared>& done) {
  auto value = in_flight_update(adding, done);
  if (!value) co_return;
  auto saved = co_await ctx_.db.meta_set(pipeline::in_flight_key(c_.cfg.name), std::move(*value));
  if (!saved)
    spdlog::warn("{}: recording the writes in flight failed: {} (an instance taking over would not know them as "
                 "omnisync's)", c_.cfg.name, saved.error().message());
}

void writer::log_refused(const std::string& object, const std::string& reason, std::size_t count,
                         const std::string& record) {
  const auto total = refusals_.admit(object + "\n" + reason, count);
  if (!total) return;
  auto fields = fields_of(c_, object);
  // The vendor's code where its message starts with one ("VALIDATION_ERROR: ..."), else the outcome's name.
  fields.error = vendor_error_code(reason);
  if (fields.error.empty()) fields.error = "rejected";
  if (*total == 1) fields.record = record;  // one refusal: which record; several: see omnisyncctl dlq list
  log_with(spdlog::level::warn, fields, "{}: {} write(s) to {} refused: {} (dead-lettered: omnisyncctl dlq list)",
           c_.cfg.name, *total, object, reason.empty() ? "no reason given" : reason.substr(0, 300));
}

}  // namespace omnisync::sync::detail
