// report: the analytics reports over the history (daemon/analytics): funnel, retention, satisfaction, value,
// segment_size, computed from the engine's in-memory index of the history (no database read).
#include <boost/json.hpp>

#include <chrono>

#include "core/time.hpp"
#include "daemon/analytics/reports.hpp"
#include "daemon/control/catalogue.hpp"
#include "daemon/control/commands/groups.hpp"
#include "daemon/segments/segment_set.hpp"
#include "daemon/sync/engine.hpp"

namespace asio = boost::asio;
namespace json = boost::json;

namespace omnisync::control::commands {
namespace {

/// A `from`/`to` argument: a UTC date or date-time; nullopt with `bad` set when it is neither.
std::optional<std::int64_t> time_arg(const json::object& args, const char* key, std::string& bad) {
  const std::string text = arg_text(args, key);
  if (text.empty()) return std::nullopt;
  if (auto t = parse_iso8601(text)) return to_epoch_ms(*t);
  bad = std::string(key) + ": '" + text + "' is not a UTC date or time (2026-01-01 or 2026-01-01T00:00:00Z)";
  return std::nullopt;
}

/// report: args {name, from?, to?, by?}.
asio::awaitable<reply> report(const context& ctx, json::object args) {
  if (!ctx.engine) co_return reply::failure("unavailable", "the sync engine is not running");
  analytics::report_window w;
  std::string bad;
  if (auto f = time_arg(args, "from", bad)) w.from = *f;
  if (auto t = time_arg(args, "to", bad)) w.to = *t;
  if (!bad.empty()) co_return reply::failure("usage", bad);
  if (w.from >= w.to) co_return reply::failure("usage", "from must be before to");
  if (const std::string by = arg_text(args, "by"); !by.empty()) w.by = *analytics::parse_period(by);  // checked
  // A segment removed from the config is forgotten: its history rows stay, but it is not reported.
  w.segments.emplace();
  for (const auto& s : ctx.engine->segments()->segments()) w.segments->insert(s.def.key);
  // The history is indexed where the pipeline runs, after the profiles load: elsewhere, or before, a report would
  // count part of it (or nothing) and say nothing of it.
  if (auto refused = co_await standby_refusal(ctx, "reports")) co_return std::move(*refused);
  const auto& index = ctx.engine->history();
  using load_state = analytics::history_index::load_state;
  if (index.state() == load_state::failed)
    co_return reply::failure("unavailable", "the analytics index could not be loaded from the store (see the "
                                            "daemon's log); reports are refused until it loads: at the next reload "
                                            "or restart");
  if (index.state() == load_state::loading)
    co_return reply::failure("loading", "the analytics index is still loading (" + std::to_string(index.rows()) +
                                            " history rows so far, after the profiles): a report now would count "
                                            "part of the history; try again in a few seconds");
  const auto started = std::chrono::steady_clock::now();
  auto r = analytics::compute(arg_text(args, "name"), index, w);
  if (!r) co_return reply::failure("usage", "unknown report '" + arg_text(args, "name") + "'");
  auto o = analytics::to_json(*r);
  o["rows_read"] = index.rows();
  o["elapsed_ms"] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  co_return reply::success(std::move(o));
}

}  // namespace

void add_report_command(command_table& table, const context& ctx) {
  table.add(catalogue::report, [&ctx](json::object a, event_sink&) { return report(ctx, std::move(a)); });
}

}  // namespace omnisync::control::commands
