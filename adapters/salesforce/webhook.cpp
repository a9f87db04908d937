#include "adapters/salesforce/webhook.hpp"

#include <pugixml.hpp>

#include <algorithm>

#include "adapters/common/crypto.hpp"

namespace omnisync::adapters {

std::string salesforce_outbound_ack() {
  return R"(<?xml version="1.0" encoding="UTF-8"?>)"
         R"(<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>)"
         R"(<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse>)"
         R"(</soapenv:Body></soapenv:Envelope>)";
}

namespace {

std::string_view local_name(const char* name) {
  std::string_view n(name);
  auto colon = n.find(':');
  return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

pugi::xml_node child_local(pugi::xml_node parent, std::string_view name) {
  for (auto c : parent.children())
    if (c.type() == pugi::node_element && local_name(c.name()) == name) return c;
  return {};
}

class salesforce_outbound final : public adapters::webhook_endpoint {
 public:
  explicit salesforce_outbound(salesforce_outbound_options o) : o_(std::move(o)) {}
  std::string connector() const override { return o_.connector; }
  std::size_t max_body() const override { return o_.max_body; }
  std::vector<std::string> content_types() const override { return {"text/xml", "application/soap+xml"}; }

  omnisync::result<adapters::verified_event> verify(const adapters::inbound_request& r) const override {
    pugi::xml_document doc;
    // pugixml never expands entities (no XXE, no billion laughs); a document type declaration is kept as a node
    // only to refuse it: Salesforce sends none, so a message with one is not from Salesforce.
    auto parsed = doc.load_buffer(r.body.data(), r.body.size(), pugi::parse_default | pugi::parse_doctype);
    if (!parsed) return errc::invalid_input;
    for (auto n : doc.children())
      if (n.type() == pugi::node_doctype) return errc::invalid_input;
    auto envelope = doc.document_element();
    if (local_name(envelope.name()) != "Envelope") return errc::invalid_input;
    auto notifications = child_local(child_local(envelope, "Body"), "notifications");
    if (!notifications) return errc::invalid_input;
    std::string org = child_local(notifications, "OrganizationId").text().get();
    // Salesforce ids come in 15- and 18-character forms; the first 15 characters are the id.
    if (!o_.organization_id.empty() &&
        !adapters::constant_time_equal(std::string_view(org).substr(0, 15),
                                   std::string_view(o_.organization_id).substr(0, 15)))
      return errc::auth_expired;
    std::vector<std::string> ids;
    for (auto n : notifications.children()) {
      if (n.type() != pugi::node_element || local_name(n.name()) != "Notification") continue;
      std::string id = child_local(n, "Id").text().get();
      if (id.empty()) return errc::invalid_input;
      ids.push_back(std::move(id));
    }
    if (ids.empty() || ids.size() > 100) return errc::invalid_input;
    std::sort(ids.begin(), ids.end());
    std::string joined;
    for (const auto& id : ids) joined += (joined.empty() ? "" : ",") + id;
    std::string key = ids.size() == 1 ? "notification:" + joined : "notifications-sha256:" + sha256_hex(joined);
    return adapters::verified_event{std::move(key), {200, "text/xml; charset=utf-8", salesforce_outbound_ack()}};
  }

 private:
  salesforce_outbound_options o_;
};

}  // namespace

std::shared_ptr<const adapters::webhook_endpoint> make_salesforce_outbound_endpoint(salesforce_outbound_options o) {
  return std::make_shared<salesforce_outbound>(std::move(o));
}

}  // namespace omnisync::adapters
