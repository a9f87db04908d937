#include "daemon/control/commands/table.hpp"

#include <boost/asio/this_coro.hpp>

#include <charconv>
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
  for (const auto* spec : catalogue::all)
    if (t->spec(spec->name) != spec)
      throw std::logic_error("control command \"" + std::string(spec->name) + "\" is declared but has no handler");
  return t;
}

std::string arg_text(const boost::json::object& args, const char* key) {
  const auto* v = args.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::string iso_text(store::timestamp t) { return t == store::timestamp{} ? std::string() : format_iso8601(t); }

/// `--since`: a duration back from now (90s, 30m, 2h, 7d) or an ISO 8601 time read by core/time (2026-11-01,
/// 2026-11-01T10:00:00Z, with an offset or a fraction); nullopt when it is neither.
std::optional<store::timestamp> parse_since(std::string_view s, store::timestamp now) {
  using std::chrono::milliseconds;
  long long n = 0;
  if (auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
      ec == std::errc{} && n >= 0 && end + 1 == s.data() + s.size()) {
    const long long unit_ms = *end == 's' ? 1000 : *end == 'm' ? 60'000 : *end == 'h' ? 3'600'000
                            : *end == 'd' ? 86'400'000 : 0;
    if (unit_ms > 0) return now - milliseconds(n * unit_ms);
  }
  return parse_iso8601(s);
}

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
