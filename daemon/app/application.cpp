#include "daemon/app/application.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <mutex>
#include <thread>

#include <unistd.h>

#include "daemon/app/logging.hpp"
#include "daemon/app/notify.hpp"
#include "daemon/app/reload_diff.hpp"
#include "daemon/app/store_setup.hpp"
#include "daemon/app/task_group.hpp"
#include "adapters/connector.hpp"
#include "core/async.hpp"
#include "core/metrics.hpp"
#include "core/time.hpp"
#include "core/version.hpp"
#include "daemon/control/commands/context.hpp"
#include "daemon/control/commands/paused_set.hpp"
#include "daemon/control/commands/table.hpp"
#include "daemon/console/server.hpp"
#include "daemon/console/service.hpp"
#include "daemon/control/server.hpp"
#include "daemon/http/listener.hpp"
#include "daemon/store/blocking.hpp"
#include "daemon/store/store.hpp"
#include "daemon/sync/engine.hpp"
#include "daemon/sync/failpoint.hpp"

namespace asio = boost::asio;
namespace commands = omnisync::control::commands;

namespace omnisync::app {
namespace {

/// host:pid — unique among the instances sharing a store unless two run on one host with one pid namespace.
std::string default_instance_name() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "omnisyncd");
  return std::string(host) + ":" + std::to_string(::getpid());
}

std::string utc_now_text() { return format_iso8601(utc_now()); }

/// A daemon task behind the test-only failpoint `task_throw` (daemon/sync/failpoint.hpp; off in production).
std::function<asio::awaitable<void>()> failpoint(std::string name, std::function<asio::awaitable<void>()> task) {
  return sync::detail::with_task_failpoint(std::move(name), std::move(task));
}

}  // namespace

struct application::impl {
  impl(app_options o, loaded_config initial)
      : opts(std::move(o)), cfg(std::move(initial.config)), ioc(static_cast<int>(std::max(1u, cfg->daemon.threads))),
        // Each task's failure policy is given where it is spawned (task_group.hpp); the handler only carries it
        // out: a service or the signal/watchdog loop that dies stops the daemon (exit 1: systemd restarts it
        // whole, not half-dead), a one-off operation fails alone, a loop the group restarts is logged.
        services(ioc.get_executor(), [this](auto& t, auto p, auto& what) { on_task_failure(t, p, what); }),
        tasks(ioc.get_executor(), [this](auto& t, auto p, auto& what) { on_task_failure(t, p, what); }),
        sync_tasks(ioc.get_executor(), [this](auto& t, auto p, auto& what) { on_task_failure(t, p, what); }),
        mappings(std::move(initial.mappings)),
        profile_rules(std::move(initial.profiles)),
        segment_set(std::move(initial.segments)) {
    set_secrets(initial.secret_values);
    secret_values = initial.secret_values;
    mapping_files = snapshot_mappings(mappings);
  }

  app_options opts;
  mutable std::mutex mutex;                            // guards cfg
  std::shared_ptr<const config::daemon_config> cfg;
  commands::daemon_state state;                        // phase, last reload, HTTP port (what status reports)

  asio::io_context ioc;
  turnstile reload_turn{ioc.get_executor()};           // one reload at a time
  mapping_snapshot mapping_files;                      // the mapping files in effect (a reload compares with them)
  std::unique_ptr<store::store> db;
  std::unique_ptr<commands::paused_set> paused;        // the connectors an operator paused (kept in the store)
  commands::context command_context;                   // what the control commands may use (engine set later)
  std::unique_ptr<control::server> control;
  std::unique_ptr<asio::signal_set> signals;
  task_group services;                                 // the control server, the HTTP listener, the paused set
  task_group tasks;                                    // signals, watchdog
  task_group sync_tasks;                               // the sync engine's loops (cancelled first on shutdown)
  std::vector<std::shared_ptr<const mapping::plan>> mappings;
  std::shared_ptr<const profile::settings> profile_rules;   // identity, survivorship, KPIs
  std::shared_ptr<const segments::segment_set> segment_set;  // the compiled `segments:`
  metrics::registry metrics;
  std::unique_ptr<sync::engine> engine;
  std::unique_ptr<http::listener> web;
  std::unique_ptr<console::server> web_console;        // console: the web console and its JSON API (off: null)
  std::shared_ptr<console::service> console_service;   // what web_console serves (its secrets follow reloads)
  std::vector<std::string> secret_values;              // every secret the config read: no console answer holds one
  systemd_notifier notifier;
  int exit = exit_ok;
  std::atomic<bool> failed_stop{false};                // fail_stop ran

  std::shared_ptr<const config::daemon_config> config() const {
    std::lock_guard lock(mutex);
    return cfg;
  }

  void on_task_failure(const std::string& task, failure_policy policy, const std::string& what) {
    if (policy == failure_policy::stop_daemon) return fail_stop("task " + task, what);
    logger("app")->error("task {} ended with an exception: {}{}", task, what,
                         policy == failure_policy::restart ? "; restarting it" : "");
  }

  /// A task the daemon cannot run without died: say so, and stop with exit 1 (once; not while stopping anyway).
  void fail_stop(const std::string& task, const std::string& what) {
    if (failed_stop.exchange(true)) return;
    if (state.phase() == "stopping") {
      logger("app")->error("{} ended with an exception while stopping: {}", task, what);
      exit = exit_failure;
      return;
    }
    logger("app")->critical("{} ended with an exception: {}; stopping the daemon (exit {}) so that it is restarted "
                            "whole rather than run without it",
                            task, what, exit_failure);
    exit = exit_failure;
    asio::co_spawn(ioc, shutdown(), [this](std::exception_ptr) { ioc.stop(); });
  }

  std::string status_line() const {
    auto c = config();
    return state.phase() + "; " + std::to_string(c->connectors.size()) + " connector(s), " +
           std::to_string(paused ? paused->size() : 0) + " paused";
  }

  // ---- reload ----------------------------------------------------------------------------------------------

  /// Runs `make()` among the sync engine's tasks (the adapters are used from there only) and waits for its
  /// result; nullopt when the task was cancelled (shutdown) or threw.
  template <class T>
  asio::awaitable<std::optional<T>> on_sync_tasks(std::string name, std::function<asio::awaitable<T>()> make) {
    struct shared {
      std::atomic<bool> done{false};
      std::optional<T> value;
    };
    auto st = std::make_shared<shared>();
    // (a plain lambda returning the coroutine: a lambda that is itself a coroutine would lose its captures)
    auto run = [](std::function<asio::awaitable<T>()> f, std::shared_ptr<shared> out) -> asio::awaitable<void> {
      struct mark {
        shared* s;
        ~mark() { s->done = true; }  // also when cancelled or thrown
      } m{out.get()};
      out->value = co_await f();
    };
    sync_tasks.spawn(std::move(name), failure_policy::fail_operation, [run, make, st] { return run(make, st); });
    asio::steady_timer timer(co_await asio::this_coro::executor);
    while (!st->done.load()) {
      timer.expires_after(std::chrono::milliseconds(20));
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    co_return std::move(st->value);
  }

  /// Loads the config file again; lints the mapping files it adds or changes against the vendors' metadata
  /// (refused on errors unless forced); applies it atomically or keeps the old one; then re-checks the
  /// destinations whose outbound mappings changed. SIGHUP and the `reload` command; one at a time.
  asio::awaitable<commands::reload_result> reload(commands::reload_request req) {
    auto turn = co_await reload_turn.acquire();
    auto log = logger("app");
    commands::reload_result result;
    if (!state.begin_reload()) {
      result.what = commands::reload_result::outcome::stopping;
      co_return result;
    }
    notifier.reloading();
    log->info("reloading {} ({}{})", opts.config_file.string(), req.trigger, req.force ? ", forced" : "");
    const auto reload_started =
        std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
    auto loaded = load_daemon_config(opts.config_file, opts.overrides);
    log->debug("read {}: {} problem(s), {} secret value(s) registered for redaction", opts.config_file.string(),
               loaded.problems.size(), loaded.secret_values.size());
    // (members assigned one by one: GCC 12 destroys temporaries of a braced initializer twice in a coroutine)
    commands::reload_record record;
    record.at = utc_now_text();
    record.trigger = req.trigger;
    if (!loaded.ok()) {
      for (const auto& d : loaded.problems.items()) record.diagnostics.push_back(d.format());
      log->error("reload rejected, {} problem(s); the previous configuration stays in effect:", loaded.problems.size());
      for (const auto& d : loaded.problems.items()) log->error("  {}", d.format());
      std::string text = loaded.problems.format();
      while (!text.empty() && text.back() == '\n') text.pop_back();
      result.what = commands::reload_result::outcome::rejected;
      result.problems = std::move(text);
      co_return finish_reload(std::move(result), std::move(record), reload_started);
    }
    auto old = config();
    const auto& next = *loaded.config;
    auto next_mappings = snapshot_mappings(loaded.mappings);
    result.mappings = diff_mappings(mapping_files, next_mappings);

    // The added and changed mapping files, checked as `lint` checks them, against the metadata kept.
    std::vector<std::shared_ptr<const mapping::plan>> touched;
    for (const auto& p : loaded.mappings)
      for (const auto& m : result.mappings)
        if (m.file == p->file() && m.change != "removed") touched.push_back(p);
    std::size_t lint_errors = 0;
    if (engine && !touched.empty()) {
      // (the task and its name as locals: GCC 12 destroys some temporaries of a co_await expression twice)
      std::function<asio::awaitable<std::vector<sync::lint_finding>>()> job = [e = engine.get(), touched] {
        return e->lint_plans(touched);
      };
      std::string name = "reload lint";
      auto found = co_await on_sync_tasks<std::vector<sync::lint_finding>>(std::move(name), std::move(job));
      if (!found) {  // the sync tasks were cancelled: the daemon is stopping
        result.what = commands::reload_result::outcome::rejected;
        result.problems = "the changed mappings could not be checked: the daemon is stopping";
        co_return finish_reload(std::move(result), std::move(record), reload_started);
      }
      result.lint = std::move(*found);
      lint_errors = count_lint_errors(result);
    }
    if (lint_errors > 0 && !req.force) {
      refuse_for_lint(result, record, lint_errors);
      co_return finish_reload(std::move(result), std::move(record), reload_started);
    }
    if (lint_errors > 0) {
      result.forced = true;
      log->warn("reload forced despite {} lint error(s) in the changed mappings", lint_errors);
    }

    if (!reload_console_tls(web_console.get(), next.console, result, record))  // refused: the old pair stays
      co_return finish_reload(std::move(result), std::move(record), reload_started);
    for (auto& w : restart_warnings(*old, next)) result.warnings.push_back(std::move(w));
    set_secrets(loaded.secret_values);
    // Kept with the earlier ones: a rotated-out secret may still sit in stored payloads the console shows.
    for (const auto& v : loaded.secret_values)
      if (std::find(secret_values.begin(), secret_values.end(), v) == secret_values.end()) secret_values.push_back(v);
    if (console_service) console_service->set_secrets(secret_values);
    apply_log_levels(next.daemon.log.level, next.daemon.log.components);
    {
      std::lock_guard lock(mutex);
      cfg = loaded.config;
    }
    mapping_files = std::move(next_mappings);
    const std::uint64_t generation = engine ? engine->book_generation() : 0;
    if (engine) {
      engine->set_profile_rules(loaded.profiles);
      engine->set_segments(loaded.segments);
      engine->set_mappings(loaded.mappings);
      engine->set_write_policies(next.connectors);
      if (loaded.segments) engine->set_membership_policies(sync::policies_of(*loaded.segments));
    }
    for (const auto& w : result.warnings) log->warn("reload: {}", w);
    for (const auto& m : result.mappings)
      log->info("reload: mapping {} {} ({}/{} {}bound)", m.file, m.change, m.kind, m.object, m.direction);
    log->info("configuration reloaded: {} connector(s)", next.connectors.size());
    result.what = commands::reload_result::outcome::applied;
    result.config_file = next.source_file.string();
    result.connectors = next.connectors.size();
    record.ok = true;

    // What a changed outbound mapping re-writes: every destination record re-checked once, the differing queued.
    std::vector<std::pair<std::string, std::string>> targets;
    for (const auto& m : result.mappings)
      if (m.direction == "out" && m.change != "removed" &&
          std::find(targets.begin(), targets.end(), std::make_pair(m.kind, m.object)) == targets.end())
        targets.emplace_back(m.kind, m.object);
    if (engine && !targets.empty()) {
      const auto wait = next.daemon.control_idle_timeout / 2;
      using counts = omnisync::result<std::vector<sync::recheck_count>>;
      std::function<asio::awaitable<counts>()> job = [e = engine.get(), targets, generation, wait] {
        return e->recheck(targets, generation, wait);
      };
      std::string name = "reload re-check";
      auto rc = co_await on_sync_tasks<counts>(std::move(name), std::move(job));
      note_recheck(result, rc);
    }
    co_return finish_reload(std::move(result), std::move(record), reload_started);
  }

  commands::reload_result finish_reload(commands::reload_result result, commands::reload_record record,
                                        store::timestamp started) {
    state.end_reload(std::move(record));
    notifier.reloaded(status_line() +
                      (result.what == commands::reload_result::outcome::applied ? "" : "; last reload rejected"));
    record_reload_run(started, result);  // after status shows the reload: the history is a record of it
    return result;
  }

  /// A reload is a run in the run history (`omnisyncctl runs --kind reload`): ok, or failed with its problems.
  /// Written through a private io_context (store::wait): the store's threads do the work, so this may run on an
  /// io thread; a failure to record is logged, never fatal.
  void record_reload_run(store::timestamp started, const commands::reload_result& result) {
    if (!db) return;
    store::run_record run("reload", "", "");
    run.started_at = started;
    auto id = store::wait(db->run_begin(std::move(run)));
    const bool ok = result.what == commands::reload_result::outcome::applied;
    if (id) {
      auto done = store::wait(db->run_finish(*id, ok ? "ok" : "failed", ok ? std::string() : result.problems));
      if (done) return;
    }
    logger("app")->warn("the run history could not record this reload");
  }

  /// What the control commands may use, instead of this whole object (the engine is added by start_sync).
  void fill_command_context() {
    auto& ctx = command_context;
    ctx.config = [this] { return config(); };
    ctx.logger = [](const std::string& component) { return logger(component); };
    ctx.db = db.get();
    ctx.state = &state;
    ctx.paused = paused.get();
    ctx.reload = [this](commands::reload_request req) { return reload(std::move(req)); };
    ctx.spawn_sync_task = [this](std::string name, std::function<asio::awaitable<void>()> task) {
      sync_tasks.spawn(std::move(name), failure_policy::fail_operation, std::move(task));
    };
    ctx.status_changed = [this] { notifier.status(status_line()); };
  }

  asio::awaitable<void> reload_on_signal() {
    commands::reload_request req;
    req.trigger = "SIGHUP";
    (void)co_await reload(std::move(req));
  }

  // ---- tasks -----------------------------------------------------------------------------------------------

  asio::awaitable<void> signal_loop() {
    for (;;) {
      auto [ec, sig] = co_await signals->async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      if (sig == SIGHUP) {
        tasks.spawn("reload", failure_policy::fail_operation, [this] { return reload_on_signal(); });
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
    state.set_phase("stopping");
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
    if (web_console) web_console->stop();
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
    eo.audit_retention = c.audit.retention;
    eo.audit_max_entries = c.audit.max_entries;
    eo.runs_retention = c.runs.retention;
    eo.history_retention = c.history.retention;
    eo.history_max_rows = c.history.max_rows;
    eo.inbox_dedupe_retention = c.http.dedupe_retention;
    eo.dead_letter_retries = c.dead_letters.retries;
    eo.dead_letter_backoff = c.dead_letters.retry_backoff;
    eo.dead_letter_keep_resolved = c.dead_letters.keep_resolved;
    engine = std::make_unique<sync::engine>(ioc.get_executor(), *db, eo, &metrics);
    command_context.engine = engine.get();  // before the io_context runs: no command has run yet
    engine->set_profile_rules(profile_rules);
    engine->set_segments(segment_set);
    engine->set_mappings(mappings);
    if (segment_set) engine->set_membership_policies(sync::policies_of(*segment_set));
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
      if (paused->contains(cc.name)) (void)engine->pause(cc.name);
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
    web->set_readiness_check([e = engine.get()] { return sync::readiness_problem(e->health()); });
    auto port = web->start();
    if (!port) {
      log->critical("cannot listen on {} for webhooks and metrics ({}); not starting", c.http.listen,
                    port.error().message());
      web.reset();
      return false;
    }
    auto host = c.http.listen.substr(0, c.http.listen.rfind(':'));
    log->info("http listening on {}:{} (webhooks, /healthz, /readyz, /metrics)", host, *port);
    state.set_http_port(*port);
    services.spawn("http listener", failure_policy::stop_daemon,
                   failpoint("http listener", [this] { return web->run(); }));
    // The paused set's follower loops until cancelled: it stops with the sync loops (as a service it was waited
    // for until the shutdown timeout ran out, so an idle cluster instance took 20 s to stop), and is supervised
    // as they are: an exception restarts it with backoff, counted and logged, instead of leaving the instance
    // deaf to pauses made through the others.
    if (engine->cluster().enabled)
      sync_tasks.spawn("paused set", failure_policy::restart,
                       engine->supervised("paused set", failpoint("paused set", [this] {
                         return paused->follow(*engine, logger("app"), [this] { notifier.status(status_line()); });
                       })));
    for (auto& [name, fn] : engine->tasks()) sync_tasks.spawn(name, failure_policy::restart, fn);
    return true;
  }

  /// The web console (daemon/console/): its listener serves the same command table as the control socket.
  bool start_console(const config::console_section& cc, std::shared_ptr<const control::command_table> table) {
    auto auth = std::make_shared<console::authenticator>(cc.token ? cc.token->reveal() : std::string(),
                                                         cc.write_token ? cc.write_token->reveal() : std::string(),
                                                         cc.session_lifetime);
    console::server_options o{cc.listen, cc.tls_cert, cc.tls_key, cc.max_connections, 64 * 1024,
                              cc.header_timeout, cc.body_timeout, cc.idle_timeout, cc.trusted_proxy};
    console_service = std::make_shared<console::service>(std::move(table), auth, secret_values);
    web_console = std::make_unique<console::server>(ioc.get_executor(), o, console_service);
    auto port = web_console->start();
    if (!port) {
      logger("app")->critical("cannot start the console on {}; not starting", cc.listen);
      web_console.reset();
      return false;
    }
    logger("app")->info("console listening on {}://{}:{}", cc.tls_cert.empty() ? "http" : "https",
                        cc.listen.substr(0, cc.listen.rfind(':')), *port);
    state.set_console_port(*port);
    services.spawn("console", failure_policy::stop_daemon,
                   failpoint("console", [this] { return web_console->run(); }));
    return true;
  }

  int run() {
    auto log = logger("app");
    auto c = config();
    apply_log_levels(c->daemon.log.level, c->daemon.log.components);

    // store
    const store::options so = store_options_for(*c, opts.init_store);
    std::string why;
    auto opened = store::open_store(so, &why);
    if (!opened) {
      const std::string where = so.kind == store::backend::postgres ? std::string("the PostgreSQL store")
                                                                      : "the store in " + c->daemon.state_dir.string();
      const std::string text = why.empty() ? opened.error().message() : why;
      log->critical("cannot open {}: {}{}", where, text, text.ends_with("not starting.") ? "" : "; not starting");
      return exit_failure;
    }
    db = std::move(*opened);
    // This process is the store's only user (SQLite): claims left by a previous process that died are void. A
    // PostgreSQL store may be shared by other instances: their claims run out by themselves (their leases).
    // Each start-up step that fails stops the start (exit 1 before READY=1, so systemd sees the failure):
    // running on would leave claimed work stuck, or run connectors an operator paused.
    if (so.kind == store::backend::sqlite) {
      auto released = store::wait(db->release_claims());
      if (!released) {
        log->critical("cannot requeue the work claimed by the previous process in {} ({}); not starting",
                      c->daemon.state_dir.string(), released.error().message());
        db.reset();
        return exit_failure;
      }
      if (*released > 0)
        log->info("{} inbox event(s) and outbox write(s) claimed by the previous process are queued again", *released);
    }
    paused = std::make_unique<commands::paused_set>(*db);
    if (auto loaded = paused->load(); !loaded) {
      log->critical("cannot read the paused connectors from the store ({}); not starting", loaded.error().message());
      paused.reset();
      db.reset();
      return exit_failure;
    }

    // control socket
    control::server_options co;
    co.socket_path = c->daemon.control_socket;
    co.group = c->daemon.control_group;
    co.idle_timeout = c->daemon.control_idle_timeout;
    co.max_line = c->daemon.control_max_line;
    co.stop_timeout = c->daemon.shutdown_timeout;
    fill_command_context();
    auto command_table = commands::build_command_table(command_context);  // one table, two doors (socket, console)
    control = std::make_unique<control::server>(ioc.get_executor(), co, command_table);
    if (auto started = control->start(); !started) {
      log->critical("cannot start the control socket {} ({}); not starting", c->daemon.control_socket.string(),
                    started.error().message());
      control.reset();
      paused.reset();
      db.reset();
      return exit_failure;
    }
    log->info("control socket listening on {}", c->daemon.control_socket.string());
    services.spawn("control server", failure_policy::stop_daemon,
                   failpoint("control server", [this] { return control->run(); }));

    // connectors, the sync engine and the webhook listener
    if (!start_sync(*c)) {
      control->stop();
      services.cancel();
      control.reset();
      paused.reset();
      db.reset();
      return exit_failure;
    }

    if (c->console.enabled && !start_console(c->console, command_table)) {
      control->stop();
      services.cancel();
      return exit_failure;  // the members are released in the destructor's order
    }

    // Registered before READY=1 and the "running" line, so a signal sent right after either is handled.
    signals = std::make_unique<asio::signal_set>(ioc, SIGTERM, SIGINT, SIGHUP);
    tasks.spawn("signals", failure_policy::stop_daemon, failpoint("signals", [this] { return signal_loop(); }));
    if (auto every = notifier.watchdog_interval()) {
      log->info("watchdog on: keep-alive every {} ms", every->count() / 1000);
      tasks.spawn("watchdog", failure_policy::stop_daemon,
                  failpoint("watchdog", [this, e = *every] { return watchdog_loop(e); }));
    }

    state.set_phase("running");
    // How many connectors will sync, not only how many are written down (a disabled one reads nothing).
    const auto enabled = std::count_if(c->connectors.begin(), c->connectors.end(), [](const auto& cc) { return cc.enabled; });
    log->info("omnisyncd {} running: config {}, state {}, control socket {}, {} of {} connector(s) enabled",
              version_string, c->source_file.string(), c->daemon.state_dir.string(),
              c->daemon.control_socket.string(), enabled, c->connectors.size());
    notifier.ready(status_line());
    if (web) web->set_ready(true);

    std::vector<std::thread> workers;
    for (unsigned i = 1; i < std::max(1u, c->daemon.threads); ++i) workers.emplace_back([this] { ioc.run(); });
    ioc.run();
    for (auto& t : workers) t.join();
    web.reset();
    web_console.reset();
    command_context.engine = nullptr;
    engine.reset();
    control.reset();
    std::error_code ignored;
    std::filesystem::remove(c->daemon.control_socket, ignored);  // ours: we listened on it until now
    signals.reset();
    paused.reset();
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
