#include "adapters/activecampaign/webhook.hpp"

#include "adapters/common/crypto.hpp"

namespace omnisync::adapters {

namespace {

class activecampaign_webhook final : public adapters::webhook_endpoint {
 public:
  explicit activecampaign_webhook(activecampaign_webhook_options o) : o_(std::move(o)) {}
  std::string connector() const override { return o_.connector; }
  std::vector<std::string> content_types() const override { return {"application/x-www-form-urlencoded"}; }

  omnisync::result<adapters::verified_event> verify(const adapters::inbound_request& r) const override {
    // ActiveCampaign signs nothing: the secret is the URL's last path segment.
    if (o_.url_token.empty() || !adapters::constant_time_equal(r.token, o_.url_token)) return errc::auth_expired;
    if (r.body.empty()) return errc::invalid_input;
    // No event id either: the same delivery has the same bytes.
    return adapters::verified_event{"sha256:" + sha256_hex(r.body), {200, "text/plain", "ok"}};
  }

 private:
  activecampaign_webhook_options o_;
};

}  // namespace

std::shared_ptr<const adapters::webhook_endpoint> make_activecampaign_webhook(activecampaign_webhook_options o) {
  return std::make_shared<activecampaign_webhook>(std::move(o));
}

}  // namespace omnisync::adapters
