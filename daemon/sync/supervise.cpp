#include "daemon/sync/supervise.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

#include <spdlog/spdlog.h>

#include <exception>
#include <functional>

#include "core/log_fields.hpp"

namespace omnisync::sync::detail {
namespace asio = boost::asio;

asio::awaitable<void> supervise(context& ctx, std::string name, connector_state* c,
                                std::function<asio::awaitable<void>()> task) {
  restart_options ro;
  ro.initial = ctx.opt.task_restart_pause;
  ro.cap = ctx.opt.task_restart_cap;
  ro.healthy_after = ctx.opt.task_healthy_after;
  // Seeded per task, so that tasks failing at the same moment spread their restarts differently.
  restart_policy policy(ro, std::hash<std::string>{}(name) ^ static_cast<std::uint64_t>(
                                                              ctx.clk.steady_now().time_since_epoch().count()));
  const std::string connector = c ? c->cfg.name : std::string();
  for (;;) {
    policy.started(ctx.clk.steady_now());
    std::string what;
    try {
      co_await task();
      co_return;  // the task finished by itself (or returned on cancellation)
    } catch (const boost::system::system_error& e) {
      if (e.code() == asio::error::operation_aborted) throw;  // cancelled: the daemon is stopping
      what = e.what();
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
      what = "unknown exception";
    }
    // A task cancelled while it failed is not restarted: the group that owns it is stopping.
    if ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none) co_return;
    const auto pause = policy.failed(ctx.clk.steady_now());
    log_fields f;
    f.connector = connector;
    f.error = "exception";
    log_with(spdlog::level::err, f, "sync task {} ended with an exception: {}; restarting it in {} ms (failure {} in a row)",
             name, what, pause.count(), policy.consecutive());
    if (ctx.m.task_restarts) ctx.m.task_restarts->with({connector}).inc();
    if (c) {
      std::lock_guard lk(ctx.mu);
      ++c->counters.task_restarts;
      c->counters.last_task_failure = name + ": " + what;
      c->counters.last_task_failure_at = ctx.now();
    }
    co_await ctx.clk.sleep_for(pause);
  }
}

}  // namespace omnisync::sync::detail
