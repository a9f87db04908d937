#pragma once
/// The HubSpot CRM v3 simulator's state and REST semantics, independent of the HTTP server: objects
/// (contacts, companies, deals, feedback_submissions) seeded lazily from a generator, list/read/search,
/// batch read/create/update/upsert/archive, the properties API, deal→contact associations, rate limits with
/// the documented 429 body and headers, the OAuth token endpoint with expiring access tokens, and the webhook
/// events every mutation produces.
///
/// Thread safety: every public member locks one mutex, so the server may call from any thread.
/// Lifecycle: created once by the HubSpot service; `reset()` returns to the seeded state.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "sim/core/retry.hpp"
#include "sim/hubspot/lists.hpp"
#include "sim/hubspot/search.hpp"

namespace omnisync::sim::hubspot {

/// One CRM object. Properties hold every value as text, as HubSpot returns them.
struct crm_object {
  std::int64_t id = 0;
  properties props;
  std::int64_t created_ms = 0;
  std::int64_t updated_ms = 0;
  bool archived = false;
  std::int64_t archived_ms = 0;
  std::map<std::string, std::vector<std::int64_t>> associations;  ///< e.g. deals: {"contacts": [ids]}
};

/// Who made a change: admin mutations look like a person in HubSpot's UI, API writes like an integration.
enum class change_origin { crm_ui, integration };

/// A webhook event waiting to be delivered (one element of HubSpot's JSON array).
struct webhook_event {
  std::int64_t event_id = 0;
  std::string subscription_type;  ///< contact.creation, contact.propertyChange, deal.deletion, ...
  std::int64_t object_id = 0;
  std::int64_t occurred_ms = 0;
  change_origin origin = change_origin::crm_ui;
  std::string property_name;   ///< propertyChange only
  std::string property_value;  ///< propertyChange only
  bool is_new = false;         ///< creation: changeFlag NEW
};

/// A webhook request ready to POST: body and headers (signatures included).
struct signed_webhook {
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

/// HubSpot's delivery of `events` to `url`: JSON arrays of at most 100 events, each request signed v1
/// (`X-HubSpot-Signature`) and v3 (`X-HubSpot-Signature-v3` over method + url + body + timestamp, with
/// `X-HubSpot-Request-Timestamp` = `wall_ms`). `attempt_number` goes into every event.
class api;
std::vector<signed_webhook> sign_webhooks(const api& source, const std::vector<webhook_event>& events,
                                          std::string_view url, std::string_view client_secret, std::int64_t wall_ms,
                                          int attempt_number = 0);

/// HubSpot's redelivery of a failed webhook request ("Retries" in the Webhooks API guide): at most 10 retries
/// spread over 24 hours, each pause drawn at random between half and all of its nominal length (the nominal
/// pauses double and add up to 24 h); no retry after 400, 401, 403, 404 or 405; a 429's Retry-After is
/// respected.
std::optional<std::int64_t> webhook_retry_delay(const delivery_outcome& outcome);
/// "If your service takes longer than five seconds to send back a response", the attempt failed.
inline constexpr std::int64_t webhook_timeout_ms = 5'000;
/// Webhook requests in flight to the target at most (the app's `throttling.maxConcurrentRequests`).
inline constexpr std::size_t webhook_max_concurrent = 10;

/// Result of an admin API call: HTTP status and JSON body.
struct admin_reply {
  int status = 200;
  boost::json::value body;
};

/// Seeded records: the generator returns the properties of seeded object `index` (1-based) of `type`, or
/// nullopt past the seeded count. It must be deterministic and cheap; it is called whenever an untouched
/// seeded record is read.
struct seed_source {
  std::function<std::size_t(std::string_view type)> count;
  std::function<crm_object(std::string_view type, std::int64_t index)> make;
};

/// Settable limits (admin API), defaults close to a Professional account.
struct api_limits {
  std::int64_t ten_secondly_max = 190;
  std::int64_t daily_max = 1'000'000;
  std::size_t batch_max = 100;
  search_limits search;
  std::size_t list_max = 100;
  std::int64_t token_lifetime_ms = 1'800'000;  ///< OAuth access tokens (expires_in 1800 s, as HubSpot issues)
};

/// The public app omnisync is installed through (OAuth, `/oauth/v1/token`). Empty credentials accept any
/// non-empty value; set through `POST /admin/limits {service: hubspot, oauth_client_id, oauth_client_secret,
/// oauth_refresh_token, oauth_rotate_refresh_tokens}`.
struct oauth_app {
  std::string client_id;
  std::string client_secret;
  std::set<std::string> refresh_tokens;  ///< valid refresh tokens; empty: any non-empty one
  bool rotate = false;                   ///< every grant issues a new refresh token and retires the old one
};

/// An HTTP exchange as this layer sees it; `target` is path plus query, e.g. "/crm/v3/objects/contacts?limit=5".
struct api_request {
  std::string method;
  std::string target;
  std::string body;
  std::string authorization;  ///< value of the Authorization header ("" when absent)
};

struct api_reply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

class api {
 public:
  api(seed_source seed, std::function<std::int64_t()> now_ms, std::int64_t app_id = 4210286,
      std::int64_t portal_id = 44237313);

  /// Serves one request to the public API. Never throws on client input.
  api_reply handle(const api_request& request);

  // ---- admin side (no rate limit, changeSource CRM_UI) ----
  /// Object types served: contacts, companies, deals, feedback_submissions.
  static const std::vector<std::string>& object_types();
  /// Null when the type is unknown.
  std::optional<boost::json::value> admin_list(std::string_view type, bool include_archived);
  std::optional<boost::json::value> admin_get(std::string_view type, std::int64_t id);
  /// Creates from {"properties":{...}} or a flat object of properties; returns the object JSON.
  std::optional<boost::json::value> admin_create(std::string_view type, const boost::json::object& body);
  /// Patches properties (and optionally "associations":{"contacts":[ids]}); nullopt when absent.
  std::optional<boost::json::value> admin_update(std::string_view type, std::int64_t id,
                                                 const boost::json::object& body);
  bool admin_archive(std::string_view type, std::int64_t id);
  /// `GET|POST|PATCH|DELETE /admin/hubspot/{object}[/{id}]` (SEAMS "Simulator"); `body` is raw JSON.
  admin_reply admin(std::string_view method, std::string_view object, std::string_view id, std::string_view body);
  /// Every object of every type (archived included), for `GET /admin/snapshot`.
  boost::json::value snapshot();
  void set_limits(const boost::json::object& limits);
  api_limits limits() const;
  void reset();

  /// Events produced since the last call (API writes and admin mutations), oldest first.
  std::vector<webhook_event> take_events();
  /// The webhook body HubSpot would POST for these events (at most 100 per array), with `attempt_number`.
  std::string webhook_body(const std::vector<webhook_event>& events, int attempt_number) const;
  std::int64_t app_id() const noexcept { return app_id_; }

 private:
  struct type_state {
    std::string name;
    std::string type_id;            ///< "0-1" for contacts
    std::string singular;           ///< "contact", used in subscription types
    std::string modified_property;  ///< lastmodifieddate (contacts) or hs_lastmodifieddate
    std::map<std::int64_t, crm_object> touched;  ///< mutated or created records; seeded ones stay virtual
    std::int64_t next_id = 0;
    std::size_t seeded = 0;
    /// (updated_ms, id) of every live object, built on the first search sorted by the modified property and
    /// kept current by `store`, so incremental searches read a range instead of generating every record.
    std::set<std::pair<std::int64_t, std::int64_t>> by_modified;
    bool indexed = false;
  };

  /// Records a mutated object (and keeps `by_modified` current).
  void store(type_state& t, const crm_object& obj);
  void ensure_index(type_state& t);
  /// The search fast path; nullopt when the request does not fit it.
  std::optional<api_reply> indexed_search(type_state& t, const search_request& req);

  type_state* find_type(std::string_view type);
  crm_object load(type_state& t, std::int64_t id) const;  // id must be valid
  bool exists(const type_state& t, std::int64_t id) const;
  /// Every live (or archived, per flag) object with id >= `first_id`, in id order; `f` returns false to stop.
  template <class F>
  void for_each(type_state& t, bool archived, F&& f, std::int64_t first_id = 1) const;
  std::optional<std::int64_t> find_by_property(type_state& t, const std::string& property, const std::string& value);
  crm_object create(type_state& t, properties props, change_origin origin);
  /// Applies changes; returns the changed property names.
  std::vector<std::string> update(type_state& t, crm_object& obj, const properties& changes, change_origin origin);
  void archive(type_state& t, crm_object& obj, change_origin origin);
  void emit(type_state& t, const crm_object& obj, std::string_view action, change_origin origin,
            const std::string& property = {}, const std::string& value = {});

  boost::json::object to_json(const type_state& t, const crm_object& obj, const std::vector<std::string>* wanted,
                              bool with_associations, const std::vector<std::string>* association_types) const;

  api_reply route(const api_request& request);
  /// `POST /oauth/v1/token` (form-encoded refresh_token or authorization_code grant).
  api_reply oauth_token(const api_request& request);
  api_reply list(type_state& t, const std::map<std::string, std::string>& query);
  api_reply read_one(type_state& t, const std::string& id, const std::map<std::string, std::string>& query);
  api_reply create_one(type_state& t, const boost::json::value& body);
  api_reply update_one(type_state& t, const std::string& id, const std::map<std::string, std::string>& query,
                       const boost::json::value& body);
  api_reply archive_one(type_state& t, const std::string& id);
  api_reply search(type_state& t, const boost::json::value& body);
  api_reply batch(type_state& t, const std::string& op, const boost::json::value& body);
  api_reply properties_of(const std::string& type);
  api_reply property_one(const std::string& type, const std::string& name);
  /// Checks the `associations` of a create body; the targets to link, or the message of a 400.
  std::string check_associations(type_state& t, const boost::json::value* associations,
                                 std::vector<std::pair<type_state*, std::int64_t>>& out);
  /// Stores the associations of a new object on both sides.
  void link(type_state& t, crm_object& obj, const std::vector<std::pair<type_state*, std::int64_t>>& links);
  api_reply associations_read(const std::string& from, const std::string& to, const boost::json::value& body, bool v4);
  std::optional<api_reply> rate_limit(bool search_endpoint, std::vector<std::pair<std::string, std::string>>& headers);

  mutable std::mutex mutex_;
  seed_source seed_;
  std::function<std::int64_t()> now_ms_;
  std::int64_t app_id_;
  std::int64_t portal_id_;
  api_limits limits_;
  std::vector<type_state> types_;
  std::vector<webhook_event> events_;
  std::int64_t next_event_id_ = 1;
  std::int64_t window_start_ms_ = 0;
  std::int64_t window_count_ = 0;
  std::int64_t day_start_ms_ = 0;
  std::int64_t day_count_ = 0;
  std::int64_t correlation_ = 0;
  oauth_app oauth_;
  list_store lists_;  ///< `/crm/v3/lists` (lists.hpp)
  std::map<std::string, std::int64_t> access_tokens_;  ///< issued OAuth access token → expiry (sim clock ms)
  std::int64_t token_serial_ = 0;
};

/// The seeded data the simulator uses when no other generator is given: `size` contacts, size/4 companies,
/// size/2 deals (each associated with one contact) and size/3 feedback submissions (NPS), derived from
/// (seed, index) only.
seed_source default_seed(std::uint64_t seed, std::size_t size, std::int64_t base_ms);

}  // namespace omnisync::sim::hubspot
