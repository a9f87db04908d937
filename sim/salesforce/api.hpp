#pragma once
/// The Salesforce simulator's state and REST semantics, independent of the HTTP server (same shape as the
/// other vendors in sim/): OAuth2 token endpoint (refresh-token, client-credentials and JWT-bearer grants;
/// `instance_url` is the simulator itself; tokens expire; `signature` as documented), `query`/`queryAll` with a
/// real SOQL subset (sim/salesforce/soql.hpp; literal types checked against the schema) and `nextRecordsUrl`
/// paging honouring `Sforce-Query-Options: batchSize`, single-record create/read/update/delete, sObject
/// Collections create/update/upsert/delete/retrieve (≤ 200, allOrNone), single upsert by external id (201/200,
/// `?updateOnly=true`), field validation with Salesforce's status codes (e-mail, restricted picklists, number
/// ranges, dates, lengths), `describeGlobal` and `describe` (labels, soapType, picklistValues, unique,
/// filterable; a formula field whose value changes with time while SystemModstamp stays put, as in the real
/// product), `/limits`, `getUpdated`/`getDeleted`, soft and hard deletes, the documented error bodies,
/// `Sforce-Limit-Info` and a daily API budget ending in REQUEST_LIMIT_EXCEEDED, and Outbound Messages (SOAP,
/// ≤ 100 notifications) for every change to a Contact, redelivered with Salesforce's back-off.
///
/// Seeded records are generated lazily from (seed, index); person i's Contact shares name and email with
/// person i in the other vendors' simulators (sim/hubspot, sim/zendesk, ...), with different casing and phone
/// formats, so identity resolution has real work. Thread-safe: every public member locks one mutex.
#include <boost/json/value.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/retry.hpp"
#include "sim/salesforce/soql.hpp"

namespace omnisync::sim::salesforce {

struct api_request {
  std::string method;
  std::string target;     ///< path and query
  std::string body;
  std::string authorization;
  std::string query_options;  ///< Sforce-Query-Options header
  std::string base_url;   ///< scheme://host:port the client used: instance_url and nextRecordsUrl base
};

struct api_reply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct admin_reply {
  int status = 200;
  boost::json::value body;
};

/// An Outbound Message ready to POST (SOAP): its notifications (ids stable across redeliveries) and the records
/// they name. `api::render_outbound` renders it again with the records' current data, as Salesforce does on a
/// redelivery ("only the latest data is delivered").
struct outbound_message {
  std::string body;
  std::vector<std::string> notification_ids;
  std::vector<std::string> record_ids;
};

/// Whether a receiver's answer acknowledges an Outbound Message: a 2xx status and the SOAP envelope with
/// `notificationsResponse` in namespace http://soap.sforce.com/2005/09/outbound holding `Ack` true (the
/// Outbound Messaging WSDL); a bare `<Ack>true</Ack>` or another namespace is not an acknowledgement.
bool acknowledges(int status, std::string_view body);

/// Salesforce's redelivery schedule for an unacknowledged Outbound Message: "the interval between retries
/// increases exponentially, up to a maximum of two hours between retries", and messages are dropped when "24
/// hours old". The first pause is 15 s (the documentation gives none), then doubling.
std::optional<std::int64_t> outbound_retry_delay(const delivery_outcome& outcome);
/// "The timeout for an outbound message is 60 seconds."
inline constexpr std::int64_t outbound_timeout_ms = 60'000;

struct api_limits {
  std::int64_t daily_api_requests = 15000;
  std::int64_t token_lifetime_ms = 2 * 3600 * 1000;
  /// The connected app's certificate (or public key), PEM; when set, JWT bearer assertions must carry a valid
  /// RS256 signature. Empty: signatures are not checked.
  std::string jwt_certificate;
};

class api {
 public:
  api(std::uint64_t seed, std::size_t size, std::int64_t base_ms, std::function<std::int64_t()> now_ms);

  api_reply handle(const api_request& request);

  /// `GET|POST|PATCH|DELETE /admin/salesforce/{Object}[/{id}]`; DELETE soft-deletes (recycle bin), DELETE with
  /// id `{id}?purge=true` or object `purge/{id}` hard-deletes (gone even from queryAll).
  admin_reply admin(std::string_view method, std::string_view object, std::string_view id, std::string_view body);
  boost::json::value snapshot();
  void set_limits(const boost::json::object& limits);
  void reset();
  /// Outbound Messages for the changes since the last call (≤ 100 notifications each), for `organization_id`.
  std::vector<outbound_message> take_outbound_messages(std::string_view endpoint_url);
  /// The SOAP body of `message` with its records' current data (a redelivery).
  std::string render_outbound(const outbound_message& message) const;
  /// The org's instance URL (the simulator's HTTPS listener): Outbound Messages name its SOAP endpoints.
  void set_instance_url(std::string https_url);

  static constexpr const char* organization_id = "00DSIM0000000001AA";

  /// Schema of one object (describe's source of truth); defined in api.cpp.
  struct field_def;
  struct object_def;

 private:
  struct record {
    std::string object;
    std::int64_t index = 0;
    boost::json::object fields;
    std::int64_t created_ms = 0, last_modified_ms = 0, modstamp_ms = 0;
    bool deleted = false;
    std::int64_t deleted_ms = 0;
  };
  const object_def* find_object(std::string_view name) const;
  std::string make_id(const object_def& o, std::int64_t index) const;
  std::optional<std::pair<const object_def*, std::int64_t>> parse_id(std::string_view id) const;
  std::optional<record> load(const object_def& o, std::int64_t index) const;
  record seeded(const object_def& o, std::int64_t index) const;
  std::int64_t count(const object_def& o) const;
  boost::json::value field_value(const record& r, const std::string& field) const;
  boost::json::object to_json(const record& r, const std::vector<std::string>* fields, const std::string& version) const;
  void touch(record& r, bool api_origin);
  void index_external_ids(const record& r, bool add);
  std::vector<std::int64_t> find_by_external_id(const object_def& o, const std::string& field,
                                                const boost::json::value& value) const;
  /// A value the REST API cannot read as its field's JSON type (a word for a number, an impossible date): the
  /// whole request fails with 400 JSON_PARSER_ERROR. Returns that error body, or nullopt.
  std::optional<std::string> deserialize(const object_def& o, const boost::json::object& fields) const;
  /// Per-record validation (unknown and read-only fields, lengths, e-mail, restricted picklists, number ranges,
  /// required fields): the REST error body, or nullopt.
  std::optional<std::string> validate(const object_def& o, const boost::json::object& fields, bool create) const;
  /// CampaignMember rules: CampaignId and ContactId/LeadId set on insert only, naming live records; one member
  /// per (campaign, person): DUPLICATE_VALUE "Already a campaign member." (campaign_member.cpp).
  std::optional<std::string> validate_campaign_member(const boost::json::object& fields, bool create) const;
  record new_record(const object_def& o);
  std::string outbound_xml(const std::vector<std::string>& notification_ids,
                           const std::vector<std::string>& record_ids) const;

  api_reply route(const api_request& r);
  api_reply token(const api_request& r);
  api_reply query(const api_request& r, const std::string& version, bool all, const std::string& soql);
  api_reply query_more(const api_request& r, const std::string& version, const std::string& locator);
  api_reply collections_delete(const std::map<std::string, std::string>& q);
  api_reply collections(const api_request& r, const std::string& version, const std::string& object,
                        const std::string& ext_field);
  api_reply upsert_one(const std::string& version, const object_def& o, const std::string& ext_field,
                       const std::string& value, const std::string& body, bool update_only);
  api_reply create_one(const object_def& o, const std::string& body);
  api_reply update_one(const object_def& o, const std::string& id, const std::string& body);
  api_reply delete_one(const object_def& o, const std::string& id);
  api_reply read_one(const std::string& version, const object_def& o, const std::string& id,
                     const std::map<std::string, std::string>& q) const;
  api_reply retrieve_many(const api_request& r, const std::string& version, const object_def& o,
                          const std::map<std::string, std::string>& q) const;
  api_reply describe(const std::string& version, const object_def& o) const;
  api_reply describe_global(const std::string& version) const;
  api_reply limits() const;
  api_reply get_updated(const object_def& o, const std::map<std::string, std::string>& q) const;
  api_reply get_deleted(const object_def& o, const std::map<std::string, std::string>& q) const;
  api_reply page(const std::string& version, const std::string& locator_id, std::size_t offset);

  mutable std::mutex mutex_;
  std::uint64_t seed_;
  std::size_t size_;
  std::int64_t base_ms_;
  std::function<std::int64_t()> now_ms_;
  api_limits limits_;
  std::map<std::string, record> touched_;              // by id
  std::set<std::string> purged_;
  /// "Object\nField\nvalue" → ids of changed records holding that external id (upserts find them in O(log n)).
  std::map<std::string, std::set<std::string>> external_ids_;
  std::map<std::string, std::int64_t> created_count_;  // object → records created beyond the seeded ones
  std::map<std::string, std::int64_t> tokens_;         // access token → expiry
  std::int64_t token_counter_ = 0;
  std::int64_t day_start_ms_ = 0, used_today_ = 0;
  /// A query's result. The general path holds it as record indexes (8 bytes each); the indexed path (ordered
  /// by Id or a modification stamp, filtered on those) evaluates it page by page: the seeded records of an
  /// index range minus the ones changed since seeding, merged with the changed records that match.
  struct cursor {
    const object_def* object = nullptr;
    std::vector<std::string> fields;
    std::size_t batch = 2000;
    std::int64_t total = 0;
    std::int64_t last_used_ms = 0;
    std::vector<std::int64_t> indexes;  // general path
    bool lazy = false;                  // indexed path:
    std::string key;                    //   the order field (then Id)
    std::int64_t seeded_hi = 0;         //   seeded range end (its start is in positions[0])
    std::vector<std::int64_t> excluded; //   sorted seeded indexes that left the range
    std::vector<std::pair<std::int64_t, std::int64_t>> extra;  // (key, index) of matching changed records
    struct position {
      std::int64_t seeded_next = 1;
      std::size_t excluded_at = 0, extra_at = 0;
      std::int64_t remaining = 0;       // rows left under LIMIT
    };
    std::map<std::size_t, position> positions;  // by offset: where each served page began
  };
  struct stamps {
    std::int64_t created_ms = 0, last_modified_ms = 0, modstamp_ms = 0;
    std::uint64_t hash = 0;
  };
  stamps seeded_stamps(const object_def& o, std::int64_t index) const;
  std::int64_t seeded_count(const object_def& o) const;
  std::int64_t order_key(const record& r, const std::string& key) const;
  std::int64_t seeded_order_key(const object_def& o, std::int64_t index, const std::string& key) const;
  bool matches(const record& r, const std::vector<soql_condition>& where) const;
  void open_indexed(cursor& c, const soql_query& q, const std::string& key, bool all) const;
  void expire_cursors();
  std::map<std::string, cursor> cursors_;
  std::int64_t cursor_counter_ = 0;
  std::vector<std::string> pending_notifications_;     // Contact ids changed, in order
  std::int64_t notification_counter_ = 0;
  std::string instance_url_ = "https://127.0.0.1";    // set_instance_url
};

}  // namespace omnisync::sim::salesforce
