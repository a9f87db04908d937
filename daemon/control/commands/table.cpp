#include "daemon/control/commands/table.hpp"

#include <boost/asio/this_coro.hpp>

#include <chrono>
#include <stdexcept>

#include "core/time.hpp"
#include "daemon/control/catalogue.hpp"
#include "daemon/control/commands/groups.hpp"
#include "daemon/sync/engine.hpp"

namespace omnisync::control::commands {

std::shared_ptr<const command_table> build_command_table(const context& ctx) {
  auto t = std::make_shared<command_table>();
  add_status_commands(*t, ctx);
  add_reload_command(*t, ctx);
  add_sync_control_commands(*t, ctx);
  add_lint_command(*t, ctx);
  add_dlq_command(*t, ctx);
  add_profile_command(*t, ctx);
  add_writeback_commands(*t, ctx);
  add_test_command(*t, ctx);
  add_mapping_tools_commands(*t, ctx);
  add_runs_command(*t, ctx);
  add_report_command(*t, ctx);
  add_record_command(*t, ctx);
  add_segment_command(*t, ctx);
  for (const auto* spec : catalogue::all)
    if (t->spec(spec->name) != spec)
      throw std::logic_error("control command \"" + std::string(spec->name) + "\" is declared but has no handler");
  audit_write_commands(*t, ctx);
  return t;
}

std::string arg_text(const boost::json::object& args, const char* key) {
  const auto* v = args.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::string iso_text(store::timestamp t) { return t == store::timestamp{} ? std::string() : format_iso8601(t); }

boost::asio::awaitable<std::optional<reply>> standby_refusal(const context& ctx, std::string what) {
  if (!ctx.engine) co_return std::nullopt;
  const auto cl = ctx.engine->cluster();
  if (!cl.enabled || cl.leader) co_return std::nullopt;
  std::string holder;
  if (auto ls = co_await ctx.db->lease_list())
    for (const auto& l : *ls)
      if (l.key == sync::pipeline_lease && l.expires_at > std::chrono::system_clock::now()) holder = l.owner;
  std::string where = "no instance holds the pipeline lease right now (a take-over is under way); try again shortly";
  if (!holder.empty()) where = "the pipeline runs on instance \"" + holder + "\": send the command to that instance";
  co_return reply::failure("standby", "instance \"" + cl.instance + "\" stands by (webhooks and writes); " + what +
                                          " run with the pipeline — " + where);
}

}  // namespace omnisync::control::commands
