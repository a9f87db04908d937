#pragma once
/// The ActiveCampaign API v3 simulator's state and REST semantics, independent of the HTTP server:
/// contacts seeded lazily, `POST /api/3/contact/sync` (create or update by email), contact listing with
/// `filters[updated_after]`, `orders[udate]`, `limit`/`offset`, custom fields, the 5 requests/s limit, and the
/// form-encoded webhook bodies (bracketed keys, no signature) that mutations produce.
///
/// Thread safety: every public member locks one mutex. Lifecycle: one per simulator; `reset()` reseeds.
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "sim/activecampaign/audiences.hpp"

namespace omnisync::sim::activecampaign {

struct contact {
  std::int64_t id = 0;
  std::string email;
  std::string first_name;
  std::string last_name;
  std::string phone;
  std::int64_t created_s = 0;
  std::int64_t updated_s = 0;
  bool deleted = false;
  std::map<std::string, std::string> field_values;  ///< custom field id -> value
};

struct seed_source {
  std::function<std::size_t()> count;
  std::function<contact(std::int64_t index)> make;
};

struct api_limits {
  std::int64_t per_second = 5;
  std::size_t list_max = 100;
};

struct api_request {
  std::string method;
  std::string target;
  std::string body;
  std::string api_token;  ///< value of the Api-Token header
  std::string base_url;
};

struct api_reply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

/// A webhook to send: event type (subscribe, update, unsubscribe) and the contact as it is now.
struct webhook_event {
  std::string type;
  std::string initiated_by;  ///< admin or api
  contact subject;
  std::int64_t time_s = 0;
};

/// Result of an admin API call: HTTP status and JSON body.
struct admin_reply {
  int status = 200;
  boost::json::value body;
};

/// A webhook request ready to POST (ActiveCampaign signs nothing).
struct signed_webhook {
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

class api {
 public:
  api(seed_source seed, std::function<std::int64_t()> now_ms);

  api_reply handle(const api_request& request);

  std::optional<boost::json::value> admin_list();
  std::optional<boost::json::value> admin_get(std::int64_t id);
  boost::json::value admin_create(const boost::json::object& body);
  std::optional<boost::json::value> admin_update(std::int64_t id, const boost::json::object& body);
  bool admin_delete(std::int64_t id);
  /// `GET|POST|PATCH|DELETE /admin/activecampaign/contacts[/{id}]`; `body` is raw JSON.
  admin_reply admin(std::string_view method, std::string_view object, std::string_view id, std::string_view body);
  boost::json::value snapshot();
  void set_limits(const boost::json::object& limits);
  void reset();

  std::vector<webhook_event> take_events();
  /// `application/x-www-form-urlencoded` body as ActiveCampaign posts it.
  std::string webhook_body(const webhook_event& event) const;
  std::vector<signed_webhook> sign_webhooks(const std::vector<webhook_event>& events) const;

 private:
  bool exists(std::int64_t id) const;
  contact load(std::int64_t id) const;
  template <class F>
  void for_each(F&& f) const;
  boost::json::object to_json(const contact& c, const std::string& base_url) const;
  /// Applies fields; bumps udate when something changed (always for admin edits). Returns whether it did.
  bool apply(contact& c, const boost::json::object& fields, bool admin);
  void emit(const contact& c, std::string type, bool admin);
  api_reply handle_checked(const api_request& request);
  api_reply handle_routed(const api_request& request);  // after the rate check, under mutex_
  api_reply sync(const boost::json::value& body, const std::string& base_url);
  api_reply list(const std::map<std::string, std::string>& query, const std::string& base_url);

  mutable std::mutex mutex_;
  seed_source seed_;
  std::function<std::int64_t()> now_ms_;
  api_limits limits_;
  std::map<std::int64_t, contact> touched_;
  std::size_t seeded_ = 0;
  std::int64_t next_id_ = 1;
  std::vector<webhook_event> events_;
  std::int64_t window_start_ms_ = 0;
  std::int64_t window_count_ = 0;
  audience_store audiences_;  ///< tags, contactTags, lists, contactLists (audiences.hpp)
};

/// `size`/2 contacts (the email-marketing list holds about half the people), from (seed, index) only.
seed_source default_seed(std::uint64_t seed, std::size_t size, std::int64_t base_ms);

/// ActiveCampaign's timestamp format, account time zone fixed at UTC-05:00: `2024-05-01T05:00:00-05:00`.
std::string ac_time(std::int64_t epoch_s);

}  // namespace omnisync::sim::activecampaign
