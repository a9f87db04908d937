#include "adapters/hubspot/webhook.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "adapters/common/crypto.hpp"

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

/// HMAC-SHA256 under one key, set up once: each MAC starts from a copy of the keyed state, where OpenSSL 3's
/// one-shot HMAC() fetches the algorithm and hashes the key again on every call (half the cost of verifying a
/// webhook). Thread-safe: the keyed state is only copied. Falls back to the one-shot function if OpenSSL refuses
/// the set-up (e.g. an empty key).
class keyed_hmac_sha256 {
 public:
  explicit keyed_hmac_sha256(std::string_view key) : key_(key) {
    mac_ = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (mac_) keyed_ = EVP_MAC_CTX_new(mac_);
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
    if (keyed_ && EVP_MAC_init(keyed_, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) != 1) {
      EVP_MAC_CTX_free(keyed_);
      keyed_ = nullptr;
    }
  }
  ~keyed_hmac_sha256() {
    EVP_MAC_CTX_free(keyed_);
    EVP_MAC_free(mac_);
  }
  keyed_hmac_sha256(const keyed_hmac_sha256&) = delete;
  keyed_hmac_sha256& operator=(const keyed_hmac_sha256&) = delete;

  /// The raw MAC of the concatenation of `parts`.
  std::string mac(std::initializer_list<std::string_view> parts) const {
    EVP_MAC_CTX* c = keyed_ ? EVP_MAC_CTX_dup(keyed_) : nullptr;
    if (c) {
      bool ok = true;
      for (auto p : parts)
        ok = ok && EVP_MAC_update(c, reinterpret_cast<const unsigned char*>(p.data()), p.size()) == 1;
      unsigned char out[EVP_MAX_MD_SIZE];
      std::size_t len = 0;
      ok = ok && EVP_MAC_final(c, out, &len, sizeof out) == 1;
      EVP_MAC_CTX_free(c);
      if (ok) return std::string(reinterpret_cast<const char*>(out), len);
    }
    std::string data;
    for (auto p : parts) data.append(p);
    return hmac_sha256_raw(key_, data);
  }

 private:
  std::string key_;
  EVP_MAC* mac_ = nullptr;
  EVP_MAC_CTX* keyed_ = nullptr;
};

/// std::stoll's reading of a decimal header value (leading blanks, a sign, digits up to the first other
/// character), without an exception or a copy; nullopt where stoll would throw.
std::optional<long long> leading_integer(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  if (!s.empty() && s.front() == '+') {
    s.remove_prefix(1);
    if (!s.empty() && (s.front() == '-' || s.front() == '+')) return std::nullopt;
  }
  long long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc()) return std::nullopt;
  return v;
}

class hubspot_webhook final : public adapters::webhook_endpoint {
 public:
  explicit hubspot_webhook(hubspot_webhook_options o) : o_(std::move(o)), hmac_(o_.client_secret) {
    while (!o_.public_url.empty() && o_.public_url.back() == '/') o_.public_url.pop_back();
    // Normalising the base URL once is exact unless an escape could straddle it and the request target.
    const auto tail = std::string_view(o_.public_url).substr(o_.public_url.size() < 2 ? 0 : o_.public_url.size() - 2);
    if (tail.find('%') == std::string_view::npos) normalized_base_ = hubspot_normalize_uri(o_.public_url);
  }
  std::string connector() const override { return o_.connector; }

  omnisync::result<adapters::verified_event> verify(const adapters::inbound_request& r) const override {
    // The URL HubSpot called: our public base URL + the path and query as received.
    const std::string uri = normalized_base_ ? *normalized_base_ + hubspot_normalize_uri(r.target)
                                             : hubspot_normalize_uri(o_.public_url + r.target);
    switch (o_.signature_version) {
      case hubspot_webhook_options::version::v3: {
        auto sig = r.header("X-HubSpot-Signature-v3");
        auto ts = r.header("X-HubSpot-Request-Timestamp");
        if (sig.empty() || ts.empty()) return errc::auth_expired;
        const auto parsed_ts = leading_integer(ts);
        if (!parsed_ts) return errc::auth_expired;  // no usable signature timestamp: not authenticated
        const long long ts_ms = *parsed_ts;
        auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(webhook_now(o_.clock).time_since_epoch()).count();
        if (now_ms - ts_ms > o_.max_age.count() || ts_ms - now_ms > o_.max_age.count()) return errc::timeout;
        // hubspot_signature_v3, without concatenating the signed text or keying the HMAC again.
        auto expected = to_base64(hmac_.mac({r.method, uri, r.body, ts}));
        if (!adapters::constant_time_equal(sig, expected)) return errc::auth_expired;
        break;
      }
      case hubspot_webhook_options::version::v2: {
        auto expected = hubspot_signature_v2(o_.client_secret, r.method, uri, r.body);
        if (!adapters::constant_time_equal(r.header("X-HubSpot-Signature"), expected)) return errc::auth_expired;
        break;
      }
      case hubspot_webhook_options::version::v1: {
        auto expected = hubspot_signature_v1(o_.client_secret, r.body);
        if (!adapters::constant_time_equal(r.header("X-HubSpot-Signature"), expected)) return errc::auth_expired;
        break;
      }
    }
    // A delivery is a JSON array of events, each with an eventId; a redelivery carries the same ids. A correctly
    // signed delivery we cannot read is still accepted (200), keyed by its hash, and quarantined when it is
    // processed: refusing it would only make HubSpot send it again and again.
    // A stack arena holds the DOM of a usual delivery (a handful of events): no heap allocation per node.
    unsigned char arena[8192];
    boost::json::monotonic_resource mr(arena, sizeof arena);
    boost::system::error_code ec;
    auto v = boost::json::parse(r.body, ec, &mr);
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
      return adapters::verified_event{"body-sha256:" + sha256_hex(r.body), {200, "application/json", "{}"}};
    std::sort(ids.begin(), ids.end());
    std::string joined;
    for (const auto& id : ids) joined += (joined.empty() ? "" : ",") + id;
    std::string key = joined.size() <= 200 ? "events:" + joined : "events-sha256:" + sha256_hex(joined);
    return adapters::verified_event{std::move(key), {200, "application/json", "{}"}};
  }

 private:
  hubspot_webhook_options o_;
  keyed_hmac_sha256 hmac_;
  std::optional<std::string> normalized_base_;  // empty: normalise base and target together
};

}  // namespace

std::shared_ptr<const adapters::webhook_endpoint> make_hubspot_webhook(hubspot_webhook_options o) {
  return std::make_shared<hubspot_webhook>(std::move(o));
}

}  // namespace omnisync::adapters
