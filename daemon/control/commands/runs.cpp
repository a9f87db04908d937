// runs: the run history — poll cycles, resyncs, reloads and remaps with their counts (store: run_list, run_get).
#include <boost/json.hpp>

#include <chrono>

#include "daemon/control/catalogue.hpp"
#include "daemon/control/commands/groups.hpp"

namespace asio = boost::asio;
namespace json = boost::json;

namespace omnisync::control::commands {

json::object run_json(const store::run_record& r) {
  json::object writes{{"queued", 0}, {"written", 0}, {"refused", 0}, {"unchanged", 0}};
  std::int64_t queued = 0, written = 0, refused = 0, unchanged = 0;
  json::array per;
  for (const auto& w : r.writes) {
    queued += w.queued;
    written += w.written;
    refused += w.refused;
    unchanged += w.unchanged;
    per.push_back(json::object{{"destination", w.destination}, {"queued", w.queued}, {"written", w.written},
                               {"refused", w.refused}, {"unchanged", w.unchanged}});
  }
  writes["queued"] = queued;
  writes["written"] = written;
  writes["refused"] = refused;
  writes["unchanged"] = unchanged;
  writes["per_destination"] = std::move(per);
  json::object o{{"id", r.id},
                 {"kind", r.kind},
                 {"connector", r.connector},
                 {"objects", r.objects},
                 {"started_at", iso_text(r.started_at)},
                 {"ended_at", r.ended_at ? json::value(iso_text(*r.ended_at)) : json::value(nullptr)},
                 {"outcome", r.outcome},
                 {"error", r.error},
                 {"read", r.counts.read},
                 {"stored", r.counts.stored},
                 {"mapped", r.counts.mapped},
                 {"failed", r.counts.failed},
                 {"api_calls", r.counts.api_calls},
                 {"quota_used", r.counts.quota_used},
                 {"idle_cycles", r.idle_cycles},
                 {"last_idle_at", iso_text(r.last_idle_at)},
                 {"writes", std::move(writes)}};
  if (r.ended_at)
    o["duration_s"] = std::chrono::duration<double>(*r.ended_at - r.started_at).count();
  return o;
}

namespace {

/// runs: args {action?, id?, connector?, kind?, after?, limit?}.
asio::awaitable<reply> runs(const context& ctx, json::object args) {
  const std::string action = arg_text(args, "action").empty() ? "list" : arg_text(args, "action");
  if (action == "show") {
    const auto* id = args.if_contains("id");
    if (!id || !id->is_int64() || id->as_int64() <= 0) co_return reply::failure("usage", "runs show needs a run id");
    auto got = co_await ctx.db->run_get(id->as_int64());
    if (!got) {
      if (got.error() == errc::not_found)
        co_return reply::failure("not_found", "no run " + std::to_string(id->as_int64()) +
                                                  " (runs are kept for runs.retention, 30 days by default)");
      co_return reply::failure("store", got.error().message());
    }
    co_return reply::success(run_json(*got));
  }
  store::run_filter f;
  if (const std::string c = arg_text(args, "connector"); !c.empty()) {
    if (auto refused = unknown_connector(ctx, c)) co_return std::move(*refused);
    f.connector = c;
  }
  if (const std::string k = arg_text(args, "kind"); !k.empty()) f.kind = k;  // one of the declared kinds
  if (const auto* a = args.if_contains("after"); a && a->is_int64()) f.after_id = a->as_int64();
  if (const auto* l = args.if_contains("limit"); l && l->is_int64()) {
    if (l->as_int64() < 1 || l->as_int64() > 1000) co_return reply::failure("usage", "limit must be 1 to 1000");
    f.limit = static_cast<std::size_t>(l->as_int64());
  } else {
    f.limit = 20;
  }
  auto page = co_await ctx.db->run_list(std::move(f));
  if (!page) co_return reply::failure("store", page.error().message());
  json::array items;
  for (const auto& r : page->items) items.push_back(run_json(r));
  co_return reply::success(json::object{{"items", std::move(items)}, {"next_after", page->next_after_id}});
}

}  // namespace

void add_runs_command(command_table& table, const context& ctx) {
  table.add(catalogue::runs, [&ctx](json::object a, event_sink&) { return runs(ctx, std::move(a)); });
}

}  // namespace omnisync::control::commands
