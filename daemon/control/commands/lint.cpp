// lint: every mapping checked against the connected systems' metadata (describe).
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <memory>
#include <vector>

#include "daemon/control/catalogue.hpp"
#include "daemon/control/commands/groups.hpp"
#include "daemon/sync/engine.hpp"

namespace asio = boost::asio;
namespace json = boost::json;

namespace omnisync::control::commands {
namespace {

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

/// The engine checks the mappings on the sync loops' strand (adapters are used from there only), as one of the
/// sync tasks the application awaits at shutdown; this handler waits for it.
asio::awaitable<reply> lint(const context& ctx) {
  if (!ctx.engine) co_return reply::failure("unavailable", "the sync engine is not running");
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
  ctx.spawn_sync_task("lint", [run_lint, e = ctx.engine, st] { return run_lint(e, st); });
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!st->done.load()) {
    timer.expires_after(std::chrono::milliseconds(50));
    co_await timer.async_wait(asio::use_awaitable);
  }
  co_return reply::success(findings_json(st->findings));
}

}  // namespace

void add_lint_command(command_table& table, const context& ctx) {
  table.add(catalogue::lint, [&ctx](json::object, event_sink&) { return lint(ctx); });
}

}  // namespace omnisync::control::commands
