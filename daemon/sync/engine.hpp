#pragma once
/// The sync engine: what moves records between the connected systems and the store.
///
///   poll loop per (connector, object) ─┐
///                                      ├─> map (inbound plan) ─> store records + cursor (one transaction)
///   inbox loop (stored webhooks) ──────┘        │                   └─> dead letters (mapping failures)
///                                               └─> outbound plans of the other connectors ─> outbox
///   writer loop per connector: outbox claim ─> adapter.write (batched) ─> ack / nack / dead letter
///
/// Guarantees: a cursor advances only in the transaction that stores the records it covers; an inbox event is
/// acknowledged only after its records are stored (or it is dead-lettered with the reason); an outbox write is
/// acknowledged only after the vendor confirmed it. A crash anywhere therefore repeats work (upserts, so harmless)
/// and loses nothing. Writes equal to what was last written to a record are skipped by the store, which stops
/// ping-pong between two systems.
///
/// The 360 view sits between mapping and the outbox: every mapped record goes into the profile book (identity
/// resolution, survivorship, timeline, KPIs; daemon/profile/book.hpp), and the profiles it changed are written
/// to every subscribed destination through the outbound mappings — to the record the profile already links there
/// (by its id), else by upsert key. A write equal to what that record last got is skipped, so the echo of our
/// own write comes back, recomputes the same profile and stops. The book is rebuilt from the store at start-up.
///
/// Threading: every loop runs on the executor it is spawned on (the application's task group strand), and the
/// adapters are used only from those loops. `status()`, `pause()`, `resume()` and `request_resync()` may be
/// called from any thread (control commands).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/connector.hpp"
#include "config/connector.hpp"
#include "daemon/profile/book.hpp"
#include "daemon/store/store.hpp"

namespace omnisync::mapping {
class plan;
}
namespace omnisync::metrics {
class registry;
}

namespace omnisync::sync {

using std::chrono::milliseconds;

struct engine_options {
  std::size_t inbox_batch = 100;
  milliseconds inbox_lease{60000};
  milliseconds queue_idle{200};        ///< how often an empty inbox/outbox is looked at again
  milliseconds error_pause{1000};      ///< first pause after a failed poll; doubles per failure
  milliseconds error_pause_cap{60000};
  int max_inbox_attempts = 5;          ///< then the event is dead-lettered
  int max_write_attempts = 8;          ///< then the write is dead-lettered
  milliseconds write_retry{2000};      ///< first retry delay of a failed write; doubles per attempt
  milliseconds write_lease{120000};
  /// Hard-delete reconciliation by id sets, per connector `sync.reconcile_interval` (this is the default when a
  /// connector does not say); connectors that cannot list ids skip it.
  milliseconds reconcile_interval{6 * 3600 * 1000};
  /// Several instances share the store (PostgreSQL): the pipeline — polls, the inbox, the profile book — runs on
  /// the one instance holding the `pipeline` lease (renewed every lease_ttl/3, taken over by another instance
  /// within lease_ttl when its holder dies), and its writes are fenced by the lease's token. Every instance takes
  /// webhooks into the shared inbox and runs the writers (claims never hand one record to two of them).
  bool cluster = false;
  std::string instance;                ///< this instance's lease owner name (cluster)
  milliseconds lease_ttl{15000};
};

/// The lease whose holder runs the pipeline in a cluster (engine_options::cluster).
inline constexpr std::string_view pipeline_lease = "pipeline";

/// This instance's part in a cluster, as `status` shows it.
struct cluster_status {
  bool enabled = false;
  std::string instance;
  bool leader = false;
  std::int64_t token = 0;              ///< the pipeline lease's fencing token while leader
  std::int64_t leaderships = 0;        ///< times this instance took the lease
};

/// One (connector, object) as `status` shows it.
struct object_status {
  std::string object;
  std::string phase = "idle";          ///< idle | polling | resync | paused | error
  std::optional<std::string> cursor;
  std::int64_t records_read = 0;
  std::int64_t records_stored = 0;
  std::int64_t mapping_failures = 0;
  std::int64_t pages = 0;
  store::timestamp last_success{};
  store::timestamp last_attempt{};
  std::string last_error;
  store::timestamp newest_source_update{};  ///< lag = now - this
  // the running or last resync
  bool resync_running = false;
  std::int64_t resync_read = 0;
  std::int64_t resync_stored = 0;
  store::timestamp resync_started{};
  store::timestamp resync_finished{};
  std::string resync_error;
};

struct connector_status {
  std::string name, kind;
  bool paused = false;
  std::vector<object_status> objects;
  adapters::connector_usage usage;
  std::int64_t events_in = 0;          ///< webhook events processed
  std::int64_t writes_ok = 0;
  std::int64_t writes_rejected = 0;
  std::int64_t writes_retried = 0;
  std::string last_write_error;
};

/// One problem `omnisyncctl lint` found by checking a mapping file against the connected system's metadata.
struct lint_finding {
  std::string severity;   ///< error | warning
  std::string connector, object, file;
  int line = 0;
  std::string field;      ///< the vendor field concerned
  std::string message;
};

/// What `omnisyncctl profile get` shows: the profile and why it looks that way.
struct profile_report {
  profile::profile_view view;
  std::optional<profile::explanation> why;
};

struct resync_request {
  std::string connector;
  std::string object;                  ///< empty: every object of the connector
  enum class kind { full, since, id, email } what = kind::full;
  std::string value;                   ///< the time (since, ISO 8601), the id or the email
  std::vector<std::string> fields;     ///< --fields: only these (informational for adapters that support it)
};

class engine {
 public:
  engine(boost::asio::any_io_executor ex, store::store& db, engine_options options, metrics::registry* metrics);
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  /// Replaces the compiled mappings (start-up and reload); the profile book is rebuilt.
  void set_mappings(std::vector<std::shared_ptr<const mapping::plan>> plans);
  /// Replaces the identity / survivorship / KPI rules (start-up and reload); the profile book is rebuilt.
  void set_profile_rules(std::shared_ptr<const profile::settings> rules);
  void add(std::unique_ptr<adapters::connector> c, const config::connector_common& cfg);

  /// The HTTP listener stored a webhook for `connector`: its inbox loop looks at once (any thread).
  void webhook_stored(const std::string& connector);
  /// Every connector's webhook endpoint (for the HTTP listener).
  std::vector<std::shared_ptr<const adapters::webhook_endpoint>> webhook_endpoints() const;
  /// The loops to run, each with a name for failure reports; spawn every one of them.
  std::vector<std::pair<std::string, std::function<boost::asio::awaitable<void>()>>> tasks();

  /// Pausing stops polls, inbox processing and writes of the connector before their next step (webhooks are
  /// still accepted and stored). errc::not_found for an unknown connector.
  omnisync::result<void> pause(const std::string& connector);
  omnisync::result<void> resume(const std::string& connector);
  bool paused(const std::string& connector) const;

  /// Queues a resync; the poll loops carry it out. Returns the objects it covers (errc::not_found for an
  /// unknown connector or object, errc::invalid_input for a bad --since time).
  omnisync::result<std::vector<std::string>> request_resync(const resync_request& req);

  std::vector<connector_status> status() const;

  /// A profile by id, e-mail, phone or "system:id"; nullopt when none matches. Any thread.
  std::optional<profile_report> profile_get(std::string_view query) const;
  profile::book_stats profile_stats() const;
  bool profiles_ready() const;
  cluster_status cluster() const;
  /// Removes (or restores) one identity link, stores the decision and queues the writes it causes. Returns how
  /// many writes; errc::not_found when the record does not hold that identifier.
  boost::asio::awaitable<omnisync::result<std::size_t>> profile_split(profile::link_ref link, bool restore);

  /// Checks every mapping file used by a connector against that system's metadata (`describe`): unknown fields,
  /// writes to read-only or formula fields, values longer than a field allows, upserts on a field that is not an
  /// external id. Run it on the loops' executor (adapters are used from there only).
  boost::asio::awaitable<std::vector<lint_finding>> lint();
  std::vector<std::string> connectors() const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

/// The provisional profile id for an email (see the class comment); empty for an empty email.
std::string provisional_profile_id(std::string_view email);

/// Echo test: `written` (the JSON last written to a record) and `read_back` (the record as read now, through its
/// system's outbound mapping) agree on every field both contain (objects compared member by member).
bool agrees(const std::string& written, const std::string& read_back);

}  // namespace omnisync::sync
