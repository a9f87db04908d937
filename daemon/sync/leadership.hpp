#pragma once
/// Leadership in a cluster (several instances on one PostgreSQL store): the pipeline — polls, the inbox, the
/// profile book — runs on the one instance holding the `pipeline` lease. Taking it (first, or after another
/// instance died: within lease_ttl of its last renewal) rebuilds the book from the shared store before any page
/// is processed; losing it — another instance holds it, or it could not be renewed before it ran out — stops
/// this instance's polls and inbox at once (their writes are fenced by the lease's token anyway). Every instance
/// also keeps a lease of its own (`instance/<name>`): the lease list is the cluster's roster.
///
/// Thread safety: `run` runs on the engine's executor; the context's atomics tell the others.
#include <boost/asio/awaitable.hpp>

#include <string>

#include "daemon/sync/context.hpp"
#include "daemon/sync/pipeline.hpp"

namespace omnisync::sync::detail {

class leadership {
 public:
  leadership(context& ctx, pipeline& p) : ctx_(ctx), pipeline_(p) {}
  /// Takes and renews the leases until cancelled.
  boost::asio::awaitable<void> run();

 private:
  void step_down(const std::string& why);

  context& ctx_;
  pipeline& pipeline_;
};

}  // namespace omnisync::sync::detail
