#pragma once
/// The Zendesk connector's class, shared by the files that implement it; nothing outside this folder includes it
/// (the registry calls `make_zendesk_connector`, zendesk_connector.hpp).
///
/// - zendesk_connector.cpp: construction from the settings, usage, describe (built-in fields + user fields);
/// - reading.cpp: poll (cursor exports of users and tickets, the ratings scan; zendesk_cursor.hpp), fetch
///   (show_many), list_ids, find_by_email;
/// - writing.cpp: write (create_or_update_many / update_many followed through the job status), remove;
/// - events.cpp: parse_event (stored webhook events → deleted records and ids to refetch).
/// Calls go through `json_` (adapters/rest/json_api.hpp), refusals are classified by errors.hpp, webhook
/// verification is webhook.hpp.
///
/// One instance per configured connector, used from its connector's strand; `usage()` may be called from any
/// thread (atomics in the api_caller), `parse_event` only reads immutable members.
#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/connector.hpp"
#include "adapters/pacing/api_call.hpp"
#include "adapters/rest/json_api.hpp"
#include "adapters/zendesk/zendesk_cursor.hpp"

namespace omnisync::adapters::zendesk {

namespace json = boost::json;
namespace asio = boost::asio;
using std::chrono::milliseconds;

constexpr std::size_t bulk_limit = 100;         // create_or_update_many and show_many take at most 100
constexpr std::int64_t export_max_page = 1000;  // incremental exports' per_page cap
constexpr std::size_t ratings_max_page = 100;   // satisfaction_ratings' page[size] cap

/// A whole decimal number, nullopt for anything else (Zendesk ids are numbers).
std::optional<std::int64_t> to_int(std::string_view s);
/// A record's `updated_at` (else `created_at`) in epoch ms, 0 when it has neither.
std::int64_t updated_ms(const json::value& rec);
/// A Zendesk record as stored: deleted users are exported with `active: false`, deleted tickets with
/// `status: "deleted"`.
adapters::source_record to_record(const std::string& object, const json::value& rec);
/// A deleted record with only its id, stamped `when_ms`.
adapters::source_record deleted_record(const std::string& id, std::int64_t when_ms);

/// The Zendesk connector: one per configured connector, built by `make_zendesk_connector`, used from its
/// connector's strand (see the top of this file for what may be called from other threads).
class connector_impl final : public connector {
 public:
  // zendesk_connector.cpp
  connector_impl(const config::connector_common& cfg, const connector_context& ctx);
  const std::string& name() const noexcept override { return cfg_.name; }
  std::string_view kind() const noexcept override { return "zendesk"; }
  std::vector<std::string> objects() const override { return objects_; }
  std::size_t max_batch(std::string_view) const override {
    return cfg_.batch_size > 0 ? std::min(cfg_.batch_size, bulk_limit) : bulk_limit;
  }
  std::shared_ptr<const adapters::webhook_endpoint> webhook() const override { return webhook_; }
  /// create_or_update_many matches a user by external_id, then by email.
  std::vector<std::string> upsert_matches(std::string_view object) const override {
    if (object == "users") return {"email"};
    return {};
  }
  connector_usage usage() const override;
  task<object_schema> describe(std::string object) override;

  // reading.cpp
  task<page> poll(page_request req) override;
  task<std::vector<adapters::source_record>> fetch(std::string object, std::vector<std::string> ids) override;
  /// Every live id, for hard-delete reconciliation. Users and satisfaction ratings: their list endpoints with
  /// cursor pagination (`page[size]=100`, the most Zendesk allows; `meta.has_more`, `meta.after_cursor`), which
  /// leave deleted records out. Tickets: "List Tickets" leaves archived tickets out (closed for 120 days), which
  /// would mark them deleted here, so the ticket cursor export (`exclude_deleted=true`, 1,000 a page) is the
  /// listing that holds every ticket. `next` is Zendesk's cursor.
  task<id_page> list_ids(std::string object, std::optional<std::string> next) override;
  task<std::vector<adapters::source_record>> find_by_email(std::string object, std::string email) override;

  // writing.cpp
  task<std::vector<write_result>> write(std::string object, std::vector<write_item> items) override;
  /// Deletes users by id (DELETE /api/v2/users/{id}: Zendesk's soft delete), one call each — deletions are rare,
  /// and destroy_many would need the job-status follow-up. A user already deleted (404) counts as done.
  task<std::vector<write_result>> remove(std::string object, std::vector<write_item> items) override;

  // events.cpp
  omnisync::result<event_records> parse_event(const adapters::inbox_event& event) const override;

 private:
  // ---- reading.cpp -----------------------------------------------------------------------------------------

  /// Cursor-based incremental export: `start_time` once, then `cursor=after_cursor` until end_of_stream;
  /// the after_cursor of the last page is where the next poll continues.
  asio::awaitable<omnisync::result<page>> export_page(std::string object, std::string after, std::int64_t start_s);
  /// Satisfaction ratings have no cursor export: list by `start_time` with cursor pagination, remember the
  /// newest updated_at of the scan, and start the next scan there (de-duplicating the ids at that second).
  asio::awaitable<omnisync::result<page>> ratings_page(poll_cursor c);

  // ---- writing.cpp -----------------------------------------------------------------------------------------

  static std::vector<write_result> all_results(const std::vector<write_item>& items, write_result::outcome o,
                                               const std::string& why);
  /// Waits `d` on the connector's executor; false when cancelled (shutdown).
  asio::awaitable<bool> wait(milliseconds d);
  /// `create_or_update_many` (≤ 100 users, matched on external_id or email), or with `by_id` `update_many` of
  /// the users the items' target_id name; then the job status polled until it completes; its per-user results
  /// (input order, or `index`) become the write results.
  asio::awaitable<std::vector<write_result>> bulk_users(std::vector<write_item> items, bool by_id);
  /// Polls `/api/v2/job_statuses/{id}` until completed, failed or killed: first after a quarter of
  /// `sync.job_poll_interval` (small jobs finish within a second), then less often, up to the interval.
  asio::awaitable<omnisync::result<json::value>> follow_job(std::string id);

  config::connector_common cfg_;
  std::string base_;
  std::shared_ptr<const std::string> authorization_;
  http::token_source auth_;
  std::unique_ptr<pacing::api_caller> api_;
  std::unique_ptr<rest::json_api> json_;
  std::int64_t page_size_ = export_max_page;
  milliseconds job_poll_interval_{1000};
  milliseconds job_timeout_{600000};
  std::vector<std::string> objects_;
  std::shared_ptr<const adapters::webhook_endpoint> webhook_;
};

}  // namespace omnisync::adapters::zendesk
