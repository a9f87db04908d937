#pragma once
/// The HubSpot connector's class, shared by the files that implement it; nothing outside this folder includes it
/// (the registry calls `make_hubspot_connector`, hubspot_connector.hpp).
///
/// - hubspot_connector.cpp: construction from the settings, authentication (private app token or the OAuth
///   refresh-token grant), usage, describe (the properties API);
/// - reading.cpp: poll (list, search and archived phases, hubspot_cursor.hpp), fetch, list_ids, find_by_email and
///   the v4 associations attached to records;
/// - writing.cpp: write (batch upsert on an id property, batch update by id), remove (batch archive);
/// - events.cpp: parse_event (webhook deliveries stored in the inbox → records and ids to refetch).
/// Calls go through `json_` (adapters/rest/json_api.hpp), refusals are classified by errors.hpp, webhook
/// verification is webhook.hpp.
///
/// One instance per configured connector, used from its connector's strand; `usage()` may be called from any
/// thread (atomics), `parse_event` only reads immutable members.
#include <boost/asio/awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/connector.hpp"
#include "adapters/hubspot/hubspot_cursor.hpp"
#include "adapters/oauth/token_cache.hpp"
#include "adapters/pacing/api_call.hpp"
#include "adapters/rest/json_api.hpp"

namespace omnisync::adapters::hubspot {

namespace json = boost::json;
namespace asio = boost::asio;
using std::chrono::milliseconds;

constexpr std::size_t batch_limit = 100;   // HubSpot batch endpoints take at most 100 inputs
constexpr std::size_t list_limit = 100;    // the list endpoint's page size cap
constexpr std::size_t search_limit = 200;  // the search endpoint's page size cap

/// A whole decimal number, nullopt for anything else (HubSpot sends ids and epoch milliseconds as text).
std::optional<std::int64_t> to_int(std::string_view s);

/// A deleted (archived) record with only its id, stamped `when_ms`.
adapters::source_record deleted_record(const std::string& id, std::int64_t when_ms);

/// The HubSpot connector: one per configured connector, built by `make_hubspot_connector`, used from its
/// connector's strand (see the top of this file for what may be called from other threads).
class connector_impl final : public connector {
 public:
  // hubspot_connector.cpp
  connector_impl(const config::connector_common& cfg, const connector_context& ctx);

  const std::string& name() const noexcept override { return cfg_.name; }
  std::string_view kind() const noexcept override { return "hubspot"; }
  std::vector<std::string> objects() const override { return objects_; }
  std::size_t max_batch(std::string_view) const override {
    return cfg_.batch_size > 0 ? std::min(cfg_.batch_size, batch_limit) : batch_limit;
  }
  std::shared_ptr<const adapters::webhook_endpoint> webhook() const override { return webhook_; }

  connector_usage usage() const override;
  task<object_schema> describe(std::string object) override;

  // reading.cpp
  task<page> poll(page_request req) override;
  task<std::vector<adapters::source_record>> fetch(std::string object, std::vector<std::string> ids) override;
  task<id_page> list_ids(std::string object, std::optional<std::string> next) override;
  task<std::vector<adapters::source_record>> find_by_email(std::string object, std::string email) override;

  // writing.cpp
  task<std::vector<write_result>> write(std::string object, std::vector<write_item> items) override;
  /// Archives (HubSpot's delete) records by id: POST batch/archive, up to the batch limit a call. HubSpot answers
  /// 204 whether or not each object existed, so a record already gone counts as done.
  task<std::vector<write_result>> remove(std::string object, std::vector<write_item> items) override;

  // membership.cpp (segment sync: a MANUAL contact list per destination)
  task<std::string> ensure_audience(audience_spec spec) override;
  task<std::vector<write_result>> change_membership(audience_spec spec, std::string audience_id,
                                                    std::vector<membership_item> items) override;
  /// Record ids per add-and-remove call (`sync.membership_chunk`, default 1,000).
  std::size_t max_membership_batch() const override { return membership_chunk_; }

  // events.cpp
  omnisync::result<event_records> parse_event(const adapters::inbox_event& event) const override;
  /// Each event's objectId with the object its objectTypeId or subscriptionType names, where they can be read.
  std::vector<std::pair<std::string, std::string>> records_named(const adapters::inbox_event& event) const override;

 private:
  // ---- hubspot_connector.cpp -------------------------------------------------------------------------------

  /// The refresh-token grant (POST /oauth/v1/token, form-encoded). HubSpot answers access_token, expires_in
  /// (1800) and a refresh_token, normally the same one; a different one replaces ours (kept in memory only).
  /// A refused grant (400 BAD_REFRESH_TOKEN, BAD_CLIENT_ID, ...) is auth_expired: the connector fails until the
  /// credentials are fixed.
  asio::awaitable<omnisync::result<oauth::grant_result>> grant();
  /// The properties to read for `object`: the configured or default list, else every property (describe).
  asio::awaitable<omnisync::result<std::vector<std::string>>> properties_for(std::string object);
  /// `{"id": id}`, a batch input naming a record.
  static json::object id_input(const std::string& id);

  // ---- reading.cpp -----------------------------------------------------------------------------------------

  static json::array string_array(const std::vector<std::string>& v);
  /// The list endpoint's `paging.next.after`, "" on the last page.
  static std::string next_after(const json::value& v);
  adapters::source_record to_record(const json::object& rec, const std::string& modprop) const;
  /// Search results carry no associations: read them for the whole page with one v4 batch call and attach
  /// them in the list endpoint's shape (`associations.contacts.results[].id`), which the mappings use.
  asio::awaitable<omnisync::result<std::vector<json::object>>> attach_associations(std::string object,
                                                                                   std::vector<json::object> recs);
  poll_cursor start_list() const;
  std::string list_path(const std::string& object, const std::vector<std::string>& props, bool archived,
                        const std::string& after, bool with_associations = true);
  /// Full read: live records by id, then the archived ones as deletions; then search from when it began.
  /// `only` (resync --fields): just these properties, no associations, no archived pass.
  asio::awaitable<omnisync::result<page>> list_page(std::string object, poll_cursor c, std::vector<std::string> only);
  /// One filter as HubSpot's search wants it.
  static json::object filter(const std::string& property, const char* op, std::int64_t value);
  json::object search_body(const std::string& object, const poll_cursor& c, const std::vector<std::string>& props,
                           std::int64_t upper) const;
  /// Incremental read through search, ascending on the last-modified property. Every page restarts the
  /// search from the last instant read (de-duplicating the ids already returned at that instant) instead of
  /// paging with `after`: offsets shift when records change while being paged, and they run into HubSpot's
  /// 10,000-result cap; a restarted window never gets near it.
  asio::awaitable<omnisync::result<page>> search_page(std::string object, poll_cursor c, std::vector<std::string> only);
  /// A pass over the archived list, reporting what was archived since the previous pass as deleted.
  asio::awaitable<omnisync::result<page>> archived_page(std::string object, poll_cursor c);

  // ---- writing.cpp -----------------------------------------------------------------------------------------

  static std::vector<write_result> all_results(const std::vector<write_item>& items, write_result::outcome o,
                                               const std::string& why);
  /// The property an item upserts on: `sync.upsert_property[.<object>]` when configured; else the payload's
  /// field whose value is the record key (the outbound mapping's upsert_key: `email` for the shipped contacts
  /// mapping); else `email` for contacts (HubSpot's own unique key) and `omnisync_id` for other objects.
  std::string id_property_of(const std::string& object, const write_item& it) const;
  /// Writes ≤ 100 items: upserts on `id_prop`, or, when `id_prop` is empty, updates by the items' target_id
  /// (batch/update). A batch HubSpot refuses as a whole (400/409/422, and 404 for updates) is split in halves
  /// until the refused items are alone, so one bad record does not hold back the others; writing an item twice
  /// is harmless either way (same values on the same record).
  asio::awaitable<std::vector<write_result>> batch_write(std::string object, std::string id_prop,
                                                         std::vector<write_item> items);

  config::connector_common cfg_;
  std::string base_;
  std::shared_ptr<const std::string> bearer_;  // private app token; null with auth.flow oauth
  std::string client_id_, client_secret_, refresh_token_, token_url_;  // auth.flow oauth
  std::unique_ptr<oauth::token_cache> oauth_;
  http::token_source auth_;
  std::unique_ptr<pacing::api_caller> api_;
  std::unique_ptr<rest::json_api> json_;  // every call but the token grant
  std::size_t page_size_ = 100;
  std::size_t membership_chunk_ = 1000;
  milliseconds archived_interval_{600000};
  std::map<std::string, std::string> id_property_;  // configured per object
  std::vector<std::string> objects_;
  std::map<std::string, std::vector<std::string>> properties_;       // configured/default per object
  std::map<std::string, std::vector<std::string>> all_properties_;   // from describe, for "all"
  std::map<std::string, std::vector<std::string>> associations_;
  std::shared_ptr<const adapters::webhook_endpoint> webhook_;
  std::atomic<std::int64_t> budget_used_{-1}, budget_limit_{-1};
};

}  // namespace omnisync::adapters::hubspot
