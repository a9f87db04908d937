#include "daemon/console/pages.hpp"

#include <boost/json.hpp>

#include <map>

#include "core/json_text.hpp"
#include "daemon/console/page_parts.hpp"

namespace json = boost::json;

namespace omnisync::console::pages {
namespace detail {

const json::value null_value;

const json::value& at(const json::value& v, std::string_view key) {
  if (const auto* o = v.if_object())
    if (const auto* x = o->if_contains(key)) return *x;
  return null_value;
}

/// A value as text for a cell: strings as they are, null and missing as an em dash, others as JSON.
std::string text(const json::value& v) {
  if (v.is_null()) return "—";
  if (v.is_string()) return v.as_string().empty() ? "—" : std::string(v.as_string());
  if (v.is_bool()) return v.as_bool() ? "yes" : "no";
  return to_json_text(v);
}

std::string cell(const json::value& v) { return "<td>" + escape(text(v)) + "</td>"; }

std::string num_cell(const json::value& v) { return "<td class=\"num\">" + escape(text(v)) + "</td>"; }

/// A duration in milliseconds as "3 s", "4 min", "2 h", or an em dash.
std::string age(const json::value& ms) {
  if (!ms.is_number()) return "—";
  const double s = ms.to_number<double>() / 1000.0;
  if (s < 120) return std::to_string(static_cast<long long>(s)) + " s";
  if (s < 7200) return std::to_string(static_cast<long long>(s / 60)) + " min";
  return std::to_string(static_cast<long long>(s / 3600)) + " h";
}

/// "used / limit", or an em dash where the vendor states no budget (-1).
std::string budget(const json::value& used, const json::value& limit) {
  if (!limit.is_number() || limit.to_number<double>() < 0) return "—";
  return escape(text(used)) + " / " + escape(text(limit));
}

/// A window in milliseconds as people say it: "24 h", "10 s", "1 min"; an em dash when unknown.
std::string window(const json::value& ms) {
  if (!ms.is_number()) return "—";
  const auto v = static_cast<long long>(ms.to_number<double>());
  if (v >= 3'600'000 && v % 3'600'000 == 0) return std::to_string(v / 3'600'000) + " h";
  if (v >= 60'000 && v % 60'000 == 0) return std::to_string(v / 60'000) + " min";
  if (v >= 1000 && v % 1000 == 0) return std::to_string(v / 1000) + " s";
  return std::to_string(v) + " ms";
}

/// Every rate limit each connector's vendor stated (status `api.limits`): used, remaining and the window, a bar,
/// and the headers as the vendor sent them.
std::string api_limits_table(const json::value& status) {
  std::string out = "<table id=\"api-limits\"><caption>API budget, in each vendor's words</caption><thead><tr>"
                    "<th scope=\"col\">Connector</th><th scope=\"col\">Limit</th><th scope=\"col\">Used</th>"
                    "<th scope=\"col\">Remaining</th><th scope=\"col\">Of</th><th scope=\"col\">Window</th>"
                    "<th scope=\"col\">Use</th><th scope=\"col\">As the vendor says it</th><th scope=\"col\">Seen</th>"
                    "</tr></thead><tbody>";
  std::size_t n = 0;
  if (const auto* conns = at(status, "connectors").if_object())
    for (const auto& [name, c] : *conns)
      if (const auto* limits = at(at(c, "api"), "limits").if_array())
        for (const auto& l : *limits) {
          ++n;
          const auto& used = at(l, "used");
          const auto& lim = at(l, "limit");
          std::string bar = "—";
          if (used.is_number() && lim.is_number() && lim.to_number<double>() > 0) {
            // A <meter> needs no style attribute (the CSP forbids inline style) and reads out as a fraction.
            const double u = used.to_number<double>(), m = lim.to_number<double>();
            bar = "<meter min=\"0\" max=\"" + to_json_text(json::value(m)) + "\" high=\"" +
                  to_json_text(json::value(0.8 * m)) + "\" value=\"" + to_json_text(json::value(u)) + "\">" +
                  std::to_string(static_cast<long long>(100 * u / m)) + "%</meter>";
          }
          out += "<tr data-connector=\"" + escape(std::string(name)) + "\" data-limit=\"" + escape(text(at(l, "name"))) +
                 "\"><th scope=\"row\">" + escape(std::string(name)) + "</th>" + cell(at(l, "name")) + num_cell(used) +
                 num_cell(at(l, "remaining")) + num_cell(lim) + "<td>" + escape(window(at(l, "window_ms"))) + "</td><td>" +
                 bar + "</td><td><code>" + escape(text(at(l, "vendor_words"))) + "</code></td><td class=\"num\">" +
                 escape(age(at(l, "age_ms"))) + " ago</td></tr>";
        }
  if (n == 0) out += "<tr><td colspan=\"9\">No vendor has stated a limit yet.</td></tr>";
  return out + "</tbody></table>";
}

/// On PostgreSQL: this instance, the leader, and every instance holding a lease of the shared store.
std::string cluster_section(const json::value& status) {
  const auto& cl = at(status, "cluster");
  if (!cl.is_object()) return {};
  // The leader is the holder of the pipeline lease (daemon/sync leadership).
  std::string leader = "none";
  if (const auto* leases = at(cl, "leases").if_array())
    for (const auto& l : *leases)
      if (text(at(l, "key")) == "pipeline") leader = text(at(l, "owner"));
  std::string out = "<p id=\"cluster-summary\">Cluster: this instance <strong>" + escape(text(at(cl, "instance"))) +
                    "</strong>" + (at(cl, "leader").is_bool() && at(cl, "leader").as_bool() ? " (the leader)" : "") +
                    ", leader <strong id=\"cluster-leader\">" + escape(leader) + "</strong></p><table id=\"cluster\"><caption>Instances and the leases they hold</caption><thead><tr>"
                    "<th scope=\"col\">Lease</th><th scope=\"col\">Instance</th><th scope=\"col\">Fencing token</th>"
                    "<th scope=\"col\">Expires</th></tr></thead><tbody>";
  if (const auto* leases = at(cl, "leases").if_array())
    for (const auto& l : *leases)
      out += "<tr>" + cell(at(l, "key")) + cell(at(l, "owner")) + num_cell(at(l, "token")) + cell(at(l, "expires_at")) +
             "</tr>";
  return out + "</tbody></table>";
}

std::string url_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::string hidden(std::string_view name, std::string_view value) {
  return "<input type=\"hidden\" name=\"" + escape(name) + "\" value=\"" + escape(value) + "\">";
}

/// A form that runs one write command through /actions (its arguments as hidden fields), with a button.
std::string action_form(const frame& f, std::string_view back, std::string_view label,
                        std::initializer_list<std::pair<std::string_view, std::string>> fields, bool danger) {
  std::string out = "<form method=\"post\" action=\"/actions\" class=\"inline\">";
  out += hidden("csrf", f.csrf) + hidden("back", back);
  for (const auto& [k, v] : fields)
    if (!v.empty()) out += hidden(k, v);
  out += std::string("<button type=\"submit\"") + (danger ? " class=\"danger\" data-confirm=\"yes\"" : "") + ">" +
         escape(label) + "</button></form>";
  return out;
}

std::string layout(const frame& f, std::string_view body) {
  static constexpr std::pair<std::string_view, std::string_view> tabs[] = {
      {"overview", "Overview"}, {"runs", "Runs"},       {"dead-letters", "Dead letters"},
      {"people", "People"},     {"analytics", "Analytics"}};
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>" + escape(f.title) + " · omnisync</title>"
      "<link rel=\"icon\" href=\"/assets/favicon.svg\"><link rel=\"stylesheet\" href=\"/assets/console.css\"><script src=\"/assets/console.js\" defer></script>"
      "</head><body><a class=\"skip\" href=\"#main\">Skip to content</a><header><span class=\"brand\">omnisync</span>"
      "<nav aria-label=\"Console\"><ul>";
  for (const auto& [id, label] : tabs) {
    const std::string href = id == "overview" ? "/" : "/" + std::string(id);
    out += "<li><a href=\"" + href + "\"" + (f.active == id ? " aria-current=\"page\"" : "") + ">" +
           std::string(label) + "</a></li>";
  }
  out += "</ul></nav>";
  out += std::string("<span class=\"scope\">") + (f.can_write ? "read and write" : "read only") + "</span>";
  if (!f.csrf.empty())
    out += "<form method=\"post\" action=\"/logout\" class=\"inline\">" + hidden("csrf", f.csrf) +
           "<button type=\"submit\">Sign out</button></form>";
  out += "</header><main id=\"main\"><h1>" + escape(f.title) + "</h1>";
  if (!f.notice.empty()) out += "<p class=\"notice\" role=\"status\">" + escape(f.notice) + "</p>";
  out.append(body);
  out += "</main></body></html>\n";
  return out;
}

std::string runs_table(const json::value& items, std::string_view caption) {
  std::string out = "<table id=\"runs\"><caption>" + escape(caption) +
                    "</caption><thead><tr><th scope=\"col\">Run</th><th scope=\"col\">Kind</th><th scope=\"col\">"
                    "Connector</th><th scope=\"col\">Started</th><th scope=\"col\">Duration (s)</th><th scope=\"col\">"
                    "Outcome</th><th scope=\"col\">Read</th><th scope=\"col\">Stored</th><th scope=\"col\">Written"
                    "</th><th scope=\"col\">Refused</th><th scope=\"col\">Error</th></tr></thead><tbody>";
  std::size_t n = 0;
  if (const auto* a = items.if_array())
    for (const auto& r : *a) {
      ++n;
      const auto& w = at(r, "writes");
      out += "<tr>" + num_cell(at(r, "id")) + cell(at(r, "kind")) + cell(at(r, "connector")) +
             cell(at(r, "started_at")) + num_cell(at(r, "duration_s")) + cell(at(r, "outcome")) +
             num_cell(at(r, "read")) + num_cell(at(r, "stored")) + num_cell(at(w, "written")) +
             num_cell(at(w, "refused")) + cell(at(r, "error")) + "</tr>";
    }
  if (n == 0) out += "<tr><td colspan=\"11\">No runs yet.</td></tr>";
  return out + "</tbody></table>";
}

}  // namespace detail

using namespace detail;

std::string escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string overview(const frame& f, const json::value& status, const json::value& runs,
                     const json::value& dlq_stats) {
  // Open dead letters per connector, from dlq stats (the status has the store's total only).
  std::map<std::string, std::int64_t> dead;
  if (const auto* groups = at(dlq_stats, "groups").if_array())
    for (const auto& g : *groups)
      if (at(g, "connector").is_string() && at(g, "count").is_int64())
        dead[std::string(at(g, "connector").as_string())] += at(g, "count").as_int64();
  std::string body =
      "<p class=\"summary\">State <strong id=\"daemon-state\">" + escape(text(at(status, "state"))) +
      "</strong> · version " + escape(text(at(status, "version"))) + " · up " +
      escape(text(at(status, "uptime_s"))) + " s · open dead letters <strong id=\"dead-letters-total\">" +
      escape(text(at(at(status, "store"), "dead_letters"))) + "</strong></p>";
  body += "<table id=\"connectors\"><caption>Connectors</caption><thead><tr><th scope=\"col\">Connector</th>"
          "<th scope=\"col\">Kind</th><th scope=\"col\">State</th><th scope=\"col\">Health</th>"
          "<th scope=\"col\">Freshness</th><th scope=\"col\">Records</th><th scope=\"col\">Inbox queue</th>"
          "<th scope=\"col\">Outbox queue</th><th scope=\"col\">Dead letters</th><th scope=\"col\">Webhooks / min</th>"
          "<th scope=\"col\">API calls</th><th scope=\"col\">API budget used / limit</th></tr></thead><tbody>";
  if (const auto* conns = at(status, "connectors").if_object())
    for (const auto& [name, c] : *conns) {
      const auto& health = at(c, "health");
      // Freshness: the largest lag of the connector's objects (the stalest one decides).
      json::value lag = nullptr;
      if (const auto* objs = at(c, "objects_status").if_array())
        for (const auto& o : *objs)
          if (at(o, "lag_ms").is_number() &&
              (lag.is_null() || at(o, "lag_ms").to_number<double>() > lag.to_number<double>()))
            lag = at(o, "lag_ms");
      const auto& api = at(c, "api");
      const std::string n(name);
      body += "<tr data-connector=\"" + escape(n) + "\"><th scope=\"row\">" + escape(n) + "</th>" +
              cell(at(c, "kind")) + cell(at(c, "state")) + "<td class=\"health health-" +
              escape(text(at(health, "state"))) + "\">" + escape(text(at(health, "state"))) +
              (at(health, "text").is_string() && !at(health, "text").as_string().empty() &&
                       at(health, "text") != at(health, "state")
                   ? ": " + escape(text(at(health, "text")))
                   : std::string()) +
              "</td><td class=\"num\">" + escape(age(lag)) + "</td>" + num_cell(at(c, "records")) +
              num_cell(at(c, "inbox_depth")) + num_cell(at(c, "outbox_depth")) + "<td class=\"num\">" +
              std::to_string(dead.count(n) ? dead[n] : 0) + "</td>" + num_cell(at(c, "events_per_minute")) +
              num_cell(at(api, "calls")) +
              "<td class=\"num\">" + budget(at(api, "budget_used"), at(api, "budget_limit")) + "</td></tr>";
    }
  body += "</tbody></table>";
  body += api_limits_table(status);
  body += cluster_section(status);
  body += runs_table(at(runs, "items"), "Last runs");
  return layout(f, body);
}

std::string runs(const frame& f, const json::value& r, std::string_view next) {
  std::string body = "<p><a href=\"/records\" id=\"inspect-link\">Inspect a record</a>: its stored payload, mapped "
                     "values, where its values went and the writes it caused</p>";
  body += runs_table(at(r, "items"), "Run history, newest first");
  if (!next.empty()) body += "<p><a rel=\"next\" href=\"/runs?" + escape(next) + "\">Older runs</a></p>";
  return layout(f, body);
}

std::string dead_letters(const frame& f, const json::value& stats, const json::value& list, std::string_view next) {
  std::string body = "<p>Open dead letters: <strong id=\"dead-letters-total\">" + escape(text(at(stats, "total"))) +
                     "</strong></p>";
  if (f.can_write && !f.csrf.empty() && at(stats, "total").is_int64() && at(stats, "total").as_int64() > 0)
    body += "<p>" + action_form(f, "/dead-letters", "Retry all", {{"command", "dlq"}, {"action", "retry"}, {"all", "true"}}) +
            " " + action_form(f, "/dead-letters", "Drop all", {{"command", "dlq"}, {"action", "drop"}, {"all", "true"}}, true) +
            "</p>";
  body += "<table id=\"dlq-groups\"><caption>By reason</caption><thead><tr><th scope=\"col\">Connector</th>"
          "<th scope=\"col\">Object</th><th scope=\"col\">Stage</th><th scope=\"col\">Reason</th>"
          "<th scope=\"col\">Count</th><th scope=\"col\">First</th><th scope=\"col\">Last</th>" +
          std::string(f.can_write ? "<th scope=\"col\">Actions</th>" : "") + "</tr></thead><tbody>";
  std::size_t n = 0;
  if (const auto* groups = at(stats, "groups").if_array())
    for (const auto& g : *groups) {
      ++n;
      body += "<tr>" + cell(at(g, "connector")) + cell(at(g, "object")) + cell(at(g, "stage")) + cell(at(g, "reason")) +
              num_cell(at(g, "count")) + cell(at(g, "first")) + cell(at(g, "last"));
      if (f.can_write && !f.csrf.empty()) {
        // The group's filters: its connector, object and stage, and its reason as text the filter contains.
        auto s = [&](std::string_view k) { return at(g, k).is_string() ? std::string(at(g, k).as_string()) : std::string(); };
        body += "<td>" +
                action_form(f, "/dead-letters", "Retry", {{"command", "dlq"}, {"action", "retry"}, {"connector", s("connector")},
                             {"object", s("object")}, {"stage", s("stage")}, {"reason", s("reason")}}) +
                action_form(f, "/dead-letters", "Drop", {{"command", "dlq"}, {"action", "drop"}, {"connector", s("connector")},
                             {"object", s("object")}, {"stage", s("stage")}, {"reason", s("reason")}}, true) +
                "</td>";
      }
      body += "</tr>";
    }
  if (n == 0) body += "<tr><td colspan=\"8\">No open dead letters.</td></tr>";
  body += "</tbody></table>";
  body += "<table id=\"dlq-entries\"><caption>Entries</caption><thead><tr><th scope=\"col\">Id</th>"
          "<th scope=\"col\">Connector</th><th scope=\"col\">Object</th><th scope=\"col\">Record</th>"
          "<th scope=\"col\">Stage</th><th scope=\"col\">Reason</th><th scope=\"col\">Created</th>"
          "<th scope=\"col\">Retries</th></tr></thead><tbody>";
  if (const auto* items = at(list, "items").if_array())
    for (const auto& e : *items)
      body += "<tr>" + num_cell(at(e, "id")) + cell(at(e, "connector")) + cell(at(e, "object")) +
              cell(at(e, "record_id")) + cell(at(e, "stage")) + cell(at(e, "reason")) + cell(at(e, "created_at")) +
              num_cell(at(e, "retries")) + "</tr>";
  body += "</tbody></table>";
  if (!next.empty()) body += "<p><a rel=\"next\" href=\"/dead-letters?" + escape(next) + "\">More entries</a></p>";
  return layout(f, body);
}

std::string people(const frame& f, std::string_view query, const json::value* results, const json::value* person) {
  std::string body =
      "<form method=\"get\" action=\"/people\" role=\"search\"><label for=\"q\">Search by e-mail, name, phone or id"
      "</label> <input id=\"q\" name=\"q\" type=\"search\" value=\"" + escape(query) +
      "\"> <button type=\"submit\">Search</button></form>";
  if (results) {
    body += "<table id=\"people-results\"><caption>Profiles matching “" + escape(query) +
            "”</caption><thead><tr><th scope=\"col\">Profile</th><th scope=\"col\">E-mail</th>"
            "<th scope=\"col\">Name</th><th scope=\"col\">Stage</th></tr></thead><tbody>";
    std::size_t n = 0;
    if (const auto* items = at(*results, "items").if_array())
      for (const auto& p : *items) {
        ++n;
        const std::string id = text(at(p, "_profile_id"));
        std::string name = text(at(p, "first_name"));
        if (at(p, "last_name").is_string()) name += " " + text(at(p, "last_name"));
        body += "<tr><td><a href=\"/people?id=" + url_encode(id) + "\">" + escape(id) + "</a></td>" +
                cell(at(p, "email")) + "<td>" + escape(name) + "</td>" + cell(at(p, "lifecycle_stage")) + "</tr>";
      }
    if (n == 0) body += "<tr><td colspan=\"4\">No profile matches.</td></tr>";
    body += "</tbody></table>";
  }
  if (person) {
    const auto& p = *person;
    body += "<section aria-labelledby=\"p-title\"><h2 id=\"p-title\">Profile " + escape(text(at(p, "id"))) + "</h2>";
    if (!at(p, "edges").is_array())
      body += "<p><a id=\"explain-link\" href=\"/people?id=" + url_encode(text(at(p, "id"))) +
              "&amp;explain=true\">Explain: why these records are linked, and split or restore a link</a></p>";
    body += "<table id=\"golden\"><caption>Golden values and where each came from</caption><thead><tr>"
            "<th scope=\"col\">Attribute</th><th scope=\"col\">Value</th><th scope=\"col\">Source</th>"
            "<th scope=\"col\">Decided by</th></tr></thead><tbody>";
    if (const auto* golden = at(p, "golden").if_object())
      for (const auto& [attr, g] : *golden) {
        std::string from;
        if (const auto* a = at(g, "from").if_array())
          for (const auto& s : *a) from += (from.empty() ? "" : ", ") + text(at(s, "record"));  // system:object:id
        body += "<tr><th scope=\"row\">" + escape(std::string(attr)) + "</th>" + cell(at(g, "value")) + "<td>" +
                escape(from) + "</td>" + cell(at(g, "decided_by")) + "</tr>";
      }
    body += "</tbody></table><table id=\"kpis\"><caption>KPIs</caption><tbody>";
    if (const auto* kpis = at(p, "kpis").if_object())
      for (const auto& [k, v] : *kpis)
        body += "<tr><th scope=\"row\">" + escape(std::string(k)) + "</th>" + num_cell(v) + "</tr>";
    body += "</tbody></table><table id=\"linked\"><caption>Linked records</caption><thead><tr>"
            "<th scope=\"col\">System</th><th scope=\"col\">Object</th><th scope=\"col\">Id</th>"
            "<th scope=\"col\">First seen</th><th scope=\"col\">Deleted</th></tr></thead><tbody>";
    if (const auto* recs = at(p, "records").if_array())
      for (const auto& r : *recs) {
        // The id links to the record inspector (stored payload, mapped values, provenance, writes).
        const std::string href = "/records?connector=" + url_encode(text(at(r, "system"))) +
                                 "&object=" + url_encode(text(at(r, "object"))) + "&id=" + url_encode(text(at(r, "id")));
        body += "<tr>" + cell(at(r, "system")) + cell(at(r, "object")) + "<td><a href=\"" + escape(href) + "\">" +
                escape(text(at(r, "id"))) + "</a></td>" + cell(at(r, "first_seen")) + cell(at(r, "deleted")) + "</tr>";
      }
    body += "</tbody></table><table id=\"timeline\"><caption>Timeline (newest first, " +
            escape(text(at(p, "timeline_total"))) + " events)</caption><thead><tr><th scope=\"col\">At</th>"
            "<th scope=\"col\">Type</th><th scope=\"col\">Subject</th><th scope=\"col\">Amount</th>"
            "<th scope=\"col\">Status</th><th scope=\"col\">Score</th></tr></thead><tbody>";
    if (const auto* events = at(p, "timeline").if_array())
      for (const auto& e : *events)
        body += "<tr>" + cell(at(e, "at")) + cell(at(e, "type")) + cell(at(e, "subject")) + num_cell(at(e, "amount")) +
                cell(at(e, "status")) + num_cell(at(e, "score")) + "</tr>";
    body += "</tbody></table>";
    body += identity_section(f, p);
    body += "</section>";
  }
  return layout(f, body);
}

std::string login(std::string_view message) {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign in · omnisync</title>"
      "<link rel=\"icon\" href=\"/assets/favicon.svg\"><link rel=\"stylesheet\" href=\"/assets/console.css\"></head><body><main id=\"main\" class=\"login\">"
      "<h1>omnisync console</h1>";
  if (!message.empty()) out += "<p class=\"notice\" role=\"alert\">" + escape(message) + "</p>";
  out += "<form method=\"post\" action=\"/login\"><label for=\"token\">Access token</label> "
         "<input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required> "
         "<button type=\"submit\">Sign in</button></form></main></body></html>\n";
  return out;
}

std::string message_page(int status, std::string_view message) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + std::to_string(status) +
         " · omnisync</title><link rel=\"stylesheet\" href=\"/assets/console.css\"></head><body><main id=\"main\">"
         "<h1>" + std::to_string(status) + "</h1><p>" + escape(message) +
         "</p><p><a href=\"/\">Back to the overview</a></p></main></body></html>\n";
}

}  // namespace omnisync::console::pages
