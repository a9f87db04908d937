// status and version: what the daemon is doing, as versioned JSON (status schema 1, see README.md).
#include <boost/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include "core/health.hpp"
#include "core/rate_limits.hpp"
#include "core/time.hpp"
#include "core/version.hpp"
#include "daemon/config/daemon_config.hpp"
#include "daemon/control/catalogue.hpp"
#include "daemon/control/commands/groups.hpp"
#include "daemon/control/commands/paused_set.hpp"
#include "daemon/control/server.hpp"
#include "daemon/store/store.hpp"
#include "daemon/sync/engine.hpp"

namespace asio = boost::asio;
namespace json = boost::json;

namespace omnisync::control::commands {
namespace {

const char* format_name(config::log_format f) {
  switch (f) {
    case config::log_format::text: return "text";
    case config::log_format::journal: return "journal";
    case config::log_format::json: return "json";
    default: return "auto";
  }
}

json::value reload_json(const std::optional<reload_record>& r) {
  if (!r) return nullptr;
  json::object o{{"at", r->at}, {"trigger", r->trigger}, {"ok", r->ok}};
  if (!r->ok) {
    json::array diags;
    for (const auto& d : r->diagnostics) diags.push_back(json::value(d));
    o["diagnostics"] = std::move(diags);
  }
  return o;
}

/// What the configuration says of each connector, before the engine's view is added.
json::object configured_connectors(const config::daemon_config& c, const std::set<std::string>& paused) {
  json::object conns;
  for (const auto& cc : c.connectors) {
    bool is_paused = paused.count(cc.name) != 0;
    conns[cc.name] = json::object{
        {"kind", cc.kind},
        {"state", !cc.enabled ? "disabled" : is_paused ? "paused" : "idle"},
        {"enabled", cc.enabled},
        {"paused", is_paused},
        {"base_url", cc.base_url},
        {"poll_interval_ms", cc.poll_interval.count()},
        {"objects", json::value_from(cc.objects)},
    };
  }
  return conns;
}

json::value ms_or_null(std::optional<std::chrono::milliseconds> v) {
  return v ? json::value(v->count()) : json::value(nullptr);
}

std::string iso_or_empty(std::chrono::system_clock::time_point t) {
  if (t == std::chrono::system_clock::time_point{}) return {};
  return iso_text(std::chrono::time_point_cast<std::chrono::milliseconds>(t));
}

/// The connector's health: its state, the line people read, the cause in the vendor's words, since when.
json::object health_json(const connector_health& h) {
  json::object o{{"state", health_name(h.state)},
                 {"text", health_text(h)},
                 {"detail", h.detail},
                 {"since", iso_or_empty(h.since)}};
  if (h.until != std::chrono::system_clock::time_point{}) o["until"] = iso_or_empty(h.until);
  return o;
}

/// The initial sync of one object: running (with progress), done (how long it took), or not needed (a cursor was
/// stored before this start).
json::object initial_sync_json(const sync::object_status& os, store::timestamp now) {
  const char* state = os.initial_running ? "running" : os.initial_done ? "done" : "not_needed";
  json::object o{{"state", state}, {"read", os.initial_read},
                 {"total", os.initial_total ? json::value(*os.initial_total) : json::value(nullptr)},
                 {"started", iso_text(os.initial_started)}, {"finished", iso_text(os.initial_finished)}};
  if (os.initial_running || os.initial_done) {
    const auto end = os.initial_done ? os.initial_finished : now;
    o["seconds"] = std::chrono::duration<double>(end - os.initial_started).count();
  }
  return o;
}

/// Each rate limit the vendor's answers stated, in its words: `{name, limit, remaining, used, window_ms,
/// resets_in_ms, vendor_words, age_ms}`; a number the vendor does not state is null.
json::array rate_limits_json(const std::vector<rate_limit_reading>& limits, store::timestamp now) {
  json::array out;
  auto n = [](std::int64_t v) { return v < 0 ? json::value(nullptr) : json::value(v); };
  for (const auto& r : limits) {
    const auto age = std::chrono::duration_cast<std::chrono::milliseconds>(now - r.seen).count();
    out.push_back(json::object{{"name", r.name},
                               {"limit", n(r.limit)},
                               {"remaining", n(r.remaining)},
                               {"used", n(r.used)},
                               {"window_ms", n(r.window_ms)},
                               {"resets_in_ms", n(r.resets_in_ms)},
                               {"vendor_words", r.vendor_words},
                               {"age_ms", std::max<std::int64_t>(0, age)}});
  }
  return out;
}

/// The engine's view of one connector: each object's phase, cursor, counters, freshness and initial sync, the
/// connector's overall state and health, API usage, events and writes.
void add_engine_status(json::object& o, const sync::connector_status& cs, store::timestamp now) {
  json::array objs;
  std::string overall = cs.paused ? "paused" : "idle";
  for (const auto& os : cs.objects) {
    json::object j{{"object", os.object},
                   {"phase", os.phase},
                   {"cursor", os.cursor ? json::value(*os.cursor) : json::value(nullptr)},
                   {"records_read", os.records_read},
                   {"records_stored", os.records_stored},
                   {"mapping_failures", os.mapping_failures},
                   {"pages", os.pages},
                   {"last_success", iso_text(os.last_success)},
                   {"last_caught_up", iso_text(os.last_caught_up)},
                   {"last_error", os.last_error},
                   {"lag_ms", ms_or_null(sync::freshness_lag(os, cs.settle_lag, now))},
                   {"newest_change_age_ms", os.newest_source_update == store::timestamp{}
                                                ? json::value(nullptr)
                                                : json::value((now - os.newest_source_update).count())},
                   {"initial_sync", initial_sync_json(os, now)}};
    if (os.resync_running || os.resync_finished != store::timestamp{})
      j["resync"] = json::object{{"running", os.resync_running},
                                 {"read", os.resync_read},
                                 {"stored", os.resync_stored},
                                 {"started", iso_text(os.resync_started)},
                                 {"finished", iso_text(os.resync_finished)},
                                 {"error", os.resync_error}};
    if (!cs.paused && (os.phase == "error")) overall = "error";
    if (!cs.paused && overall != "error" && (os.phase == "polling" || os.phase == "resync")) overall = "syncing";
    objs.push_back(std::move(j));
  }
  if (o["enabled"].as_bool()) o["state"] = overall;
  o["health"] = health_json(cs.usage.health);
  o["objects_status"] = std::move(objs);
  o["api"] = json::object{{"calls", cs.usage.api_calls},
                          {"errors", cs.usage.api_errors},
                          {"budget_used", cs.usage.budget_used},
                          {"budget_limit", cs.usage.budget_limit},
                          {"limits", rate_limits_json(cs.usage.rate_limits, now)}};
  o["events_in"] = cs.events_in;
  o["events_per_minute"] = cs.events_rate.per_minute(now);
  o["writes"] = json::object{{"ok", cs.writes_ok},
                             {"rejected", cs.writes_rejected},
                             {"retried", cs.writes_retried},
                             {"last_error", cs.last_write_error}};
  // Sync loops of this connector restarted after an exception: how often, the last failure in words and when.
  o["task_restarts"] = json::object{{"count", cs.task_restarts},
                                    {"last_failure", cs.last_task_failure},
                                    {"at", cs.task_restarts > 0 ? json::value(iso_text(cs.last_task_failure_at))
                                                                : json::value(nullptr)}};
  // Segments whose membership sync here is held (safety brake, a list deleted with on_missing_list: report).
  json::object held;
  for (const auto& [segment, why] : cs.segment_sync_held) held[segment] = why;
  o["segment_sync_held"] = std::move(held);
}

/// The store's section from its `counts`; also adds each connector's queue depths and record count to `connectors`.
json::object store_status(const store::store& db, const config::daemon_config& c,
                          const omnisync::result<store::counts>& counts, json::object& connectors) {
  const auto now = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  json::object s{{"kind", db.kind()}, {"schema_version", db.schema_version()}, {"state_dir", c.daemon.state_dir.string()}};
  if (counts) {
    const auto& k = *counts;
    // Counts and file sizes side by side in one flat object (what omnisyncctl renders).
    json::object records;
    for (const auto& [n, v] : k.records_per_connector) records[n] = v;
    for (auto& kv : connectors) {
      auto& o = kv.value().as_object();
      const std::string name(kv.key());
      auto depth = [&](const std::map<std::string, std::int64_t>& m) {
        auto it = m.find(name);
        return it == m.end() ? std::int64_t(0) : it->second;
      };
      o["inbox_depth"] = depth(k.inbox_depth_per_connector);
      o["outbox_depth"] = depth(k.outbox_depth_per_connector);
      o["records"] = depth(k.records_per_connector);
      // The age of the oldest work waiting: a webhook event not yet processed, a write not yet made.
      auto age = [&](const std::map<std::string, store::timestamp>& m) {
        auto it = m.find(name);
        return it == m.end() ? json::value(nullptr) : json::value(std::max<std::int64_t>(0, (now - it->second).count()));
      };
      o["inbox_oldest_age_ms"] = age(k.oldest_inbox_per_connector);
      o["outbox_oldest_age_ms"] = age(k.oldest_outbox_per_connector);
    }
    s["inbox_depth"] = k.inbox_depth;
    s["outbox_depth"] = k.outbox_depth;
    s["dead_letters"] = k.dead_letters;
    s["records"] = std::move(records);
    s["state_db_bytes"] = k.state_db_bytes;
    s["inbox_db_bytes"] = k.inbox_db_bytes;
  } else {
    s["error"] = counts.error().message();
  }
  // Commit counters: how well group commit groups, and whether WAL checkpoints keep off the commit path.
  const auto cs = db.stats();
  s["commits"] = json::object{{"state", cs.state_commits},
                              {"inbox", cs.inbox_commits},
                              {"inbox_appends", cs.inbox_appends},
                              {"inbox_checkpoints", cs.inbox_checkpoints},
                              {"inbox_commit_checkpoints", cs.inbox_commit_checkpoints}};
  // Requests the store sent to its server and waited for (PostgreSQL; 0 on SQLite): what a slow network costs.
  s["round_trips"] = cs.round_trips;
  return s;
}

/// This instance's part in a cluster and every lease of the shared store.
asio::awaitable<json::object> cluster_status(const context& ctx) {
  const auto cl = ctx.engine->cluster();
  json::array leases;
  if (auto ls = co_await ctx.db->lease_list())
    for (const auto& l : *ls)
      leases.push_back(json::object{{"key", l.key}, {"owner", l.owner}, {"token", l.token},
                                    {"expires_at", format_iso8601_ms(l.expires_at)}});
  co_return json::object{{"instance", cl.instance}, {"leader", cl.leader},           {"token", cl.token},
                         {"leaderships", cl.leaderships}, {"leases", std::move(leases)}};
}

/// The KPIs' currency and units (each profile's values are in `profile get`; these say how to read them).
json::object kpis_status(const sync::engine& engine) {
  const auto rules = engine.kpi_rules();
  json::object rates;
  for (const auto& [code, rate] : rules.rates) rates[code] = rate;
  json::object units;
  for (const auto& u : profile::kpi_units(rules))
    units[u.name] = json::object{{"unit", u.unit}, {"description", u.description}};
  return json::object{{"currency", rules.currency}, {"rates", std::move(rates)}, {"units", std::move(units)}};
}

json::object profiles_status(const sync::engine& engine) {
  const auto ps = engine.profile_stats();
  return json::object{{"ready", engine.profiles_ready()},
                      {"profiles", ps.profiles},
                      {"records", ps.records},
                      {"interactions", ps.interaction_records},
                      {"events", ps.events},
                      {"unattached_interactions", ps.unattached_interactions},
                      {"merges", ps.merges},
                      {"withheld_creates", ps.withheld_creates},
                      {"withheld_reasons", [&] {
                         json::object o;
                         for (const auto& [k, n] : ps.withheld_reasons) o[k] = n;
                         return o;
                       }()}};
}

/// The remap running now (status schema 1 adds `remap` while one runs): its run, what it covers and how far it
/// is, as `resync` shows for each object.
json::object remap_status(const sync::remap_progress& p) {
  json::object o{{"running", true},
                 {"run", p.run.load()},
                 {"read", p.read.load()},
                 {"mapped", p.mapped.load()},
                 {"failed", p.failed.load()},
                 {"writes_queued", p.writes_queued.load()},
                 {"writes_unchanged", p.writes_unchanged.load()},
                 {"total", p.estimated_total.load() >= 0 ? json::value(p.estimated_total.load()) : json::value(nullptr)},
                 {"started", iso_or_empty(p.started)}};
  std::lock_guard lk(p.mu);
  o["connector"] = p.connector;
  o["object"] = p.object;
  return o;
}

asio::awaitable<reply> status(const context& ctx) {
  ctx.logger("control")->debug("status requested");
  auto c = ctx.config();
  json::object st;
  st["schema"] = 1;
  st["version"] = version_string;
  st["pid"] = static_cast<std::int64_t>(::getpid());
  st["uptime_s"] =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - ctx.state->started()).count();
  st["config_file"] = c->source_file.string();
  st["http"] = json::object{{"listen", c->http.listen}, {"port", ctx.state->http_port()}};
  if (c->console.enabled)
    st["console"] = json::object{{"listen", c->console.listen}, {"port", ctx.state->console_port()},
                                 {"tls", !c->console.tls_cert.empty()}};
  st["state"] = ctx.state->phase();
  const std::set<std::string> paused_now = ctx.paused->names();
  st["last_reload"] = reload_json(ctx.state->last_reload());
  json::array p;
  for (const auto& n : paused_now) p.push_back(json::value(n));
  st["paused"] = std::move(p);
  json::object conns = configured_connectors(*c, paused_now);
  if (ctx.engine) {
    const auto now = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
    for (const auto& cs : ctx.engine->status()) {
      auto* entry = conns.if_contains(cs.name);
      if (!entry || !entry->is_object()) continue;
      add_engine_status(entry->as_object(), cs, now);
    }
  }
  auto counts = co_await ctx.db->get_counts();
  json::object store = store_status(*ctx.db, *c, counts, conns);
  st["connectors"] = std::move(conns);
  st["store"] = std::move(store);
  if (ctx.engine && ctx.engine->cluster().enabled) st["cluster"] = co_await cluster_status(ctx);
  if (ctx.engine)
    if (auto r = ctx.engine->running_remap()) st["remap"] = remap_status(*r);
  if (ctx.engine) st["profiles"] = profiles_status(*ctx.engine);
  if (ctx.engine) st["kpis"] = kpis_status(*ctx.engine);
  st["log"] = json::object{{"level", c->daemon.log.level}, {"format", format_name(c->daemon.log.format)}};
  co_return reply::success(std::move(st));
}

}  // namespace

void add_status_commands(command_table& table, const context& ctx) {
  table.add(catalogue::status, [&ctx](json::object, event_sink&) { return status(ctx); });
  table.add(catalogue::version, [](json::object, event_sink&) -> asio::awaitable<reply> {
    co_return reply::success(json::object{{"version", version_string}, {"protocol", protocol_version}});
  });
}

}  // namespace omnisync::control::commands
