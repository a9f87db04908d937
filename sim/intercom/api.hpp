#pragma once
/// The Intercom API (2.11) simulator's state and REST semantics, independent of the HTTP server: contacts
/// (list with `starting_after`, search with nested AND/OR filters and day-granular timestamp comparison,
/// create with 409 on duplicates, update, show), conversations with ratings (for KPIs: list, search, show),
/// the data attributes metadata (`GET /data_attributes?model=`), and the
/// `notification_event` webhook bodies mutations produce (signed by the service with X-Hub-Signature).
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

#include "sim/core/retry.hpp"

namespace omnisync::sim::intercom {

struct contact {
  std::int64_t index = 0;  ///< numeric key; the public id is derived from it (see `contact_id`)
  boost::json::object fields;  ///< role, email, name, phone, external_id, custom_attributes, ...
  std::int64_t created_s = 0;
  std::int64_t updated_s = 0;
  bool deleted = false;
};

struct seed_source {
  std::function<std::size_t(std::string_view kind)> count;  ///< contacts, conversations
  std::function<contact(std::int64_t index)> make_contact;
  /// Conversation `index`: created/updated seconds, state, rating (0 = none) and the contact index.
  std::function<boost::json::object(std::int64_t index)> make_conversation;
};

struct api_limits {
  std::int64_t per_minute = 10000;
  std::size_t per_page_max = 150;
};

struct api_request {
  std::string method;
  std::string target;
  std::string body;
  std::string authorization;
};

struct api_reply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct webhook_event {
  std::string id;     ///< notif_...
  std::string topic;  ///< contact.user.created, contact.user.updated, contact.lead.created, contact.deleted
  std::int64_t time_s = 0;
  boost::json::object item;
};

/// 24 hex digits, stable for a contact index; `contact_index` reverses it (nullopt when not ours).
std::string contact_id(std::int64_t index);
std::optional<std::int64_t> contact_index(std::string_view id);

/// Day-granular comparison used by search on timestamp fields (UTC days): `>` means a later day.
bool timestamp_matches(std::int64_t field_s, std::string_view op, std::int64_t value_s);

/// Intercom's redelivery of a failed notification: one retry, a minute later (Intercom documents that failed
/// deliveries are retried and counts them in `delivery_attempts`, not the schedule; docs/simulators.md lists
/// this as simplified).
std::optional<std::int64_t> webhook_retry_delay(const delivery_outcome& outcome);
/// How long Intercom waits for a webhook answer.
inline constexpr std::int64_t webhook_timeout_ms = 5'000;

/// Result of an admin API call: HTTP status and JSON body.
struct admin_reply {
  int status = 200;
  boost::json::value body;
};

/// A webhook request ready to POST.
struct signed_webhook {
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

class api {
 public:
  api(seed_source seed, std::function<std::int64_t()> now_ms, std::string app_id = "a86dr8yl");

  api_reply handle(const api_request& request);

  std::optional<boost::json::value> admin_list(std::string_view kind);
  std::optional<boost::json::value> admin_get(std::string_view kind, std::string_view id);
  std::optional<boost::json::value> admin_create(std::string_view kind, const boost::json::object& body);
  std::optional<boost::json::value> admin_update(std::string_view kind, std::string_view id,
                                                 const boost::json::object& body);
  bool admin_delete(std::string_view kind, std::string_view id);
  /// `GET|POST|PATCH|DELETE /admin/intercom/{contacts|conversations}[/{id}]`; `body` is raw JSON.
  admin_reply admin(std::string_view method, std::string_view object, std::string_view id, std::string_view body);
  boost::json::value snapshot();
  void set_limits(const boost::json::object& limits);
  void reset();

  std::vector<webhook_event> take_events();
  /// The `ping` notification Intercom sends when a webhook subscription is saved (after the HEAD check).
  webhook_event ping_event();
  /// The notification body for the `attempt`-th delivery (`delivery_attempts`), first sent at `first_sent_s`
  /// (-1: the event's time).
  std::string webhook_body(const webhook_event& event, int attempt = 1, std::int64_t first_sent_s = -1) const;
  /// One request per event, `X-Hub-Signature: sha1=<hex HMAC-SHA1(client_secret, body)>`.
  std::vector<signed_webhook> sign_webhooks(const std::vector<webhook_event>& events, std::string_view client_secret,
                                            int attempt = 1, std::int64_t first_sent_s = -1) const;

 private:
  bool exists(std::int64_t index) const;
  contact load(std::int64_t index) const;
  template <class F>
  void for_each(F&& f) const;
  boost::json::object to_json(const contact& c) const;
  std::optional<std::int64_t> find(std::string_view key, const std::string& value) const;
  void emit(const contact& c, std::string topic);
  std::optional<std::string> validate_query(const boost::json::value& q, int depth) const;
  bool matches(const boost::json::value& q, const boost::json::object& contact_json) const;

  api_reply handle_checked(const api_request& request);
  api_reply list(const std::map<std::string, std::string>& query);
  api_reply search(const boost::json::value& body);
  /// Search over `candidates` (query validation, sort, `per_page`/`starting_after` paging); the matches go under
  /// `data_key` in a list of type `list_type` (contacts: "list"/"data", conversations: "conversation.list"/
  /// "conversations").
  api_reply search_in(const boost::json::value& body, std::vector<boost::json::object> candidates,
                      std::string_view list_type, std::string_view data_key, std::size_t default_per_page) const;
  api_reply conversation_search(const boost::json::value& body);
  api_reply data_attributes(const std::map<std::string, std::string>& query) const;
  api_reply create(const boost::json::value& body);
  api_reply update(const std::string& id, const boost::json::value& body);
  api_reply conversations(const std::map<std::string, std::string>& query);

  mutable std::mutex mutex_;
  seed_source seed_;
  std::function<std::int64_t()> now_ms_;
  std::string app_id_;
  api_limits limits_;
  std::map<std::int64_t, contact> touched_;
  std::size_t seeded_ = 0;
  std::int64_t next_index_ = 1;
  std::vector<webhook_event> events_;
  std::int64_t next_event_ = 1;
  std::int64_t window_start_ms_ = 0;
  std::int64_t window_count_ = 0;
  std::int64_t request_seq_ = 0;
};

/// `size`/3 contacts (users and leads) and `size`/3 conversations, from (seed, index) only.
seed_source default_seed(std::uint64_t seed, std::size_t size, std::int64_t base_ms);

}  // namespace omnisync::sim::intercom
