// The engine's remap (engine::start_remap, running_remap, run_remap): the stored source records of a connector
// mapped again with the current inbound mappings, a page at a time, recorded as a run of kind `remap`. The page
// step itself is pipeline::remap_page (remap.cpp).
#include <spdlog/spdlog.h>

#include <chrono>

#include "daemon/sync/engine_parts.hpp"

namespace omnisync::sync {
namespace asio = boost::asio;

omnisync::result<std::shared_ptr<remap_progress>> engine::start_remap(const std::string& connector,
                                                                        const std::string& object) {
  auto& ctx = parts_->ctx;
  auto plans = ctx.current_plans();
  auto pr = std::make_shared<remap_progress>();
  for (auto* c : ctx.list()) {
    if (!connector.empty() && c->cfg.name != connector) continue;
    std::vector<std::string> objs;
    for (const auto& o : c->objects) {
      if (!object.empty() && o->st.object != object) continue;
      if (!object.empty() && !plans->inbound(c->cfg.kind, object)) return make_error_code(errc::invalid_input);
      if (plans->inbound(c->cfg.kind, o->st.object)) objs.push_back(o->st.object);
    }
    if (!object.empty() && objs.empty()) return make_error_code(errc::not_found);
    if (!objs.empty()) pr->targets.emplace_back(c->cfg.name, std::move(objs));
  }
  if (!connector.empty() && !ctx.find(connector)) return make_error_code(errc::not_found);
  if (parts_->remapping.exchange(true)) return make_error_code(errc::conflict);
  {
    std::lock_guard lk(parts_->remap_mu);
    parts_->current_remap = pr;
  }
  return pr;
}

std::shared_ptr<const remap_progress> engine::running_remap() const {
  std::lock_guard lk(parts_->remap_mu);
  return parts_->current_remap && parts_->current_remap->running.load() ? parts_->current_remap : nullptr;
}

namespace {

/// What a remap covers as the run history names it: the connector (when it is one) and its objects.
store::run_record remap_run_record(const remap_progress& pr) {
  std::string connector, objects;
  if (pr.targets.size() == 1) connector = pr.targets.front().first;
  for (const auto& [name, objs] : pr.targets)
    for (const auto& o : objs) objects += (objects.empty() ? "" : ",") + (pr.targets.size() == 1 ? o : name + ":" + o);
  return store::run_record("remap", connector, objects);
}

/// Ends remap run `run` (0: not recorded) with `outcome`; a store failure is logged.
asio::awaitable<void> end_remap_run(store::store& db, std::int64_t run, std::string outcome, std::string error) {
  if (run == 0) co_return;
  auto done = co_await db.run_finish(run, std::move(outcome), std::move(error));
  if (!done) spdlog::warn("remap: the run history could not end run {}: {}", run, done.error().message());
}

}  // namespace

asio::awaitable<void> engine::run_remap(std::shared_ptr<remap_progress> pr) {
  auto p = parts_;
  // However it ends (finished, failed, cancelled at shutdown): no longer running, and the next one may start.
  struct finish {
    engine::parts& parts;
    remap_progress& progress;
    ~finish() {
      progress.running = false;
      parts.remapping = false;
      std::lock_guard lk(parts.remap_mu);
      parts.current_remap.reset();
    }
  } at_end{*p, *pr};
  const auto t0 = std::chrono::steady_clock::now();
  auto fail = [&](std::string why) {
    std::lock_guard lk(pr->mu);
    pr->error = std::move(why);
  };
  // A remap is a run (kind remap): its rows read/mapped/failed are counted page by page, the writes it queued
  // carry its id (so the writer counts them written or refused on it). Cancelled at shutdown, it stays running
  // and the next start closes it as interrupted. The history is a record, never a reason to stop: a store
  // failure here is logged.
  std::int64_t run = 0;
  {
    auto begun = co_await p->ctx.db.run_begin(remap_run_record(*pr));
    if (begun) run = *begun;
    else spdlog::warn("remap: the run history could not record it: {}", begun.error().message());
  }
  pr->run = run;
  auto end_run = [db = &p->ctx.db, run](std::string outcome, std::string error) {
    return end_remap_run(*db, run, std::move(outcome), std::move(error));
  };
  // What the store holds for the targets, when each is a whole connector (for an ETA).
  if (auto k = co_await p->ctx.db.get_counts()) {
    std::int64_t total = 0;
    bool whole = true;
    for (const auto& [name, objs] : pr->targets) {
      auto* c = p->ctx.find(name);
      whole = whole && c && objs.size() == c->objects.size();
      if (auto it = k->records_per_connector.find(name); it != k->records_per_connector.end()) total += it->second;
    }
    if (whole) pr->estimated_total = total;
  }
  mapping::evaluator_cache evals;
  constexpr std::size_t page_size = 500;  // bounded memory whatever the number of records
  for (const auto& [name, objs] : pr->targets) {
    auto* c = p->ctx.find(name);
    if (!c) continue;
    for (const auto& object : objs) {
      {
        std::lock_guard lk(pr->mu);
        pr->connector = name;
        pr->object = object;
      }
      std::string after;
      for (;;) {
        if (!p->ctx.leading()) {
          fail("this instance no longer holds the pipeline lease: the remap stopped after " + std::to_string(pr->read) +
               " records; run it again on the instance that holds it");
          co_await end_run("failed", "this instance lost the pipeline lease");
          co_return;
        }
        auto step = co_await p->pipe.remap_page(*c, object, after, page_size, evals, run);
        if (!step) {
          fail(name + " " + object + ": " + step.error().message());
          spdlog::error("remap: {} {} stopped: {}", name, object, step.error().message());
          co_await end_run("failed", name + " " + object + ": " + step.error().message());
          co_return;
        }
        if (step->last_id.empty()) break;
        if (run > 0) {
          store::run_counts d;
          d.read = static_cast<std::int64_t>(step->read);
          d.mapped = static_cast<std::int64_t>(step->mapped);
          d.failed = static_cast<std::int64_t>(step->failed);
          auto added = co_await p->ctx.db.run_add(run, d);
          if (!added) spdlog::warn("remap: the run history could not count run {}: {}", run, added.error().message());
          if (!step->writes.queued_per_connector.empty()) {
            std::vector<std::pair<std::int64_t, store::run_writes>> q;
            for (const auto& [dest, n] : step->writes.queued_per_connector)
              q.emplace_back(run, store::run_writes(dest, static_cast<std::int64_t>(n), 0, 0, 0));
            auto counted = co_await p->ctx.db.run_count_writes(std::move(q));
            if (!counted)
              spdlog::warn("remap: the run history could not count run {}'s writes: {}", run, counted.error().message());
          }
        }
        pr->read += static_cast<std::int64_t>(step->read);
        pr->mapped += static_cast<std::int64_t>(step->mapped);
        pr->failed += static_cast<std::int64_t>(step->failed);
        pr->writes_queued += static_cast<std::int64_t>(step->writes.inserted + step->writes.coalesced);
        pr->writes_unchanged += static_cast<std::int64_t>(step->writes.unchanged);
        after = std::move(step->last_id);
      }
    }
  }
  spdlog::info("remap: {} stored records mapped again ({} failed) in {:.2f} s: {} write(s) queued, {} unchanged",
               pr->read.load(), pr->failed.load(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), pr->writes_queued.load(),
               pr->writes_unchanged.load());
  co_await end_run("ok", std::string());
}

}  // namespace omnisync::sync
