#pragma once
/// The inbox processor: one loop per connector over the webhook events the HTTP listener stored for it. Events
/// are claimed in batches (up to `inbox_batch`; when fewer are waiting, after a wait of `inbox_window` for more to
/// come in; while a backlog waits, grown to up to 5 × `inbox_batch` events and 512 KiB of bodies, inbox.cpp's
/// `inbox_backlog_factor`/`inbox_backlog_bytes`); each is parsed by its adapter (`parse_event`); the records they only name are fetched once per
/// object for the whole batch, in the vendor's batch size; the records are coalesced per record (its newest
/// version once, with every event's announcements about it) and go through the pipeline as one page per object;
/// then the events are acknowledged — only once what they brought is stored. Two batches are in progress at
/// once: while one is stored (mapping, resolution, the store's transactions), the next is claimed, parsed and
/// fetched from the vendor, so that neither the vendor's round trips nor the store's commits wait for the other;
/// batches are still stored one after the other, in the order they were claimed. An event that only reports
/// changes omnisync itself just wrote to the record (its echo: echoes.hpp) is acknowledged without re-reading the
/// record, judged again when its batch is stored (counted in omnisync_inbox_echoes_skipped_total). A malformed event, or one that keeps failing, is quarantined (dead-lettered with the reason); a
/// failing one is retried with backoff first.
///
/// One loop per connector, so that a vendor whose API is down delays only its own events. A paused connector's
/// events stay queued untouched; so do events for a connector that is no longer configured (visible in status).
///
/// Thread safety: `run` runs on the engine's executor.
#include <boost/asio/awaitable.hpp>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "daemon/sync/context.hpp"
#include "daemon/sync/pipeline.hpp"

namespace omnisync::sync::detail {

class inbox_processor {
 public:
  inbox_processor(context& ctx, pipeline& p) : ctx_(ctx), pipeline_(p) {}
  /// Processes `owner`'s events until cancelled.
  boost::asio::awaitable<void> run(connector_state& owner);

 private:
  /// (connector, object) → the connector and the ids a batch of events names there, each once.
  using refetch_plan =
      std::map<std::pair<std::string, std::string>, std::pair<connector_state*, std::vector<std::string>>>;
  struct fetched_records {
    std::map<std::string, adapters::source_record> records;  ///< by id, as the adapter answered
    std::string error;                                       ///< the fetch failed: why
  };
  using prefetched = std::map<std::pair<std::string, std::string>, fetched_records>;
  /// One claimed event, parsed.
  struct parsed_event {
    std::size_t item = 0;  ///< index into batch::claimed
    connector_state* c = nullptr;
    adapters::event_records parsed;
    std::string error;  ///< why it could not be processed ("" when it was)
    bool echo = false;  ///< every change it reports is omnisync's own write (echoes.hpp): its records not re-read
  };
  /// A claimed batch, parsed and fetched: what `store_batch` stores and acknowledges.
  struct batch {
    std::vector<store::inbox_item> claimed;
    std::vector<parsed_event> work;
    prefetched fetched;
    std::vector<std::int64_t> done;  ///< events settled already (quarantined), acknowledged with the batch
  };
  /// Claims up to `inbox_batch` of `owner`'s events (waiting `inbox_window` for more when fewer are waiting), then
  /// parses and fetches them; nullopt when none were waiting.
  boost::asio::awaitable<std::optional<batch>> next_batch(connector_state& owner);
  /// One `fetch` per (connector, object) of the plan; the adapter splits it into its vendor's batch size.
  boost::asio::awaitable<prefetched> prefetch(refetch_plan plan);
  /// Parses one claimed batch and fetches the records its events only name.
  boost::asio::awaitable<batch> prepare(std::vector<store::inbox_item> claimed);
  /// Whether every change `e` reports is the echo of omnisync's own write to that record (echoes.hpp), so that
  /// the records it names need not be re-read. An event that carries records, or names one it reports nothing
  /// about, is not.
  bool echo_only(const parsed_event& e) const;
  /// Marks the batch's echoes: events for which echo_only holds, about records no other event of the batch names.
  void mark_echoes(std::vector<parsed_event>& work) const;
  /// Stores one prepared batch (one page per object) and acknowledges its events.
  boost::asio::awaitable<void> store_batch(batch b, mapping::evaluator_cache& evals);
  /// Dead-letters the event at `stage`.
  boost::asio::awaitable<void> quarantine(const store::inbox_item& it, const std::string& stage, const std::string& why);
  /// ... about the record `object`/`record` when known (the entry then resolves when that record is later read or
  /// written successfully). Callers pass named strings, not temporaries (GCC 12 and coroutine arguments).
  boost::asio::awaitable<void> quarantine_record(const store::inbox_item& it, const std::string& stage,
                                                 const std::string& why, const std::string& object,
                                                 const std::string& record);

  context& ctx_;
  pipeline& pipeline_;
};

/// Forgets acknowledged webhook events older than `http.dedupe_retention` (engine_options), so the inbox does
/// not grow by one row per event forever; a redelivery inside the retention still finds its dedupe key. Runs
/// every quarter of the retention (at least every second, at most hourly), from start-up until cancelled; in a
/// cluster only the pipeline's holder prunes, so two instances never delete the same rows at once. Counts the
/// rows in omnisync_inbox_pruned_total.
boost::asio::awaitable<void> inbox_retention(context& ctx);

}  // namespace omnisync::sync::detail
