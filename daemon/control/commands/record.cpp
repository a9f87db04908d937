// record show: the record inspector. One source record as omnisync holds it — the stored payload as the vendor
// sent it, what the current inbound mapping makes of it, which golden values of its profile it supplies, and the
// writes it caused (from the audit log) as request and response with credentials redacted — so the console and
// `omnisyncctl record show` answer "where did this value come from and where did it go" for one record.
#include <boost/json.hpp>

#include <algorithm>
#include <cctype>

#include "core/json_text.hpp"
#include "daemon/control/catalogue.hpp"
#include "daemon/control/commands/groups.hpp"
#include "daemon/profile/value_json.hpp"
#include "daemon/sync/engine.hpp"

namespace asio = boost::asio;
namespace json = boost::json;

namespace omnisync::control::commands {
namespace {

/// Whether a field's value is a credential rather than data (never shown, whatever the destination calls it).
bool secret_field(std::string_view field) {
  std::string f(field);
  std::transform(f.begin(), f.end(), f.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  for (std::string_view w : {"password", "secret", "token", "api_key", "apikey", "authorization"})
    if (f.find(w) != std::string::npos) return true;
  return false;
}

/// One write the record caused, as the inspector shows it: the field change, and the call that carried it as a
/// request (the destination record, the field with its value, the Authorization header redacted) and the vendor's
/// response (outcome, its answer, its request id). The audit log keeps the fields sent and the answer, not the raw
/// bytes, so this is the request as omnisync made it, not a packet capture.
json::object write_json(const store::audit_entry& e) {
  const auto value = secret_field(e.field) ? json::value("<redacted>") : json_or_text(e.after);
  json::object body;
  body[e.field] = value;
  json::object request{{"destination", e.connector + ":" + e.object + ":" + e.record_id},
                       {"headers", json::object{{"Authorization", "<redacted>"}}},
                       {"body", std::move(body)}};
  json::object response{{"outcome", e.outcome}, {"answer", e.answer}, {"request_id", e.request_id}};
  return json::object{{"at", iso_text(e.at)},
                      {"destination", e.connector + ":" + e.object + ":" + e.record_id},
                      {"field", e.field},
                      {"before", secret_field(e.field) ? json::value("<redacted>") : json_or_text(e.before)},
                      {"after", value},
                      {"attribute", e.attribute},
                      {"rule", e.rule},
                      {"outcome", e.outcome},
                      {"request_id", e.request_id},
                      {"request", std::move(request)},
                      {"response", std::move(response)}};
}

/// record: args {action: show, connector, object, id, limit?}.
asio::awaitable<reply> record_show(const context& ctx, json::object args) {
  const std::string connector = arg_text(args, "connector"), object = arg_text(args, "object"),
                    id = arg_text(args, "id");
  std::int64_t limit = 50;
  if (const auto* l = args.if_contains("limit"); l && l->is_int64()) limit = l->as_int64();
  if (limit < 1 || limit > 500) co_return reply::failure("usage", "limit must be between 1 and 500");
  if (auto refused = unknown_connector(ctx, connector)) co_return std::move(*refused);
  auto got = co_await ctx.db->record_get(connector, object, id);
  if (!got) co_return reply::failure("store", "reading the stored record failed: " + got.error().message());
  if (!*got)
    co_return reply::failure("not_found", "no stored " + connector + " " + object + " record with id \"" + id +
                                              "\" (it is stored once a poll, a resync or a webhook read it)");
  const auto& r = **got;
  const std::string key = connector + ":" + object + ":" + id;
  json::object out{{"connector", connector},
                   {"object", object},
                   {"id", id},
                   {"source_updated_at", iso_text(r.source_updated_at)},
                   {"stored_at", iso_text(r.stored_at)},
                   {"first_seen", iso_text(r.first_seen)},
                   {"deleted", r.deleted},
                   {"payload", json_or_text(r.payload)}};
  // What the mapping makes of it now (a mapping changed since the record was stored shows its new result).
  json::object mapping{{"file", nullptr}, {"mapped", nullptr}, {"error", nullptr}};
  json::array provenance;
  json::value profile_id = nullptr;
  if (ctx.engine) {
    if (auto m = ctx.engine->map_stored(connector, object, r.payload); m && m->has_mapping) {
      mapping["file"] = m->mapping_file;
      if (!m->mapped_json.empty()) mapping["mapped"] = json_or_text(m->mapped_json);
      if (!m->error.empty()) mapping["error"] = m->error;
    }
    // Which golden values of its profile this record supplies, and which it lost to another record.
    if (ctx.engine->profiles_ready())
      if (auto rep = ctx.engine->profile_get(key)) {
        profile_id = rep->view.id.str();
        for (const auto& [attr, g] : rep->view.golden) {
          if (g.value.is_missing()) continue;
          json::array sources;
          bool supplied = false;
          for (const auto& p : g.from) {
            sources.push_back(json::value(p.record));
            supplied = supplied || p.record == key;
          }
          provenance.push_back(json::object{{"attribute", attr},
                                            {"value", profile::to_json(g.value)},
                                            {"decided_by", g.decided_by},
                                            {"supplied", supplied},
                                            {"sources", std::move(sources)}});
        }
      }
  }
  out["mapping"] = std::move(mapping);
  out["profile"] = std::move(profile_id);
  out["provenance"] = std::move(provenance);
  // The writes it caused, newest first.
  store::audit_filter f;
  f.source = key;
  f.limit = std::size_t(limit);
  json::array writes;
  auto page = co_await ctx.db->audit_list(std::move(f));
  if (!page) co_return reply::failure("store", "reading the audit log failed: " + page.error().message());
  for (const auto& e : page->items) writes.push_back(write_json(e));
  out["writes"] = std::move(writes);
  out["more_writes"] = page->next_before_id != 0;
  co_return reply::success(std::move(out));
}

}  // namespace

void add_record_command(command_table& table, const context& ctx) {
  table.add(catalogue::record, [&ctx](json::object a, event_sink&) { return record_show(ctx, std::move(a)); });
}

}  // namespace omnisync::control::commands
