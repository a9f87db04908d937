#pragma once
/// The Salesforce connector's class and what its files share; nothing outside this folder includes it (the registry
/// calls `make_salesforce_connector`, salesforce_connector.hpp).
///
/// - salesforce_connector.cpp: construction (settings.hpp, the OAuth session, the org's clock), usage, the REST and
///   query plumbing (call_rest, soql, query_more), the describe cache and describe;
/// - reading.cpp: poll (SystemModstamp windows with overlap, formula refreshes, getDeleted; poll_cursor.hpp),
///   fetch, find_by_email, list_ids;
/// - writing.cpp: write (sObject Collections upserts on an external id, updates by Id), remove;
/// - events.cpp: parse_event (stored Outbound Messages → records or ids to refetch; outbound_message.hpp).
/// Refusals are classified by errors.hpp; the Outbound Message endpoint is webhook.hpp.
///
/// One instance per configured connector, used from its connector's strand; `usage()` may be called from any
/// thread (atomics), `parse_event` from another thread than the polls (the describe cache has a mutex).
#include <boost/asio/awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapters/connector.hpp"
#include "adapters/pacing/api_call.hpp"
#include "adapters/salesforce/oauth.hpp"
#include "adapters/salesforce/poll_cursor.hpp"
#include "adapters/salesforce/query_page.hpp"
#include "adapters/salesforce/settings.hpp"
#include "core/time.hpp"

namespace omnisync::adapters::salesforce {

namespace asio = boost::asio;
namespace json = boost::json;
using std::chrono::milliseconds;

inline std::int64_t local_now_ms() { return to_epoch_ms(utc_now()); }

/// An object's describe, and what polling derives from it.
struct described {
  object_schema schema;
  std::vector<std::string> select;     // columns every poll reads
  std::vector<std::string> formulas;   // calculated columns (refreshed on a schedule)
  std::map<std::string, std::string> types;  // field → describe type (Outbound Message values)
  bool has_email = false;
  std::chrono::steady_clock::time_point fetched;
};

/// A field of a describe by name: the exact name, else the same name in any case.
const field_info* find_field(const object_schema& s, std::string_view name);

struct query_page {
  json::array records;
  std::optional<std::string> next;
};

/// What one sObject Collections call answered, before it is turned into write results.
struct collection_answer {
  std::optional<json::array> answers;  // one per record, in request order; nullopt: the call failed as a whole
  std::string whole_error;
  write_result::outcome outcome = write_result::outcome::retry;  // for every record when the call failed
  std::optional<boost::system::error_code> call_error;           // nothing reached Salesforce
  bool attempted = false;                                        // Salesforce looked at the records
};

/// The Salesforce connector: one per configured connector, built by `make_salesforce_connector`, used from its
/// connector's strand (see the top of this file for what may be called from other threads).
class connector_impl final : public connector {
 public:
  // salesforce_connector.cpp
  connector_impl(const config::connector_common& cfg, const connector_context& ctx);
  const std::string& name() const noexcept override { return s_.connector; }
  std::string_view kind() const noexcept override { return "salesforce"; }
  std::vector<std::string> objects() const override { return s_.objects; }
  std::size_t max_batch(std::string_view) const override { return s_.batch_size; }
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
  task<std::vector<write_result>> remove(std::string object, std::vector<write_item> items) override;

  // membership.cpp (segment sync: a Campaign per destination, CampaignMember rows)
  task<std::string> ensure_audience(audience_spec spec) override;
  task<std::vector<write_result>> change_membership(audience_spec spec, std::string audience_id,
                                                    std::vector<membership_item> items) override;
  /// sObject Collections take at most 200 records a call.
  std::size_t max_membership_batch() const override { return 200; }

  // events.cpp
  omnisync::result<event_records> parse_event(const adapters::inbox_event& event) const override;

 private:
  /// The org's clock (see the constructor).
  std::int64_t now_ms() const { return local_now_ms() + clock_offset_ms_.load(); }
  bool formula_due(const described& d, const poll_cursor& cur) const {
    return !d.formulas.empty() && s_.formula_refresh.count() > 0 && cur.formula_done &&
           now_ms() - *cur.formula_done >= s_.formula_refresh.count();
  }
  std::string data_path(const std::string& rest) const { return "/services/data/v" + s_.api_version + rest; }

  // ---- salesforce_connector.cpp ----------------------------------------------------------------------------

  asio::awaitable<omnisync::result<http::response>> call_rest(std::string method, std::string path, std::string body,
                                                         bool is_write);
  asio::awaitable<omnisync::result<query_page>> soql(std::string query, bool all, std::size_t batch);
  asio::awaitable<omnisync::result<query_page>> query_more(std::string next_url, std::size_t batch);
  /// The same queries for the polling hot path: records parsed without a JSON tree (query_page.hpp).
  asio::awaitable<omnisync::result<record_page>> soql_records(std::string query, bool all, std::size_t batch);
  asio::awaitable<omnisync::result<record_page>> query_more_records(std::string next_url, std::size_t batch);
  /// GET of a query URL (a first query or a nextRecordsUrl); a status other than 200 is classified here.
  asio::awaitable<omnisync::result<http::response>> query_call(std::string url, std::size_t batch);
  asio::awaitable<omnisync::result<std::shared_ptr<const described>>> fields_of(std::string object, bool fresh);
  /// Logs a refused answer once (unless it is routine: a lost query locator, a missing record) and classifies it.
  boost::system::error_code failed(const http::response& r, std::string_view what) const;

  // ---- reading.cpp -----------------------------------------------------------------------------------------

  asio::awaitable<omnisync::result<page>> formula_page(std::string object, poll_cursor cur,
                                                       std::shared_ptr<const described> d);
  /// Adds to `out` the deletions getDeleted knows and queryAll did not show, when a check is due.
  asio::awaitable<std::pair<poll_cursor, page>> add_get_deleted(std::string object, poll_cursor cur, std::int64_t upper,
                                                                page out);
  /// Every record of a query, page after page (fetch, find_by_email).
  asio::awaitable<omnisync::result<std::vector<adapters::source_record>>> read_all(std::string query, bool all);

  // ---- writing.cpp -----------------------------------------------------------------------------------------

  /// One sObject Collections call of `n` records: PATCH (update by Id, or upsert on an external id field) with
  /// a body, or DELETE with the ids in the path.
  asio::awaitable<collection_answer> collection_call(std::string what, std::string path, std::string body,
                                                     std::size_t n, std::string method = "PATCH");

  settings s_;
  std::unique_ptr<pacing::api_caller> caller_;
  std::unique_ptr<oauth_session> auth_;
  std::atomic<std::int64_t> clock_offset_ms_{0};  // org clock - local clock (estimate, see the constructor)
  bool clock_known_ = false;
  std::shared_ptr<const adapters::webhook_endpoint> webhook_;
  mutable std::mutex schemas_mu_;  // parse_event may run on another thread than the polls
  std::map<std::string, std::shared_ptr<const described>> schemas_;
};

}  // namespace omnisync::adapters::salesforce
