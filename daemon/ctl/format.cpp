#include "daemon/ctl/format.hpp"

#include <boost/json.hpp>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "core/json_text.hpp"

namespace omnisync::ctl {
namespace {

namespace json = boost::json;

std::string scalar(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string: return std::string(v.as_string());
    case json::kind::bool_: return v.as_bool() ? "yes" : "no";
    case json::kind::null: return "—";
    case json::kind::int64: return std::to_string(v.as_int64());
    case json::kind::uint64: return std::to_string(v.as_uint64());
    case json::kind::double_: {
      char b[32];
      std::snprintf(b, sizeof b, "%g", v.as_double());
      return b;
    }
    case json::kind::array: {
      std::string out;
      for (const auto& e : v.as_array()) out += (out.empty() ? "" : ", ") + scalar(e);
      return out.empty() ? "—" : out;
    }
    case json::kind::object: return to_json_text(v);
  }
  return {};
}

double number(const json::value* v) {
  if (!v) return NAN;
  if (v->is_int64()) return double(v->as_int64());
  if (v->is_uint64()) return double(v->as_uint64());
  if (v->is_double()) return v->as_double();
  return NAN;
}

/// An object whose values are all objects, as a table: one row per key, one column per inner key.
std::string table(const std::string& first_header, const json::object& rows) {
  std::vector<std::string> columns;
  std::set<std::string> seen;
  for (const auto& [name, row] : rows) {
    if (!row.is_object()) continue;
    for (const auto& [k, v] : row.as_object())
      if (!v.is_object() && seen.insert(std::string(k)).second) columns.push_back(std::string(k));
  }
  std::vector<std::vector<std::string>> cells;
  cells.push_back({first_header});
  for (auto& c : columns) cells[0].push_back(c);
  for (const auto& [name, row] : rows) {
    std::vector<std::string> line{std::string(name)};
    for (auto& c : columns) {
      const json::value* v = row.is_object() ? row.as_object().if_contains(c) : nullptr;
      line.push_back(v ? scalar(*v) : "—");
    }
    cells.push_back(std::move(line));
  }
  std::vector<size_t> widths(cells[0].size(), 0);
  for (auto& line : cells)
    for (size_t i = 0; i < line.size(); ++i) {
      size_t cols = 0;
      for (unsigned char ch : line[i])
        if ((ch & 0xC0) != 0x80) ++cols;
      widths[i] = std::max(widths[i], cols);
    }
  std::string out;
  for (auto& line : cells) {
    std::string l;
    for (size_t i = 0; i < line.size(); ++i) l += pad(line[i], widths[i] + 2);
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l + "\n";
  }
  return out;
}

void generic(std::string& out, const json::value& v, const std::string& indent) {
  if (!v.is_object()) {
    out += indent + scalar(v) + "\n";
    return;
  }
  for (const auto& [k, val] : v.as_object()) {
    if (val.is_object()) {
      bool all_objects = !val.as_object().empty();
      for (const auto& [ik, iv] : val.as_object()) all_objects = all_objects && iv.is_object();
      out += indent + std::string(k) + ":\n";
      if (all_objects) {
        std::string t = table(std::string(k), val.as_object());
        size_t start = 0;
        while (start < t.size()) {
          auto nl = t.find('\n', start);
          out += indent + "  " + t.substr(start, nl - start) + "\n";
          start = nl + 1;
        }
      } else {
        generic(out, val, indent + "  ");
      }
    } else {
      out += indent + std::string(k) + ": " + scalar(val) + "\n";
    }
  }
}

}  // namespace

std::string format_duration(double seconds) {
  if (std::isnan(seconds) || seconds < 0) return "—";
  long s = static_cast<long>(seconds);
  long d = s / 86400, h = (s % 86400) / 3600, m = (s % 3600) / 60, sec = s % 60;
  char b[64];
  if (d) std::snprintf(b, sizeof b, "%ldd %ldh", d, h);
  else if (h) std::snprintf(b, sizeof b, "%ldh %ldm", h, m);
  else if (m) std::snprintf(b, sizeof b, "%ldm %lds", m, sec);
  else std::snprintf(b, sizeof b, "%lds", sec);
  return b;
}

std::string format_bytes(double bytes) {
  if (std::isnan(bytes)) return "—";
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (bytes >= 1000 && u < 4) {
    bytes /= 1000;
    ++u;
  }
  char b[32];
  std::snprintf(b, sizeof b, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return b;
}

std::string format_generic(const boost::json::value& v) {
  std::string out;
  generic(out, v, "");
  return out;
}

namespace {

/// A section: its title on a line of its own, then its lines.
std::string section(const std::string& title, const std::string& body) {
  return body.empty() ? std::string() : "\n" + title + "\n" + body;
}

/// "label value" pairs on one line, two spaces apart, skipping the absent ones.
std::string pairs(const std::vector<std::pair<std::string, std::string>>& items) {
  std::string line;
  for (const auto& [label, value] : items) {
    if (value.empty()) continue;
    line += (line.empty() ? "" : "  ") + label + (label.empty() ? "" : " ") + value;
  }
  return line;
}

/// The connectors' table: one row per connector, every column headed with what it counts, then one line per
/// object (phase, records read, freshness lag, last success, initial sync, the last error) and the health
/// causes in the vendor's words.
std::string format_connectors(const json::object& conns) {
  // Column headers say their unit; each row has every column ("—" when absent), so the table stays aligned.
  static const std::vector<std::pair<const char*, const char*>> columns = {
      {"kind", "kind"},          {"state", "state"},           {"health", "health"},
      {"records", "records"},    {"inbox", "inbox (events)"},  {"outbox", "outbox (writes)"},
      {"events_in", "events in"}, {"api_calls", "API calls"},   {"api_errors", "API errors"},
      {"budget", "budget (calls)"}, {"written", "written"},     {"rejected", "rejected"}};
  json::object rows;
  std::string health_lines, object_lines, restart_lines;
  for (const auto& [name, v] : conns) {
    if (!v.is_object()) continue;
    const auto& c = v.as_object();
    std::map<std::string, std::string> cell;
    auto put = [&](const char* col, const json::value* x) {
      if (x) cell[col] = scalar(*x);
    };
    put("kind", c.if_contains("kind"));
    put("state", c.if_contains("state"));
    // The health in a few words in the table ("unauthorized"), the vendor's message on a line of its own below.
    if (auto* h = c.if_contains("health"); h && h->is_object()) {
      const auto& ho = h->as_object();
      put("health", ho.if_contains("state"));
      const std::string st = ho.contains("state") ? scalar(ho.at("state")) : std::string();
      if (auto* t = ho.if_contains("text"); t && t->is_string() && st != "ok" && st != "unknown")
        health_lines += "  " + std::string(name) + ": " + scalar(*t) + "\n";
    }
    put("records", c.if_contains("records"));
    put("inbox", c.if_contains("inbox_depth"));
    put("outbox", c.if_contains("outbox_depth"));
    put("events_in", c.if_contains("events_in"));
    if (auto* a = c.if_contains("api"); a && a->is_object()) {
      const auto& ao = a->as_object();
      put("api_calls", ao.if_contains("calls"));
      put("api_errors", ao.if_contains("errors"));
      if (auto* lim = ao.if_contains("budget_limit"); lim && lim->is_int64() && lim->as_int64() > 0)
        cell["budget"] = scalar(ao.at("budget_used")) + " of " + scalar(*lim);
    }
    if (auto* w = c.if_contains("writes"); w && w->is_object()) {
      put("written", w->as_object().if_contains("ok"));
      put("rejected", w->as_object().if_contains("rejected"));
    }
    // Sync loops restarted after an exception: how often, the last failure and when.
    if (auto* r = c.if_contains("task_restarts"); r && r->is_object()) {
      const auto& ro = r->as_object();
      if (auto* n = ro.if_contains("count"); n && n->is_int64() && n->as_int64() > 0)
        restart_lines += "  " + std::string(name) + ": " + scalar(*n) + " restart(s), last at " +
                         (ro.contains("at") ? scalar(ro.at("at")) : std::string("?")) + ": " +
                         (ro.contains("last_failure") ? scalar(ro.at("last_failure")) : std::string()) + "\n";
    }
    json::object row;
    for (const auto& [key, header] : columns) {
      auto it = cell.find(key);
      row[header] = it == cell.end() ? json::value(nullptr) : json::value(it->second);
    }
    rows[name] = std::move(row);
    if (auto* os = c.if_contains("objects_status"); os && os->is_array()) {
      for (const auto& o : os->as_array()) {
        if (!o.is_object()) continue;
        const auto& ob = o.as_object();
        auto text_of = [&](const char* k) { return ob.contains(k) ? scalar(ob.at(k)) : std::string(); };
        std::vector<std::pair<std::string, std::string>> items{
            {"", std::string(name) + "/" + text_of("object")}, {"", text_of("phase")},
            {"read", text_of("records_read") + " records"}};
        if (auto* l = ob.if_contains("lag_ms"); l && !l->is_null())
          items.emplace_back("lag", format_duration(number(l) / 1000.0));
        if (auto* t = ob.if_contains("last_success"); t && t->is_string() && !t->as_string().empty())
          items.emplace_back("last success", scalar(*t));
        if (auto* is = ob.if_contains("initial_sync"); is && is->is_object()) {
          const auto& io = is->as_object();
          const std::string st = io.contains("state") ? scalar(io.at("state")) : std::string();
          if (st == "running") {
            std::string p = scalar(io.at("read"));
            if (!io.at("total").is_null()) p += " of " + scalar(io.at("total"));
            items.emplace_back("initial sync:", p + " records read");
          } else if (st == "done" && io.if_contains("seconds")) {
            char b[48];
            std::snprintf(b, sizeof b, "done in %.1f s", number(io.if_contains("seconds")));
            items.emplace_back("initial sync", b);
          }
        }
        if (auto* r = ob.if_contains("resync"); r && r->is_object() && r->as_object().contains("running") &&
                                                 r->as_object().at("running").is_bool() &&
                                                 r->as_object().at("running").as_bool())
          items.emplace_back("resync:", scalar(r->as_object().at("read")) + " records read");
        if (auto* e = ob.if_contains("last_error"); e && e->is_string() && !e->as_string().empty())
          items.emplace_back("error:", scalar(*e));
        object_lines += "  " + pairs(items) + "\n";
      }
    }
  }
  // A column no connector has a value in (no budgets configured, say) is left out.
  for (const auto& [key, header] : columns) {
    bool any = false;
    for (const auto& [n, row] : rows) any = any || !row.as_object().at(header).is_null();
    if (!any)
      for (auto& [n, row] : rows) row.as_object().erase(header);
  }
  std::string t = table("connector", rows);
  std::string out;
  for (std::size_t start = 0; start < t.size();) {
    const auto nl = t.find('\n', start);
    out += "  " + t.substr(start, nl - start) + "\n";
    start = nl + 1;
  }
  if (!health_lines.empty()) out += "health causes\n" + health_lines;
  if (!restart_lines.empty()) out += "restarted sync loops\n" + restart_lines;
  if (!object_lines.empty()) out += "objects\n" + object_lines;
  return out;
}

/// The profiles section: how many, from how many records, merges and creates held back (with why).
std::string format_profiles(const json::object& p) {
  auto n = [&](const char* k) { return p.contains(k) ? scalar(p.at(k)) : std::string(); };
  std::string out = "  " + pairs({{"", n("profiles") + " profiles"},
                                  {"from", n("records") + " records"},
                                  {"", n("interactions") + " interactions"},
                                  {"", n("events") + " timeline events"},
                                  {"", n("merges") + " merges"}}) + "\n";
  if (p.contains("ready") && p.at("ready").is_bool() && !p.at("ready").as_bool()) out += "  (still loading)\n";
  if (auto* u = p.if_contains("unattached_interactions"); u && number(u) > 0)
    out += "  " + scalar(*u) + " interactions belong to no profile yet\n";
  if (auto* w = p.if_contains("withheld_creates"); w && number(w) > 0) {
    out += "  " + scalar(*w) + " creates withheld:\n";
    if (auto* r = p.if_contains("withheld_reasons"); r && r->is_object())
      for (const auto& [reason, count] : r->as_object()) out += "    " + scalar(count) + " × " + std::string(reason) + "\n";
  }
  return out;
}

/// The KPIs section: the currency amounts are in, and each KPI's unit (csat_average a fraction 0..1, not a
/// percent).
std::string format_kpis(const json::object& k) {
  std::string out;
  if (auto* c = k.if_contains("currency")) {
    out += "  amounts in " + scalar(*c);
    if (auto* r = k.if_contains("rates"); r && r->is_object() && !r->as_object().empty()) {
      std::string rates;
      for (const auto& [code, rate] : r->as_object()) rates += (rates.empty() ? "" : ", ") + std::string(code) + " × " + scalar(rate);
      out += " (converted: " + rates + ")";
    }
    out += "\n";
  }
  if (auto* u = k.if_contains("units"); u && u->is_object()) {
    std::size_t w = 0;
    for (const auto& [name, v] : u->as_object()) w = std::max(w, name.size());
    for (const auto& [name, v] : u->as_object()) {
      if (!v.is_object()) continue;
      const auto& o = v.as_object();
      out += "  " + pad(std::string(name), w + 2) + pad(o.contains("unit") ? scalar(o.at("unit")) : "", 15) +
             (o.contains("description") ? scalar(o.at("description")) : std::string()) + "\n";
    }
  }
  return out;
}

}  // namespace

std::string format_status(const boost::json::value& status) {
  if (!status.is_object()) return format_generic(status);
  const auto& s = status.as_object();
  std::string out = "omnisync";
  if (auto* v = s.if_contains("version")) out += " " + scalar(*v);
  if (auto* u = s.if_contains("uptime_s")) out += "  up " + format_duration(number(u));
  if (auto* st = s.if_contains("state")) out += "  " + scalar(*st);
  out += "\n";
  if (auto* c = s.if_contains("config_file")) out += "config     " + scalar(*c) + "\n";
  if (auto* p = s.if_contains("paused"); p && p->is_array() && !p->as_array().empty())
    out += "paused     " + scalar(*p) + "\n";
  if (auto* st = s.if_contains("store"); st && st->is_object()) {
    const auto& so = st->as_object();
    std::vector<std::pair<std::string, std::string>> items;
    if (auto* k = so.if_contains("kind")) items.emplace_back("", scalar(*k));
    for (auto [key, label, unit] : {std::tuple{"inbox_depth", "inbox", "events"}, std::tuple{"outbox_depth", "outbox", "writes"},
                                    std::tuple{"dead_letters", "dead letters", "open"}})
      if (auto* v = so.if_contains(key)) items.emplace_back(label, scalar(*v) + " " + unit);
    if (auto* b = so.if_contains("state_db_bytes")) items.emplace_back("state.db", format_bytes(number(b)));
    if (auto* b = so.if_contains("inbox_db_bytes")) items.emplace_back("inbox.db", format_bytes(number(b)));
    if (auto* e = so.if_contains("error")) items.emplace_back("error:", scalar(*e));
    out += "store      " + pairs(items) + "\n";
  }
  if (auto* cl = s.if_contains("cluster"); cl && cl->is_object()) {
    // One line for this instance, one per lease of the cluster (who runs what, until when).
    const auto& co = cl->as_object();
    std::string line = "cluster    instance " + (co.contains("instance") ? scalar(co.at("instance")) : std::string("?"));
    const bool leads = co.contains("leader") && co.at("leader").is_bool() && co.at("leader").as_bool();
    line += leads ? "  runs the pipeline" : "  standby (webhooks and writes)";
    if (leads && co.contains("token")) line += " (token " + scalar(co.at("token")) + ")";
    out += line + "\n";
    if (auto* ls = co.if_contains("leases"); ls && ls->is_array())
      for (const auto& l : ls->as_array()) {
        if (!l.is_object()) continue;
        const auto& lo = l.as_object();
        auto field = [&](const char* k) { return lo.contains(k) ? scalar(lo.at(k)) : std::string(); };
        out += "  lease " + field("key") + "  held by " + field("owner") + "  token " + field("token") + "  until " +
               field("expires_at") + "\n";
      }
  }
  if (auto* r = s.if_contains("remap"); r && r->is_object()) {
    // A running remap, as an object's line shows a running resync: where it is and how far.
    const auto& ro = r->as_object();
    auto field = [&](const char* k) { return ro.contains(k) ? scalar(ro.at(k)) : std::string(); };
    std::string read = field("read");
    if (auto* t = ro.if_contains("total"); t && !t->is_null()) read += " of " + scalar(*t);
    out += "remap      " + pairs({{"running", "(run " + field("run") + ")"},
                                  {"at", field("connector") + "/" + field("object")},
                                  {"read", read + " records"},
                                  {"failed", field("failed")},
                                  {"writes queued", field("writes_queued")}}) + "\n";
  }
  if (auto* c = s.if_contains("connectors"); c && c->is_object() && !c->as_object().empty())
    out += section("connectors", format_connectors(c->as_object()));
  if (auto* p = s.if_contains("profiles"); p && p->is_object()) out += section("profiles", format_profiles(p->as_object()));
  if (auto* k = s.if_contains("kpis"); k && k->is_object()) out += section("KPIs (per profile: omnisyncctl profile get)", format_kpis(k->as_object()));
  static const std::set<std::string> shown{"version", "uptime_s", "state",    "config_file", "paused", "store",
                                           "connectors", "schema", "cluster", "profiles",    "kpis", "remap"};
  json::object rest;
  for (const auto& [k, v] : s)
    if (!shown.count(std::string(k))) rest[k] = v;
  if (!rest.empty()) out += section("daemon", format_generic(rest));
  return out;
}

std::string format_profile(const json::value& reply, const std::string& action) {
  if (!reply.is_object()) return format_generic(reply);
  const auto& top = reply.as_object();
  if (action == "split" || action == "restore") {
    std::string out = action + " done: " + scalar(top.at("writes_queued")) + " write(s) queued\n";
    if (const auto* p = top.if_contains("profile")) out += "the record's profile now:\n" + format_profile(*p, "get");
    return out;
  }
  if (action == "resync") {  // {id, records: [{system, object, id}]}, as `resync profile` prints it
    const auto& asked = top.at("records").as_array();
    std::string out = "re-reading " + std::to_string(asked.size()) + " record(s) of " + scalar(top.at("id")) + ":";
    for (const auto& x : asked)
      out += " " + scalar(x.at("system")) + "/" + scalar(x.at("object")) + "/" + scalar(x.at("id"));
    return out + "\n";
  }
  const auto& r = top;
  auto rec = [](const json::value& v) {
    const auto& o = v.as_object();
    return scalar(o.at("system")) + ":" + scalar(o.at("object")) + ":" + scalar(o.at("id"));
  };
  std::string out = "profile " + scalar(r.at("id")) + "\n";
  out += "records:\n";
  for (const auto& m : r.at("records").as_array()) {
    const auto& o = m.as_object();
    out += "  " + rec(m) + (o.at("deleted").as_bool() ? "  (deleted at the source)" : "") + "  first seen " +
           scalar(o.at("first_seen")) + "\n";
  }
  const bool only_one = r.if_contains("attribute") != nullptr;
  out += "golden values:\n";
  for (const auto& [attr, g] : r.at("golden").as_object()) {
    if (only_one && attr != r.at("attribute").as_string()) continue;
    const auto& o = g.as_object();
    std::string from;
    for (const auto& f : o.at("from").as_array()) {
      const auto& x = f.as_object();
      from += (from.empty() ? "" : ", ") + scalar(x.at("record")) + (only_one ? " @ " + scalar(x.at("source_ts")) : "");
    }
    char line[64];
    std::snprintf(line, sizeof line, "  %-26s ", std::string(attr).c_str());
    out += line + scalar(o.at("value")) + "   [" + scalar(o.at("decided_by")) + ": " + from + "]\n";
  }
  if (only_one && r.at("attribute_golden").is_null()) {
    if (const auto* k = r.if_contains("attribute_computed"))
      out += "  (" + scalar(r.at("attribute")) + " is computed by omnisync: " + scalar(*k) + ", see KPIs)\n";
    else
      out += "  (no record holds " + scalar(r.at("attribute")) + ")\n";
  }
  out += "KPIs:\n";
  const json::object* units = r.contains("kpi_units") && r.at("kpi_units").is_object() ? &r.at("kpi_units").as_object()
                                                                                        : nullptr;
  for (const auto& [k, v] : r.at("kpis").as_object()) {
    char line[64];
    std::snprintf(line, sizeof line, "  %-26s ", std::string(k).c_str());
    out += line + scalar(v);
    // The unit beside a value: "2400 USD", "0.8 (fraction 0..1)", "3 (count)".
    if (const json::value* u = units ? units->if_contains(k) : nullptr; u && u->is_string() && !v.is_null()) {
      const std::string unit(u->as_string());
      if (unit.size() == 3 && std::isupper(static_cast<unsigned char>(unit[0]))) out += " " + unit;  // a currency
      else if (unit != "stage" && unit != "category") out += " (" + unit + ")";
    }
    out += "\n";
  }
  const auto& tl = r.at("timeline").as_array();
  out += "timeline (" + std::to_string(tl.size()) + " latest of " + scalar(r.at("timeline_total")) + "):\n";
  for (const auto& e : tl) {
    const auto& o = e.as_object();
    out += "  " + scalar(o.at("at")) + "  " + scalar(o.at("type"));
    if (const auto* a = o.if_contains("amount")) out += "  " + scalar(*a) + (o.if_contains("currency") ? " " + scalar(o.at("currency")) : "");
    if (const auto* st = o.if_contains("status")) out += "  " + scalar(*st);
    if (const auto* sc = o.if_contains("score")) out += "  score " + scalar(*sc);
    out += "  (" + scalar(o.at("subject")) + ")\n";
  }
  if (action == "explain") {
    out += "links:\n";
    for (const auto& e : r.at("edges").as_array()) {
      const auto& o = e.as_object();
      out += "  " + rec(o.at("from")) + " -> " + rec(o.at("to")) + "  by " + scalar(o.at("rule")) + " (" +
             scalar(o.at("attribute")) + " = " + scalar(o.at("value")) + ") since " + scalar(o.at("at")) + "\n";
    }
    if (r.at("edges").as_array().empty()) out += "  (one record: nothing linked)\n";
    for (const auto& c : r.at("conflicts").as_array()) {
      const auto& o = c.as_object();
      out += "refused merge: " + rec(o.at("record")) + " and " + rec(o.at("other")) + " share " + scalar(o.at("attribute")) +
             " = " + scalar(o.at("value")) + " but " + scalar(o.at("reason")) + " (" + scalar(o.at("detail")) + ")\n";
    }
    for (const auto& g : r.at("ignored").as_array()) {
      const auto& o = g.as_object();
      out += "not used to match: " + rec(o.at("record")) + " " + scalar(o.at("attribute")) + " = " + scalar(o.at("value")) +
             " (" + scalar(o.at("reason")) + ")\n";
    }
  }
  return out;
}

std::string reply_text(const json::value& v, std::string_view null_text) {
  if (v.is_string()) return std::string(v.as_string());
  if (v.is_null()) return std::string(null_text);
  return json::serialize(v);
}

std::string string_field(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::int64_t int_field(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  if (!v) return 0;
  return v->is_int64() ? v->as_int64() : v->is_uint64() ? static_cast<std::int64_t>(v->as_uint64()) : 0;
}

double number_field(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  if (!v) return 0;
  const double n = number(v);
  return std::isnan(n) ? 0.0 : n;
}

std::size_t columns(std::string_view s) {
  std::size_t cols = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++cols;
  return cols;
}

std::string pad(const std::string& s, std::size_t width) {
  const auto cols = columns(s);
  return s + std::string(width > cols ? width - cols : 0, ' ');
}

}  // namespace omnisync::ctl
