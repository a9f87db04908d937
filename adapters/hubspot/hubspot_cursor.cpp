#include "adapters/hubspot/hubspot_cursor.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace omnisync::adapters::hubspot {
namespace json = boost::json;

std::string poll_cursor::encode() const {
  json::object o;
  o["v"] = 1;
  o["phase"] = at == phase::list ? "list" : at == phase::search ? "search" : "archived";
  o["since"] = since_ms;
  if (exclusive) o["exclusive"] = true;
  if (!seen.empty()) {
    json::array a;
    for (const auto& s : seen) a.emplace_back(s);
    o["seen"] = std::move(a);
  }
  if (tie_after) o["tie_after"] = *tie_after;
  if (!after.empty()) o["after"] = after;
  if (list_archived) o["list_archived"] = true;
  if (started_ms) o["started"] = started_ms;
  o["archived_since"] = archived_since_ms;
  if (last_scan_ms) o["last_scan"] = last_scan_ms;
  if (scan_started_ms) o["scan_started"] = scan_started_ms;
  auto stamps = [](const std::map<std::string, std::int64_t>& m) {
    json::object out;
    for (const auto& [id, ms] : m) out[id] = ms;
    return out;
  };
  if (!archived_seen.empty()) o["archived_seen"] = stamps(archived_seen);
  if (!archived_fresh.empty()) o["archived_fresh"] = stamps(archived_fresh);
  return json::serialize(o);
}

std::optional<poll_cursor> poll_cursor::decode(std::string_view text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  const auto* ver = o.if_contains("v");
  if (!ver || !ver->is_int64() || ver->get_int64() != 1) return std::nullopt;
  auto integer = [&](const char* k) -> std::optional<std::int64_t> {
    const auto* x = o.if_contains(k);
    if (!x) return std::nullopt;
    if (x->is_int64()) return x->get_int64();
    if (x->is_uint64()) return static_cast<std::int64_t>(x->get_uint64());
    return std::nullopt;
  };
  auto flag = [&](const char* k) {
    const auto* x = o.if_contains(k);
    return x && x->is_bool() && x->get_bool();
  };
  poll_cursor c;
  const auto* ph = o.if_contains("phase");
  if (!ph || !ph->is_string()) return std::nullopt;
  if (ph->get_string() == "list") c.at = phase::list;
  else if (ph->get_string() == "search") c.at = phase::search;
  else if (ph->get_string() == "archived") c.at = phase::archived;
  else return std::nullopt;
  c.since_ms = integer("since").value_or(0);
  c.exclusive = flag("exclusive");
  if (const auto* s = o.if_contains("seen"); s && s->is_array())
    for (const auto& id : s->get_array())
      if (id.is_string()) c.seen.emplace_back(id.get_string());
  c.tie_after = integer("tie_after");
  if (const auto* a = o.if_contains("after"); a && a->is_string()) c.after = std::string(a->get_string());
  c.list_archived = flag("list_archived");
  c.started_ms = integer("started").value_or(0);
  c.archived_since_ms = integer("archived_since").value_or(0);
  c.last_scan_ms = integer("last_scan").value_or(0);
  c.scan_started_ms = integer("scan_started").value_or(0);
  auto stamps = [&](const char* k, std::map<std::string, std::int64_t>& into) {
    if (const auto* m = o.if_contains(k); m && m->is_object())
      for (const auto& [id, ms] : m->get_object())
        if (ms.is_int64()) into[std::string(id)] = ms.get_int64();
  };
  stamps("archived_seen", c.archived_seen);
  stamps("archived_fresh", c.archived_fresh);
  return c;
}

bool poll_cursor::was_seen(std::string_view id) const {
  return std::find(seen.begin(), seen.end(), id) != seen.end();
}

}  // namespace omnisync::adapters::hubspot
