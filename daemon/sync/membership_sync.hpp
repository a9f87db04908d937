#pragma once
/// Segment membership writes of one destination connector: the outbox entries whose object is
/// `segment:<key>` (payload `{"op":"add"|"remove","segment","list","resubscribe"}`, record_key the profile id,
/// target_id the person's record id at the destination when known). The writer hands each claimed chunk of them
/// here instead of to the mapping pipeline (docs/segments.md "Membership sync").
///
/// For a chunk: the member ids are resolved (target_id, else the profile's record in this connector, else the
/// write waits); removals of members omnisync did not add (not in the store's acknowledged membership) are
/// dropped as written with a log line; the safety brake (`max_churn_per_run`, `min_size`) holds the segment's
/// sync at this connector — nothing sent, an alert in the log, `omnisync_segment_sync_paused` and `status` —
/// instead of a mass removal, until `segment release` (the writes queued then pass the brake once; context's
/// `membership_releases`) or a reload; held writes wait without using up their attempts; the audience is
/// ensured (found by name or created) and the changes sent with
/// `adapters::connector::change_membership` in `max_membership_batch` chunks. An audience deleted outside
/// omnisync is recreated with every member omnisync had added (`on_missing_list: recreate`, the default) or
/// reported (`report`: dead letters and an alert). Results settle like other writes: acknowledged (and recorded
/// as acknowledged membership), retried with backoff, or dead-lettered with the vendor's reason, each with an
/// audit entry. Shadow mode needs nothing here: the writer claims nothing in shadow mode.
///
/// Lifecycle: one per writer, used from the writer's workers on the engine's executor (one chunk at a time per
/// segment is not guaranteed: the state below is touched between awaits only, on one executor thread).
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/sync/context.hpp"
#include "daemon/sync/pipeline.hpp"

namespace omnisync::sync::detail {

class membership_sync {
 public:
  membership_sync(context& ctx, pipeline& p, connector_state& c) : ctx_(ctx), pipeline_(p), c_(c) {}
  static bool is_membership(std::string_view object) { return object.starts_with("segment:"); }
  /// Sends the claimed writes of one `segment:<key>` object and settles them.
  boost::asio::awaitable<void> send(std::string object, std::vector<store::outbox_item> items);
  /// Takes up the releases `segment release` persisted for this connector (segment_state::released_key) whose
  /// writes are still queued: called when the writer starts leading, so that a restart or a new leader does not
  /// hold again what an operator released. A stored release with nothing left queued is cleared.
  boost::asio::awaitable<void> load_releases();

  /// A release as stored in meta, and back (ids that do not parse are skipped).
  static std::string release_text(const std::map<std::int64_t, std::string>& writes);
  static std::map<std::int64_t, std::string> release_of(std::string_view text);

 private:
  struct change;
  /// The audience id of (segment, list), found or created; cached.
  boost::asio::awaitable<omnisync::result<std::string>> audience(const adapters::audience_spec& spec);
  /// Holds the segment's sync at this connector: alert (log, metric, status).
  void hold(const std::string& segment, const std::string& why);
  /// The person's record id in this connector, from the profile; "" when it links none.
  std::string member_of_profile(const std::string& profile_id) const;

  context& ctx_;
  pipeline& pipeline_;
  connector_state& c_;
  std::map<std::string, std::string> audiences_;  ///< "segment\nlist" → vendor id
  std::set<std::string> held_;                    ///< segments held by the brake or a reported missing list
  /// segment → its released writes (outbox id → record key) not yet settled: they pass the brake once
  std::map<std::string, std::map<std::int64_t, std::string>> released_;
  std::uint64_t generation_ = 0;                  ///< context::membership_generation the held set belongs to
  std::map<std::int64_t, int> held_checks_;       ///< outbox id → re-checks while held (the backoff's exponent)
  /// Writes the rest of a segment's release to meta, or clears it when nothing of it is left.
  boost::asio::awaitable<void> store_release(const std::string& segment);
};

}  // namespace omnisync::sync::detail
