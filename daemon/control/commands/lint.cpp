// lint: every mapping checked against the connected systems' metadata (describe) — the running ones, or a
// candidate configuration's (`config`) or candidate mapping files (`mapping`) before they are loaded.
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "daemon/config/loader.hpp"
#include "daemon/control/catalogue.hpp"
#include "daemon/control/commands/groups.hpp"
#include "daemon/sync/engine.hpp"
#include "mapping/mapping.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace omnisync::control::commands {
namespace {

using plan_list = std::vector<std::shared_ptr<const mapping::plan>>;

json::object findings_json(const std::vector<sync::lint_finding>& findings) {
  json::array items;
  std::int64_t errors = 0;
  for (const auto& f : findings) {
    if (f.severity == "error") ++errors;
    items.push_back(json::object{{"severity", f.severity}, {"connector", f.connector}, {"object", f.object},
                                 {"file", f.file},         {"line", f.line},           {"field", f.field},
                                 {"message", f.message}});
  }
  return json::object{{"findings", std::move(items)}, {"errors", errors}};
}

/// A problem found while reading a candidate file, as a finding (errors: the file cannot be loaded as it is).
void add_problems(const config::diagnostics& d, std::vector<sync::lint_finding>& out) {
  for (const auto& p : d.items()) {
    sync::lint_finding f;
    f.severity = "error";
    f.file = p.where.file;
    f.line = p.where.line;
    f.field = p.path;
    f.message = p.message;
    out.push_back(std::move(f));
  }
}

/// The engine checks the mappings on the sync loops' strand (adapters are used from there only), as one of the
/// sync tasks the application awaits at shutdown; this handler waits for it. `plans`: candidate mappings,
/// checked against the metadata the engine keeps; nullopt: the running ones, against metadata read anew.
asio::awaitable<reply> lint(const context& ctx, json::object args) {
  if (!ctx.engine) co_return reply::failure("unavailable", "the sync engine is not running");
  std::vector<sync::lint_finding> found;  // problems reading the candidate files
  std::optional<plan_list> plans;
  if (const auto* c = args.if_contains("config"); c && c->is_string()) {
    const fs::path file(std::string(c->as_string()));
    if (!file.is_absolute())
      co_return reply::failure("invalid_args", "config: give an absolute path (the daemon reads the file)");
    auto loaded = config::load_daemon_config(file, {});
    add_problems(loaded.problems, found);
    plans = std::move(loaded.mappings);
  } else if (const auto* m = args.if_contains("mapping"); m && m->is_array()) {
    const auto running = ctx.config();
    plans.emplace();
    for (const auto& v : m->as_array()) {
      if (!v.is_string()) continue;
      const fs::path file(std::string(v.as_string()));
      if (!file.is_absolute())
        co_return reply::failure("invalid_args", "mapping: give absolute paths (the daemon reads the files)");
      config::diagnostics d;
      if (auto p = mapping::load_mapping_file(file, running->canonical, d)) plans->push_back(std::move(p));
      add_problems(d, found);
    }
  }
  struct shared {
    std::atomic<bool> done{false};
    std::vector<sync::lint_finding> findings;
  };
  auto st = std::make_shared<shared>();
  // (a plain lambda returning the coroutine: a lambda that is itself a coroutine would lose its captures)
  auto run_lint = [](sync::engine* e, std::optional<plan_list> ps, std::shared_ptr<shared> out) -> asio::awaitable<void> {
    // (if/else: GCC 12 miscompiles co_await inside a conditional expression)
    if (ps) out->findings = co_await e->lint_plans(std::move(*ps));
    else out->findings = co_await e->lint();
    out->done = true;
  };
  ctx.spawn_sync_task("lint", [run_lint, e = ctx.engine, plans, st] { return run_lint(e, plans, st); });
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!st->done.load()) {
    timer.expires_after(std::chrono::milliseconds(50));
    co_await timer.async_wait(asio::use_awaitable);
  }
  for (auto& f : st->findings) found.push_back(std::move(f));
  co_return reply::success(findings_json(found));
}

}  // namespace

void add_lint_command(command_table& table, const context& ctx) {
  table.add(catalogue::lint, [&ctx](json::object args, event_sink&) { return lint(ctx, std::move(args)); });
}

}  // namespace omnisync::control::commands
