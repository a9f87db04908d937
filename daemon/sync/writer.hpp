#pragma once
/// The writer of one destination connector. A write is computed when it is sent, not when it was queued
/// (docs/write-back.md): the writer first waits for the system's own news — every object it writes read to the
/// end since start-up, and no webhook event from that system stored before the claim and still unprocessed that
/// names a record being computed (open_events) — and for
/// resolution to settle (every other system's mapped objects read to the end once, unless that connector is
/// disabled, paused or failing), then
/// claims due writes, has the pipeline compute from the profiles as they are now what each one changes
/// (field by field, against what the destination holds), acknowledges at once those that change nothing, and
/// sends the rest in chunks of the vendor's batch size, `sync.write_concurrency` chunks at a time. Each result is
/// acknowledged with what was written (the record's new last-written state), retried with backoff (until
/// `max_write_attempts`) or dead-lettered with the vendor's reason; every field written or refused goes to the
/// audit log with its cause. In shadow mode (`sync.mode: shadow`, `--shadow`) nothing is claimed: the queued
/// writes wait for `omnisyncctl plan` and for the connector to go live. A claimed write whose record an open event
/// names is held (still claimed) while the writer computes and sends the others and claims more. Two writes for one record are never in
/// flight together (the outbox's claim rule). In a cluster, only the instance running the pipeline writes.
///
/// Tasks: `claims()` once and `work()` `write_concurrency` times, all owned by the engine's task group (nothing
/// is spawned detached). Thread safety: all run on the engine's executor.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/log_limiter.hpp"
#include "daemon/sync/context.hpp"
#include "daemon/sync/membership_sync.hpp"
#include "daemon/sync/open_events.hpp"
#include "daemon/sync/pipeline.hpp"

namespace omnisync::sync::detail {

class writer {
 public:
  writer(context& ctx, pipeline& p, connector_state& c);
  /// Claims and prepares writes while workers are free, until cancelled.
  boost::asio::awaitable<void> claims();
  /// Sends one chunk at a time, until cancelled.
  boost::asio::awaitable<void> work();

 private:
  struct chunk {
    std::string object;
    std::vector<pipeline::prepared> items;
    std::vector<store::outbox_item> membership;  ///< `segment:<key>` writes (membership_sync), not mapped
  };
  /// Whether news from the connector may still be waiting (see the class comment): then nothing is computed yet.
  boost::asio::awaitable<bool> news_pending();
  /// The claimed writes that no webhook event from this system received by `claimed_at` and still unprocessed
  /// names (open_events): computed now. The others are held, still claimed, until release_held frees them.
  boost::asio::awaitable<std::vector<store::outbox_item>> news_about(std::vector<store::outbox_item> items,
                                                                     timestamp claimed_at);
  /// The held writes whose events were processed since; those held longer than half the claim's lease (or all,
  /// when paused or deposed) go back to the queue, and then the next claim waits for every event of the system.
  boost::asio::awaitable<std::vector<store::outbox_item>> release_held();
  /// Computes the writes (pipeline::prepare), acknowledges those that change nothing and queues the rest in
  /// chunks for the workers. False when cancelled.
  boost::asio::awaitable<bool> compute(std::vector<store::outbox_item> items);
  boost::asio::awaitable<void> write_items(std::string object, std::vector<pipeline::prepared> list);
  /// Logs refused writes at warn with the vendor's reason: one line per (object, reason) a minute at most, with
  /// how many were refused since the last line; the vendor's code is the line's `error` field, and `record` one
  /// refused record's key when the line stands for that one refusal alone.
  void log_refused(const std::string& object, const std::string& reason, std::size_t count,
                   const std::string& record);

  /// Stores what the chunks being sent carry (see in_flight_key) — before a chunk is sent, and again once its
  /// answers are recorded.
  boost::asio::awaitable<void> save_in_flight(const std::vector<pipeline::prepared>& adding,
                                              const std::vector<pipeline::prepared>& done);
  /// The in-flight note after adding and removing these writes; nullopt when it did not change.
  std::optional<std::string> in_flight_update(const std::vector<pipeline::prepared>& adding,
                                              const std::vector<pipeline::prepared>& done);

  context& ctx_;
  pipeline& pipeline_;
  connector_state& c_;
  open_events open_;           // the claims loop's
  bool whole_system_ = false;  // the claims loop's: wait for every open event of the system before claiming
  struct held_write {
    store::outbox_item item;
    timestamp claimed_at, give_up;
  };
  std::vector<held_write> held_;  // the claims loop's: claimed writes waiting for events about their records
  std::mutex sending_mu_;
  std::map<std::int64_t, std::string> sending_;  // outbox id -> its notes (JSON array members, comma-joined)
  mapping::evaluator_cache evals_;  // the claims loop's
  std::atomic<int> in_flight_{0};   // chunks queued or being written
  boost::asio::experimental::concurrent_channel<void(boost::system::error_code, chunk)> chunks_;
  log_limiter refusals_;  // by object and reason
  membership_sync membership_;  // segment membership writes
};

}  // namespace omnisync::sync::detail
