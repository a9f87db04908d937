#pragma once
/// The Intercom connector's class, shared by the files that implement it; nothing outside this folder includes it
/// (the registry calls `make_intercom_connector`, intercom_connector.hpp).
///
/// - intercom_connector.cpp: construction from the settings, usage, describe (data attributes);
/// - reading.cpp: poll (search by updated_at, day-granular, with an overlap; intercom_cursor.hpp), fetch, list_ids,
///   find_by_email, and the contact search writes use too;
/// - writing.cpp: write (find the contact by external_id or email, then update or create it);
/// - events.cpp: parse_event (stored notifications → records, deletions and ids to refetch).
/// Calls go through `json_` (adapters/rest/json_api.hpp), refusals are classified by errors.hpp, webhook
/// verification is webhook.hpp.
///
/// One instance per configured connector, used from its connector's strand; `usage()` may be called from any
/// thread (atomics in the api_caller), `parse_event` only reads immutable members.
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/connector.hpp"
#include "adapters/intercom/intercom_cursor.hpp"
#include "adapters/pacing/api_call.hpp"
#include "adapters/rest/json_api.hpp"

namespace omnisync::adapters::intercom {

namespace json = boost::json;
namespace asio = boost::asio;
using std::chrono::milliseconds;

constexpr std::int64_t per_page_max = 150;  // list and search pages hold at most 150
constexpr std::int64_t day_s = 86400;
constexpr std::string_view bucket = "app";  // Intercom counts calls per app

/// Intercom timestamps are Unix seconds (numbers); 0 when `key` is absent or unreadable.
std::int64_t seconds_of(const json::value& rec, std::string_view key);
/// A record's `updated_at`, else its `created_at`, in seconds.
std::int64_t updated_s(const json::value& rec);
/// A contact or conversation as stored: the model as the API returns it, stamped with `updated_at`.
adapters::source_record to_record(const json::value& rec, bool deleted = false);
/// One search filter (`{"field", "operator", "value"}`).
json::object filter(const char* field, const char* op, json::value value);

/// The Intercom connector: one per configured connector, built by `make_intercom_connector`, used from its
/// connector's strand (see the top of this file for what may be called from other threads).
class connector_impl final : public connector {
 public:
  // intercom_connector.cpp
  connector_impl(const config::connector_common& cfg, const connector_context& ctx);
  const std::string& name() const noexcept override { return cfg_.name; }
  std::string_view kind() const noexcept override { return "intercom"; }
  std::vector<std::string> objects() const override { return objects_; }
  /// A contact is created or updated by its own call.
  std::size_t max_batch(std::string_view) const override { return 1; }
  std::shared_ptr<const adapters::webhook_endpoint> webhook() const override { return webhook_; }
  connector_usage usage() const override;
  /// `GET /data_attributes?model=contact|conversation`: `full_name` (custom attributes as
  /// `custom_attributes.<name>`, the shape `write` sends), `data_type`, `api_writable`. external_id and email
  /// are what `write` finds contacts by.
  task<object_schema> describe(std::string object) override;

  // reading.cpp
  task<page> poll(page_request req) override;
  task<std::vector<adapters::source_record>> fetch(std::string object, std::vector<std::string> ids) override;
  /// Every id through the list endpoints (`GET /contacts`, `GET /conversations`, `starting_after` paging).
  task<id_page> list_ids(std::string object, std::optional<std::string> next) override;
  task<std::vector<adapters::source_record>> find_by_email(std::string object, std::string email) override;

  // writing.cpp
  task<std::vector<write_result>> write(std::string object, std::vector<write_item> items) override;

  // events.cpp
  /// A notification (`{"type":"notification_event","topic":...,"data":{"item":{...}}}`): a contact or
  /// conversation item is the record itself (Intercom sends the whole model); `contact.deleted` and
  /// `contact.archived` are deletions; an item that only names a contact (tag events) is refetched; `ping`
  /// and items of objects this connector does not sync give nothing.
  omnisync::result<event_records> parse_event(const adapters::inbox_event& event) const override;

 private:
  /// reading.cpp: the contacts a search query matches (first page: lookups expect a handful).
  asio::awaitable<omnisync::result<std::vector<json::value>>> search_contacts(json::object query);
  /// writing.cpp: finds the contact by external_id or email (one search, OR), then `PUT /contacts/{id}`; creates
  /// it with `POST /contacts` when none matches (a 409 conflict — created meanwhile, or a lead holding the email —
  /// names the existing contact, which is then updated).
  asio::awaitable<write_result> upsert_contact(write_item it);

  config::connector_common cfg_;
  std::string base_;
  std::shared_ptr<const std::string> bearer_;
  http::token_source auth_;
  std::string version_;
  std::unique_ptr<pacing::api_caller> api_;
  std::unique_ptr<rest::json_api> json_;
  std::int64_t page_size_ = per_page_max;
  std::int64_t overlap_s_ = 600;
  std::string upsert_key_;
  std::string role_;
  std::vector<std::string> objects_;
  std::shared_ptr<const adapters::webhook_endpoint> webhook_;
};

}  // namespace omnisync::adapters::intercom
