#include "daemon/app/application.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <csignal>
#include <ctime>
#include <mutex>
#include <set>
#include <thread>

#include "daemon/app/logging.hpp"
#include "daemon/app/notify.hpp"
#include "daemon/app/task_group.hpp"
#include "daemon/control/server.hpp"
#include "daemon/core/version.hpp"
#include "daemon/store/blocking.hpp"
#include "daemon/store/store.hpp"

namespace asio = boost::asio;
namespace json = boost::json;

namespace omnisync::app {
namespace {

constexpr const char* paused_meta_key = "app.paused_connectors";

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
        started(std::chrono::steady_clock::now()) {
    set_secrets(initial.secret_values);
  }

  app_options opts;
  mutable std::mutex mutex;                            // guards cfg, paused, last_reload, state
  std::shared_ptr<const config::daemon_config> cfg;
  std::set<std::string> paused;
  json::value last_reload = nullptr;
  std::string state = "starting";
  std::mutex reload_mutex;                             // one reload at a time

  asio::io_context ioc;
  std::unique_ptr<store::store> db;
  std::unique_ptr<control::server> control;
  std::unique_ptr<asio::signal_set> signals;
  task_group services;                                 // the control server (later: http, sync)
  task_group tasks;                                    // signals, watchdog
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
    st["connectors"] = std::move(conns);
    json::object s{{"kind", db->kind()}, {"schema_version", db->schema_version()},
                   {"state_dir", c->daemon.state_dir.string()}};
    auto counts = co_await db->get_counts();
    if (counts) {
      const auto& k = *counts;
      // Counts and file sizes side by side in one flat object (what omnisyncctl renders).
      json::object records;
      for (const auto& [n, v] : k.records_per_connector) records[n] = v;
      s["inbox_depth"] = k.inbox_depth;
      s["outbox_depth"] = k.outbox_depth;
      s["dead_letters"] = k.dead_letters;
      s["records"] = std::move(records);
      s["state_db_bytes"] = k.state_db_bytes;
      s["inbox_db_bytes"] = k.inbox_db_bytes;
    } else {
      s["error"] = counts.error().message();
    }
    st["store"] = std::move(s);
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
    json::array list;
    std::string stored;
    {
      std::lock_guard lock(mutex);
      for (const auto& t : targets) pause ? (void)paused.insert(t) : (void)paused.erase(t);
      for (const auto& n : paused) list.push_back(json::value(n));
      stored = json::serialize(list);
    }
    auto saved = co_await db->meta_set(paused_meta_key, stored);
    if (!saved) co_return control::reply::failure("store", "could not persist the paused set: " + saved.error().message());
    logger("app")->info("{} {}", pause ? "paused" : "resumed", targets.empty() ? std::string("(no connectors)") : [&] {
      std::string s;
      for (const auto& t : targets) s += (s.empty() ? "" : ", ") + t;
      return s;
    }());
    notifier.status(status_line());
    co_return control::reply::success(json::object{{"paused", std::move(list)}});
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
    // The control server finishes the requests in flight; then the remaining tasks are cancelled.
    if (control) control->stop();
    if (!co_await services.wait_all(left())) services.cancel();
    tasks.cancel();
    bool done = co_await tasks.wait_all(left());
    done = co_await services.wait_all(std::chrono::milliseconds(1)) && done;
    if (!done)
      logger("app")->warn("{} task(s) did not finish within daemon.shutdown_timeout ({} ms); stopping anyway",
                          tasks.size() + services.size(), c->daemon.shutdown_timeout.count());
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
    std::string why;
    auto opened = store::open_store(so, &why);
    if (!opened) {
      log->critical("cannot open the store in {}: {}", c->daemon.state_dir.string(),
                    why.empty() ? opened.error().message() : why);
      return exit_failure;
    }
    db = std::move(*opened);
    {
      auto saved = store::wait(db->meta_get(paused_meta_key));
      if (saved && *saved) {
        json::error_code ec;
        auto v = json::parse(**saved, ec);
        if (!ec && v.is_array())
          for (const auto& n : v.as_array())
            if (n.is_string()) paused.insert(std::string(n.as_string()));
      }
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

    std::vector<std::thread> workers;
    for (unsigned i = 1; i < std::max(1u, c->daemon.threads); ++i) workers.emplace_back([this] { ioc.run(); });
    ioc.run();
    for (auto& t : workers) t.join();
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
