// The adapters between the framework's `service` interface and each vendor's REST semantics (sim/<vendor>/),
// and the explicit list of simulated vendors.
#include <boost/json/serialize.hpp>

#include <chrono>

#include "sim/activecampaign/api.hpp"
#include "sim/core/service.hpp"
#include "sim/hubspot/api.hpp"
#include "sim/intercom/api.hpp"
#include "sim/salesforce/api.hpp"
#include "sim/zendesk/api.hpp"

namespace omnisync::sim {

std::string http_request::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < k.size() && same; ++i)
      same = std::tolower(static_cast<unsigned char>(k[i])) == std::tolower(static_cast<unsigned char>(name[i]));
    if (same) return v;
  }
  return {};
}

std::int64_t sim_clock::now_ms() const {
  auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch()).count();
  return wall + offset_ms_.load();
}

void sim_clock::advance(std::int64_t ms) { offset_ms_ += ms; }

namespace {

template <class Reply>
http_response from_api(Reply r) {
  http_response out;
  out.status = r.status;
  out.body = std::move(r.body);
  for (auto& [k, v] : r.headers) {
    if (k == "Content-Type" || k == "content-type") out.content_type = v;
    else out.headers.emplace_back(std::move(k), std::move(v));
  }
  return out;
}

template <class Admin>
http_response from_admin(Admin r) {
  http_response out;
  out.status = r.status;
  out.body = boost::json::serialize(r.body);
  return out;
}

template <class Signed>
std::vector<outgoing_webhook> to_outgoing(std::vector<Signed> in, const char* content_type = "application/json") {
  std::vector<outgoing_webhook> out;
  for (auto& s : in) {
    outgoing_webhook w;
    w.body = std::move(s.body);
    w.content_type = content_type;
    for (auto& [k, v] : s.headers) {
      if (k == "Content-Type" || k == "content-type") w.content_type = v;
      else w.headers.emplace_back(std::move(k), std::move(v));
    }
    out.push_back(std::move(w));
  }
  return out;
}

std::int64_t base_ms() {
  // Seeded records are stamped relative to a fixed instant so data sets are identical run to run.
  return 1767225600000;  // 2026-01-01T00:00:00Z
}

/// What every vendor adapter forwards unchanged to its vendor's `api`: admin routes, snapshots, limits, reset.
/// Vendors' webhooks hold a pointer to `api_` for redeliveries: services live as long as the server.
template <class Api>
class vendor_service : public service {
 public:
  template <class... Args>
  explicit vendor_service(Args&&... args) : api_(std::forward<Args>(args)...) {}
  http_response admin(const std::string& m, const std::string& o, const std::string& id, const std::string& b) override {
    return from_admin(api_.admin(m, o, id, b));
  }
  boost::json::value snapshot() override { return api_.snapshot(); }
  void set_limits(const boost::json::object& l) override { api_.set_limits(l); }
  void reset() override { api_.reset(); }

 protected:
  Api api_;
};

class salesforce_service final : public vendor_service<salesforce::api> {
 public:
  explicit salesforce_service(const service_options& o)
      : vendor_service(o.seed, o.size, base_ms(), [c = o.clock] { return c->now_ms(); }) {}
  std::string name() const override { return "salesforce"; }
  http_response handle(const http_request& r) override {
    return from_api(api_.handle({r.method, r.target, r.body, r.header("Authorization"),
                                 r.header("Sforce-Query-Options"), r.base_url}));
  }
  void set_base_urls(const std::string&, const std::string& https_url) override { api_.set_instance_url(https_url); }
  std::vector<outgoing_webhook> take_webhooks(const webhook_target& t, std::int64_t) override {
    std::vector<outgoing_webhook> out;
    for (auto& m : api_.take_outbound_messages(t.url)) {
      outgoing_webhook w;
      w.body = m.body;
      w.content_type = "text/xml; charset=utf-8";
      w.headers.emplace_back("SOAPAction", "\"\"");
      w.headers.emplace_back("User-Agent", "Jakarta Commons-HttpClient/3.1");
      // Acknowledged only by the SOAP notificationsResponse with Ack true; redelivered with Salesforce's back-off
      // for up to 24 hours, each time with the records' current data and the same notification ids.
      w.accepted = salesforce::acknowledges;
      w.retry = salesforce::outbound_retry_delay;
      w.timeout_ms = salesforce::outbound_timeout_ms;
      w.label = "outbound message";
      for (const auto& id : m.notification_ids) w.label += " " + id;
      w.resign = [api = &api_, m](outgoing_webhook& hook, int, std::int64_t) { hook.body = api->render_outbound(m); };
      out.push_back(std::move(w));
    }
    return out;
  }
};

class hubspot_service final : public vendor_service<hubspot::api> {
 public:
  explicit hubspot_service(const service_options& o)
      : vendor_service(hubspot::default_seed(o.seed, o.size, base_ms()), [c = o.clock] { return c->now_ms(); }) {}
  std::string name() const override { return "hubspot"; }
  http_response handle(const http_request& r) override {
    return from_api(api_.handle({r.method, r.target, r.body, r.header("Authorization")}));
  }
  // HubSpot's webhook settings cap the requests in flight to the target URL (`throttling.maxConcurrentRequests`,
  // 10 in its documented settings); further deliveries wait for one to be answered.
  std::size_t webhook_concurrency() const override { return hubspot::webhook_max_concurrent; }
  std::vector<outgoing_webhook> take_webhooks(const webhook_target& t, std::int64_t wall_ms) override {
    auto events = api_.take_events();
    if (events.empty() || t.url.empty()) return {};
    std::vector<outgoing_webhook> out;
    for (std::size_t start = 0; start < events.size(); start += 100) {
      std::vector<hubspot::webhook_event> batch(events.begin() + static_cast<std::ptrdiff_t>(start),
                                                events.begin() + static_cast<std::ptrdiff_t>(std::min(events.size(), start + 100)));
      auto hooks = to_outgoing(hubspot::sign_webhooks(api_, batch, t.url, t.secret, wall_ms));
      for (auto& w : hooks) {
        // Each retry carries the next attemptNumber, a fresh X-HubSpot-Request-Timestamp and signatures over both.
        w.retry = hubspot::webhook_retry_delay;
        w.timeout_ms = hubspot::webhook_timeout_ms;
        w.label = "events";
        for (const auto& e : batch) w.label += " " + std::to_string(e.event_id);
        w.resign = [api = &api_, batch, url = t.url, secret = t.secret](outgoing_webhook& hook, int attempt,
                                                                         std::int64_t now) {
          auto again = to_outgoing(hubspot::sign_webhooks(*api, batch, url, secret, now, attempt - 1));
          hook.body = std::move(again.front().body);
          hook.headers = std::move(again.front().headers);
        };
        out.push_back(std::move(w));
      }
    }
    return out;
  }
};

class zendesk_service final : public vendor_service<zendesk::api> {
 public:
  explicit zendesk_service(const service_options& o)
      : vendor_service(zendesk::default_seed(o.seed, o.size, base_ms()), [c = o.clock] { return c->now_ms(); }) {}
  std::string name() const override { return "zendesk"; }
  http_response handle(const http_request& r) override {
    return from_api(api_.handle({r.method, r.target, r.body, r.header("Authorization"), r.base_url}));
  }
  std::vector<outgoing_webhook> take_webhooks(const webhook_target& t, std::int64_t wall_ms) override {
    auto events = api_.take_events();
    if (events.empty() || t.url.empty()) return {};
    std::vector<outgoing_webhook> out;
    for (const auto& e : events) {
      auto w = std::move(to_outgoing(api_.sign_webhooks({e}, t.secret, wall_ms)).front());
      // A retry is the same invocation, signed again with the timestamp of its own sending.
      w.retry = zendesk::webhook_retry_delay;
      w.timeout_ms = zendesk::webhook_timeout_ms;
      w.label = "invocation " + e.id;
      w.resign = [api = &api_, e, secret = t.secret](outgoing_webhook& hook, int, std::int64_t now) {
        auto again = to_outgoing(api->sign_webhooks({e}, secret, now));
        hook.body = std::move(again.front().body);
        hook.headers = std::move(again.front().headers);
      };
      out.push_back(std::move(w));
    }
    return out;
  }
};

class activecampaign_service final : public vendor_service<activecampaign::api> {
 public:
  explicit activecampaign_service(const service_options& o)
      : vendor_service(activecampaign::default_seed(o.seed, o.size, base_ms()), [c = o.clock] { return c->now_ms(); }) {}
  std::string name() const override { return "activecampaign"; }
  http_response handle(const http_request& r) override {
    return from_api(api_.handle({r.method, r.target, r.body, r.header("Api-Token"), r.base_url}));
  }
  std::vector<outgoing_webhook> take_webhooks(const webhook_target& t, std::int64_t) override {
    auto events = api_.take_events();
    if (events.empty() || t.url.empty()) return {};
    // ActiveCampaign signs nothing (the secret travels in the registered URL itself) and "Webhooks are never
    // retried": no retry schedule.
    auto out = to_outgoing(api_.sign_webhooks(events), "application/x-www-form-urlencoded");
    for (std::size_t i = 0; i < out.size(); ++i) out[i].label = events[i].type + " contact " + std::to_string(events[i].subject.id);
    return out;
  }
};

class intercom_service final : public vendor_service<intercom::api> {
 public:
  explicit intercom_service(const service_options& o)
      : vendor_service(intercom::default_seed(o.seed, o.size, base_ms()), [c = o.clock] { return c->now_ms(); }),
        clock_(o.clock) {}
  std::string name() const override { return "intercom"; }
  http_response handle(const http_request& r) override {
    return from_api(api_.handle({r.method, r.target, r.body, r.header("Authorization")}));
  }
  std::vector<outgoing_webhook> take_webhooks(const webhook_target& t, std::int64_t wall_ms) override {
    auto events = api_.take_events();
    if (events.empty() || t.url.empty()) return {};
    return notifications(events, t, wall_ms);
  }
  std::optional<outgoing_webhook> validation_request(const webhook_target&) override {
    // "When you add your endpoint URL, it must be able to receive a HEAD request, which we use to validate the URL."
    outgoing_webhook head;
    head.method = "HEAD";
    head.headers.emplace_back("User-Agent", "intercom-parrot-service-client/1.0");
    head.timeout_ms = intercom::webhook_timeout_ms;
    head.label = "url validation";
    return head;
  }
  std::vector<outgoing_webhook> on_webhook_registered(const webhook_target& t) override {
    return notifications({api_.ping_event()}, t, clock_->now_ms());
  }

 private:
  std::shared_ptr<sim_clock> clock_;
  std::vector<outgoing_webhook> notifications(const std::vector<intercom::webhook_event>& events,
                                              const webhook_target& t, std::int64_t wall_ms) {
    std::vector<outgoing_webhook> out;
    const std::int64_t first_sent_s = wall_ms / 1000;
    for (const auto& e : events) {
      auto w = std::move(to_outgoing(api_.sign_webhooks({e}, t.secret, 1, first_sent_s)).front());
      // A redelivery counts delivery_attempts up, keeps first_sent_at, and is signed over its new body.
      w.retry = intercom::webhook_retry_delay;
      w.timeout_ms = intercom::webhook_timeout_ms;
      w.label = e.topic + " " + e.id;
      w.resign = [api = &api_, e, secret = t.secret, first_sent_s](outgoing_webhook& hook, int attempt, std::int64_t) {
        auto again = to_outgoing(api->sign_webhooks({e}, secret, attempt, first_sent_s));
        hook.body = std::move(again.front().body);
        hook.headers = std::move(again.front().headers);
      };
      out.push_back(std::move(w));
    }
    return out;
  }
};

}  // namespace

std::vector<std::shared_ptr<service>> make_services(const service_options& options) {
  return {
      std::make_shared<salesforce_service>(options),
      std::make_shared<hubspot_service>(options),
      std::make_shared<zendesk_service>(options),
      std::make_shared<activecampaign_service>(options),
      std::make_shared<intercom_service>(options),
  };
}

}  // namespace omnisync::sim
