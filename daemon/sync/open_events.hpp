#pragma once
/// Which records the not yet processed webhook events of one system name: the writer computes a write only once
/// no such event received before it claimed the write names the write's record (docs/write-back.md, "news
/// first"). Waiting for every open event of the system instead would make each batch of writes wait for the
/// echoes of the batch before it (Zendesk sends about two webhooks per user written).
///
/// The index is in memory, keyed by inbox id: an event is parsed once (by its adapter's `parse_event`), when the
/// writer first sees it open, and forgotten once it is acknowledged. It is rebuilt from the inbox after a start
/// (or on another instance taking over) simply by being empty: every open event is then read once. Events stored
/// by another instance's HTTP listener are found the same way, since the open ids come from the store.
///
/// What an event names: the records it carries, the ids it asks to re-read and the records it announces values
/// for. An event the adapter cannot parse may be about any record of the system (the inbox quarantines it soon);
/// a write without a target id (a create, an upsert by key) waits for every open event about its object, since
/// a record a person just created there may be the one it would match.
///
/// Lifecycle: one per writer. Thread safety: none; used from the writer's claims loop only.
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "daemon/sync/context.hpp"

namespace omnisync::sync::detail {

class open_events {
 public:
  open_events(context& ctx, connector_state& c) : ctx_(ctx), c_(c) {}
  /// Whether an open event of the connector received at or before `before` names one of `items`' records (or
  /// may: see the class comment). A store failure answers true (nothing is computed on a guess).
  boost::asio::awaitable<bool> names_any(const std::vector<store::outbox_item>& items, timestamp before);
  /// The same per item: whether such an event names (or may name) `items[i]`'s record. A store failure answers
  /// true for each.
  boost::asio::awaitable<std::vector<bool>> named(const std::vector<store::outbox_item>& items, timestamp before);
  /// Events currently indexed (for tests and status).
  std::size_t indexed() const noexcept { return named_.size(); }

 private:
  using names = std::set<std::pair<std::string, std::string>>;  // (object, id)
  context& ctx_;
  connector_state& c_;
  std::map<std::int64_t, std::optional<names>> named_;  // inbox id -> what it names; nullopt: unparsable
};

}  // namespace omnisync::sync::detail
