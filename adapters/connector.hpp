#pragma once
/// The one interface every vendor adapter implements, and the registry that builds them from config.
///
/// An adapter knows its vendor's API: how to read a page of changed records, how to fetch records by id, how to
/// write a batch, how its webhooks are verified and parsed, and what its metadata says about fields. It knows
/// nothing about the store, the mappings or scheduling: the sync engine (daemon/sync/engine.hpp) decides when to
/// poll, stores pages together with their cursor, runs the mappings and feeds the writers.
///
/// Calls to the vendor go through the connector's `pacing::api_caller` (adapters/pacing/api_call.hpp), the one place
/// for retries, backoff, Retry-After, rate buckets and daily budgets. An adapter returns what is left after that
/// as a classified `omnisync::errc`: `rate_limited`/`retry`/`timeout` (the engine waits and tries again later),
/// `auth_expired` (credentials refused even after a refresh), `invalid_input`/`fail` (permanent).
///
/// Threading: an adapter object is used from one strand (its connector's). Cursors are opaque strings that only
/// the adapter interprets; the engine stores them atomically with the records they cover.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/records.hpp"
#include "adapters/webhook.hpp"
#include "config/connector.hpp"
#include "core/error.hpp"
#include "core/health.hpp"
#include "core/rate_limits.hpp"
#include "core/vendor_schema.hpp"

namespace omnisync::metrics {
class registry;
}

namespace omnisync::adapters {

template <class T>
using task = boost::asio::awaitable<omnisync::result<T>>;

enum class poll_mode {
  incremental,  ///< changes since the cursor (nullopt cursor: from the beginning)
  full,         ///< a full read from the beginning, ignoring the stored cursor (resync --full)
};

/// What the engine asks for.
struct page_request {
  page_request() = default;
  page_request(std::string obj, std::optional<std::string> c, poll_mode m = poll_mode::incremental)
      : object(std::move(obj)), cursor(std::move(c)), mode(m) {}
  std::string object;
  std::optional<std::string> cursor;  ///< as returned by the previous page (or stored); nullopt: start
  poll_mode mode = poll_mode::incremental;
  std::optional<std::chrono::system_clock::time_point> since;  ///< resync --since: overrides the cursor's time
  /// resync --fields: only these fields are wanted. An adapter that can read just them answers with `partial`
  /// pages (merged into the stored records) and a cursor of its own; one that cannot reads whole records.
  std::vector<std::string> fields;
};

/// One page of records: raw vendor JSON per record (one object each), plus the cursor that covers it.
struct page {
  std::vector<adapters::source_record> records;
  /// The cursor to store with these records (atomically). nullopt: leave the stored cursor unchanged.
  std::optional<std::string> cursor;
  /// True when the next page can be read at once; false when this read reached the end (wait a poll interval).
  bool more = false;
  /// The records carry only some fields (e.g. Salesforce formula columns refreshed on a schedule): the engine
  /// merges them into the stored copies instead of replacing them. Records not stored yet are skipped.
  bool partial = false;
  /// How many records the object holds in all (or match the read), when the vendor's answer says so; the
  /// initial sync's progress shows it. nullopt: the vendor does not say.
  std::optional<std::int64_t> total;
};

/// A page of ids (hard-delete reconciliation).
struct id_page {
  std::vector<std::string> ids;
  std::optional<std::string> next;  ///< pass back to get the next page; nullopt: this was the last
};

/// What a stored webhook event turned into.
struct event_records {
  struct item {
    item() = default;
    item(std::string obj, adapters::source_record r) : object(std::move(obj)), record(std::move(r)) {}
    std::string object;
    adapters::source_record record;  ///< raw vendor JSON, or deleted=true with only the id
  };
  std::vector<item> records;      ///< complete records carried by the event
  /// Records the event only names (e.g. HubSpot sends ids and one property): the engine fetches them.
  std::vector<std::pair<std::string, std::string>> refetch;  ///< (object, id)
  /// What the event says a record held and when (HubSpot's propertyName/propertyValue/occurredAt, Zendesk's
  /// `detail` and `time`): the engine applies it as evidence beside the record it fetches, so a re-read that is
  /// older than the event, or that holds a stale value omnisync wrote after the change, does not hide it.
  struct announcement {
    std::string object, id;
    std::string payload;   ///< JSON object in the vendor's record shape, holding only the fields announced
    std::int64_t at = 0;   ///< ms since the epoch: when the change happened, as the vendor says
  };
  std::vector<announcement> announced;
  /// Every field change the event reports, in the same shape (the record's id, a JSON object of the changed fields
  /// with their new values, the vendor's time of the change): only for recognising the echo of omnisync's own
  /// write (the inbox skips re-reading a record when every change its events report is exactly what omnisync
  /// just wrote there). Unlike `announced`, not evidence for survivorship. Empty: the event reports no changes
  /// (it is re-read as always).
  std::vector<announcement> reported;
};

/// One write to a destination record (the outbound mapping's output for one record).
struct write_item {
  write_item() = default;
  write_item(std::int64_t id, std::string key, std::string p)
      : outbox_id(id), record_key(std::move(key)), payload(std::move(p)) {}
  std::int64_t outbox_id = 0;
  std::string record_key;  ///< the upsert key's value (e.g. the email, or an external id)
  std::string payload;     ///< JSON object of destination fields
  /// The vendor's id of the destination record when the profile already links one (a Salesforce Contact found by
  /// email, say): the adapter updates that record by id instead of upserting by `record_key`, so a record created
  /// outside omnisync is not duplicated. Empty: upsert by record_key.
  std::string target_id;
};

struct write_result {
  enum class outcome { written, retry, rejected };
  std::int64_t outbox_id = 0;
  outcome status = outcome::written;
  std::string destination_id;  ///< the vendor's id of the written record, when known
  /// A membership add: the vendor's id of the membership row it made (Salesforce CampaignMember, ActiveCampaign
  /// contactTag), when the answer gives one; stored, so that the removal needs no look-up.
  std::string row_id;
  std::string error;           ///< the vendor's message for retry/rejected
  std::string request_id;      ///< the vendor's request id of the call that carried it, when it gives one
};

/// A segment's audience at one destination: a HubSpot MANUAL list, an ActiveCampaign tag, a Salesforce campaign.
struct audience_spec {
  std::string segment_key;  ///< the segment's immutable key
  std::string name;         ///< the list/tag/campaign name (the segment's `sync:` entry `list`)
  bool resubscribe = false; ///< ActiveCampaign: a contact who unsubscribed (list status 2) may be set back to 1
};

/// One membership change: add or remove the vendor record `member_id` (the person's record id there).
struct membership_item {
  membership_item() = default;
  membership_item(std::int64_t id, std::string member, bool is_add, std::string row = {})
      : outbox_id(id), member_id(std::move(member)), add(is_add), row_id(std::move(row)) {}
  std::int64_t outbox_id = 0;
  std::string member_id;
  bool add = true;
  /// A removal: the membership row's id as the add's answer gave it (write_result::row_id), "" when unknown — the
  /// connector looks it up then. A row deleted since (outside omnisync) counts as removed.
  std::string row_id;
};

/// The vendor's metadata (core/vendor_schema.hpp: shared with mapping lint, which takes it as data).
using omnisync::field_info;
using omnisync::object_schema;

/// Per-connector figures for `status` and `/metrics`.
struct connector_usage {
  std::int64_t api_calls = 0;
  std::int64_t api_errors = 0;
  std::int64_t budget_used = -1;   ///< daily API budget used, -1 when the vendor reports none
  std::int64_t budget_limit = -1;
  /// Every rate limit the vendor's answers stated (its headers, in its words), the latest reading of each.
  std::vector<rate_limit_reading> rate_limits;
  /// The state its last call to the vendor left, with the cause in the vendor's words (core/health.hpp).
  connector_health health;
};

class connector {
 public:
  virtual ~connector() = default;

  virtual const std::string& name() const noexcept = 0;
  virtual std::string_view kind() const noexcept = 0;
  /// Objects to poll, in order (the config's `objects`, or the adapter's defaults).
  virtual std::vector<std::string> objects() const = 0;

  /// Reads the next page of `req.object`. Records in a page are distinct by id; an adapter that re-reads an
  /// overlap window de-duplicates against its cursor itself.
  virtual task<page> poll(page_request req) = 0;
  /// Reads the named records now (webhooks that carry only ids, `resync --id`). Ids that no longer exist come
  /// back as deleted records.
  virtual task<std::vector<adapters::source_record>> fetch(std::string object, std::vector<std::string> ids) = 0;
  /// Every id that exists now, a page at a time, for hard-delete reconciliation (records the store holds that
  /// are not listed were deleted without a trace). errc::not_found when the vendor cannot list ids.
  virtual task<id_page> list_ids(std::string object, std::optional<std::string> next) {
    co_return make_error_code(errc::not_found);
  }
  /// Finds records by email (`resync --email`).
  virtual task<std::vector<adapters::source_record>> find_by_email(std::string object, std::string email) = 0;

  /// Most writes per call for `object` (Salesforce 200, HubSpot 100, Zendesk 100), capped by config batch_size.
  virtual std::size_t max_batch(std::string_view object) const = 0;
  /// Writes (upserts) a batch. One result per item, in any order; the call itself fails only when nothing could
  /// be attempted (then every item is retried later).
  virtual task<std::vector<write_result>> write(std::string object, std::vector<write_item> items) = 0;

  /// Deletes records by their ids (`write_item.target_id`; payload and record_key are not used) — the
  /// `propagation.deletes: delete` policy. One result per item; a record already gone counts as written (the
  /// deletion is idempotent). The default rejects every item: the connector cannot delete.
  virtual task<std::vector<write_result>> remove(std::string object, std::vector<write_item> items) {
    std::vector<write_result> out;
    for (const auto& it : items) {
      write_result w;
      w.outbox_id = it.outbox_id;
      w.status = write_result::outcome::rejected;
      w.error = std::string(kind()) + " connector cannot delete " + object + " records (propagation.deletes: delete)";
      out.push_back(std::move(w));
    }
    co_return out;
  }

  /// Finds the destination's list/tag/campaign named `spec.name`, creating it if absent; returns the vendor's id.
  /// The default refuses (errc::invalid_input): the connector cannot hold segment membership.
  virtual task<std::string> ensure_audience(audience_spec spec) {
    co_return make_error_code(errc::invalid_input);
  }
  /// Adds/removes members of audience `audience_id` in the vendor's batch sizes. One write_result per item:
  /// written (also when the vendor already had it so), retry, or rejected with the vendor's reason. A call that
  /// fails as a whole with errc::not_found means the audience itself is gone (deleted outside omnisync).
  /// The default rejects every item ("connector cannot hold segment membership").
  virtual task<std::vector<write_result>> change_membership(audience_spec spec, std::string audience_id,
                                                            std::vector<membership_item> items) {
    std::vector<write_result> out;
    for (const auto& it : items) {
      write_result w;
      w.outbox_id = it.outbox_id;
      w.status = write_result::outcome::rejected;
      w.error = std::string(kind()) + " connector cannot hold segment membership";
      out.push_back(std::move(w));
    }
    co_return out;
  }
  /// Most membership changes per `change_membership` call worth sending together (HubSpot: one list request's
  /// chunk; Salesforce: 200 per sObject Collections call; ActiveCampaign: 1 change per call).
  virtual std::size_t max_membership_batch() const { return 1; }
  /// Fields of a written record, besides the mapping's upsert key, by which the vendor's upsert matches an
  /// existing record (Zendesk's create_or_update_many matches users by email too). The engine does not create a
  /// record through a value that could match another person's there (profile::resolver::match_risk).
  virtual std::vector<std::string> upsert_matches(std::string_view object) const { return {}; }

  /// How this connector's webhooks are accepted; nullptr when it has none configured.
  virtual std::shared_ptr<const adapters::webhook_endpoint> webhook() const { return nullptr; }
  /// Turns a stored webhook event into records. errc::invalid_input for a malformed payload (quarantined).
  virtual omnisync::result<event_records> parse_event(const adapters::inbox_event& event) const = 0;
  /// The records a stored event names, (object, id), read as far as the payload allows: for an event that
  /// parse_event refused, so that its dead letter names its record and resolves when that record is later read
  /// or written successfully. Best effort, never throws; the default names none.
  virtual std::vector<std::pair<std::string, std::string>> records_named(const adapters::inbox_event&) const {
    return {};
  }

  /// The vendor's metadata for `object` (cached by the engine; re-read on a schedule).
  virtual task<object_schema> describe(std::string object) = 0;

  virtual connector_usage usage() const = 0;
};

/// What an adapter gets when it is built.
struct connector_context {
  boost::asio::any_io_executor executor;
  std::string public_url;                 ///< http.public_url (signed webhook URLs are rebuilt from it)
  metrics::registry* metrics = nullptr;      ///< may be null (tests)
};

/// Builds the adapter for `cfg.kind`. Throws std::runtime_error with a sentence for the operator when the
/// config cannot work (missing credentials, unreadable CA file).
std::unique_ptr<connector> make_connector(const config::connector_common& cfg, const connector_context& ctx);

/// The kinds the registry knows.
std::vector<std::string> connector_kinds();

}  // namespace omnisync::adapters
