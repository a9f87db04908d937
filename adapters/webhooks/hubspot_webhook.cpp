#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

#include "adapters/common/crypto.hpp"
#include "adapters/webhooks/verifier_util.hpp"

namespace omnisync::adapters {

std::string hubspot_normalize_uri(std::string_view uri) {
  static constexpr std::pair<std::string_view, char> decoded[] = {
      {"3A", ':'}, {"2F", '/'}, {"3F", '?'}, {"40", '@'}, {"21", '!'}, {"24", '$'},
      {"27", '\''}, {"28", '('}, {"29", ')'}, {"2A", '*'}, {"2C", ','}, {"3B", ';'}};
  std::string out;
  out.reserve(uri.size());
  for (size_t i = 0; i < uri.size(); ++i) {
    if (uri[i] == '%' && i + 2 < uri.size()) {
      std::string code{static_cast<char>(std::toupper(static_cast<unsigned char>(uri[i + 1]))),
                       static_cast<char>(std::toupper(static_cast<unsigned char>(uri[i + 2])))};
      auto it = std::find_if(std::begin(decoded), std::end(decoded), [&](const auto& p) { return p.first == code; });
      if (it != std::end(decoded)) {
        out += it->second;
        i += 2;
        continue;
      }
    }
    out += uri[i];
  }
  return out;
}

std::string hubspot_signature_v1(std::string_view secret, std::string_view body) {
  return sha256_hex(std::string(secret) + std::string(body));
}
std::string hubspot_signature_v2(std::string_view secret, std::string_view method, std::string_view uri,
                                 std::string_view body) {
  return sha256_hex(std::string(secret) + std::string(method) + std::string(uri) + std::string(body));
}
std::string hubspot_signature_v3(std::string_view secret, std::string_view method, std::string_view uri,
                                 std::string_view body, std::string_view timestamp) {
  return to_base64(hmac_sha256_raw(secret, std::string(method) + std::string(uri) + std::string(body) +
                                               std::string(timestamp)));
}

namespace {

class hubspot_webhook final : public http::webhook_endpoint {
 public:
  explicit hubspot_webhook(hubspot_webhook_options o) : o_(std::move(o)) {
    while (!o_.public_url.empty() && o_.public_url.back() == '/') o_.public_url.pop_back();
  }
  std::string connector() const override { return o_.connector; }

  omnisync::result<http::verified_event> verify(const http::inbound_request& r) const override {
    // The URL HubSpot called: our public base URL + the path and query as received.
    const std::string uri = hubspot_normalize_uri(o_.public_url + r.target);
    switch (o_.signature_version) {
      case hubspot_webhook_options::version::v3: {
        auto sig = r.header("X-HubSpot-Signature-v3");
        auto ts = r.header("X-HubSpot-Request-Timestamp");
        if (sig.empty() || ts.empty()) return errc::auth_expired;
        long long ts_ms = 0;
        try {
          ts_ms = std::stoll(std::string(ts));
        } catch (...) {
          return errc::invalid_input;
        }
        auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(detail::now(o_.clock).time_since_epoch()).count();
        if (now_ms - ts_ms > o_.max_age.count() || ts_ms - now_ms > o_.max_age.count()) return errc::invalid_input;
        auto expected = hubspot_signature_v3(o_.client_secret, r.method, uri, r.body, ts);
        if (!http::constant_time_equal(sig, expected)) return errc::auth_expired;
        break;
      }
      case hubspot_webhook_options::version::v2: {
        auto expected = hubspot_signature_v2(o_.client_secret, r.method, uri, r.body);
        if (!http::constant_time_equal(r.header("X-HubSpot-Signature"), expected)) return errc::auth_expired;
        break;
      }
      case hubspot_webhook_options::version::v1: {
        auto expected = hubspot_signature_v1(o_.client_secret, r.body);
        if (!http::constant_time_equal(r.header("X-HubSpot-Signature"), expected)) return errc::auth_expired;
        break;
      }
    }
    // A delivery is a JSON array of events, each with an eventId; a redelivery carries the same ids. A correctly
    // signed delivery we cannot read is still accepted (200), keyed by its hash, and quarantined when it is
    // processed: refusing it would only make HubSpot send it again and again.
    boost::system::error_code ec;
    auto v = boost::json::parse(r.body, ec);
    std::vector<std::string> ids;
    bool readable = !ec && v.is_array();
    if (readable) {
      for (const auto& e : v.as_array()) {
        const auto* obj = e.if_object();
        const auto* id = obj ? obj->if_contains("eventId") : nullptr;
        if (id && id->is_int64()) ids.push_back(std::to_string(id->as_int64()));
        else if (id && id->is_uint64()) ids.push_back(std::to_string(id->as_uint64()));
        else if (id && id->is_string()) ids.push_back(std::string(id->as_string()));
        else readable = false;
      }
    }
    if (!readable || ids.empty())
      return http::verified_event{"body-sha256:" + sha256_hex(r.body), {200, "application/json", "{}"}};
    std::sort(ids.begin(), ids.end());
    std::string joined;
    for (const auto& id : ids) joined += (joined.empty() ? "" : ",") + id;
    std::string key = joined.size() <= 200 ? "events:" + joined : "events-sha256:" + sha256_hex(joined);
    return http::verified_event{std::move(key), {200, "application/json", "{}"}};
  }

 private:
  hubspot_webhook_options o_;
};

}  // namespace

std::shared_ptr<const http::webhook_endpoint> make_hubspot_webhook(hubspot_webhook_options o) {
  return std::make_shared<hubspot_webhook>(std::move(o));
}

}  // namespace omnisync::adapters
