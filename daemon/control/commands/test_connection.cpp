// test: each connector's connection checked step by step (resolve, connect, TLS, authenticate, read one page of
// each object, webhook settings) with the cause in the vendor's words; daemon/sync/connection_check.hpp does it.
#include <boost/json.hpp>

#include "daemon/config/daemon_config.hpp"
#include "daemon/control/catalogue.hpp"
#include "daemon/control/commands/groups.hpp"
#include "daemon/sync/connection_check.hpp"

namespace asio = boost::asio;
namespace json = boost::json;

namespace omnisync::control::commands {
namespace {

asio::awaitable<reply> test(const context& ctx, json::object args, event_sink& events) {
  auto c = ctx.config();
  const std::string name = arg_text(args, "connector");
  std::vector<const config::connector_common*> targets;
  for (const auto& cc : c->connectors)
    if (name.empty() ? cc.enabled : cc.name == name) targets.push_back(&cc);
  if (!name.empty() && targets.empty())
    co_return reply::failure("unknown_connector", "no connector named \"" + name + "\" is configured");
  sync::check_options opts;
  opts.public_url = c->http.public_url;
  if (auto* t = args.if_contains("timeout_ms"); t && t->is_int64() && t->as_int64() > 0)
    opts.timeout = std::chrono::milliseconds(t->as_int64());
  ctx.logger("control")->info("testing the connection of {} connector(s)", targets.size());
  json::array reports;
  bool all_ok = true;
  for (const auto* cc : targets) {
    auto r = co_await sync::check_connection(*cc, opts);
    all_ok = all_ok && r.ok();
    if (!r.ok())
      for (const auto& s : r.steps)
        if (!s.ok && !s.skipped) ctx.logger("control")->warn("{}: connection test: {} failed: {}", r.connector, s.name, s.detail);
    auto j = sync::to_json(r);
    // One event per connector as it finishes: the caller shows it at once, and a long test never looks idle.
    // (Built before the co_await: GCC 12 cannot keep a braced list with string literals across one.)
    json::object event;
    event["connector_report"] = j;
    (void)co_await events.emit(std::move(event));
    reports.push_back(std::move(j));
  }
  co_return reply::success(json::object{{"ok", all_ok}, {"connectors", std::move(reports)}});
}

}  // namespace

void add_test_command(command_table& table, const context& ctx) {
  table.add(catalogue::test, [&ctx](json::object args, event_sink& events) { return test(ctx, std::move(args), events); });
}

}  // namespace omnisync::control::commands
