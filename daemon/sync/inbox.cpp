#include "daemon/sync/inbox.hpp"

#include "core/time.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace omnisync::sync::detail {
namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {
/// How many `inbox_batch`es a batch grows to while a backlog waits (500 events at the default batch of 100), and
/// the bodies' size at which it stops growing: bounded so that a batch is stored well inside `inbox_lease` even
/// on a loaded machine.
constexpr std::size_t inbox_backlog_factor = 5;
constexpr std::size_t inbox_backlog_bytes = 512 * 1024;
}  // namespace

asio::awaitable<void> inbox_processor::run(connector_state& owner) {
  using namespace asio::experimental::awaitable_operators;
  mapping::evaluator_cache evals;
  std::optional<batch> ready;  // claimed, parsed and fetched: the next to store
  for (;;) {
    if (owner.paused.load() || !ctx_.leading()) {
      if (ready) {  // claimed before: finished as one batch would have been
        co_await store_batch(std::move(*ready), evals);
        ready.reset();
      }
      co_await ctx_.clk.sleep_for(milliseconds(100));
      continue;
    }
    if (!ready) {
      ready = co_await next_batch(owner);
      if (!ready) co_await owner.inbox_bell.wait(ctx_.clk, ctx_.opt.queue_idle);
      continue;
    }
    // The ready batch is stored while the next is claimed, parsed and fetched: under load the vendor's round trips
    // and the store's commits overlap instead of adding up. The next is stored only after this one.
    auto next = co_await (store_batch(std::move(*ready), evals) && next_batch(owner));
    ready = std::move(next);
  }
}

asio::awaitable<std::optional<inbox_processor::batch>> inbox_processor::next_batch(connector_state& owner) {
  std::vector<store::inbox_item> claimed;
  {
    auto got = co_await ctx_.db.inbox_claim(ctx_.opt.inbox_batch, ctx_.opt.inbox_lease, owner.cfg.name);
    if (got) claimed = std::move(*got);
  }
  // A backlog (an initial sync's echoes: ~2 webhooks per record written) grows the batch by `inbox_batch` more
  // while each claim comes back full, up to inbox_backlog_factor batches and inbox_backlog_bytes of bodies (a
  // vendor that packs 100 events into one delivery stays at today's size): its events are still coalesced per
  // record and the records they name fetched in the vendor's batch size, but the batch is stored with one records
  // transaction per object and acknowledged once, not once per `inbox_batch` events.
  {
    const std::size_t step = std::max<std::size_t>(1, ctx_.opt.inbox_batch);
    std::size_t bytes = 0;
    for (const auto& it : claimed) bytes += it.event.body.size();
    bool full = claimed.size() == step;
    while (full && claimed.size() < step * inbox_backlog_factor && bytes < inbox_backlog_bytes) {
      auto more = co_await ctx_.db.inbox_claim(step, ctx_.opt.inbox_lease, owner.cfg.name);
      if (!more) break;
      full = more->size() == step;
      for (auto& it : *more) {
        bytes += it.event.body.size();
        claimed.push_back(std::move(it));
      }
    }
  }
  if (claimed.empty()) co_return std::nullopt;
  // Events trickle in one delivery at a time (a vendor's bulk job fires one webhook per record it wrote): a
  // short, bounded wait lets the batch fill, so that the records the events name are fetched in the vendor's
  // batch size and stored in one page, not one call and one transaction per event.
  if (claimed.size() < ctx_.opt.inbox_batch && ctx_.opt.inbox_window.count() > 0) {
    co_await ctx_.clk.sleep_for(ctx_.opt.inbox_window);
    auto more = co_await ctx_.db.inbox_claim(ctx_.opt.inbox_batch - claimed.size(), ctx_.opt.inbox_lease,
                                             owner.cfg.name);
    if (more)
      for (auto& it : *more) claimed.push_back(std::move(it));
  }
  co_return co_await prepare(std::move(claimed));
}

asio::awaitable<inbox_processor::batch> inbox_processor::prepare(std::vector<store::inbox_item> claimed) {
  batch b;
  b.claimed = std::move(claimed);
  auto& done = b.done;
  auto& work = b.work;
  // Parse every claimed event first, so that the records they only name are fetched once per object for the
  // whole batch (the adapter batches its calls: Zendesk show_many and HubSpot batch reads take 100 ids), not
  // once per event: a backlog of events naming one record each (after a restart) would cost a call per event.
  for (std::size_t at = 0; at < b.claimed.size(); ++at) {
    auto& it = b.claimed[at];
    auto* c = ctx_.find(it.event.connector);
    if (!c) {
      co_await quarantine(it, "connector", "no connector named " + it.event.connector + " is configured");
      done.push_back(it.id);
      continue;
    }
    if (c->paused.load()) {
      std::vector<std::int64_t> one{it.id};
      co_await ctx_.db.inbox_nack(std::move(one), "paused", ctx_.now() + milliseconds(1000));
      continue;
    }
    auto parsed = c->adapter->parse_event(it.event);
    if (!parsed) {
      // The record it is about, where the payload still says (an event naming several: the first).
      const auto named = c->adapter->records_named(it.event);
      const std::string stage = "parse", why = "malformed event: " + parsed.error().message();
      const std::string object = named.empty() ? std::string() : named.front().first;
      const std::string record = named.empty() ? std::string() : named.front().second;
      co_await quarantine_record(it, stage, why, object, record);
      done.push_back(it.id);
      continue;
    }
    work.push_back(parsed_event{at, c, std::move(*parsed), {}});
  }
  // The echoes of omnisync's own writes are not fetched (judged again when stored: fetched then if no longer).
  mark_echoes(work);
  refetch_plan plan;
  for (const auto& w : work)
    for (const auto& [obj, id] : w.echo ? decltype(w.parsed.refetch){} : w.parsed.refetch) {
      auto& [conn, ids] = plan[{w.c->cfg.name, obj}];
      conn = w.c;
      if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
    }
  b.fetched = co_await prefetch(std::move(plan));
  co_return b;
}

asio::awaitable<void> inbox_processor::store_batch(batch b, mapping::evaluator_cache& evals) {
  auto& work = b.work;
  auto& fetched = b.fetched;
  auto& done = b.done;
  // The events' records coalesced per (connector, object): a record several events carry or name is stored once,
  // in its newest version, and every event's announcements about it go with it. One page per object.
  struct page {
    connector_state* c = nullptr;
    std::map<std::string, store::source_record> records;  ///< by id
    std::vector<adapters::event_records::announcement> told;
    std::vector<std::size_t> events;  ///< indexes into work
  };
  std::map<std::pair<std::string, std::string>, page> pages;
  // Judged again now that the batches before are stored: a record taken in since its write was computed is
  // re-read — the ids not fetched with the batch are fetched now, together, in the vendor's batch size.
  mark_echoes(work);
  {
    refetch_plan late;
    for (const auto& w : work) {
      if (w.echo || !w.error.empty()) continue;
      for (const auto& [obj, id] : w.parsed.refetch) {
        auto f = fetched.find({w.c->cfg.name, obj});
        if (f != fetched.end() && (!f->second.error.empty() || f->second.records.count(id))) continue;
        auto& [conn, ids] = late[{w.c->cfg.name, obj}];
        conn = w.c;
        if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
      }
    }
    if (!late.empty())
      for (auto& [key, got] : co_await prefetch(std::move(late))) {
        auto& into = fetched[key];
        if (!got.error.empty() && into.records.empty()) into.error = got.error;
        for (auto& [id, r] : got.records) into.records.insert_or_assign(id, std::move(r));
      }
  }
  auto keep = [](std::map<std::string, store::source_record>& into, store::source_record r) {
    auto [at, fresh] = into.try_emplace(r.id, r);
    // A later event's copy wins unless the one kept is newer by the vendor's stamp.
    if (!fresh && !(at->second.source_updated_at > r.source_updated_at)) at->second = std::move(r);
  };
  for (std::size_t i = 0; i < work.size(); ++i) {
    auto& w = work[i];
    auto* c = w.c;
    if (w.echo) {  // omnisync's own write coming back: nothing to read, nothing new
      if (ctx_.m.echoes_skipped) ctx_.m.echoes_skipped->with({c->cfg.name}).inc();
      continue;
    }
    // The event's records per object; the records it only names come from the batch's fetch.
    std::map<std::string, std::vector<store::source_record>> by_object;
    for (auto& r : w.parsed.records) by_object[r.object].push_back(std::move(r.record));
    std::map<std::string, std::vector<std::string>> refetch;
    for (auto& [obj, id] : w.parsed.refetch) refetch[obj].push_back(id);
    for (auto& [obj, ids] : refetch) {
      // From the batch's fetch; an id it did not answer under that spelling is fetched for this event alone.
      std::vector<std::string> missing;
      auto& from_batch = fetched[{c->cfg.name, obj}];
      if (!from_batch.error.empty()) {
        w.error = from_batch.error;
        break;
      }
      for (const auto& id : ids) {
        if (auto f = from_batch.records.find(id); f != from_batch.records.end()) by_object[obj].push_back(f->second);
        else missing.push_back(id);
      }
      if (missing.empty()) continue;
      auto got = co_await c->adapter->fetch(obj, std::move(missing));
      if (!got) {
        w.error = "fetching " + obj + ": " + got.error().message();
        break;
      }
      for (auto& r : *got) by_object[obj].push_back(std::move(r));
    }
    if (!w.error.empty()) continue;
    for (auto& [obj, recs] : by_object) {
      auto& pg = pages[{c->cfg.name, obj}];
      pg.c = c;
      for (auto& r : recs) keep(pg.records, std::move(r));
      for (const auto& a : w.parsed.announced)
        if (a.object == obj) pg.told.push_back(a);
      pg.events.push_back(i);
    }
  }
  for (auto& [key, pg] : pages) {
    std::vector<store::source_record> recs;
    recs.reserve(pg.records.size());
    for (auto& [id, r] : pg.records) recs.push_back(std::move(r));
    auto stored = co_await pipeline_.store_records(*pg.c, key.second, std::move(recs), std::nullopt, false, evals,
                                                   pg.c->find(key.second), std::move(pg.told));
    if (!stored)
      for (auto i : pg.events)
        if (work[i].error.empty()) work[i].error = "store: " + stored.error().message();
  }
  // Acknowledged only now that every record the event brought is stored (with its consequences).
  for (auto& w : work) {
    auto& it = b.claimed[w.item];
    if (w.error.empty()) {
      done.push_back(it.id);
      std::lock_guard lk(ctx_.mu);
      ++w.c->counters.events_in;
      w.c->counters.events_rate.add(ctx_.now());
    } else if (it.attempts >= ctx_.opt.max_inbox_attempts) {
      co_await quarantine(it, "process", w.error);
      done.push_back(it.id);
    } else {
      std::vector<std::int64_t> one{it.id};
      co_await ctx_.db.inbox_nack(std::move(one), w.error,
                                  ctx_.now() + ctx_.opt.error_pause * (1 << std::min(it.attempts, 6)));
    }
  }
  if (!done.empty()) co_await ctx_.db.inbox_ack(std::move(done));
}

bool inbox_processor::echo_only(const parsed_event& e) const {
  const auto& p = e.parsed;
  if (!p.records.empty() || p.refetch.empty() || p.reported.empty()) return false;
  const auto now = to_epoch_ms(ctx_.now());
  for (const auto& [obj, id] : p.refetch)
    if (std::none_of(p.reported.begin(), p.reported.end(),
                     [&](const auto& r) { return r.object == obj && r.id == id; }))
      return false;
  return std::all_of(p.reported.begin(), p.reported.end(), [&](const auto& r) {
    return ctx_.echoes.is_echo(e.c->cfg.name, r.object, r.id, r.payload, r.at, now);
  });
}

void inbox_processor::mark_echoes(std::vector<parsed_event>& work) const {
  using name = std::tuple<std::string, std::string, std::string>;  // connector, object, id
  std::set<name> reread;  // named by an event of the batch that is not an echo
  for (auto& w : work) {
    w.echo = w.error.empty() && echo_only(w);
    if (w.echo) continue;
    for (const auto& [obj, id] : w.parsed.refetch) reread.emplace(w.c->cfg.name, obj, id);
    for (const auto& r : w.parsed.records) reread.emplace(w.c->cfg.name, r.object, r.record.id);
  }
  for (auto& w : work)
    if (w.echo)
      for (const auto& [obj, id] : w.parsed.refetch)
        if (reread.count({w.c->cfg.name, obj, id})) w.echo = false;
}

asio::awaitable<inbox_processor::prefetched> inbox_processor::prefetch(refetch_plan plan) {
  prefetched out;
  for (auto& [key, want] : plan) {
    auto& slot = out[key];
    auto got = co_await want.first->adapter->fetch(key.second, std::move(want.second));
    if (!got) {
      slot.error = "fetching " + key.second + ": " + got.error().message();
      continue;
    }
    for (auto& r : *got) {
      std::string id = r.id;
      slot.records.insert_or_assign(std::move(id), std::move(r));
    }
  }
  co_return out;
}

asio::awaitable<void> inbox_processor::quarantine(const store::inbox_item& it, const std::string& stage,
                                                  const std::string& why) {
  const std::string none;
  co_await quarantine_record(it, stage, why, none, none);
}

asio::awaitable<void> inbox_processor::quarantine_record(const store::inbox_item& it, const std::string& stage,
                                                         const std::string& why, const std::string& object,
                                                         const std::string& record) {
  // The quarantine stage (parse, fetch, mapping) is the line's error code; the event's dedupe key its record.
  log_with(spdlog::level::warn, log_fields{it.event.connector, object, it.event.dedupe_key, {}, stage},
           "{}: webhook event {} quarantined ({}): {}", it.event.connector, it.event.dedupe_key, stage, why);
  store::dead_letter_entry e(store::retry_target::inbox, it.event.connector, object, record, it.event.dedupe_key,
                             stage, why, it.event.body, it.event.meta);
  auto added = co_await ctx_.db.dead_letter_add(std::move(e));
  if (!added) spdlog::warn("{}: the dead letter of event {} could not be stored: {}", it.event.connector,
                           it.event.dedupe_key, added.error().message());
  if (ctx_.m.dead_letters) ctx_.m.dead_letters->with({it.event.connector, stage}).inc();
  // Named: the entry resolves when the record later succeeds (pipeline::store_records, the writer).
  if (!object.empty() && !record.empty()) ctx_.letters.added(it.event.connector, object, stage);
}

asio::awaitable<void> inbox_retention(context& ctx) {
  const auto keep = ctx.opt.inbox_dedupe_retention;
  const auto every = std::clamp(keep / 4, milliseconds(1000), milliseconds(3600 * 1000));
  for (;;) {
    if (ctx.leading()) {
      auto gone = co_await ctx.db.inbox_prune(ctx.now() - keep);
      if (!gone) {
        spdlog::warn("inbox: pruning acknowledged events failed: {}", gone.error().message());
      } else if (*gone > 0) {
        if (ctx.m.inbox_pruned) ctx.m.inbox_pruned->get().inc(static_cast<double>(*gone));
        spdlog::debug("inbox: {} acknowledged event(s) past the dedupe retention removed", *gone);
      }
    }
    co_await ctx.clk.sleep_for(every);
  }
}

}  // namespace omnisync::sync::detail
