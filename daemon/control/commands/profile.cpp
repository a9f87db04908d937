// profile: one person's 360-degree profile — get, explain, split or restore an identity link, resync its records;
// list and search (profile_list.cpp).
#include <boost/json.hpp>

#include "core/time.hpp"
#include "daemon/control/catalogue.hpp"
#include "daemon/control/commands/groups.hpp"
#include "daemon/control/commands/profile_list.hpp"
#include "daemon/profile/value_json.hpp"
#include "daemon/sync/engine.hpp"

namespace asio = boost::asio;
namespace json = boost::json;

namespace omnisync::control::commands {
namespace {

/// A profile time (milliseconds since the epoch) as `2026-05-01T10:00:00.000Z`.
std::string utc_text(std::int64_t ms) { return format_iso8601_ms(from_epoch_ms(ms)); }

json::object record_json(const profile::record_ref& r) {
  return json::object{{"system", r.system}, {"object", r.object}, {"id", r.id}};
}

/// Why the profile's records are linked (edges), which links were refused (conflicts) and which identifiers were
/// not used (ignored): what `explain` adds.
void add_explanation(json::object& out, const profile::explanation& why) {
  json::array edges, conflicts, ignored;
  for (const auto& e : why.edges)
    edges.push_back(json::object{{"from", record_json(e.from)}, {"to", record_json(e.to)}, {"rule", e.rule},
                                 {"attribute", e.attribute}, {"value", e.value}, {"at", utc_text(e.at)}});
  for (const auto& c : why.conflicts)
    conflicts.push_back(json::object{{"record", record_json(c.record)}, {"other", record_json(c.other)},
                                     {"rule", c.rule}, {"attribute", c.attribute}, {"value", c.value},
                                     {"reason", profile::to_string(c.reason)}, {"detail", c.detail}});
  for (const auto& g : why.ignored)
    ignored.push_back(json::object{{"record", record_json(g.record)}, {"attribute", g.attribute},
                                   {"value", g.value}, {"reason", profile::to_string(g.reason)}});
  out["edges"] = std::move(edges);
  out["conflicts"] = std::move(conflicts);
  out["ignored"] = std::move(ignored);
}

/// The profile: golden values with provenance, KPIs, member records and the newest `timeline_limit` events.
json::object report_json(const sync::profile_report& rep, std::size_t timeline_limit) {
  const auto& v = rep.view;
  json::object golden;
  for (const auto& [attr, g] : v.golden) {
    if (g.value.is_missing()) continue;
    json::array from;
    for (const auto& p : g.from)
      from.push_back(json::object{{"system", p.system}, {"record", p.record},
                                  {"source_ts", utc_text(p.source_ts)}});
    golden[attr] = json::object{{"value", profile::to_json(g.value)}, {"decided_by", g.decided_by}, {"from", std::move(from)}};
  }
  json::object kpis;
  for (const auto& [attr, val] : v.kpis.to_attributes()) kpis[attr] = profile::to_json(val);
  kpis["unpriced_orders"] = v.kpis.unpriced_orders;
  json::array members;
  for (const auto& m : v.members)
    members.push_back(json::object{{"system", m.system}, {"object", m.object}, {"id", m.id}, {"deleted", m.deleted},
                                   {"first_seen", utc_text(m.first_seen)}});
  json::array events;
  const std::size_t from = v.timeline.size() > timeline_limit ? v.timeline.size() - timeline_limit : 0;
  for (std::size_t i = v.timeline.size(); i-- > from;) {
    const auto& e = v.timeline[i];
    json::object j{{"type", e.type}, {"at", utc_text(e.occurred_at)}, {"subject", e.subject}};
    if (e.amount) j["amount"] = *e.amount;
    if (!e.currency.empty()) j["currency"] = e.currency;
    if (!e.status.empty()) j["status"] = e.status;
    if (e.score) j["score"] = *e.score;
    events.push_back(std::move(j));
  }
  json::object out{{"id", v.id.str()}, {"golden", std::move(golden)}, {"kpis", std::move(kpis)},
                   {"records", std::move(members)}, {"timeline", std::move(events)},
                   {"timeline_total", v.timeline.size()}};
  if (rep.why) add_explanation(out, *rep.why);
  return out;
}

/// split/restore: args record "system:object:id", attribute, value — the link to remove (as `explain` shows it).
asio::awaitable<reply> split(const context& ctx, json::object args, std::string action, sync::profile_report rep) {
  const std::string rec = arg_text(args, "record"), attribute = arg_text(args, "attribute"),
                    value = arg_text(args, "value");
  const auto c1 = rec.find(':');
  const auto c2 = c1 == std::string::npos ? std::string::npos : rec.find(':', c1 + 1);
  if (c2 == std::string::npos || attribute.empty() || value.empty())
    co_return reply::failure("usage", "profile " + action +
                                          " needs --record system:object:id --attribute A --value V "
                                          "(as `profile explain` lists the link)");
  profile::link_ref link{profile::record_ref{rec.substr(0, c1), rec.substr(c1 + 1, c2 - c1 - 1), rec.substr(c2 + 1)},
                         attribute, value};
  auto n = co_await ctx.engine->profile_split(link, action == "restore");
  if (!n) {
    if (n.error() == errc::not_found)
      co_return reply::failure("not_found", "record " + rec + " does not hold " + attribute + " = " + value);
    co_return reply::failure("store", n.error().message());
  }
  ctx.logger("sync")->info("profile {}: {} {} {}={} ({} write(s) queued)", action, rep.view.id.str(), rec, attribute,
                           value, *n);
  auto after = ctx.engine->profile_get(rec);
  json::object out{{"action", action}, {"writes_queued", *n}};
  if (after) out["profile"] = report_json(*after, 5);
  co_return reply::success(std::move(out));
}

/// resync: re-reads every record of the profile from its system; the engine re-propagates what changed.
reply resync(sync::engine& engine, const sync::profile_report& rep) {
  json::array asked;
  for (const auto& m : rep.view.members) {
    if (m.deleted) continue;
    sync::resync_request req;
    req.connector = m.system;
    req.object = m.object;
    req.what = sync::resync_request::kind::id;
    req.value = m.id;
    if (engine.request_resync(req)) asked.push_back(record_json(profile::record_ref{m.system, m.object, m.id}));
  }
  return reply::success(json::object{{"id", rep.view.id.str()}, {"records", std::move(asked)}});
}

/// profile: args {action: get|explain|split|restore|resync, query, attribute, record, value}.
asio::awaitable<reply> profile_command(const context& ctx, json::object args) {
  auto* engine = ctx.engine;
  if (!engine) co_return reply::failure("unavailable", "the sync engine is not running");
  if (auto refused = co_await standby_refusal(ctx, "profiles")) co_return std::move(*refused);
  const std::string action = arg_text(args, "action").empty() ? "get" : arg_text(args, "action");
  if (action == "list" || action == "search") {
    if (!engine->profiles_ready())
      co_return reply::failure("starting", "profiles are still being loaded; try again shortly");
    co_return profile_list(ctx, args, action);
  }
  const std::string query = arg_text(args, "query");
  if (query.empty()) co_return reply::failure("usage", "profile " + action + " needs an e-mail, a profile id or system:id");
  if (!engine->profiles_ready()) co_return reply::failure("starting", "profiles are still being loaded; try again shortly");
  auto rep = engine->profile_get(query);
  if (!rep) co_return reply::failure("not_found", "no profile matches \"" + query + "\"");
  if (action == "get" || action == "explain") {
    auto out = report_json(*rep, action == "get" ? 10 : 1000);
    // How to read the KPIs: the currency of the amounts, csat_average a fraction 0..1 (not a percent), ...
    json::object units;
    for (const auto& u : profile::kpi_units(engine->kpi_rules())) units[u.name] = u.unit;
    out["kpi_units"] = std::move(units);
    if (const std::string attribute = arg_text(args, "attribute"); action == "explain" && !attribute.empty()) {
      const auto* g = out["golden"].as_object().if_contains(attribute);
      out["attribute"] = attribute;
      out["attribute_golden"] = g ? *g : json::value(nullptr);
      // A computed attribute (a KPI, lifecycle_stage) has no golden value: its value is among the KPIs.
      if (const auto* k = out["kpis"].as_object().if_contains(attribute)) out["attribute_computed"] = *k;
    }
    if (action == "explain") {
      // The writes the profile's values caused, newest first (the whole list: omnisyncctl audit --profile).
      store::audit_filter f;
      f.profile_id = rep->view.id.str();
      f.limit = 20;
      json::array writes;
      if (auto page = co_await ctx.db->audit_list(std::move(f)))
        for (const auto& e : page->items) {
          if (const auto a = arg_text(args, "attribute"); !a.empty() && e.attribute != a) continue;
          writes.push_back(json::object{{"at", iso_text(e.at)},
                                        {"record", e.connector + ":" + e.object + ":" + e.record_id},
                                        {"field", e.field},
                                        {"after", e.after},
                                        {"attribute", e.attribute},
                                        {"source", e.source},
                                        {"rule", e.rule},
                                        {"outcome", e.outcome}});
        }
      out["writes"] = std::move(writes);
    }
    co_return reply::success(std::move(out));
  }
  if (action == "split" || action == "restore") co_return co_await split(ctx, std::move(args), action, std::move(*rep));
  if (action == "resync") co_return resync(*engine, *rep);
  co_return reply::failure("usage", "profile actions: get, explain, split, restore, resync, list, search");
}

}  // namespace

void add_profile_command(command_table& table, const context& ctx) {
  table.add(catalogue::profile, [&ctx](json::object a, event_sink&) { return profile_command(ctx, std::move(a)); });
}

}  // namespace omnisync::control::commands
