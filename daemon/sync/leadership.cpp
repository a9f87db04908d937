#include "daemon/sync/leadership.hpp"

#include <spdlog/spdlog.h>

#include "daemon/sync/runs.hpp"

namespace omnisync::sync::detail {
namespace asio = boost::asio;

asio::awaitable<void> leadership::run() {
  const auto ttl = ctx_.opt.lease_ttl;
  auto held_until = clock::steady_point{};
  for (;;) {
    co_await ctx_.db.lease("instance/" + ctx_.opt.instance, ctx_.opt.instance, ttl);
    const auto asked = ctx_.clk.steady_now();
    auto g = co_await ctx_.db.lease(std::string(pipeline_lease), ctx_.opt.instance, ttl);
    if (g) {
      held_until = asked + ttl;
      if (!ctx_.leading() || ctx_.lease_token.load() != g->token) {
        ctx_.lease_token = g->token;
        ++ctx_.leaderships;
        ctx_.letters.forget();  // another instance may have added dead letters while it led
        pipeline_.set_not_ready();
        pipeline_.request_rebuild();
        // Reports wait for the rebuild: the analytics index of an earlier leadership misses the other leader's rows.
        ctx_.history.set_state(analytics::history_index::load_state::loading);
        const auto took = ctx_.now();
        ctx_.leader = true;
        spdlog::info("cluster: {} runs the pipeline now (lease token {})", ctx_.opt.instance, g->token);
        // The pipeline's runs the previous holder left running (it was killed, or lost the lease) end here.
        co_await close_interrupted_runs(ctx_, took, true);
      }
    } else if (ctx_.leading() && (g.error() == errc::conflict || ctx_.clk.steady_now() >= held_until)) {
      step_down(g.error() == errc::conflict ? std::string("another instance holds the pipeline lease")
                                            : "the pipeline lease could not be renewed: " + g.error().message());
    }
    // The leader renews every third of the lease; a standby asks ten times per lease, so it takes over within
    // about 1.1 lease times of the leader's last renewal (plus one store round trip).
    co_await ctx_.clk.sleep_for(ctx_.leading() ? ttl / 3 : std::max(ttl / 10, std::chrono::milliseconds(50)));
  }
}

void leadership::step_down(const std::string& why) {
  ctx_.leader = false;
  pipeline_.set_not_ready();
  for (auto* c : ctx_.list())
    for (auto& o : c->objects) o->caught_up = false;  // read again once leading again
  spdlog::warn("cluster: {} stops running the pipeline: {}", ctx_.opt.instance, why);
}

}  // namespace omnisync::sync::detail
