// Fuzzes one vendor's webhook path as the listener and the inbox drive it: `verify` on the raw request, then the
// connector's `parse_event` on the stored body. Built once per vendor (FUZZ_VENDOR_<name>, see CMakeLists.txt).
// Each input is used twice:
// - as the body of a correctly signed request (signature over these bytes, timestamp now): `verify` must accept
//   it or call it malformed (invalid_input) — never refuse its authentication — and `parse_event` must turn it
//   into records or invalid_input;
// - split at its first line into forged header values (signature, timestamp, URL token) and a body: `verify`
//   must answer without crashing (whatever it answers).
// Salesforce also runs the Outbound Message parser with describe types, so typed conversions are reached.
#include <boost/asio/io_context.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "adapters/activecampaign/webhook.hpp"
#include "adapters/hubspot/webhook.hpp"
#include "adapters/intercom/webhook.hpp"
#include "adapters/salesforce/outbound_message.hpp"
#include "adapters/salesforce/webhook.hpp"
#include "adapters/zendesk/webhook.hpp"
#include "core/time.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {
using omnisync::adapters::inbound_request;
namespace fz = omnisync::fuzz;

const std::string secret = "fuzz-webhook-secret";
const std::string ac_token = "fuzz-url-token";
const std::string sf_org = "00D000000000001";

#if defined(FUZZ_VENDOR_hubspot)
const char* const name = "hs";
const std::string block = "    kind: hubspot\n    base_url: http://127.0.0.1:9\n    auth: { private_app_token: t }\n"
                          "    objects: [contacts, companies, deals]\n"
                          "    webhook: { client_secret: " + secret + " }\n";
#elif defined(FUZZ_VENDOR_zendesk)
const char* const name = "zd";
const std::string block = "    kind: zendesk\n    base_url: http://127.0.0.1:9\n"
                          "    auth: { email: a@example.com, api_token: t }\n"
                          "    objects: [users, tickets, satisfaction_ratings]\n"
                          "    webhook: { signing_secret: " + secret + " }\n";
#elif defined(FUZZ_VENDOR_intercom)
const char* const name = "ic";
const std::string block = "    kind: intercom\n    base_url: http://127.0.0.1:9\n    auth: { access_token: t }\n"
                          "    webhook: { client_secret: " + secret + " }\n";
#elif defined(FUZZ_VENDOR_activecampaign)
const char* const name = "ac";
const std::string block = "    kind: activecampaign\n    base_url: http://127.0.0.1:9\n    auth: { api_token: t }\n"
                          "    webhook: { url_token: " + ac_token + " }\n";
#elif defined(FUZZ_VENDOR_salesforce)
const char* const name = "sf";
const std::string block = "    kind: salesforce\n    login_url: http://127.0.0.1:9\n"
                          "    auth: { flow: client_credentials, client_id: c, client_secret: s }\n"
                          "    objects: [Contact, Account]\n"
                          "    webhook: { organization_id: " + sf_org + " }\n";
#else
#error "define FUZZ_VENDOR_<name>"
#endif

inbound_request post(std::string body, std::vector<std::pair<std::string, std::string>> headers,
                     std::string token = {}) {
  inbound_request r;
  r.method = "POST";
  r.path = std::string("/webhooks/") + name + (token.empty() ? "" : "/" + token);
  r.target = r.path;
  r.token = std::move(token);
  r.headers = std::move(headers);
  r.body = std::move(body);
  r.remote_address = "127.0.0.1";
  r.received_at = std::chrono::system_clock::now();
  return r;
}

/// The request the vendor would send with `body`, correctly signed now.
inbound_request signed_request(const std::string& body) {
#if defined(FUZZ_VENDOR_hubspot)
  const auto ts = std::to_string(omnisync::to_epoch_ms(omnisync::utc_now()));
  return post(body, {{"Content-Type", "application/json"},
                     {"X-HubSpot-Signature-v3",
                      omnisync::adapters::hubspot_signature_v3(secret, "POST", "https://sync.example.com/webhooks/hs",
                                                               body, ts)},
                     {"X-HubSpot-Request-Timestamp", ts}});
#elif defined(FUZZ_VENDOR_zendesk)
  const auto ts = omnisync::format_iso8601(omnisync::utc_now());
  return post(body, {{"Content-Type", "application/json"},
                     {"X-Zendesk-Webhook-Signature", omnisync::adapters::zendesk_signature(secret, ts, body)},
                     {"X-Zendesk-Webhook-Signature-Timestamp", ts}});
#elif defined(FUZZ_VENDOR_intercom)
  return post(body, {{"Content-Type", "application/json"},
                     {"X-Hub-Signature", omnisync::adapters::intercom_signature(secret, body)}});
#elif defined(FUZZ_VENDOR_activecampaign)
  return post(body, {{"Content-Type", "application/x-www-form-urlencoded"}}, ac_token);
#else
  return post(body, {{"Content-Type", "text/xml; charset=utf-8"}, {"SOAPAction", "\"\""}});
#endif
}

/// The same request with every authenticating value taken from the input instead.
inbound_request forged_request(const std::string& value, const std::string& body) {
  return post(body,
              {{"Content-Type", value},
               {"X-HubSpot-Signature-v3", value},
               {"X-HubSpot-Signature", value},
               {"X-HubSpot-Request-Timestamp", value},
               {"X-Zendesk-Webhook-Signature", value},
               {"X-Zendesk-Webhook-Signature-Timestamp", value},
               {"X-Hub-Signature", value}},
              value);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static boost::asio::io_context io;
  static const auto connector = fz::make_connector(io, name, block);
  static const auto endpoint = connector->webhook();
  if (!endpoint) std::abort();  // the fixed config enables the webhook
  const std::string body(fz::text(data, size));

  auto ok = endpoint->verify(signed_request(body));
  const bool refused_auth = !ok && (ok.error() == omnisync::make_error_code(omnisync::errc::auth_expired) ||
                                    ok.error() == omnisync::make_error_code(omnisync::errc::timeout));
#if !defined(FUZZ_VENDOR_salesforce)  // Salesforce authenticates by the OrganizationId inside the body
  if (refused_auth) std::abort();     // a correctly signed request was refused as unauthenticated
#else
  (void)refused_auth;
#endif
  omnisync::adapters::inbox_event ev(name, ok ? ok->dedupe_key : "sha256:x", omnisync::utc_now(),
                                     R"({"method":"POST"})", body);
  if (auto parsed = connector->parse_event(ev)) {
    for (const auto& r : parsed->records)
      if (r.object.empty()) std::abort();
  }
#if defined(FUZZ_VENDOR_salesforce)
  static const omnisync::adapters::salesforce::field_type_lookup types =
      [](const std::string&, const std::string& field) -> std::optional<std::string> {
    static const char* const kinds[] = {"boolean", "double", "int", "currency", "percent", "date", "datetime",
                                        "string", "reference", "long"};
    return field.empty() ? std::nullopt : std::optional<std::string>(kinds[field.size() % 10]);
  };
  (void)omnisync::adapters::salesforce::parse_outbound_message(body, types);
#endif

  const auto [value, rest] = fz::first_line(body);
  (void)endpoint->verify(forged_request(value, rest));
  return 0;
}
