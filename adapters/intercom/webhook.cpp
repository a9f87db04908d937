#include "adapters/intercom/webhook.hpp"

#include "adapters/common/crypto.hpp"
#include "adapters/common/webhook_util.hpp"

namespace omnisync::adapters {

std::string intercom_signature(std::string_view secret, std::string_view body) {
  return "sha1=" + to_hex(hmac_sha1_raw(secret, body));
}

namespace {

class intercom_webhook final : public adapters::webhook_endpoint {
 public:
  explicit intercom_webhook(intercom_webhook_options o) : o_(std::move(o)) {}
  std::string connector() const override { return o_.connector; }

  omnisync::result<adapters::verified_event> verify(const adapters::inbound_request& r) const override {
    auto sig = r.header("X-Hub-Signature");
    if (!sig.starts_with("sha1=")) return errc::auth_expired;
    auto expected = intercom_signature(o_.client_secret, r.body);
    if (!adapters::constant_time_equal(sig, expected)) return errc::auth_expired;
    auto id = json_member(r.body, "id");
    if (!id) return errc::invalid_input;  // every notification has an id ("notif_...")
    return adapters::verified_event{"notification:" + *id, {200, "application/json", "{}"}};
  }

  /// Intercom validates the URL with HEAD.
  std::optional<adapters::ack_response> validation(const adapters::inbound_request& r) const override {
    if (r.method == "HEAD") return adapters::ack_response{200, "text/plain", ""};
    return std::nullopt;
  }

 private:
  intercom_webhook_options o_;
};

}  // namespace

std::shared_ptr<const adapters::webhook_endpoint> make_intercom_webhook(intercom_webhook_options o) {
  return std::make_shared<intercom_webhook>(std::move(o));
}
}  // namespace omnisync::adapters
