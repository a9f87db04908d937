// The record inspector page and the People page's explain part (identity links with split and restore).
#include <boost/json.hpp>

#include "core/json_text.hpp"
#include "daemon/console/page_parts.hpp"

namespace json = boost::json;

namespace omnisync::console::pages {
namespace detail {
namespace {

/// A JSON value pretty enough to read in a <pre>: objects one member per line.
std::string pretty(const json::value& v, int indent = 0) {
  const std::string pad(std::size_t(indent) * 2, ' ');
  if (const auto* o = v.if_object()) {
    if (o->empty()) return "{}";
    std::string out = "{\n";
    std::size_t i = 0;
    for (const auto& [k, x] : *o)
      out += pad + "  " + to_json_text(json::value(k)) + ": " + pretty(x, indent + 1) + (++i < o->size() ? ",\n" : "\n");
    return out + pad + "}";
  }
  if (const auto* a = v.if_array()) {
    if (a->empty()) return "[]";
    std::string out = "[\n";
    std::size_t i = 0;
    for (const auto& x : *a) out += pad + "  " + pretty(x, indent + 1) + (++i < a->size() ? ",\n" : "\n");
    return out + pad + "]";
  }
  return to_json_text(v);
}

std::string record_text(const json::value& r) {
  return text(at(r, "system")) + ":" + text(at(r, "object")) + ":" + text(at(r, "id"));
}

}  // namespace

std::string identity_section(const frame& f, const json::value& p) {
  const auto* edges = at(p, "edges").if_array();
  if (!edges) return {};
  const std::string pid = text(at(p, "id"));
  // After a split or restore the page returns to the acted-on record's profile (found by its record key): the
  // profile id itself may be gone (a split renames one side).
  auto back_to = [](const std::string& record) { return "/people?id=" + url_encode(record) + "&explain=true"; };
  const bool act = f.can_write && !f.csrf.empty();
  std::string out = "<section aria-labelledby=\"explain-title\"><h3 id=\"explain-title\">Why these records are linked</h3>";
  out += "<table id=\"links\"><caption>Links (a shared identifier joins two records)</caption><thead><tr>"
         "<th scope=\"col\">Record</th><th scope=\"col\">Linked to</th><th scope=\"col\">Attribute</th>"
         "<th scope=\"col\">Value</th><th scope=\"col\">Rule</th><th scope=\"col\">Since</th>" +
         std::string(act ? "<th scope=\"col\">Action</th>" : "") + "</tr></thead><tbody>";
  for (const auto& e : *edges) {
    const std::string from = record_text(at(e, "from"));
    out += "<tr><td>" + escape(from) + "</td><td>" + escape(record_text(at(e, "to"))) + "</td>" + cell(at(e, "attribute")) +
           cell(at(e, "value")) + cell(at(e, "rule")) + cell(at(e, "at"));
    if (act)
      out += "<td>" + action_form(f, back_to(from), "Split",
                                  {{"command", "profile"}, {"action", "split"}, {"query", pid}, {"record", from},
                                   {"attribute", text(at(e, "attribute"))}, {"value", text(at(e, "value"))}},
                                  true) +
             "</td>";
    out += "</tr>";
  }
  if (edges->empty()) out += "<tr><td colspan=\"7\">One record: nothing links it to another.</td></tr>";
  out += "</tbody></table>";
  out += "<table id=\"ignored\"><caption>Identifiers that link nothing (a split removed the link, or too many "
         "records share it)</caption><thead><tr><th scope=\"col\">Record</th><th scope=\"col\">Attribute</th>"
         "<th scope=\"col\">Value</th><th scope=\"col\">Why</th>" +
         std::string(act ? "<th scope=\"col\">Action</th>" : "") + "</tr></thead><tbody>";
  std::size_t n = 0;
  if (const auto* ignored = at(p, "ignored").if_array())
    for (const auto& g : *ignored) {
      ++n;
      const std::string rec = record_text(at(g, "record"));
      out += "<tr><td>" + escape(rec) + "</td>" + cell(at(g, "attribute")) + cell(at(g, "value")) + cell(at(g, "reason"));
      if (act)
        out += "<td>" +
               (text(at(g, "reason")) == "split"
                    ? action_form(f, back_to(rec), "Restore",
                                  {{"command", "profile"}, {"action", "restore"}, {"query", rec}, {"record", rec},
                                   {"attribute", text(at(g, "attribute"))}, {"value", text(at(g, "value"))}})
                    : std::string("—")) +
               "</td>";
      out += "</tr>";
    }
  if (n == 0) out += "<tr><td colspan=\"5\">None.</td></tr>";
  out += "</tbody></table>";
  out += "<table id=\"conflicts\"><caption>Merges refused</caption><thead><tr><th scope=\"col\">Record</th>"
         "<th scope=\"col\">Other</th><th scope=\"col\">Attribute</th><th scope=\"col\">Value</th>"
         "<th scope=\"col\">Reason</th></tr></thead><tbody>";
  n = 0;
  if (const auto* conflicts = at(p, "conflicts").if_array())
    for (const auto& c : *conflicts) {
      ++n;
      out += "<tr><td>" + escape(record_text(at(c, "record"))) + "</td><td>" + escape(record_text(at(c, "other"))) +
             "</td>" + cell(at(c, "attribute")) + cell(at(c, "value")) + cell(at(c, "reason")) + "</tr>";
    }
  if (n == 0) out += "<tr><td colspan=\"5\">None.</td></tr>";
  return out + "</tbody></table></section>";
}

}  // namespace detail

using namespace detail;

std::string record_inspector(const frame& f, std::string_view connector, std::string_view object, std::string_view id,
                             const json::value* rec) {
  std::string body =
      "<form method=\"get\" action=\"/records\" class=\"record-form\"><label for=\"rc\">Connector</label> <input id=\"rc\" "
      "name=\"connector\" value=\"" + escape(connector) + "\" required> <label for=\"ro\">Object</label> <input id=\"ro\" "
      "name=\"object\" value=\"" + escape(object) + "\" required> <label for=\"ri\">Id</label> <input id=\"ri\" name=\"id\" "
      "value=\"" + escape(id) + "\" required> <button type=\"submit\">Inspect</button></form>";
  if (!rec) return layout(f, body);
  const auto& r = *rec;
  body += "<section aria-labelledby=\"rec-title\"><h2 id=\"rec-title\">" +
          escape(text(at(r, "connector")) + ":" + text(at(r, "object")) + ":" + text(at(r, "id"))) + "</h2>";
  body += "<p>Updated at the source " + escape(text(at(r, "source_updated_at"))) + " · stored " +
          escape(text(at(r, "stored_at"))) + " · first seen " + escape(text(at(r, "first_seen"))) +
          (at(r, "deleted").is_bool() && at(r, "deleted").as_bool() ? " · <strong>deleted</strong>" : "") + " · profile " +
          (at(r, "profile").is_string()
               ? "<a href=\"/people?id=" + url_encode(text(at(r, "profile"))) + "\">" + escape(text(at(r, "profile"))) + "</a>"
               : std::string("—")) +
          "</p>";
  body += "<h3>Stored source payload</h3><pre id=\"payload\">" + escape(pretty(at(r, "payload"))) + "</pre>";
  const auto& m = at(r, "mapping");
  body += "<table id=\"mapped\"><caption>Mapped values (" +
          escape(at(m, "file").is_null() ? std::string("no inbound mapping for this object") : text(at(m, "file"))) +
          ")</caption><thead><tr><th scope=\"col\">Target</th><th scope=\"col\">Value</th></tr></thead><tbody>";
  if (at(m, "error").is_string())
    body += "<tr><td colspan=\"2\" class=\"health-unauthorized\">The mapping refuses it: " + escape(text(at(m, "error"))) +
            "</td></tr>";
  if (const auto* mapped = at(m, "mapped").if_object())
    for (const auto& [k, v] : *mapped)
      body += "<tr><th scope=\"row\">" + escape(std::string(k)) + "</th><td><code>" + escape(to_json_text(v)) +
              "</code></td></tr>";
  body += "</tbody></table>";
  body += "<table id=\"provenance\"><caption>Golden values of its profile: ★ this record supplies it</caption><thead>"
          "<tr><th scope=\"col\">Attribute</th><th scope=\"col\">Value</th><th scope=\"col\">Supplied here</th>"
          "<th scope=\"col\">Decided by</th><th scope=\"col\">Sources</th></tr></thead><tbody>";
  std::size_t n = 0;
  if (const auto* prov = at(r, "provenance").if_array())
    for (const auto& p : *prov) {
      ++n;
      std::string sources;
      if (const auto* a = at(p, "sources").if_array())
        for (const auto& s : *a) sources += (sources.empty() ? "" : ", ") + text(s);
      const bool mine = at(p, "supplied").is_bool() && at(p, "supplied").as_bool();
      body += "<tr" + std::string(mine ? " class=\"supplied\"" : "") + "><th scope=\"row\">" + escape(text(at(p, "attribute"))) +
              "</th><td><code>" + escape(to_json_text(at(p, "value"))) + "</code></td><td>" + (mine ? "★ yes" : "no") +
              "</td>" + cell(at(p, "decided_by")) + "<td>" + escape(sources) + "</td></tr>";
    }
  if (n == 0) body += "<tr><td colspan=\"5\">The record belongs to no profile (yet).</td></tr>";
  body += "</tbody></table>";
  body += "<h3>Writes it caused (newest first)</h3>";
  n = 0;
  if (const auto* writes = at(r, "writes").if_array())
    for (const auto& w : *writes) {
      ++n;
      body += "<article class=\"write\"><h4>" + escape(text(at(w, "at"))) + " · " + escape(text(at(w, "destination"))) +
              " · " + escape(text(at(w, "field"))) + " · <span class=\"outcome-" + escape(text(at(w, "outcome"))) + "\">" +
              escape(text(at(w, "outcome"))) + "</span></h4><p>" + escape(to_json_text(at(w, "before"))) + " → " +
              escape(to_json_text(at(w, "after"))) + " (attribute " + escape(text(at(w, "attribute"))) + ", " +
              escape(text(at(w, "rule"))) + ")</p><div class=\"exchange\"><div><h5>Request</h5><pre class=\"request\">" +
              escape(pretty(at(w, "request"))) + "</pre></div><div><h5>Response</h5><pre class=\"response\">" +
              escape(pretty(at(w, "response"))) + "</pre></div></div></article>";
    }
  if (n == 0) body += "<p id=\"no-writes\">None recorded in the audit log.</p>";
  body += "</section>";
  return layout(f, body);
}

}  // namespace omnisync::console::pages
