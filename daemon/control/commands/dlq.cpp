// dlq: the dead letters (records and writes that failed for good), listed, shown, retried or dropped.
#include <boost/json.hpp>

#include <optional>

#include "daemon/control/catalogue.hpp"
#include "daemon/control/commands/groups.hpp"
#include "daemon/store/store.hpp"

namespace asio = boost::asio;
namespace json = boost::json;

namespace omnisync::control::commands {
namespace {

json::object dead_letter_json(const store::dead_letter& d, bool with_payload) {
  json::object o{{"id", d.id},
                 {"connector", d.entry.connector},
                 {"object", d.entry.object},
                 {"record_id", d.entry.record_id},
                 {"event_id", d.entry.event_id},
                 {"stage", d.entry.stage},
                 {"reason", d.entry.reason},
                 {"created_at", iso_text(d.created_at)},
                 {"retry_to", d.entry.target == store::retry_target::inbox    ? "inbox"
                              : d.entry.target == store::retry_target::outbox ? "outbox"
                                                                             : "none"}};
  if (with_payload) {
    o["payload"] = d.entry.payload;
    o["meta"] = d.entry.meta;
  }
  return o;
}

std::int64_t arg_integer(const json::object& args, const char* key) {
  const auto* v = args.if_contains(key);
  return v && v->is_int64() ? v->as_int64() : 0;
}

asio::awaitable<reply> list(const context& ctx, json::object args) {
  std::optional<std::string> conn, stage;
  if (!arg_text(args, "connector").empty()) conn = arg_text(args, "connector");
  if (!arg_text(args, "stage").empty()) stage = arg_text(args, "stage");
  store::dead_letter_filter f(conn, stage, arg_integer(args, "after"), 100);
  auto page = co_await ctx.db->dead_letter_list(std::move(f));
  if (!page) co_return reply::failure("store", page.error().message());
  json::array items;
  for (const auto& d : page->items) items.push_back(dead_letter_json(d, false));
  co_return reply::success(json::object{{"items", std::move(items)}, {"next_after", page->next_after_id}});
}

asio::awaitable<reply> dlq(const context& ctx, json::object args) {
  const std::string action = arg_text(args, "action").empty() ? "list" : arg_text(args, "action");
  if (action == "list") co_return co_await list(ctx, std::move(args));
  const std::int64_t id = arg_integer(args, "id");
  if (id <= 0) co_return reply::failure("usage", "dlq " + action + " needs an entry id");
  if (action == "show") {
    auto d = co_await ctx.db->dead_letter_get(id);
    if (!d) co_return reply::failure("not_found", "no dead letter " + std::to_string(id));
    co_return reply::success(dead_letter_json(*d, true));
  }
  if (action == "retry" || action == "drop") {
    auto r = action == "retry" ? co_await ctx.db->dead_letter_retry(id) : co_await ctx.db->dead_letter_drop(id);
    if (!r) {
      if (r.error() == errc::not_found) co_return reply::failure("not_found", "no dead letter " + std::to_string(id));
      if (r.error() == errc::invalid_input)
        co_return reply::failure("not_retryable", "this entry has nowhere to go back to (fix the mapping and resync)");
      co_return reply::failure("store", r.error().message());
    }
    co_return reply::success(json::object{{"id", id}, {action == "retry" ? "retried" : "dropped", true}});
  }
  co_return reply::failure("usage", "dlq actions: list, show, retry, drop");
}

}  // namespace

void add_dlq_command(command_table& table, const context& ctx) {
  table.add(catalogue::dlq, [&ctx](json::object a, event_sink&) { return dlq(ctx, std::move(a)); });
}

}  // namespace omnisync::control::commands
