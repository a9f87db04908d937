#pragma once
/// The inbox processor: one loop per connector over the webhook events the HTTP listener stored for it. Each
/// claimed event is parsed by its adapter (`parse_event`); the records it carries and the ones it only names
/// (fetched now) go through the pipeline; then the event is acknowledged. A malformed event, or one that keeps
/// failing, is quarantined (dead-lettered with the reason); a failing one is retried with backoff first.
///
/// One loop per connector, so that a vendor whose API is down delays only its own events. A paused connector's
/// events stay queued untouched; so do events for a connector that is no longer configured (visible in status).
///
/// Thread safety: `run` runs on the engine's executor.
#include <boost/asio/awaitable.hpp>

#include <string>

#include "daemon/sync/context.hpp"
#include "daemon/sync/pipeline.hpp"

namespace omnisync::sync::detail {

class inbox_processor {
 public:
  inbox_processor(context& ctx, pipeline& p) : ctx_(ctx), pipeline_(p) {}
  /// Processes `owner`'s events until cancelled.
  boost::asio::awaitable<void> run(connector_state& owner);

 private:
  boost::asio::awaitable<void> quarantine(const store::inbox_item& it, const std::string& stage, const std::string& why);

  context& ctx_;
  pipeline& pipeline_;
};

}  // namespace omnisync::sync::detail
