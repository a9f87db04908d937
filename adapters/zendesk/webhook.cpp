#include "adapters/zendesk/webhook.hpp"

#include "adapters/common/crypto.hpp"
#include "core/time.hpp"

namespace omnisync::adapters {

std::string zendesk_signature(std::string_view secret, std::string_view timestamp, std::string_view body) {
  return to_base64(hmac_sha256_raw(secret, std::string(timestamp) + std::string(body)));
}
namespace {

class zendesk_webhook final : public adapters::webhook_endpoint {
 public:
  explicit zendesk_webhook(zendesk_webhook_options o) : o_(std::move(o)) {}
  std::string connector() const override { return o_.connector; }

  omnisync::result<adapters::verified_event> verify(const adapters::inbound_request& r) const override {
    auto sig = r.header("X-Zendesk-Webhook-Signature");
    auto ts = r.header("X-Zendesk-Webhook-Signature-Timestamp");
    if (sig.empty() || ts.empty()) return errc::auth_expired;
    // Signed message: timestamp header string + raw body (the current documentation's order).
    auto expected = zendesk_signature(o_.signing_secret, ts, r.body);
    if (!adapters::constant_time_equal(sig, expected)) return errc::auth_expired;
    auto when = parse_iso8601(ts);
    if (!when) return errc::auth_expired;  // no usable signature timestamp: not authenticated
    auto skew = webhook_now(o_.clock) - *when;
    if (skew > o_.max_skew || -skew > o_.max_skew) return errc::timeout;  // outside the replay window
    // Event-subscribed webhooks carry an event id; trigger webhooks a custom body: then the invocation id.
    std::string key;
    if (auto id = json_member(r.body, "id")) key = "event:" + *id;
    else if (auto inv = r.header("X-Zendesk-Webhook-Invocation-Id"); !inv.empty()) key = "invocation:" + std::string(inv);
    else key = "sha256:" + sha256_hex(r.body);
    return adapters::verified_event{std::move(key), {200, "application/json", "{}"}};
  }

 private:
  zendesk_webhook_options o_;
};

}  // namespace

std::shared_ptr<const adapters::webhook_endpoint> make_zendesk_webhook(zendesk_webhook_options o) {
  return std::make_shared<zendesk_webhook>(std::move(o));
}
}  // namespace omnisync::adapters
