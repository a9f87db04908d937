// The engine's parts (engine::parts): what engine.cpp and engine_remap.cpp share. Private to daemon/sync.
#pragma once

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/metrics.hpp"
#include "core/time.hpp"
#include "daemon/sync/context.hpp"
#include "daemon/sync/engine.hpp"
#include "daemon/sync/inbox.hpp"
#include "daemon/sync/leadership.hpp"
#include "daemon/sync/pipeline.hpp"
#include "daemon/sync/poller.hpp"
#include "daemon/sync/runs.hpp"
#include "daemon/sync/writer.hpp"
#include "mapping/lint.hpp"

namespace omnisync::sync {

/// The engine's parts, built once: they refer to each other and to the context by reference.
struct engine::parts {
  parts(boost::asio::any_io_executor ex, store::store& db, engine_options o, clock& clk, metrics::registry* r)
      : ctx(std::move(ex), db, std::move(o), clk, r), pipe(ctx), polls(ctx, pipe), inbox(ctx, pipe), lead(ctx, pipe) {}
  detail::context ctx;
  detail::pipeline pipe;
  detail::poller polls;
  detail::inbox_processor inbox;
  detail::leadership lead;
  std::map<std::string, std::unique_ptr<detail::writer>> writers;  // by connector name; built by tasks()
  std::atomic<bool> remapping{false};                              // a remap runs (one at a time)
  mutable std::mutex remap_mu;                                     // guards current_remap
  std::shared_ptr<const remap_progress> current_remap;             // the running remap's progress (status shows it)
  /// The vendors' metadata as lint last read it, by (connector, object): what reload and `lint --config`
  /// check candidate mappings against without calling the vendor again. Read and written on the loops' strand.
  std::map<std::pair<std::string, std::string>, adapters::object_schema> schemas;
  /// A reload (or the start) brought segments the loop has not reconciled with the store yet (engine_segments.cpp).
  std::atomic<bool> segments_changed{true};

  /// The segments' loop (engine_segments.cpp): at start and after a reload, loads the paused segments, backfills
  /// the segments whose definition changed and forgets the removed ones; then fires due timers, looking every
  /// `segment_timer_poll` (a timer lands within that of its instant, plus the evaluation).
  boost::asio::awaitable<void> segment_loop();

  /// The gauges /metrics shows, refreshed every second (status computes the same on demand): each connector's
  /// health and each object's lag and initial sync from memory; queue depths and the age of the oldest waiting
  /// work from the store every fifth round.
  boost::asio::awaitable<void> gauges_loop() {
    std::uint64_t round_trips_seen = 0;  // the store's count at the last refresh (the counter adds the difference)
    for (unsigned round = 0;; ++round) {
      const auto now = ctx.now();
      for (auto* c : ctx.list()) {
        const auto& n = c->cfg.name;
        if (ctx.m.health) {
          const auto h = c->adapter->usage().health;
          for (auto st : {health_state::unknown, health_state::ok, health_state::degraded,
                          health_state::quota_exhausted, health_state::unauthorized, health_state::unreachable})
            ctx.m.health->with({n, std::string(health_name(st))}).set(h.state == st ? 1.0 : 0.0);
        }
        if (!ctx.m.lag) continue;
        std::lock_guard lk(ctx.mu);
        for (const auto& o : c->objects)
          if (auto lag = freshness_lag(o->st, c->cfg.settle_lag, now))
            ctx.m.lag->with({n, o->st.object}).set(std::chrono::duration<double>(*lag).count());
      }
      if (round % 5 == 0 && ctx.m.inbox_depth && ctx.m.outbox_depth) {
        auto k = co_await ctx.db.get_counts();
        if (k) {
          const auto at = ctx.now();
          auto age = [&](const std::map<std::string, timestamp>& m, const std::string& n) {
            auto it = m.find(n);
            return it == m.end() ? 0.0 : std::max(0.0, std::chrono::duration<double>(at - it->second).count());
          };
          for (auto* c : ctx.list()) {
            const auto& n = c->cfg.name;
            auto in = k->inbox_depth_per_connector.find(n);
            auto out = k->outbox_depth_per_connector.find(n);
            ctx.m.inbox_depth->with({n}).set(in == k->inbox_depth_per_connector.end() ? 0.0 : double(in->second));
            ctx.m.outbox_depth->with({n}).set(out == k->outbox_depth_per_connector.end() ? 0.0 : double(out->second));
            if (ctx.m.inbox_age) ctx.m.inbox_age->with({n}).set(age(k->oldest_inbox_per_connector, n));
            if (ctx.m.outbox_age) ctx.m.outbox_age->with({n}).set(age(k->oldest_outbox_per_connector, n));
          }
          if (ctx.m.dead_letter_count) ctx.m.dead_letter_count->get().set(double(k->dead_letters));
        }
        if (ctx.m.store_round_trips) {
          const auto rt = ctx.db.stats().round_trips;
          if (rt > round_trips_seen) ctx.m.store_round_trips->get().inc(double(rt - round_trips_seen));
          round_trips_seen = rt;
        }
      }
      co_await ctx.clk.sleep_for(std::chrono::milliseconds(1000));
    }
  }

  /// Checks `plans` against each connector's metadata; `fresh`: read it from the vendor again even when kept.
  boost::asio::awaitable<std::vector<lint_finding>> lint(std::vector<std::shared_ptr<const mapping::plan>> plans, bool fresh) {
    std::vector<lint_finding> out;
    for (auto* c : ctx.list()) {
      std::map<std::string, bool> read;  // object -> metadata available (this call)
      for (const auto& plan : plans) {
        if (plan->system() != c->cfg.kind) continue;
        auto add = [&](const mapping::lint_finding& f) {
          lint_finding l;
          l.severity = f.severity;
          l.connector = c->cfg.name;
          l.object = plan->object();
          l.file = f.file;
          l.line = f.line;
          l.field = f.field;
          l.message = f.message;
          out.push_back(std::move(l));
        };
        const auto key = std::make_pair(c->cfg.name, plan->object());
        if (!read.count(plan->object())) {
          bool have = !fresh && schemas.count(key);
          if (!have) {
            auto d = co_await c->adapter->describe(plan->object());
            if (d) {
              schemas[key] = std::move(*d);
              have = true;
            } else {
              add(mapping::lint_finding{"warning", plan->file(), 0, "",
                                        "cannot read the " + plan->object() + " metadata: " + d.error().message()});
            }
          }
          read[plan->object()] = have;
        }
        if (!read[plan->object()]) continue;
        for (const auto& f : mapping::lint(*plan, schemas[key], c->cfg.name)) add(f);
      }
    }
    co_return out;
  }

  /// Removes finished runs past `runs.retention`: every quarter of the retention (at least every second, at most
  /// hourly), so a short retention (tests) is kept as promptly as a long one.
  boost::asio::awaitable<void> runs_loop(store::timestamp started) {
    // A single instance owns every run in its store: what a killed predecessor left running ends now.
    if (!ctx.opt.cluster) co_await detail::close_interrupted_runs(ctx, started, false);
    const auto every = std::clamp(ctx.opt.runs_retention / 4, std::chrono::milliseconds(1000), std::chrono::milliseconds(3600 * 1000));
    for (;;) {
      auto gone = co_await ctx.db.run_prune(ctx.now() - ctx.opt.runs_retention);
      if (!gone) spdlog::warn("runs: pruning failed: {}", gone.error().message());
      else if (*gone > 0) spdlog::debug("runs: {} run(s) past the retention removed", *gone);
      co_await ctx.clk.sleep_for(every);
    }
  }

  /// Keeps the history within `history.retention` and `history.max_rows` (hourly, and once at start-up), in the
  /// store and in the analytics index. The cap becomes a time bound (the oldest rows go, as retention would), so
  /// the index drops exactly what the store does.
  boost::asio::awaitable<void> history_loop() {
    for (;;) {
      const auto bound = ctx.now() - ctx.opt.history_retention;
      if (ctx.leading()) {
        auto gone = co_await ctx.db.history_prune(bound);
        if (!gone) spdlog::warn("history: pruning failed: {}", gone.error().message());
        else if (*gone > 0) spdlog::info("history: {} row(s) past the retention removed", *gone);
      }
      ctx.history.prune(bound.time_since_epoch().count());
      auto cap = co_await ctx.db.history_cap_bound(ctx.opt.history_max_rows);
      if (!cap) {
        spdlog::warn("history: checking history.max_rows failed: {}", cap.error().message());
      } else if (*cap) {
        const auto cut = **cap;
        std::uint64_t gone = 0;
        if (ctx.leading()) {
          auto n = co_await ctx.db.history_prune(cut);
          if (!n) spdlog::warn("history: pruning to history.max_rows failed: {}", n.error().message());
          else gone = *n;
        }
        const auto before = ctx.history.rows();
        ctx.history.prune(cut.time_since_epoch().count());
        spdlog::warn("history: more than history.max_rows = {} rows: the oldest removed, everything before {} "
                     "({} row(s) from the store, {} from the analytics index); reports no longer cover that time. "
                     "Raise history.max_rows or shorten history.retention to keep this from recurring",
                     ctx.opt.history_max_rows, format_iso8601(cut), gone, before - ctx.history.rows());
      }
      co_await ctx.clk.sleep_for(std::chrono::milliseconds(3600 * 1000));
    }
  }

  /// Keeps the audit log within `audit.retention` and `audit.max_entries` (hourly, and once at start-up).
  boost::asio::awaitable<void> audit_loop() {
    for (;;) {
      auto gone = co_await ctx.db.audit_prune(ctx.now() - ctx.opt.audit_retention, ctx.opt.audit_max_entries);
      if (!gone) spdlog::warn("audit: pruning failed: {}", gone.error().message());
      else if (*gone > 0) spdlog::info("audit: {} entr{} past the retention removed", *gone, *gone == 1 ? "y" : "ies");
      co_await ctx.clk.sleep_for(std::chrono::milliseconds(3600 * 1000));
    }
  }
};

}  // namespace omnisync::sync
