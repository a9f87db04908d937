// plan and audit: what omnisyncd would write now (queued or shadowed writes as field-level changes, and why), and
// what it did write (the audit log: every field changed in a destination, with its cause and the vendor's answer).
#include <boost/json.hpp>

#include <charconv>
#include <chrono>
#include <map>
#include <optional>

#include "core/time.hpp"
#include "core/json_text.hpp"
#include "daemon/control/catalogue.hpp"
#include "daemon/control/commands/groups.hpp"
#include "daemon/store/store.hpp"
#include "daemon/sync/engine.hpp"

namespace asio = boost::asio;
namespace json = boost::json;

namespace omnisync::control::commands {
namespace {

std::int64_t integer_arg(const json::object& args, const char* key, std::int64_t fallback) {
  const auto* v = args.if_contains(key);
  return v && v->is_int64() ? v->as_int64() : fallback;
}

json::object change_json(const profile::field_change& f) {
  return json::object{{"field", f.field},
                      {"before", json_or_text(f.before)},
                      {"after", json_or_text(f.after)},
                      {"attribute", f.attribute},
                      {"rule", f.rule},
                      {"source", f.source},
                      {"source_ts", f.source_ts > 0 ? iso_text(store::timestamp(std::chrono::milliseconds(f.source_ts)))
                                                    : std::string()}};
}

/// plan: args {connector?, profile?, limit?}.
asio::awaitable<reply> plan(const context& ctx, json::object args) {
  if (auto refused = co_await standby_refusal(ctx, "plans")) co_return std::move(*refused);
  if (!ctx.engine) co_return reply::failure("not_ready", "the sync engine is not running");
  std::optional<std::string> connector, profile;
  if (!arg_text(args, "connector").empty()) {
    if (auto refused = unknown_connector(ctx, arg_text(args, "connector"))) co_return std::move(*refused);
    connector = arg_text(args, "connector");
  }
  if (!arg_text(args, "profile").empty()) profile = arg_text(args, "profile");
  const auto limit = static_cast<std::size_t>(std::max<std::int64_t>(1, integer_arg(args, "limit", 1000)));
  if (profile && !ctx.engine->profiles_ready()) co_return reply::failure("not_ready", "profiles are still being loaded");
  auto r = co_await ctx.engine->plan(connector, profile, limit);
  if (!r) {
    if (r.error() == errc::not_found)
      co_return reply::failure("not_found", connector && !profile ? "no connector named " + *connector
                                                                  : "no such connector or profile");
    co_return reply::failure("store", r.error().message());
  }
  json::array changes;
  std::map<std::string, std::int64_t> per_connector, per_field;
  for (const auto& c : r->changes) {
    json::array fields;
    for (const auto& f : c.fields) {
      fields.push_back(change_json(f));
      ++per_field[c.connector + "." + f.field];
    }
    ++per_connector[c.connector];
    json::object change{{"connector", c.connector},
                        {"object", c.object},
                        {"record", c.record},
                        {"profile", c.profile_id},
                        {"what", c.what},
                        {"outbox_id", c.outbox_id},
                        {"attempts", c.attempts},
                        {"fields", std::move(fields)}};
    if (c.attempts > 0 || !c.last_error.empty()) {  // a held segment write has no attempt but says why it waits
      change["last_error"] = c.last_error;
      change["next_attempt_at"] = format_iso8601_ms(c.next_attempt_at);
    }
    changes.push_back(std::move(change));
  }
  json::object pc, pf;
  for (const auto& [k, n] : per_connector) pc[k] = n;
  for (const auto& [k, n] : per_field) pf[k] = n;
  co_return reply::success(json::object{
      {"changes", std::move(changes)},
      {"totals", json::object{{"queued", r->queued},
                              {"unchanged", r->unchanged},
                              {"listed", r->changes.size()},
                              {"per_connector", std::move(pc)},
                              {"per_field", std::move(pf)}}}});
}

/// audit: args {profile?, record?, connector?, field?, source?, since?, before?, limit?}.
asio::awaitable<reply> audit(const context& ctx, json::object args) {
  store::audit_filter f;
  f.limit = static_cast<std::size_t>(std::clamp<std::int64_t>(integer_arg(args, "limit", 100), 1, 10000));
  f.before_id = integer_arg(args, "before", 0);
  if (!arg_text(args, "connector").empty()) {
    if (auto refused = unknown_connector(ctx, arg_text(args, "connector"))) co_return std::move(*refused);
    f.connector = arg_text(args, "connector");
  }
  if (!arg_text(args, "field").empty()) f.field = arg_text(args, "field");
  if (!arg_text(args, "source").empty()) f.source = arg_text(args, "source");
  if (const auto rec = arg_text(args, "record"); !rec.empty()) {
    const auto c1 = rec.find(':'), c2 = rec.find(':', c1 == std::string::npos ? 0 : c1 + 1);
    if (c1 == std::string::npos || c2 == std::string::npos)
      co_return reply::failure("usage", "--record needs system:object:id, e.g. hubspot:contacts:901");
    f.connector = rec.substr(0, c1);
    f.object = rec.substr(c1 + 1, c2 - c1 - 1);
    f.record_id = rec.substr(c2 + 1);
  }
  if (const auto since = arg_text(args, "since"); !since.empty()) {
    f.since = parse_since(since, utc_now());
    if (!f.since)
      co_return reply::failure("usage", "--since needs a UTC time (2026-11-01T00:00:00Z), a time ago (30m, 2h, 7d) or today/yesterday");
  }
  if (const auto who = arg_text(args, "profile"); !who.empty()) {
    // A profile id as written, or found from an e-mail, phone or record on the instance with the book.
    if (auto id = profile::profile_id::parse(who)) {
      f.profile_id = who;
    } else {
      if (!ctx.engine || !ctx.engine->profiles_ready())
        co_return reply::failure("not_ready", "profiles are still being loaded: give a profile id (p...)");
      auto p = ctx.engine->profile_get(who);
      if (!p) co_return reply::failure("not_found", "no profile matches " + who);
      f.profile_id = p->view.id.str();
    }
  }
  auto page = co_await ctx.db->audit_list(std::move(f));
  if (!page) co_return reply::failure("store", page.error().message());
  json::array items;
  for (const auto& e : page->items)
    items.push_back(json::object{{"id", e.id},
                                 {"at", iso_text(e.at)},
                                 {"connector", e.connector},
                                 {"object", e.object},
                                 {"record", e.record_id},
                                 {"field", e.field},
                                 {"before", json_or_text(e.before)},
                                 {"after", json_or_text(e.after)},
                                 {"attribute", e.attribute},
                                 {"rule", e.rule},
                                 {"source", e.source},
                                 {"source_ts", iso_text(e.source_ts)},
                                 {"profile", e.profile_id},
                                 {"request_id", e.request_id},
                                 {"outcome", e.outcome},
                                 {"answer", e.answer}});
  co_return reply::success(json::object{{"items", std::move(items)}, {"next_before", page->next_before_id}});
}

}  // namespace

void add_writeback_commands(command_table& table, const context& ctx) {
  table.add(catalogue::plan, [&ctx](json::object a, event_sink&) { return plan(ctx, std::move(a)); });
  table.add(catalogue::audit, [&ctx](json::object a, event_sink&) { return audit(ctx, std::move(a)); });
}

}  // namespace omnisync::control::commands
