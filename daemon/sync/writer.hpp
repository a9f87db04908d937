#pragma once
/// The writer of one destination connector: claims due writes from the outbox, splits them into chunks of the
/// vendor's batch size per object, and lets `sync.write_concurrency` workers send chunks at the same time (a
/// Zendesk job being followed, or a slow Salesforce call, does not hold up the writes queued behind it). Two
/// writes for one record are never in flight together (the outbox's claim rule). Each result is acknowledged,
/// retried with backoff (until `max_write_attempts`) or dead-lettered with the vendor's reason.
///
/// Tasks: `claims()` once and `work()` `write_concurrency` times, all owned by the engine's task group (nothing
/// is spawned detached). Thread safety: all run on the engine's executor.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>

#include <atomic>
#include <string>
#include <vector>

#include "daemon/sync/context.hpp"

namespace omnisync::sync::detail {

class writer {
 public:
  writer(context& ctx, connector_state& c);
  /// Claims writes while workers are free, until cancelled.
  boost::asio::awaitable<void> claims();
  /// Sends one chunk at a time, until cancelled.
  boost::asio::awaitable<void> work();

 private:
  struct chunk {
    std::string object;
    std::vector<store::outbox_item> items;
  };
  boost::asio::awaitable<void> write_items(std::string object, std::vector<store::outbox_item> list);

  context& ctx_;
  connector_state& c_;
  std::atomic<int> in_flight_{0};  // chunks queued or being written
  boost::asio::experimental::concurrent_channel<void(boost::system::error_code, chunk)> chunks_;
};

}  // namespace omnisync::sync::detail
