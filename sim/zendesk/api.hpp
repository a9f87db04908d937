#pragma once
/// The Zendesk Support simulator's state and REST semantics, independent of the HTTP server: users, tickets
/// and satisfaction ratings seeded lazily, cursor-based and time-based incremental exports (start_time rules,
/// `after_cursor`, `end_of_stream`), `create_or_update` / `create_or_update_many` with job statuses, user
/// fields, rate limits (429 + Retry-After, plain-text body) and the webhook events mutations produce.
///
/// Thread safety: every public member locks one mutex. Lifecycle: one per simulator; `reset()` reseeds.
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "sim/core/retry.hpp"
#include "sim/zendesk/cursor.hpp"

namespace omnisync::sim::zendesk {

/// A user, ticket or satisfaction rating: the JSON object Zendesk returns plus the sort keys.
struct record {
  std::int64_t id = 0;
  std::int64_t updated_s = 0;
  bool deleted = false;
  boost::json::object fields;  ///< everything except id/url/created_at/updated_at, which are derived
  std::int64_t created_s = 0;
};

/// Seeded records: count per kind ("users", "tickets", "satisfaction_ratings") and a deterministic maker.
struct seed_source {
  std::function<std::size_t(std::string_view kind)> count;
  std::function<record(std::string_view kind, std::int64_t index)> make;
};

struct api_limits {
  std::int64_t per_minute = 700;               ///< account-wide requests per minute (X-Rate-Limit)
  std::int64_t incremental_per_minute = 10;    ///< time-based incremental exports
  std::int64_t cursor_users_per_minute = 20;   ///< users cursor export (Zendesk-RateLimit-incremental-exports-cursor)
  std::size_t export_per_page_max = 1000;
  std::size_t bulk_max = 100;
  std::int64_t job_delay_ms = 0;  ///< how long a job_status stays "queued" before it reads "completed"
  /// Incremental exports leave out what changed in the last `export_settle_s` seconds. Zendesk holds back a minute
  /// (60); the simulator holds back the current second by default, which is what keeps a cursor from passing an
  /// update made in the second it points at (a later change in that second would sort before the cursor).
  std::int64_t export_settle_s = 1;
};

struct api_request {
  std::string method;
  std::string target;    ///< path and query
  std::string body;
  std::string authorization;
  std::string base_url;  ///< scheme://host:port the client used, for after_url / next_page / job urls
};

struct api_reply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

/// One webhook event (event-subscribed webhook body, zendesk_event_version 2022-06-20).
struct webhook_event {
  std::string id;    ///< uuid-like, unique per event
  std::string type;  ///< zen:event-type:user.created, ...
  std::int64_t subject_id = 0;
  std::string subject_kind;  ///< user, ticket
  std::int64_t time_s = 0;
  boost::json::object detail;
  boost::json::object event;
};

/// Zendesk's webhook retries (Webhooks API, "Webhook retries": failed requests are retried for certain response
/// codes, behind a circuit breaker): a 409, no answer (timeout, refused connection), or a 429/503 whose
/// Retry-After is at most 60 s are retried, at most 3 times; a 409 or no answer after 10 s, a 429/503 after its
/// Retry-After. Other answers are not retried. The counts and the 10 s pause are this simulator's reading
/// (docs/simulators.md lists them as simplified).
std::optional<std::int64_t> webhook_retry_delay(const delivery_outcome& outcome);
/// How long Zendesk waits for a webhook answer.
inline constexpr std::int64_t webhook_timeout_ms = 12'000;

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
  api(seed_source seed, std::function<std::int64_t()> now_ms, std::int64_t account_id = 12514403);

  api_reply handle(const api_request& request);

  // ---- admin side (no rate limits) ----
  static const std::vector<std::string>& kinds();  ///< users, tickets, satisfaction_ratings
  std::optional<boost::json::value> admin_list(std::string_view kind);
  std::optional<boost::json::value> admin_get(std::string_view kind, std::int64_t id);
  std::optional<boost::json::value> admin_create(std::string_view kind, const boost::json::object& body);
  std::optional<boost::json::value> admin_update(std::string_view kind, std::int64_t id, const boost::json::object& body);
  /// Soft delete (users: active false; tickets: status deleted, as exports report them); `purge`: gone without a
  /// trace, as after Zendesk's permanent deletion.
  bool admin_delete(std::string_view kind, std::int64_t id, bool purge = false);
  /// `GET|POST|PATCH|DELETE /admin/zendesk/{object}[/{id}]`; `body` is raw JSON.
  admin_reply admin(std::string_view method, std::string_view object, std::string_view id, std::string_view body);
  boost::json::value snapshot();
  void set_limits(const boost::json::object& limits);
  void reset();

  std::vector<webhook_event> take_events();
  /// The JSON body Zendesk POSTs for one event.
  std::string webhook_body(const webhook_event& event) const;
  /// One signed request per event: `X-Zendesk-Webhook-Signature` = base64(HMAC-SHA256(secret, ts + body)) with
  /// `X-Zendesk-Webhook-Signature-Timestamp` = ISO 8601 of `wall_ms`, plus the account/webhook/invocation ids.
  std::vector<signed_webhook> sign_webhooks(const std::vector<webhook_event>& events, std::string_view secret,
                                            std::int64_t wall_ms) const;
  std::int64_t account_id() const noexcept { return account_id_; }

 private:
  struct kind_state {
    std::string name;      ///< users
    std::string singular;  ///< user
    std::map<std::int64_t, record> touched;
    std::size_t seeded = 0;
    std::int64_t next_id = 0;
    /// (updated_s, id) of every record (deleted ones too: exports report them), built on the first export.
    std::set<std::pair<std::int64_t, std::int64_t>> by_updated;
    bool indexed = false;
    /// Hard-deleted without a trace (admin `DELETE ...?purge=true`): in no export, list or read any more.
    std::set<std::int64_t> purged;
  };
  struct job {
    std::string id;
    std::int64_t created_ms = 0;
    std::size_t total = 0;
    boost::json::array results;
  };
  struct window {
    std::int64_t start_ms = 0;
    std::int64_t count = 0;
  };

  kind_state* find_kind(std::string_view kind);
  void store(kind_state& k, const record& r);
  void ensure_index(kind_state& k);
  /// Up to `n` records strictly after `from` in (updated_s, id) order, skipping deleted ones when asked.
  std::vector<record> export_page(kind_state& k, export_position from, std::size_t n, bool exclude_deleted);
  /// The last second an export may include now (limits_.export_settle_s).
  std::int64_t settled_until_s() const;
  bool exists(const kind_state& k, std::int64_t id) const;
  record load(const kind_state& k, std::int64_t id) const;
  /// Every record (deleted ones too, purged ones not) with id >= `first_id`, in id order; `f` returns false to stop.
  template <class F>
  void for_each(const kind_state& k, F&& f, std::int64_t first_id = 1) const;
  boost::json::object to_json(const kind_state& k, const record& r, const std::string& base_url) const;
  std::optional<std::int64_t> find_user(const std::string& email, const std::string& external_id);
  void emit(const kind_state& k, const record& r, std::string_view what, boost::json::object event = {});
  void apply_changes(kind_state& k, record& r, const boost::json::object& changes);

  api_reply route(const api_request& request);
  api_reply cursor_export(kind_state& k, const std::map<std::string, std::string>& query, const std::string& base_url);
  api_reply time_export(kind_state& k, const std::map<std::string, std::string>& query, const std::string& base_url);
  api_reply create_or_update(const boost::json::value& body, const std::string& base_url);
  api_reply create_or_update_many(const boost::json::value& body, const std::string& base_url);
  /// `PUT /api/v2/users/update_many`: `{"users":[{"id":..,...}]}` or `?ids=` with `{"user":{...}}`; a job status
  /// whose results follow input order (failures: RecordNotFound for unknown/deleted ids, RecordInvalid).
  api_reply update_many(const boost::json::value& body, const std::map<std::string, std::string>& query,
                        const std::string& base_url);
  /// Updates user `id` with `user`'s fields; the job result entry.
  boost::json::object update_user(std::int64_t id, const boost::json::object& user, std::size_t index);
  /// Registers a job with its results (done after `job_delay_ms`) and answers with its queued status.
  api_reply start_job(boost::json::array results, const std::string& base_url);
  api_reply job_status(const std::string& id, const std::string& base_url);
  api_reply show(kind_state& k, const std::string& id, const std::string& base_url);
  api_reply delete_user(const std::string& id, const std::string& base_url);
  /// `GET /api/v2/{users|tickets}/show_many?ids=1,2` (at most 100 ids; unknown ids are left out).
  api_reply show_many(kind_state& k, const std::map<std::string, std::string>& query, const std::string& base_url);
  /// `GET /api/v2/users/search?query=` (`email:a@b.c`, or a bare email/name) or `?external_id=`.
  api_reply search_users(const std::map<std::string, std::string>& query, const std::string& base_url);
  api_reply ratings(const std::map<std::string, std::string>& query, const std::string& base_url);
  /// `GET /api/v2/users` and `/api/v2/tickets`: live records in id order, cursor pagination (`page[size]` ≤ 100,
  /// `page[after]`, `meta.has_more`, `links.next`) or offset pagination (`per_page` ≤ 100, `page`, `next_page`).
  api_reply list(kind_state& k, const std::map<std::string, std::string>& query, const std::string& base_url);
  api_reply user_fields();
  /// Upserts one user body; returns the result entry for job statuses and whether it was created.
  boost::json::object upsert_user(const boost::json::object& user, std::size_t index, bool& created,
                                  std::int64_t& id);
  std::optional<api_reply> limit(window& w, std::int64_t max, std::string_view what);

  mutable std::mutex mutex_;
  seed_source seed_;
  std::function<std::int64_t()> now_ms_;
  std::int64_t account_id_;
  api_limits limits_;
  std::vector<kind_state> kinds_;
  std::map<std::string, job> jobs_;
  std::vector<webhook_event> events_;
  std::int64_t next_job_ = 1;
  std::int64_t next_event_ = 1;
  window all_;
  window incremental_;
  window cursor_users_;
};

/// Default seeded data: `size` end users, size/2 tickets (ticket i requested by user 2i-1) and size/4
/// satisfaction ratings (rating i on ticket i), derived from (seed, index) only.
seed_source default_seed(std::uint64_t seed, std::size_t size, std::int64_t base_ms);

/// `2024-05-01T10:00:00Z` from epoch seconds.
std::string iso_s(std::int64_t epoch_s);

}  // namespace omnisync::sim::zendesk
