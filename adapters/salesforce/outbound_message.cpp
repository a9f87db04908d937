#include "adapters/salesforce/outbound_message.hpp"

#include <boost/json.hpp>
#include <pugixml.hpp>

#include <chrono>
#include <cstdlib>

#include "adapters/salesforce/poll_cursor.hpp"
#include "core/time.hpp"

namespace omnisync::adapters::salesforce {
namespace json = boost::json;

namespace {

std::string_view local_name(std::string_view n) {
  auto colon = n.find(':');
  return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

pugi::xml_node child_local(pugi::xml_node parent, std::string_view name) {
  for (auto c : parent.children())
    if (c.type() == pugi::node_element && local_name(c.name()) == name) return c;
  return {};
}

/// The attribute `xsi:<name>` whatever prefix the sender bound to the XML Schema instance namespace.
pugi::xml_attribute xsi_attribute(pugi::xml_node n, std::string_view name) {
  for (auto a : n.attributes())
    if (local_name(a.name()) == name && std::string_view(a.name()).find(':') != std::string_view::npos) return a;
  return {};
}

json::value typed(const std::string& text, const std::optional<std::string>& type) {
  if (!type) return json::string(text);
  if (*type == "boolean") {
    if (text == "true") return true;
    if (text == "false") return false;
  } else if (*type == "double" || *type == "currency" || *type == "percent") {
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (end && *end == '\0' && !text.empty()) return v;
  } else if (*type == "int") {
    char* end = nullptr;
    long long v = std::strtoll(text.c_str(), &end, 10);
    if (end && *end == '\0' && !text.empty()) return static_cast<std::int64_t>(v);
  }
  return json::string(text);
}

}  // namespace

omnisync::result<event_records> parse_outbound_message(std::string_view body, const field_type_lookup& types) {
  pugi::xml_document doc;
  // No DOCTYPE processing: pugixml never resolves external entities, and without parse_doctype it skips them.
  auto parsed = doc.load_buffer(body.data(), body.size(), pugi::parse_default & ~pugi::parse_doctype);
  if (!parsed) return make_error_code(errc::invalid_input);
  auto envelope = doc.document_element();
  if (local_name(envelope.name()) != "Envelope") return make_error_code(errc::invalid_input);
  auto notifications = child_local(child_local(envelope, "Body"), "notifications");
  if (!notifications) return make_error_code(errc::invalid_input);
  event_records out;
  for (auto n : notifications.children()) {
    if (n.type() != pugi::node_element || local_name(n.name()) != "Notification") continue;
    auto so = child_local(n, "sObject");
    if (!so) return make_error_code(errc::invalid_input);
    std::string type(local_name(xsi_attribute(so, "type").value()));
    if (type.empty()) return make_error_code(errc::invalid_input);
    json::object rec;
    rec["attributes"] = json::object{{"type", type}};
    for (auto f : so.children()) {
      if (f.type() != pugi::node_element) continue;
      std::string name(local_name(f.name()));
      if (name.empty()) continue;
      if (std::string_view(xsi_attribute(f, "nil").value()) == "true") {
        rec[name] = nullptr;
        continue;
      }
      rec[name] = typed(f.text().get(), types ? types(type, name) : std::nullopt);
    }
    auto* id = rec.if_contains("Id");
    if (!id || !id->is_string() || !is_record_id(id->as_string())) return make_error_code(errc::invalid_input);
    omnisync::timestamp updated{};
    if (auto* ms = rec.if_contains("SystemModstamp"); ms && ms->is_string())
      if (auto t = parse_iso8601(ms->as_string(), time_part::required)) updated = *t;
    bool deleted = false;
    if (auto* d = rec.if_contains("IsDeleted"); d && ((d->is_bool() && d->as_bool()) || (d->is_string() && d->as_string() == "true")))
      deleted = true;
    std::string rid(id->as_string());
    out.records.emplace_back(type, adapters::source_record(rid, json::serialize(rec), updated, deleted));
  }
  if (out.records.empty()) return make_error_code(errc::invalid_input);
  return out;
}

}  // namespace omnisync::adapters::salesforce
