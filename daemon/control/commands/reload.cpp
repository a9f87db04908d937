// reload: the application loads the configuration file again (as on SIGHUP); this renders what it did.
#include <boost/json.hpp>

#include "daemon/control/catalogue.hpp"
#include "daemon/control/commands/groups.hpp"

namespace asio = boost::asio;
namespace json = boost::json;

namespace omnisync::control::commands {
namespace {

reply reload_reply(const reload_result& r) {
  switch (r.what) {
    case reload_result::outcome::applied:
      return reply::success(
          json::object{{"reloaded", true}, {"config_file", r.config_file}, {"connectors", r.connectors}});
    case reload_result::outcome::stopping:
      return reply::failure("stopping", "the daemon is stopping; not reloading");
    case reload_result::outcome::rejected:
      break;
  }
  return reply::failure("config_invalid", "configuration rejected, previous one kept:\n" + r.problems);
}

asio::awaitable<reply> reload(const context& ctx) { co_return reload_reply(ctx.reload("control command")); }

}  // namespace

void add_reload_command(command_table& table, const context& ctx) {
  table.add(catalogue::reload, [&ctx](json::object, event_sink&) { return reload(ctx); });
}

}  // namespace omnisync::control::commands
