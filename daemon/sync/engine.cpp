#include "daemon/sync/engine.hpp"

#include "daemon/sync/engine_parts.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>

#include "core/metrics.hpp"
#include "core/time.hpp"
#include "daemon/sync/context.hpp"
#include "daemon/sync/inbox.hpp"
#include "daemon/sync/leadership.hpp"
#include "daemon/sync/pipeline.hpp"
#include "daemon/sync/runs.hpp"
#include "daemon/sync/supervise.hpp"
#include "daemon/sync/poller.hpp"
#include "daemon/sync/writer.hpp"
#include "mapping/lint.hpp"

namespace omnisync::sync {
namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace detail {

engine_metrics::engine_metrics(metrics::registry* r) {
  if (!r) return;
  records_in = &r->counter("omnisync_records_in_total", "Source records stored, by connector and object",
                           {"connector", "object"});
  writes_out = &r->counter("omnisync_writes_total", "Writes to destinations by outcome", {"connector", "object", "outcome"});
  dead_letters = &r->counter("omnisync_dead_letters_total", "Entries added to the dead-letter table", {"connector", "stage"});
  lag = &r->gauge("omnisync_sync_lag_seconds",
                  "Freshness: seconds since the last poll that found the source caught up (plus settle_lag), by "
                  "connector and object",
                  {"connector", "object"});
  health = &r->gauge("omnisync_connector_health",
                     "1 for the connector's current health state (ok, degraded, quota_exhausted, unauthorized, "
                     "unreachable, unknown), 0 for the others",
                     {"connector", "state"});
  inbox_age = &r->gauge("omnisync_inbox_oldest_age_seconds", "Age of the oldest webhook event not yet processed",
                        {"connector"});
  outbox_age = &r->gauge("omnisync_outbox_oldest_age_seconds", "Age of the oldest write waiting for its destination",
                         {"connector"});
  segment_sync_paused = &r->gauge("omnisync_segment_sync_paused",
                                  "1 while a segment's membership sync to a connector is held (safety brake, or a "
                                  "list deleted outside omnisync with on_missing_list: report)",
                                  {"connector", "segment"});
  initial_records = &r->gauge("omnisync_initial_sync_records",
                              "Records read by the initial sync of an object so far", {"connector", "object"});
  initial_total = &r->gauge("omnisync_initial_sync_total",
                            "Records the vendor says the object holds (-1: it does not say)", {"connector", "object"});
  initial_seconds = &r->gauge("omnisync_initial_sync_seconds",
                              "How long the finished initial sync of an object took", {"connector", "object"});
  inbox_depth = &r->gauge("omnisync_inbox_depth", "Webhook events stored and not yet processed", {"connector"});
  outbox_depth = &r->gauge("omnisync_outbox_depth", "Writes waiting for their destination", {"connector"});
  dead_letter_count = &r->gauge("omnisync_dead_letters", "Entries in the dead-letter table");
  store_round_trips = &r->counter("omnisync_store_round_trips_total",
                                  "Requests the store sent to its database server and waited for (PostgreSQL)");
  page_seconds = &r->histogram("omnisync_poll_page_seconds", "Time to read and store one page",
                               metrics::registry::duration_buckets(), {"connector"});
  inbox_pruned = &r->counter("omnisync_inbox_pruned_total",
                             "Acknowledged webhook events (and their dedupe keys) removed past http.dedupe_retention");
  task_restarts = &r->counter("omnisync_sync_task_restarts_total",
                              "Sync loops restarted after ending with an exception, by connector (\"\": the "
                              "engine's own loops)",
                              {"connector"});
  echoes_skipped = &r->counter("omnisync_inbox_echoes_skipped_total",
                               "Webhook events recognised as the echo of omnisync's own write and not re-read, by "
                               "connector",
                               {"connector"});
}

}  // namespace detail


engine::engine(asio::any_io_executor ex, store::store& db, engine_options options, metrics::registry* metrics,
               clock& clk)
    : parts_(std::make_shared<parts>(std::move(ex), db, std::move(options), clk, metrics)) {}

engine::~engine() = default;

void engine::set_mappings(std::vector<std::shared_ptr<const mapping::plan>> plans) {
  auto ps = std::make_shared<detail::plan_set>();
  ps->all = std::move(plans);
  for (const auto& p : ps->all)
    if (p->direction() == mapping::direction::outbound) ps->outbound.push_back(p);
  {
    std::lock_guard lk(parts_->ctx.mu);
    parts_->ctx.plans = std::move(ps);
  }
  parts_->pipe.request_rebuild();  // profiles are derived through the mappings
}

void engine::set_profile_rules(std::shared_ptr<const profile::settings> rules) { parts_->pipe.set_rules(std::move(rules)); }

namespace {

/// sync.mode, sync.write_nulls and sync.fields: what a destination receives and whether anything is sent.
void apply_write_policy(detail::connector_state& st, const config::connector_common& cfg) {
  using cc = config::connector_common;
  st.shadow = cfg.mode == cc::write_mode::shadow;
  st.nulls = cfg.write_nulls == cc::null_writes::never    ? profile::null_policy::never
             : cfg.write_nulls == cc::null_writes::always ? profile::null_policy::always
                                                          : profile::null_policy::cleared;
  st.fields_allow = cfg.fields_allow;
  st.fields_deny = cfg.fields_deny;
}

}  // namespace

void engine::set_membership_policies(membership_policies policies) {
  std::lock_guard lk(parts_->ctx.mu);
  parts_->ctx.membership = std::move(policies);
  ++parts_->ctx.membership_generation;
  for (const auto& c : parts_->ctx.conns) {  // mu is held: not list()
    c->counters.segment_sync_held.clear();
    c->outbox_bell.notify();
  }
}

void engine::set_write_policies(const std::vector<config::connector_common>& connectors) {
  std::lock_guard lk(parts_->ctx.mu);
  for (const auto& cfg : connectors)
    if (auto* st = parts_->ctx.find(cfg.name)) {
      const bool was_shadow = st->shadow.load();
      apply_write_policy(*st, cfg);
      if (was_shadow && !st->shadow.load()) st->outbox_bell.notify();  // live now: send what is still different
    }
}

void engine::add(std::unique_ptr<adapters::connector> c, const config::connector_common& cfg) {
  auto& ctx = parts_->ctx;
  auto st = std::make_unique<detail::connector_state>(ctx.ex);
  st->cfg = cfg;
  for (const auto& o : c->objects()) st->objects.push_back(std::make_unique<detail::object_state>(o));
  st->adapter = std::move(c);
  st->writable = cfg.write;
  st->reconcile_every = cfg.reconcile_interval.value_or(ctx.opt.reconcile_interval);
  st->counters.name = cfg.name;
  st->counters.kind = cfg.kind;
  st->write_concurrency = static_cast<int>(cfg.write_concurrency);
  apply_write_policy(*st, cfg);
  std::lock_guard lk(ctx.mu);
  ctx.conns.push_back(std::move(st));
}

std::vector<std::shared_ptr<const adapters::webhook_endpoint>> engine::webhook_endpoints() const {
  std::vector<std::shared_ptr<const adapters::webhook_endpoint>> out;
  for (auto* c : parts_->ctx.list())
    if (auto w = c->adapter->webhook()) out.push_back(std::move(w));
  return out;
}

std::function<asio::awaitable<void>()> engine::supervised(std::string name,
                                                          std::function<asio::awaitable<void>()> task) {
  return [p = parts_, name = std::move(name), task = std::move(task)] {
    return detail::supervise(p->ctx, name, nullptr, task);
  };
}

std::vector<std::pair<std::string, std::function<asio::awaitable<void>()>>> engine::tasks() {
  std::vector<std::pair<std::string, std::function<asio::awaitable<void>()>>> out;
  auto p = parts_;
  // Every loop is supervised: one that ends with an exception starts again after a backoff (supervise.hpp).
  auto add = [&](std::string name, detail::connector_state* c, std::function<asio::awaitable<void>()> fn) {
    out.emplace_back(name, [p, name, c, fn = std::move(fn)] { return detail::supervise(p->ctx, name, c, fn); });
  };
  add("queue gauges", nullptr, [p] { return p->gauges_loop(); });
  add("profiles", nullptr, [p] { return p->pipe.loop(); });
  add("audit retention", nullptr, [p] { return p->audit_loop(); });
  add("runs retention", nullptr, [p, started = p->ctx.now()] { return p->runs_loop(started); });
  add("history retention", nullptr, [p] { return p->history_loop(); });
  add("inbox retention", nullptr, [p] { return detail::inbox_retention(p->ctx); });
  add("dead-letter retries", nullptr, [p] { return detail::retry_schedule(p->ctx); });
  add("segments", nullptr, [p] { return p->segment_loop(); });
  if (p->ctx.opt.cluster) add("leadership", nullptr, [p] { return p->lead.run(); });
  for (auto* cs : p->ctx.list()) {
    if (!cs->cfg.enabled) continue;
    auto& w = p->writers[cs->cfg.name];
    if (!w) w = std::make_unique<detail::writer>(p->ctx, p->pipe, *cs);
    auto* wp = w.get();
    add(cs->cfg.name + " writer", cs, [p, wp] { return wp->claims(); });
    for (int i = 0; i < std::max(1, cs->write_concurrency); ++i)
      add(cs->cfg.name + " writer " + std::to_string(i + 1), cs, [p, wp] { return wp->work(); });
    add(cs->cfg.name + " inbox", cs, [p, cs] { return p->inbox.run(*cs); });
    for (auto& o : cs->objects) {
      auto* os = o.get();
      add(cs->cfg.name + " " + os->st.object, cs, [p, cs, os] { return p->polls.run(*cs, *os); });
    }
  }
  return out;
}

void engine::webhook_stored(const std::string& connector) {
  if (auto* c = parts_->ctx.find(connector)) c->inbox_bell.notify();
}

omnisync::result<void> engine::pause(const std::string& connector) {
  auto* c = parts_->ctx.find(connector);
  if (!c) return make_error_code(errc::not_found);
  c->paused = true;
  return {};
}

omnisync::result<void> engine::resume(const std::string& connector) {
  auto* c = parts_->ctx.find(connector);
  if (!c) return make_error_code(errc::not_found);
  c->paused = false;
  for (auto& o : c->objects) o->wake = true;
  return {};
}

bool engine::paused(const std::string& connector) const {
  auto* c = parts_->ctx.find(connector);
  return c && c->paused.load();
}

omnisync::result<std::vector<std::string>> engine::resync_targets(const resync_request& req) const {
  auto& ctx = parts_->ctx;
  auto* c = ctx.find(req.connector);
  if (!c) return make_error_code(errc::not_found);
  std::vector<std::string> names;
  if (req.object.empty()) {
    for (auto& o : c->objects) names.push_back(o->st.object);
  } else if (auto* o = c->find(req.object)) {
    names.push_back(o->st.object);
  } else {
    return make_error_code(errc::not_found);
  }
  // resync --since: an ISO 8601 time (2026-11-23, 2026-11-23T10:00:00Z, an offset or a fraction), read by
  // core/time as every vendor's stamps are.
  if (req.what == resync_request::kind::since && !parse_iso8601(req.value))
    return make_error_code(errc::invalid_input);
  return names;
}

omnisync::result<std::vector<std::string>> engine::request_resync(const resync_request& req) {
  auto& ctx = parts_->ctx;
  auto names = resync_targets(req);
  if (!names) return names;
  auto* c = ctx.find(req.connector);
  std::lock_guard lk(ctx.mu);
  if (req.run > 0) ctx.resyncs[req.run].open = static_cast<int>(names->size());
  for (const auto& name : *names) {
    auto* o = c->find(name);
    if (req.what == resync_request::kind::id || req.what == resync_request::kind::email) {
      o->pending_lookups.push_back(req);
    } else {
      // A resync still waiting for its loop is replaced: its part of its run ends as cancelled.
      if (o->pending_resync && o->pending_resync->run > 0)
        detail::end_resync_part(ctx, o->pending_resync->run, "cancelled", "replaced by a newer resync");
      o->pending_resync = req;
    }
    o->st.resync_running = true;  // shown at once; the loop resets the counters when it starts
    o->st.resync_read = o->st.resync_stored = 0;
    o->st.resync_started = ctx.now();
    o->st.resync_finished = {};
    o->wake = true;
  }
  return names;
}

std::vector<connector_status> engine::status() const {
  std::vector<connector_status> out;
  auto& ctx = parts_->ctx;
  std::lock_guard lk(ctx.mu);
  for (const auto& c : ctx.conns) {
    connector_status s = c->counters;
    s.paused = c->paused.load();
    s.usage = c->adapter->usage();
    s.settle_lag = c->cfg.settle_lag;
    for (const auto& o : c->objects) s.objects.push_back(o->st);
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<connector_health_row> engine::health() const {
  std::vector<connector_health_row> out;
  for (auto* c : parts_->ctx.list()) out.push_back({c->cfg.name, c->paused.load(), c->adapter->usage().health});
  return out;
}

std::optional<milliseconds> freshness_lag(const object_status& st, milliseconds settle_lag, timestamp now) {
  timestamp from = st.last_caught_up != timestamp{} ? st.last_caught_up : st.polling_since;
  if (from == timestamp{}) return std::nullopt;
  return std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(now - from)) + settle_lag;
}

std::string readiness_problem(const std::vector<connector_health_row>& rows) {
  std::string why;
  std::size_t active = 0;
  for (const auto& r : rows) {
    if (r.paused) continue;
    ++active;
    if (!health_failing(r.health)) return {};
    why += (why.empty() ? "" : "; ") + r.name + " " + health_text(r.health);
  }
  if (active == 0) return {};
  return "every connector is failing: " + why;
}

std::optional<profile_report> engine::profile_get(std::string_view query) const { return parts_->pipe.get(query); }

profile_page engine::profile_list(const profile::profile_filter& filter, std::string_view after,
                                  std::size_t limit) const {
  return parts_->pipe.list(filter, after, limit);
}

std::vector<std::string> engine::profile_stages() const { return parts_->pipe.stages(); }

profile::book_stats engine::profile_stats() const { return parts_->pipe.stats(); }

profile::kpi_rules engine::kpi_rules() const { return parts_->pipe.kpi_rules(); }

const analytics::history_index& engine::history() const { return parts_->ctx.history; }

bool engine::profiles_ready() const { return parts_->pipe.ready(); }

cluster_status engine::cluster() const {
  const auto& ctx = parts_->ctx;
  cluster_status c;
  c.enabled = ctx.opt.cluster;
  c.instance = ctx.opt.instance;
  c.leader = ctx.leading();
  c.token = c.leader ? ctx.lease_token.load() : 0;
  c.leaderships = ctx.leaderships.load();
  return c;
}

asio::awaitable<omnisync::result<std::size_t>> engine::profile_split(profile::link_ref link, bool restore) {
  auto p = parts_;
  co_return co_await p->pipe.split(std::move(link), restore);
}

asio::awaitable<std::vector<lint_finding>> engine::lint() {
  auto p = parts_;  // kept alive while the coroutine runs
  co_return co_await p->lint(p->ctx.current_plans()->all, true);
}

asio::awaitable<std::vector<lint_finding>> engine::lint_plans(std::vector<std::shared_ptr<const mapping::plan>> plans) {
  auto p = parts_;
  co_return co_await p->lint(std::move(plans), false);
}

std::uint64_t engine::book_generation() const { return parts_->pipe.generation(); }

asio::awaitable<omnisync::result<std::vector<recheck_count>>> engine::recheck(
    std::vector<std::pair<std::string, std::string>> targets, std::uint64_t since, std::chrono::milliseconds wait) {
  auto p = parts_;
  if (!p->ctx.leading()) co_return make_error_code(errc::not_found);
  const auto until = std::chrono::steady_clock::now() + wait;
  while (p->pipe.generation() <= since) {
    if (std::chrono::steady_clock::now() >= until) co_return make_error_code(errc::retry);
    co_await p->ctx.clk.sleep_for(milliseconds(50));
  }
  std::vector<recheck_count> out;
  for (const auto& [kind, object] : targets)
    for (auto* c : p->ctx.list()) {
      if (c->cfg.kind != kind || !c->cfg.enabled || !c->writable) continue;
      auto r = co_await p->pipe.recheck(*c, object);
      if (!r) co_return r.error();
      out.push_back(std::move(*r));
    }
  co_return out;
}

asio::awaitable<omnisync::result<plan_report>> engine::plan(std::optional<std::string> connector,
                                                             std::optional<std::string> profile_query,
                                                             std::size_t max_changes) {
  auto p = parts_;
  plan_report out;
  if (connector && !p->ctx.find(*connector)) co_return make_error_code(errc::not_found);
  std::optional<profile::profile_id> only;
  if (profile_query) {
    only = p->pipe.find(*profile_query);
    if (!only) co_return make_error_code(errc::not_found);
  }
  mapping::evaluator_cache evals;
  std::int64_t after = 0;
  for (;;) {
    auto page = co_await p->ctx.db.outbox_pending(store::outbox_filter(connector, after, 500));
    if (!page) co_return page.error();
    ++out.pages;
    std::map<std::string, std::vector<store::outbox_item>> by_connector;
    for (auto& it : page->items) by_connector[it.write.connector].push_back(std::move(it));
    for (auto& [name, items] : by_connector) {
      auto* c = p->ctx.find(name);
      if (!c) continue;
      // Segment membership writes are shown as they are queued (membership_sync sends them; no mapping).
      std::erase_if(items, [&](const store::outbox_item& it) {
        if (!detail::membership_sync::is_membership(it.write.object)) return false;
        if (only && it.write.profile_id != only->str()) return true;
        ++out.queued;
        if (out.changes.size() >= max_changes) return true;
        boost::system::error_code ec;
        auto v = boost::json::parse(it.write.payload, ec);
        const auto* o = v.if_object();
        const bool add = !(o && o->contains("op") && o->at("op") == "remove");
        planned_change pc;
        pc.connector = name;
        pc.object = it.write.object;
        pc.record = !it.write.target_id.empty() ? it.write.target_id : it.write.record_key;
        pc.profile_id = it.write.profile_id;
        pc.what = add ? "add" : "remove";
        profile::field_change f;
        f.field = "membership";
        f.after = add ? "\"added\"" : "\"removed\"";
        f.rule = "segment " + it.write.object.substr(8);
        if (o && o->contains("list") && o->at("list").is_string()) f.attribute = std::string(o->at("list").as_string());
        pc.fields.push_back(std::move(f));
        pc.outbox_id = it.id;
        pc.attempts = it.attempts;
        pc.last_error = it.last_error;
        pc.next_attempt_at = it.next_attempt_at;
        out.changes.push_back(std::move(pc));
        return true;
      });
      std::vector<store::outbox_write> keys;
      for (const auto& it : items) keys.push_back(it.write);
      auto last = co_await p->ctx.db.outbox_last_written(std::move(keys));
      if (!last) co_return last.error();
      for (auto& prep : p->pipe.prepare(*c, std::move(items), *last, evals, true)) {
        if (only && prep.profile_id != only->str()) continue;
        ++out.queued;
        if (!prep.write) {
          ++out.unchanged;
          continue;
        }
        if (out.changes.size() >= max_changes) continue;
        planned_change pc;
        pc.connector = name;
        pc.object = prep.item.write.object;
        pc.record = !prep.write->write.target_id.empty() ? prep.write->write.target_id : prep.write->write.record_key;
        pc.profile_id = prep.profile_id;
        pc.what = prep.write->what == profile::computed_write::kind::create   ? "create"
                  : prep.write->what == profile::computed_write::kind::remove ? "delete"
                                                                               : "update";
        pc.fields = std::move(prep.write->changes);
        pc.outbox_id = prep.item.id;
        pc.attempts = prep.item.attempts;
        pc.last_error = prep.item.last_error;
        pc.next_attempt_at = prep.item.next_attempt_at;
        out.changes.push_back(std::move(pc));
      }
    }
    if (page->next_after_id == 0) break;
    after = page->next_after_id;
  }
  co_return out;
}

asio::awaitable<omnisync::result<adapters::object_schema>> engine::describe(std::string connector, std::string object) {
  auto p = parts_;
  auto* c = p->ctx.find(connector);
  if (!c) co_return make_error_code(errc::not_found);
  co_return co_await c->adapter->describe(std::move(object));
}

std::vector<std::string> engine::connectors() const {
  std::vector<std::string> out;
  for (auto* c : parts_->ctx.list()) out.push_back(c->cfg.name);
  return out;
}

}  // namespace omnisync::sync
