#include "daemon/app/application.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <csignal>
#include <ctime>
#include <mutex>
#include <set>
#include <thread>

#include <unistd.h>

#include "daemon/app/logging.hpp"
#include "daemon/app/notify.hpp"
#include "daemon/app/task_group.hpp"
#include "daemon/control/server.hpp"
#include "adapters/connector.hpp"
#include "core/version.hpp"
#include "daemon/http/listener.hpp"
#include "core/metrics.hpp"
#include "daemon/store/blocking.hpp"
#include "daemon/sync/engine.hpp"
#include "daemon/profile/utc_time.hpp"
#include "daemon/profile/value_json.hpp"
#include "daemon/store/store.hpp"

namespace asio = boost::asio;
namespace json = boost::json;

namespace omnisync::app {
namespace {

/// host:pid — unique among the instances sharing a store unless two run on one host with one pid namespace.
std::string default_instance_name() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "omnisyncd");
  return std::string(host) + ":" + std::to_string(::getpid());
}

constexpr const char* paused_meta_key = "app.paused_connectors";

/// The paused set as stored under paused_meta_key (a JSON array of connector names); nullopt when the text is
/// not such an array.
std::optional<std::set<std::string>> parse_paused(const std::string& text) {
  json::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_array()) return std::nullopt;
  std::set<std::string> out;
  for (const auto& n : v.as_array())
    if (n.is_string()) out.insert(std::string(n.as_string()));
  return out;
}

std::string utc_now_text() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

store::synchronous_mode to_store(config::sync_mode m) {
  switch (m) {
    case config::sync_mode::off: return store::synchronous_mode::off;
    case config::sync_mode::normal: return store::synchronous_mode::normal;
    case config::sync_mode::extra: return store::synchronous_mode::extra;
    default: return store::synchronous_mode::full;
  }
}

const char* format_name(config::log_format f) {
  switch (f) {
    case config::log_format::text: return "text";
    case config::log_format::journal: return "journal";
    case config::log_format::json: return "json";
    default: return "auto";
  }
}

bool connectors_differ(const config::daemon_config& a, const config::daemon_config& b) {
  if (a.connectors.size() != b.connectors.size()) return true;
  for (std::size_t i = 0; i < a.connectors.size(); ++i) {
    const auto& x = a.connectors[i];
    const auto& y = b.connectors[i];
    if (x.name != y.name || x.kind != y.kind || x.base_url != y.base_url || x.enabled != y.enabled ||
        x.objects != y.objects || x.settings != y.settings || x.poll_interval != y.poll_interval ||
        x.secrets.size() != y.secrets.size())
      return true;
    for (const auto& [k, v] : x.secrets) {
      auto it = y.secrets.find(k);
      if (it == y.secrets.end() || it->second.reveal() != v.reveal()) return true;
    }
  }
  return false;
}


std::string iso_text(store::timestamp t) {
  if (t == store::timestamp{}) return {};
  std::time_t secs = static_cast<std::time_t>(t.time_since_epoch().count() / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json::object dead_letter_json(const store::dead_letter& d, bool with_payload) {
  json::object o{{"id", d.id},
                 {"connector", d.entry.connector},
                 {"object", d.entry.object},
                 {"record_id", d.entry.record_id},
                 {"event_id", d.entry.event_id},
                 {"stage", d.entry.stage},
                 {"reason", d.entry.reason},
                 {"created_at", iso_text(d.created_at)},
                 {"retry_to", d.entry.target == store::retry_target::inbox    ? "inbox"
                              : d.entry.target == store::retry_target::outbox ? "outbox"
                                                                             : "none"}};
  if (with_payload) {
    o["payload"] = d.entry.payload;
    o["meta"] = d.entry.meta;
  }
  return o;
}

}  // namespace

struct application::impl {
  impl(app_options o, loaded_config initial)
      : opts(std::move(o)), cfg(std::move(initial.config)), ioc(static_cast<int>(std::max(1u, cfg->daemon.threads))),
        services(ioc.get_executor(), [](const std::string& t, const std::string& what) {
          logger("app")->error("service {} ended with an exception: {}", t, what);
        }),
        tasks(ioc.get_executor(), [](const std::string& t, const std::string& what) {
          logger("app")->error("task {} ended with an exception: {}", t, what);
        }),
        sync_tasks(ioc.get_executor(), [](const std::string& t, const std::string& what) {
          logger("sync")->error("sync task {} ended with an exception: {}", t, what);
        }),
        mappings(std::move(initial.mappings)),
        profile_rules(std::move(initial.profiles)),
        started(std::chrono::steady_clock::now()) {
    set_secrets(initial.secret_values);
  }

  app_options opts;
  mutable std::mutex mutex;                            // guards cfg, paused, last_reload, state
  std::shared_ptr<const config::daemon_config> cfg;
  std::set<std::string> paused;
  int pausing = 0;                                     // cmd_pause calls between their change and its store write
  std::uint64_t paused_version = 0;                    // cmd_pause calls finished
  json::value last_reload = nullptr;
  std::string state = "starting";
  std::mutex reload_mutex;                             // one reload at a time

  asio::io_context ioc;
  std::unique_ptr<store::store> db;
  std::unique_ptr<control::server> control;
  std::unique_ptr<asio::signal_set> signals;
  task_group services;                                 // the control server, the HTTP listener
  task_group tasks;                                    // signals, watchdog
  task_group sync_tasks;                               // the sync engine's loops (cancelled first on shutdown)
  std::vector<std::shared_ptr<const mapping::plan>> mappings;
  std::shared_ptr<const profile::settings> profile_rules;   // identity, survivorship, KPIs
  metrics::registry metrics;
  std::unique_ptr<sync::engine> engine;
  std::unique_ptr<http::listener> web;
  unsigned short http_port = 0;
  systemd_notifier notifier;
  std::chrono::steady_clock::time_point started;
  int exit = exit_ok;

  std::shared_ptr<const config::daemon_config> config() const {
    std::lock_guard lock(mutex);
    return cfg;
  }

  void set_state(std::string s) {
    std::lock_guard lock(mutex);
    state = std::move(s);
  }

  std::string status_line() const {
    auto c = config();
    std::lock_guard lock(mutex);
    return state + "; " + std::to_string(c->connectors.size()) + " connector(s), " + std::to_string(paused.size()) +
           " paused";
  }

  // ---- reload ----------------------------------------------------------------------------------------------

  /// Loads the config file again; applies it atomically or keeps the old one. Returns the reply for `reload`.
  control::reply reload(const std::string& trigger) {
    std::lock_guard one(reload_mutex);
    auto log = logger("app");
    {
      std::lock_guard lock(mutex);
      if (state == "stopping") return control::reply::failure("stopping", "the daemon is stopping; not reloading");
      state = "reloading";
    }
    notifier.reloading();
    log->info("reloading {} ({})", opts.config_file.string(), trigger);
    auto loaded = load_daemon_config(opts.config_file, opts.overrides);
    log->debug("read {}: {} problem(s), {} secret value(s) registered for redaction", opts.config_file.string(),
               loaded.problems.size(), loaded.secret_values.size());
    json::object record{{"at", utc_now_text()}, {"trigger", trigger}};
    control::reply reply;
    if (!loaded.ok()) {
      json::array diags;
      for (const auto& d : loaded.problems.items()) diags.push_back(json::value(d.format()));
      log->error("reload rejected, {} problem(s); the previous configuration stays in effect:", loaded.problems.size());
      for (const auto& d : loaded.problems.items()) log->error("  {}", d.format());
      record["ok"] = false;
      record["diagnostics"] = std::move(diags);
      std::string text = loaded.problems.format();
      while (!text.empty() && text.back() == '\n') text.pop_back();
      reply = control::reply::failure("config_invalid", "configuration rejected, previous one kept:\n" + text);
    } else {
      auto old = config();
      const auto& next = *loaded.config;
      if (next.daemon.state_dir != old->daemon.state_dir || next.daemon.control_socket != old->daemon.control_socket ||
          next.daemon.threads != old->daemon.threads || next.store.synchronous != old->store.synchronous)
        log->warn("daemon.state_dir, daemon.control_socket, daemon.threads and store.* take effect at the next restart");
      set_secrets(loaded.secret_values);
      apply_log_levels(next.daemon.log.level, next.daemon.log.components);
      {
        std::lock_guard lock(mutex);
        cfg = loaded.config;
      }
      if (engine) {
        engine->set_profile_rules(loaded.profiles);
        engine->set_mappings(loaded.mappings);
      }
      if (connectors_differ(*old, next))
        log->warn("connector settings changed: they take effect at the next restart (mappings are reloaded now)");
      record["ok"] = true;
      log->info("configuration reloaded: {} connector(s)", next.connectors.size());
      reply = control::reply::success(json::object{{"reloaded", true}, {"config_file", next.source_file.string()},
                                                  {"connectors", next.connectors.size()}});
    }
    {
      std::lock_guard lock(mutex);
      last_reload = std::move(record);
      if (state == "reloading") state = "running";
    }
    notifier.reloaded(status_line() + (reply.ok() ? "" : "; last reload rejected"));
    return reply;
  }

  // ---- commands --------------------------------------------------------------------------------------------

  asio::awaitable<control::reply> cmd_status(json::object) {
    logger("control")->debug("status requested");
    auto c = config();
    json::object st;
    st["schema"] = 1;
    st["version"] = version_string;
    st["pid"] = static_cast<std::int64_t>(::getpid());
    st["uptime_s"] = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started).count();
    st["config_file"] = c->source_file.string();
    {
      std::lock_guard lock(mutex);
      st["http"] = json::object{{"listen", c->http.listen}, {"port", http_port}};
    }
    std::set<std::string> paused_now;
    {
      std::lock_guard lock(mutex);
      st["state"] = state;
      paused_now = paused;
      st["last_reload"] = last_reload;
    }
    json::array p;
    for (const auto& n : paused_now) p.push_back(json::value(n));
    st["paused"] = std::move(p);
    json::object conns;
    for (const auto& cc : c->connectors) {
      bool is_paused = paused_now.count(cc.name) != 0;
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
    if (engine) {
      const auto now = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
      for (const auto& cs : engine->status()) {
        auto* entry = conns.if_contains(cs.name);
        if (!entry || !entry->is_object()) continue;
        auto& o = entry->as_object();
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
                         {"last_error", os.last_error},
                         {"lag_ms", os.newest_source_update == store::timestamp{}
                                        ? json::value(nullptr)
                                        : json::value((now - os.newest_source_update).count())}};
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
        o["objects_status"] = std::move(objs);
        o["api"] = json::object{{"calls", cs.usage.api_calls},
                                {"errors", cs.usage.api_errors},
                                {"budget_used", cs.usage.budget_used},
                                {"budget_limit", cs.usage.budget_limit}};
        o["events_in"] = cs.events_in;
        o["writes"] = json::object{{"ok", cs.writes_ok},
                                   {"rejected", cs.writes_rejected},
                                   {"retried", cs.writes_retried},
                                   {"last_error", cs.last_write_error}};
      }
    }
    st["connectors"] = std::move(conns);
    json::object s{{"kind", db->kind()}, {"schema_version", db->schema_version()},
                   {"state_dir", c->daemon.state_dir.string()}};
    auto counts = co_await db->get_counts();
    if (counts) {
      const auto& k = *counts;
      // Counts and file sizes side by side in one flat object (what omnisyncctl renders).
      json::object records;
      for (const auto& [n, v] : k.records_per_connector) records[n] = v;
      auto& cj = st["connectors"].as_object();
      for (auto& kv : cj) {
        auto& o = kv.value().as_object();
        const std::string name(kv.key());
        auto depth = [&](const std::map<std::string, std::int64_t>& m) {
          auto it = m.find(name);
          return it == m.end() ? std::int64_t(0) : it->second;
        };
        o["inbox_depth"] = depth(k.inbox_depth_per_connector);
        o["outbox_depth"] = depth(k.outbox_depth_per_connector);
        o["records"] = depth(k.records_per_connector);
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
    {
      // Commit counters: how well group commit groups, and whether WAL checkpoints keep off the commit path.
      const auto cs = db->stats();
      s["commits"] = json::object{{"state", cs.state_commits},
                                  {"inbox", cs.inbox_commits},
                                  {"inbox_appends", cs.inbox_appends},
                                  {"inbox_checkpoints", cs.inbox_checkpoints},
                                  {"inbox_commit_checkpoints", cs.inbox_commit_checkpoints}};
    }
    st["store"] = std::move(s);
    if (engine && engine->cluster().enabled) {
      const auto cl = engine->cluster();
      json::array leases;
      if (auto ls = co_await db->lease_list())
        for (const auto& l : *ls)
          leases.push_back(json::object{{"key", l.key}, {"owner", l.owner}, {"token", l.token},
                                        {"expires_at", profile::format_utc_ms(l.expires_at.time_since_epoch().count())}});
      st["cluster"] = json::object{{"instance", cl.instance}, {"leader", cl.leader}, {"token", cl.token},
                                   {"leaderships", cl.leaderships}, {"leases", std::move(leases)}};
    }
    if (engine) {
      const auto ps = engine->profile_stats();
      st["profiles"] = json::object{{"ready", engine->profiles_ready()},
                                    {"profiles", ps.profiles},
                                    {"records", ps.records},
                                    {"interactions", ps.interaction_records},
                                    {"events", ps.events},
                                    {"unattached_interactions", ps.unattached_interactions},
                                    {"merges", ps.merges},
                                    {"withheld_creates", ps.withheld_creates}};
    }
    st["log"] = json::object{{"level", c->daemon.log.level}, {"format", format_name(c->daemon.log.format)}};
    co_return control::reply::success(std::move(st));
  }

  /// pause/resume: one connector (args.connector) or, without it, all configured connectors.
  asio::awaitable<control::reply> cmd_pause(json::object args, bool pause) {
    auto c = config();
    std::vector<std::string> targets;
    if (auto n = args.if_contains("connector"); n && n->is_string() && !n->as_string().empty()) {
      std::string name(n->as_string());
      bool known = std::any_of(c->connectors.begin(), c->connectors.end(), [&](const auto& cc) { return cc.name == name; });
      if (!known) co_return control::reply::failure("unknown_connector", "no connector named \"" + name + "\" is configured");
      targets.push_back(name);
    } else {
      for (const auto& cc : c->connectors) targets.push_back(cc.name);
    }
    // In a cluster the set is the cluster's: change the stored one (another instance may have changed it since
    // this one last read it), not this instance's copy.
    std::optional<std::set<std::string>> shared;
    if (engine && engine->cluster().enabled)
      if (auto got = co_await db->meta_get(paused_meta_key); got && *got) shared = parse_paused(**got);
    json::array list;
    std::string stored;
    std::vector<std::pair<std::string, bool>> changes;  // connector, pause
    {
      std::lock_guard lock(mutex);
      ++pausing;
      std::set<std::string> next = shared ? *shared : paused;
      for (const auto& t : targets) pause ? (void)next.insert(t) : (void)next.erase(t);
      changes = paused_changes(next);
      for (const auto& t : targets) changes.emplace_back(t, pause);  // a resume also wakes the polls at once
      paused = std::move(next);
      for (const auto& n : paused) list.push_back(json::value(n));
      stored = json::serialize(list);
    }
    if (engine)
      for (const auto& [name, p] : changes) p ? (void)engine->pause(name) : (void)engine->resume(name);
    auto saved = co_await db->meta_set(paused_meta_key, stored);
    {
      std::lock_guard lock(mutex);
      --pausing;
      ++paused_version;
    }
    if (!saved) co_return control::reply::failure("store", "could not persist the paused set: " + saved.error().message());
    logger("app")->info("{} {}", pause ? "paused" : "resumed", targets.empty() ? std::string("(no connectors)") : [&] {
      std::string s;
      for (const auto& t : targets) s += (s.empty() ? "" : ", ") + t;
      return s;
    }());
    notifier.status(status_line());
    co_return control::reply::success(json::object{{"paused", std::move(list)}});
  }

  /// resync: args {connector, object?, full?, since?, id?, email?, fields?, follow?}. With follow, progress events
  /// every 250 ms until every covered object finished, then the summary; without, the objects it started.
  /// In a cluster, resyncs and profiles live with the pipeline, on the holder of its lease only. On a standby
  /// instance this is the answer to such a command, naming the instance to send it to; nullopt elsewhere.
  asio::awaitable<std::optional<control::reply>> standby_refusal(std::string what) {
    if (!engine) co_return std::nullopt;
    const auto cl = engine->cluster();
    if (!cl.enabled || cl.leader) co_return std::nullopt;
    std::string holder;
    if (auto ls = co_await db->lease_list())
      for (const auto& l : *ls)
        if (l.key == sync::pipeline_lease && l.expires_at > std::chrono::system_clock::now()) holder = l.owner;
    std::string where = "no instance holds the pipeline lease right now (a take-over is under way); try again shortly";
    if (!holder.empty()) where = "the pipeline runs on instance \"" + holder + "\": send the command to that instance";
    co_return control::reply::failure("standby", "instance \"" + cl.instance + "\" stands by (webhooks and writes); " +
                                                     what + " run with the pipeline — " + where);
  }

  asio::awaitable<control::reply> cmd_resync(json::object args, control::event_sink& events) {
    if (!engine) co_return control::reply::failure("unavailable", "the sync engine is not running");
    if (auto refused = co_await standby_refusal("resyncs")) co_return std::move(*refused);
    sync::resync_request req;
    auto str = [&](const char* k) -> std::string {
      auto* v = args.if_contains(k);
      return v && v->is_string() ? std::string(v->as_string()) : std::string();
    };
    req.connector = str("connector");
    req.object = str("object");
    if (req.connector.empty()) co_return control::reply::failure("usage", "resync needs a connector name");
    if (!str("since").empty()) {
      req.what = sync::resync_request::kind::since;
      req.value = str("since");
    } else if (!str("id").empty()) {
      req.what = sync::resync_request::kind::id;
      req.value = str("id");
    } else if (!str("email").empty()) {
      req.what = sync::resync_request::kind::email;
      req.value = str("email");
    }
    if ((req.what == sync::resync_request::kind::id || req.what == sync::resync_request::kind::email) &&
        req.object.empty()) {
      // A lookup needs an object: the connector's first (its people object).
      auto names = engine->status();
      for (const auto& cs : names)
        if (cs.name == req.connector && !cs.objects.empty()) req.object = cs.objects.front().object;
    }
    if (auto* f = args.if_contains("fields"); f && f->is_array())
      for (const auto& v : f->as_array())
        if (v.is_string()) req.fields.emplace_back(v.as_string());
    auto started = engine->request_resync(req);
    if (!started) {
      if (started.error() == errc::invalid_input)
        co_return control::reply::failure("usage", "--since needs an ISO 8601 time such as 2026-11-01T00:00:00Z");
      co_return control::reply::failure("unknown_connector",
                                        "no connector \"" + req.connector + "\"" +
                                            (req.object.empty() ? std::string() : " with object \"" + req.object + "\""));
    }
    json::array objs;
    for (const auto& o : *started) objs.push_back(json::value(o));
    logger("sync")->info("resync of {} {} requested", req.connector, req.object.empty() ? "(all objects)" : req.object);
    // --fields: Salesforce and HubSpot read just those fields (partial pages merged into the stored records); the
    // other vendors' APIs cannot select fields, so their resync reads whole records. The reply says which.
    std::string fields_note;
    if (!req.fields.empty()) {
      std::string kind, list;
      for (const auto& cc : config()->connectors)
        if (cc.name == req.connector) kind = cc.kind;
      for (const auto& f : req.fields) list += (list.empty() ? "" : ",") + f;
      if (kind == "salesforce" || kind == "hubspot")
        fields_note = "reading only " + list + " (with each record's id and modification stamp); the other stored fields are kept";
      else
        fields_note = kind + " cannot read selected fields: this resync reads whole records (--fields " + list + " not applied)";
    }
    auto follow = args.if_contains("follow");
    if (!follow || !follow->is_bool() || !follow->as_bool()) {
      json::object started_reply{{"connector", req.connector}, {"objects", std::move(objs)}};
      if (!fields_note.empty()) started_reply["fields_note"] = fields_note;
      co_return control::reply::success(std::move(started_reply));
    }
    // For a full resync, what the store holds now is a good estimate of what there is to read (for the ETA).
    std::int64_t estimate = -1;
    if (req.what == sync::resync_request::kind::full) {
      auto k = co_await db->get_counts();
      if (k) {
        auto it = k->records_per_connector.find(req.connector);
        if (it != k->records_per_connector.end()) estimate = it->second;
      }
    }
    const auto t0 = std::chrono::steady_clock::now();
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
      timer.expires_after(std::chrono::milliseconds(250));
      co_await timer.async_wait(asio::use_awaitable);
      std::int64_t read = 0, stored = 0;
      bool running = false;
      std::string error;
      for (const auto& cs : engine->status()) {
        if (cs.name != req.connector) continue;
        for (const auto& os : cs.objects) {
          if (std::find(started->begin(), started->end(), os.object) == started->end()) continue;
          read += os.resync_read;
          stored += os.resync_stored;
          running = running || os.resync_running;
          if (!os.resync_error.empty()) error = os.resync_error;
          if (!os.last_error.empty() && os.phase == "error") error = os.last_error;
        }
      }
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      json::object progress{{"connector", req.connector}, {"read", read},     {"stored", stored},
                            {"elapsed_s", secs},          {"rate", secs > 0 ? double(read) / secs : 0.0},
                            {"running", running},         {"error", error}};
      if (estimate > 0) progress["estimated_total"] = estimate;
      if (!running) {
        progress["objects"] = std::move(objs);
        if (!fields_note.empty()) progress["fields_note"] = fields_note;
        co_return control::reply::success(std::move(progress));
      }
      if (!co_await events.emit(std::move(progress))) co_return control::reply::failure("gone", "client went away");
    }
  }

  /// lint: the engine checks the mappings against each system's metadata, on the sync loops' strand (adapters
  /// are used from there only); this handler waits for it.
  asio::awaitable<control::reply> cmd_lint(json::object) {
    if (!engine) co_return control::reply::failure("unavailable", "the sync engine is not running");
    struct shared {
      std::atomic<bool> done{false};
      std::vector<sync::lint_finding> findings;
    };
    auto st = std::make_shared<shared>();
    // (a plain lambda returning the coroutine: a lambda that is itself a coroutine would lose its captures)
    auto run_lint = [](sync::engine* e, std::shared_ptr<shared> out) -> asio::awaitable<void> {
      auto findings = co_await e->lint();
      out->findings = std::move(findings);
      out->done = true;
    };
    sync_tasks.spawn("lint", [run_lint, e = engine.get(), st] { return run_lint(e, st); });
    asio::steady_timer timer(co_await asio::this_coro::executor);
    while (!st->done.load()) {
      timer.expires_after(std::chrono::milliseconds(50));
      co_await timer.async_wait(asio::use_awaitable);
    }
    json::array items;
    std::int64_t errors = 0;
    for (const auto& f : st->findings) {
      if (f.severity == "error") ++errors;
      items.push_back(json::object{{"severity", f.severity}, {"connector", f.connector}, {"object", f.object},
                                   {"file", f.file},         {"line", f.line},           {"field", f.field},
                                   {"message", f.message}});
    }
    co_return control::reply::success(json::object{{"findings", std::move(items)}, {"errors", errors}});
  }

  asio::awaitable<control::reply> cmd_dlq(json::object args) {
    auto str = [&](const char* k) -> std::string {
      auto* v = args.if_contains(k);
      return v && v->is_string() ? std::string(v->as_string()) : std::string();
    };
    const std::string action = str("action").empty() ? "list" : str("action");
    std::int64_t id = 0;
    if (auto* v = args.if_contains("id"); v && v->is_int64()) id = v->as_int64();
    if (action == "list") {
      std::optional<std::string> conn, stage;
      if (!str("connector").empty()) conn = str("connector");
      if (!str("stage").empty()) stage = str("stage");
      std::int64_t after = 0;
      if (auto* v = args.if_contains("after"); v && v->is_int64()) after = v->as_int64();
      store::dead_letter_filter f(conn, stage, after, 100);
      auto page = co_await db->dead_letter_list(std::move(f));
      if (!page) co_return control::reply::failure("store", page.error().message());
      json::array items;
      for (const auto& d : page->items) items.push_back(dead_letter_json(d, false));
      co_return control::reply::success(json::object{{"items", std::move(items)}, {"next_after", page->next_after_id}});
    }
    if (id <= 0) co_return control::reply::failure("usage", "dlq " + action + " needs an entry id");
    if (action == "show") {
      auto d = co_await db->dead_letter_get(id);
      if (!d) co_return control::reply::failure("not_found", "no dead letter " + std::to_string(id));
      co_return control::reply::success(dead_letter_json(*d, true));
    }
    if (action == "retry" || action == "drop") {
      auto r = action == "retry" ? co_await db->dead_letter_retry(id) : co_await db->dead_letter_drop(id);
      if (!r) {
        if (r.error() == errc::not_found) co_return control::reply::failure("not_found", "no dead letter " + std::to_string(id));
        if (r.error() == errc::invalid_input)
          co_return control::reply::failure("not_retryable", "this entry has nowhere to go back to (fix the mapping and resync)");
        co_return control::reply::failure("store", r.error().message());
      }
      co_return control::reply::success(json::object{{"id", id}, {action == "retry" ? "retried" : "dropped", true}});
    }
    co_return control::reply::failure("usage", "dlq actions: list, show, retry, drop");
  }

  // ---- profiles --------------------------------------------------------------------------------------------

  static json::object record_json(const profile::record_ref& r) {
    return json::object{{"system", r.system}, {"object", r.object}, {"id", r.id}};
  }

  static json::object report_json(const sync::profile_report& rep, std::size_t timeline_limit) {
    const auto& v = rep.view;
    json::object golden;
    for (const auto& [attr, g] : v.golden) {
      if (g.value.is_missing()) continue;
      json::array from;
      for (const auto& p : g.from)
        from.push_back(json::object{{"system", p.system}, {"record", p.record},
                                    {"source_ts", profile::format_utc_ms(p.source_ts)}});
      golden[attr] = json::object{{"value", profile::to_json(g.value)}, {"decided_by", g.decided_by}, {"from", std::move(from)}};
    }
    json::object kpis;
    for (const auto& [attr, val] : v.kpis.to_attributes()) kpis[attr] = profile::to_json(val);
    kpis["unpriced_orders"] = v.kpis.unpriced_orders;
    json::array members;
    for (const auto& m : v.members)
      members.push_back(json::object{{"system", m.system}, {"object", m.object}, {"id", m.id}, {"deleted", m.deleted},
                                     {"first_seen", profile::format_utc_ms(m.first_seen)}});
    json::array events;
    const std::size_t from = v.timeline.size() > timeline_limit ? v.timeline.size() - timeline_limit : 0;
    for (std::size_t i = v.timeline.size(); i-- > from;) {
      const auto& e = v.timeline[i];
      json::object j{{"type", e.type}, {"at", profile::format_utc_ms(e.occurred_at)}, {"subject", e.subject}};
      if (e.amount) j["amount"] = *e.amount;
      if (!e.currency.empty()) j["currency"] = e.currency;
      if (!e.status.empty()) j["status"] = e.status;
      if (e.score) j["score"] = *e.score;
      events.push_back(std::move(j));
    }
    json::object out{{"id", v.id.str()}, {"golden", std::move(golden)}, {"kpis", std::move(kpis)},
                     {"records", std::move(members)}, {"timeline", std::move(events)},
                     {"timeline_total", v.timeline.size()}};
    if (rep.why) {
      json::array edges, conflicts, ignored;
      for (const auto& e : rep.why->edges)
        edges.push_back(json::object{{"from", record_json(e.from)}, {"to", record_json(e.to)}, {"rule", e.rule},
                                     {"attribute", e.attribute}, {"value", e.value},
                                     {"at", profile::format_utc_ms(e.at)}});
      for (const auto& c : rep.why->conflicts)
        conflicts.push_back(json::object{{"record", record_json(c.record)}, {"other", record_json(c.other)},
                                         {"rule", c.rule}, {"attribute", c.attribute}, {"value", c.value},
                                         {"reason", profile::to_string(c.reason)}, {"detail", c.detail}});
      for (const auto& g : rep.why->ignored)
        ignored.push_back(json::object{{"record", record_json(g.record)}, {"attribute", g.attribute},
                                       {"value", g.value}, {"reason", profile::to_string(g.reason)}});
      out["edges"] = std::move(edges);
      out["conflicts"] = std::move(conflicts);
      out["ignored"] = std::move(ignored);
    }
    return out;
  }

  /// profile: args {action: get|explain|split|restore|resync, query, attribute, record, value}.
  asio::awaitable<control::reply> cmd_profile(json::object args) {
    if (!engine) co_return control::reply::failure("unavailable", "the sync engine is not running");
    if (auto refused = co_await standby_refusal("profiles")) co_return std::move(*refused);
    auto str = [&](const char* k) -> std::string {
      auto* v = args.if_contains(k);
      return v && v->is_string() ? std::string(v->as_string()) : std::string();
    };
    const std::string action = str("action").empty() ? "get" : str("action");
    const std::string query = str("query");
    if (query.empty()) co_return control::reply::failure("usage", "profile " + action + " needs an e-mail, a profile id or system:id");
    if (!engine->profiles_ready()) co_return control::reply::failure("starting", "profiles are still being loaded; try again shortly");
    auto rep = engine->profile_get(query);
    if (!rep) co_return control::reply::failure("not_found", "no profile matches \"" + query + "\"");
    if (action == "get" || action == "explain") {
      auto out = report_json(*rep, action == "get" ? 10 : 1000);
      if (action == "explain" && !str("attribute").empty()) {
        const auto* g = out["golden"].as_object().if_contains(str("attribute"));
        out["attribute"] = str("attribute");
        out["attribute_golden"] = g ? *g : json::value(nullptr);
      }
      co_return control::reply::success(std::move(out));
    }
    if (action == "split" || action == "restore") {
      // record "system:object:id", attribute, value: the link to remove (as `explain` shows it)
      const std::string rec = str("record");
      const auto c1 = rec.find(':');
      const auto c2 = c1 == std::string::npos ? std::string::npos : rec.find(':', c1 + 1);
      if (c2 == std::string::npos || str("attribute").empty() || str("value").empty())
        co_return control::reply::failure("usage", "profile " + action +
                                                       " needs --record system:object:id --attribute A --value V "
                                                       "(as `profile explain` lists the link)");
      profile::link_ref link{profile::record_ref{rec.substr(0, c1), rec.substr(c1 + 1, c2 - c1 - 1), rec.substr(c2 + 1)},
                             str("attribute"), str("value")};
      auto n = co_await engine->profile_split(link, action == "restore");
      if (!n) {
        if (n.error() == errc::not_found)
          co_return control::reply::failure("not_found", "record " + rec + " does not hold " + str("attribute") + " = " + str("value"));
        co_return control::reply::failure("store", n.error().message());
      }
      logger("sync")->info("profile {}: {} {} {}={} ({} write(s) queued)", action, rep->view.id.str(), rec,
                           str("attribute"), str("value"), *n);
      auto after = engine->profile_get(rec);
      json::object out{{"action", action}, {"writes_queued", *n}};
      if (after) out["profile"] = report_json(*after, 5);
      co_return control::reply::success(std::move(out));
    }
    if (action == "resync") {
      // Re-reads every record of the profile from its system; the engine re-propagates what changed.
      json::array asked;
      for (const auto& m : rep->view.members) {
        if (m.deleted) continue;
        sync::resync_request req;
        req.connector = m.system;
        req.object = m.object;
        req.what = sync::resync_request::kind::id;
        req.value = m.id;
        if (engine->request_resync(req)) asked.push_back(record_json(profile::record_ref{m.system, m.object, m.id}));
      }
      co_return control::reply::success(json::object{{"id", rep->view.id.str()}, {"records", std::move(asked)}});
    }
    co_return control::reply::failure("usage", "profile actions: get, explain, split, restore, resync");
  }

  std::shared_ptr<const control::command_table> commands() {
    auto t = std::make_shared<control::command_table>();
    t->add("status", "daemon, connector and store status (versioned JSON, schema 1)",
           [this](json::object a, control::event_sink&) { return cmd_status(std::move(a)); });
    t->add("version", "the daemon's version and protocol",
           [](json::object, control::event_sink&) -> asio::awaitable<control::reply> {
             co_return control::reply::success(json::object{{"version", version_string}, {"protocol", 1}});
           });
    t->add("reload", "load the config file again; a config with problems is rejected and the old one kept",
           [this](json::object, control::event_sink&) -> asio::awaitable<control::reply> {
             co_return reload("control command");
           });
    t->add("pause", "pause one connector (args.connector) or all; persisted across restarts",
           [this](json::object a, control::event_sink&) { return cmd_pause(std::move(a), true); });
    t->add("resume", "resume one connector (args.connector) or all",
           [this](json::object a, control::event_sink&) { return cmd_pause(std::move(a), false); });
    t->add("resync", "re-read a connector (args.connector, object, since|id|email, fields); follow: progress events",
           [this](json::object a, control::event_sink& e) { return cmd_resync(std::move(a), e); });
    t->add("lint", "check every mapping against the connected systems' metadata (describe)",
           [this](json::object a, control::event_sink&) { return cmd_lint(std::move(a)); });
    t->add("profile", "profiles: args.action get|explain|split|restore|resync, query (e-mail, id, system:id), "
           "attribute, record, value",
           [this](json::object a, control::event_sink&) { return cmd_profile(std::move(a)); });
    t->add("dlq", "dead letters: args.action list|show|retry|drop, id, connector, stage",
           [this](json::object a, control::event_sink&) { return cmd_dlq(std::move(a)); });
    return t;
  }

  // ---- tasks -----------------------------------------------------------------------------------------------

  asio::awaitable<void> signal_loop() {
    for (;;) {
      auto [ec, sig] = co_await signals->async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      if (sig == SIGHUP) {
        reload("SIGHUP");
        continue;
      }
      logger("app")->info("received {}, stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      asio::co_spawn(ioc, shutdown(), [this](std::exception_ptr e) {
        if (e) exit = exit_failure;
        ioc.stop();
      });
      co_return;
    }
  }

  /// Cluster: the paused set is the cluster's (stored in the shared store), whichever instance was asked. Each
  /// instance reads it every second and pauses or resumes its own polls and writers to match, so a pause sent
  /// to any instance stops every instance's calls to that system within about a second.
  /// What makes `next` of this instance's paused set (under `mutex`): (connector, pause) for each that changes.
  std::vector<std::pair<std::string, bool>> paused_changes(const std::set<std::string>& next) const {
    std::vector<std::pair<std::string, bool>> out;
    for (const auto& n : next)
      if (!paused.count(n)) out.emplace_back(n, true);
    for (const auto& n : paused)
      if (!next.count(n)) out.emplace_back(n, false);
    return out;
  }

  asio::awaitable<void> follow_paused_loop() {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
      timer.expires_after(std::chrono::seconds(1));
      auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      std::uint64_t version;
      {
        std::lock_guard lock(mutex);
        if (pausing) continue;  // this instance is changing the set: its own write comes first
        version = paused_version;
      }
      auto saved = co_await db->meta_get(paused_meta_key);
      if (!saved) continue;  // the store is unreachable for now: keep the set as it is
      auto shared = *saved ? parse_paused(**saved) : std::set<std::string>();
      if (!shared) continue;
      std::vector<std::pair<std::string, bool>> changes;  // connector, pause
      {
        std::lock_guard lock(mutex);
        if (pausing || paused_version != version) continue;  // changed here meanwhile
        changes = paused_changes(*shared);
        if (changes.empty()) continue;
        paused = std::move(*shared);
      }
      for (const auto& [name, pause] : changes) {
        if (engine) pause ? (void)engine->pause(name) : (void)engine->resume(name);
        logger("app")->info("{} {} (the cluster's paused set, changed through another instance)",
                            pause ? "paused" : "resumed", name);
      }
      notifier.status(status_line());
    }
  }

  asio::awaitable<void> watchdog_loop(std::chrono::microseconds every) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
      notifier.watchdog();
      timer.expires_after(every);
      auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
    }
  }

  /// Reverse start order: control socket, tasks; the store closes after the io_context stopped.
  asio::awaitable<void> shutdown() {
    auto c = config();
    auto deadline = std::chrono::steady_clock::now() + c->daemon.shutdown_timeout;
    set_state("stopping");
    notifier.stopping();
    auto left = [&] {
      return std::max(std::chrono::milliseconds(1), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                        deadline - std::chrono::steady_clock::now()));
    };
    // The sync loops stop first (whatever they were doing is repeated after a restart: cursors move only with
    // the data they cover); the webhook listener stops accepting; the control server finishes the requests in
    // flight; then the remaining tasks are cancelled.
    sync_tasks.cancel();
    if (web) {
      web->set_ready(false);
      web->stop();
    }
    co_await sync_tasks.wait_all(left());
    if (control) control->stop();
    if (!co_await services.wait_all(left())) services.cancel();
    tasks.cancel();
    bool done = co_await tasks.wait_all(left());
    done = co_await services.wait_all(std::chrono::milliseconds(1)) && done;
    if (!done)
      logger("app")->warn("{} task(s) did not finish within daemon.shutdown_timeout ({} ms); stopping anyway",
                          tasks.size() + services.size(), c->daemon.shutdown_timeout.count());
  }

  /// Builds every enabled connector's adapter, the engine and the HTTP listener, and spawns their loops.
  bool start_sync(const config::daemon_config& c) {
    auto log = logger("sync");
    sync::engine_options eo;
    if (c.store.kind == config::store_kind::postgres) {
      // A shared store: other instances may run beside this one (see engine_options::cluster).
      eo.cluster = true;
      eo.instance = c.store.instance.empty() ? default_instance_name() : c.store.instance;
      eo.lease_ttl = c.store.lease_ttl;
      // Claims of inbox events and writes by an instance that dies return to the queue when they run out: in a
      // cluster they run out after four lease times (a minute with the default 15 s) rather than the single
      // instance's 1-2 minutes, so a crash delays that work about as long as it delays the pipeline. A write
      // that outlives its claim may be attempted twice; writes are idempotent (by key or id).
      eo.inbox_lease = std::max(std::chrono::milliseconds(5000), 4 * eo.lease_ttl);
      eo.write_lease = eo.inbox_lease;
      log->info("cluster: instance {} (pipeline lease {} ms)", eo.instance, eo.lease_ttl.count());
    }
    engine = std::make_unique<sync::engine>(ioc.get_executor(), *db, eo, &metrics);
    engine->set_profile_rules(profile_rules);
    engine->set_mappings(mappings);
    adapters::connector_context ctx;
    ctx.executor = ioc.get_executor();
    ctx.public_url = c.http.public_url;
    ctx.metrics = &metrics;
    for (const auto& cc : c.connectors) {
      if (!cc.enabled) continue;
      try {
        engine->add(adapters::make_connector(cc, ctx), cc);
      } catch (const std::exception& e) {
        log->critical("{}; not starting", e.what());
        return false;
      }
      std::lock_guard lock(mutex);
      if (paused.count(cc.name)) (void)engine->pause(cc.name);
    }
    http::listener_options lo;
    lo.listen = c.http.listen;
    lo.max_body = c.http.max_body;
    lo.header_timeout = c.http.header_timeout;
    lo.body_timeout = c.http.body_timeout;
    lo.max_connections = c.http.max_connections;
    web = std::make_unique<http::listener>(ioc.get_executor(), lo, *db, metrics);
    web->set_endpoints(engine->webhook_endpoints());
    web->on_stored([e = engine.get()](const std::string& connector) { e->webhook_stored(connector); });
    auto port = web->start();
    if (!port) {
      log->critical("cannot listen on {} for webhooks and metrics ({}); not starting", c.http.listen,
                    port.error().message());
      web.reset();
      return false;
    }
    auto host = c.http.listen.substr(0, c.http.listen.rfind(':'));
    log->info("http listening on {}:{} (webhooks, /healthz, /readyz, /metrics)", host, *port);
    {
      std::lock_guard lock(mutex);
      http_port = *port;
    }
    services.spawn("http listener", [this] { return web->run(); });
    if (engine->cluster().enabled) services.spawn("paused set", [this] { return follow_paused_loop(); });
    for (auto& [name, fn] : engine->tasks()) sync_tasks.spawn(name, fn);
    return true;
  }

  int run() {
    auto log = logger("app");
    auto c = config();
    apply_log_levels(c->daemon.log.level, c->daemon.log.components);

    // store
    store::options so;
    so.state_dir = c->daemon.state_dir;
    so.synchronous = to_store(c->store.synchronous);
    so.busy_timeout = c->store.busy_timeout;
    if (c->store.kind == config::store_kind::postgres) {
      so.kind = store::backend::postgres;
      if (c->store.dsn) so.dsn = c->store.dsn->reveal();  // never logged: the store logs host/dbname only
    }
    std::string why;
    auto opened = store::open_store(so, &why);
    if (!opened) {
      const std::string where = so.kind == store::backend::postgres ? std::string("the PostgreSQL store")
                                                                      : "the store in " + c->daemon.state_dir.string();
      log->critical("cannot open {}: {}", where, why.empty() ? opened.error().message() : why);
      return exit_failure;
    }
    db = std::move(*opened);
    // This process is the store's only user (SQLite): claims left by a previous process that died are void. A
    // PostgreSQL store may be shared by other instances: their claims run out by themselves (their leases).
    if (so.kind == store::backend::sqlite)
      if (auto released = store::wait(db->release_claims()); released && *released > 0)
        log->info("{} inbox event(s) and outbox write(s) claimed by the previous process are queued again", *released);
    {
      auto saved = store::wait(db->meta_get(paused_meta_key));
      if (saved && *saved)
        if (auto set = parse_paused(**saved)) paused = std::move(*set);
    }

    // control socket
    control::server_options co;
    co.socket_path = c->daemon.control_socket;
    co.group = c->daemon.control_group;
    co.idle_timeout = c->daemon.control_idle_timeout;
    co.max_line = c->daemon.control_max_line;
    co.stop_timeout = c->daemon.shutdown_timeout;
    control = std::make_unique<control::server>(ioc.get_executor(), co, commands());
    if (auto started = control->start(); !started) {
      log->critical("cannot start the control socket {} ({}); not starting", c->daemon.control_socket.string(),
                    started.error().message());
      control.reset();
      db.reset();
      return exit_failure;
    }
    log->info("control socket listening on {}", c->daemon.control_socket.string());
    services.spawn("control server", [this] { return control->run(); });

    // connectors, the sync engine and the webhook listener
    if (!start_sync(*c)) {
      control->stop();
      services.cancel();
      control.reset();
      db.reset();
      return exit_failure;
    }

    // Registered before READY=1 and the "running" line, so a signal sent right after either is handled.
    signals = std::make_unique<asio::signal_set>(ioc, SIGTERM, SIGINT, SIGHUP);
    tasks.spawn("signals", [this] { return signal_loop(); });
    if (auto every = notifier.watchdog_interval()) {
      log->info("watchdog on: keep-alive every {} ms", every->count() / 1000);
      tasks.spawn("watchdog", [this, e = *every] { return watchdog_loop(e); });
    }

    set_state("running");
    log->info("omnisyncd {} running: config {}, state {}, control socket {}, {} connector(s)", version_string,
              c->source_file.string(), c->daemon.state_dir.string(), c->daemon.control_socket.string(),
              c->connectors.size());
    notifier.ready(status_line());
    if (web) web->set_ready(true);

    std::vector<std::thread> workers;
    for (unsigned i = 1; i < std::max(1u, c->daemon.threads); ++i) workers.emplace_back([this] { ioc.run(); });
    ioc.run();
    for (auto& t : workers) t.join();
    web.reset();
    engine.reset();
    control.reset();
    std::error_code ignored;
    std::filesystem::remove(c->daemon.control_socket, ignored);  // ours: we listened on it until now
    signals.reset();
    db.reset();  // finishes queued store work, closes the databases
    log->info("stopped");
    return exit;
  }

};

application::application(app_options opts, loaded_config initial)
    : impl_(std::make_unique<impl>(std::move(opts), std::move(initial))) {}

application::~application() = default;

int application::run() { return impl_->run(); }

}  // namespace omnisync::app
