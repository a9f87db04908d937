// The engine's segments: the compiled set in effect, pause/resume (persisted in meta; resume catches up), release
// of a held membership sync, explain, preview, backfill
// (a run of kind `segment_backfill`), and the loop that reconciles the stored membership with the definitions
// (backfill what changed, forget what went) and fires the timer queue.
#include <boost/json.hpp>

#include "daemon/sync/engine_parts.hpp"

namespace omnisync::sync {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

/// What a segment's membership depends on in its definition: a change of any of it means a backfill.
std::string definition_text(const segments::segment_def& d) {
  return d.where + "\n" + std::to_string(d.holdout_percent) + "\n" + d.priority_group;
}

}  // namespace

void engine::set_segments(std::shared_ptr<const segments::segment_set> set) {
  parts_->ctx.segs.set(std::move(set));
  parts_->segments_changed = true;
}

std::shared_ptr<const segments::segment_set> engine::segments() const { return parts_->ctx.segs.get(); }

bool engine::segment_paused(std::string_view key) const { return parts_->ctx.segs.paused(key); }

asio::awaitable<omnisync::result<std::vector<segment_catch_up_of>>> engine::segment_pause(std::string key,
                                                                                       bool paused) {
  auto p = parts_;
  auto& ctx = p->ctx;
  if (!ctx.segs.get()->index_of(key)) co_return omnisync::errc::not_found;
  std::string meta_key = detail::segment_state::paused_key(key), value = paused ? "1" : "0";
  auto r = co_await ctx.db.meta_set(std::move(meta_key), std::move(value));
  if (!r) co_return r.error();
  // Resuming where the pipeline runs clears the pause inside its turnstile, with the catch-up; elsewhere (a
  // standby, profiles still loading) only the flag: nothing is queued there.
  if (!paused && ctx.leading() && p->pipe.ready()) co_return co_await p->pipe.catch_up_segment(std::move(key));
  ctx.segs.set_paused(key, paused);
  co_return std::vector<segment_catch_up_of>{};
}

std::map<std::string, std::string> engine::segment_sync_held(std::string_view key) const {
  std::map<std::string, std::string> out;
  std::lock_guard lk(parts_->ctx.mu);
  for (const auto& c : parts_->ctx.conns)
    if (auto it = c->counters.segment_sync_held.find(std::string(key)); it != c->counters.segment_sync_held.end())
      out.emplace(c->cfg.name, it->second);
  return out;
}

asio::awaitable<omnisync::result<std::vector<segment_release_of>>> engine::segment_release(
    std::string key, std::vector<std::string> connectors, std::string who) {
  auto p = parts_;
  auto& ctx = p->ctx;
  if (!ctx.segs.get()->index_of(key)) co_return omnisync::errc::not_found;
  const std::string object = "segment:" + key;
  std::vector<segment_release_of> out;
  for (const auto& name : connectors) {
    segment_release_of r;
    r.connector = name;
    {
      std::lock_guard lk(ctx.mu);
      const auto* c = ctx.find(name);
      if (!c) continue;
      auto it = c->counters.segment_sync_held.find(key);
      if (it == c->counters.segment_sync_held.end()) continue;
      r.held = it->second;
    }
    // The segment's writes queued there now: they pass the brake once.
    std::map<std::int64_t, std::string> queued;
    for (std::int64_t after = 0;;) {
      store::outbox_filter filter(name, after, 1000);  // a named local: GCC 12 and co_await arguments
      auto page = co_await ctx.db.outbox_pending(std::move(filter));
      if (!page) co_return page.error();
      for (const auto& it : page->items)
        if (it.write.object == object) queued.emplace(it.id, it.write.record_key), ++r.writes;
      if (page->next_after_id == 0) break;
      after = page->next_after_id;
    }
    detail::connector_state* c = nullptr;
    {
      // Handed to the writer's membership sync first, so that the writes made due below meet the release.
      std::lock_guard lk(ctx.mu);
      c = ctx.find(name);
      ctx.membership_releases[{key, name}].insert(queued.begin(), queued.end());
      if (c) c->counters.segment_sync_held.erase(key);
    }
    if (ctx.m.segment_sync_paused) ctx.m.segment_sync_paused->with({name, key}).set(0);
    {
      // Stored too, until the writes settle: a restart or a new leader lets them through as well (what an earlier
      // release left stored and not yet settled stays: load_releases drops what is no longer queued).
      std::string meta_key = detail::segment_state::released_key(key, name);
      auto stored = co_await ctx.db.meta_get(meta_key);
      if (!stored) co_return stored.error();
      auto all = *stored ? detail::membership_sync::release_of(**stored) : std::map<std::int64_t, std::string>{};
      all.insert(queued.begin(), queued.end());
      std::string text = detail::membership_sync::release_text(all);
      auto saved = co_await ctx.db.meta_set(std::move(meta_key), std::move(text));
      if (!saved) co_return saved.error();
    }
    std::string due_connector = name, due_object = object;
    auto due = co_await ctx.db.outbox_due_now(std::move(due_connector), std::move(due_object));
    if (!due) co_return due.error();
    store::audit_entry e;
    e.at = ctx.now();
    e.connector = name;
    e.object = object;
    e.field = "sync_hold";
    e.before = json::serialize(json::value(r.held));
    e.after = "\"released\"";
    e.rule = "segment " + key + " released by " + who;
    e.source = "control:" + who;
    e.outcome = "released";
    e.answer = std::to_string(r.writes) + " queued membership write(s) pass the brake once";
    std::vector<store::audit_entry> entries{std::move(e)};
    auto audited = co_await ctx.db.audit_append(std::move(entries));
    if (!audited) co_return audited.error();
    log_with(spdlog::level::warn, {}, "{}: membership sync of segment {} released by {}: {} queued write(s) pass the "
             "brake once (it was held: {})", name, key, who, r.writes, r.held);
    if (c) c->outbox_bell.notify();
    out.push_back(std::move(r));
  }
  co_return out;
}

std::optional<segment_explanation> engine::segment_explain(std::string_view key, std::string_view query) const {
  auto i = parts_->ctx.segs.get()->index_of(key);
  if (!i) return std::nullopt;
  return parts_->pipe.explain_segment(*i, query);
}

omnisync::result<segment_preview> engine::segment_preview_of(std::string_view key, std::size_t sample) const {
  auto i = parts_->ctx.segs.get()->index_of(key);
  if (!i) return omnisync::errc::not_found;
  return parts_->pipe.preview_segment(*i, sample);
}

asio::awaitable<omnisync::result<segment_backfill_count>> engine::segment_backfill(
    std::string key, std::function<void(std::size_t, std::size_t)> progress) {
  auto p = parts_;
  auto& ctx = p->ctx;
  if (!ctx.segs.get()->index_of(key)) co_return omnisync::errc::not_found;
  auto run = co_await ctx.db.run_begin(store::run_record("segment_backfill", "", key));
  const std::int64_t run_id = run ? *run : 0;
  auto got = co_await p->pipe.backfill_segment(key, 1000, run_id, std::move(progress));
  if (run_id > 0) {
    if (got) {
      store::run_counts c;
      c.read = static_cast<std::int64_t>(got->profiles);
      c.mapped = static_cast<std::int64_t>(got->members);
      (void)co_await ctx.db.run_add(run_id, c);
    }
    // Plain locals, not conditional temporaries, in a co_await's arguments (GCC 12 frees those wrongly).
    std::string outcome = got ? "ok" : "failed", error = got ? std::string() : got.error().message();
    (void)co_await ctx.db.run_finish(run_id, std::move(outcome), std::move(error));
  }
  if (got) {
    auto i = ctx.segs.get()->index_of(key);
    if (i)
      (void)co_await ctx.db.meta_set(detail::segment_state::definition_key(key),
                                     definition_text(ctx.segs.get()->segments()[static_cast<std::size_t>(*i)].def));
  }
  co_return got;
}

asio::awaitable<void> engine::parts::segment_loop() {
  for (;;) {
    if (ctx.leading() && pipe.ready() && segments_changed.exchange(false)) {
      const auto set = ctx.segs.get();
      // A segment no longer configured is forgotten: its members and timers go (no history rows: nobody left it,
      // it ceased to exist), its stored definition too, so that one declared again under that key starts from a
      // backfill. Nothing is removed at the destinations; what they acknowledged stays recorded (docs/segments.md).
      if (auto stored = co_await ctx.db.segment_keys()) {
        for (const auto& key : *stored) {
          if (set->index_of(key)) continue;
          auto n = co_await ctx.db.segment_forget(key);
          if (!n) {
            log_with(spdlog::level::warn, {}, "segment {}: forgetting its membership failed: {}", key, n.error().message());
            segments_changed = true;  // try again on the next turn
            continue;
          }
          std::string def_key = detail::segment_state::definition_key(key);
          (void)co_await ctx.db.meta_set(std::move(def_key), std::string());
          log_with(spdlog::level::info, {}, "segment {}: no longer configured; {} stored member(s) and its timers forgotten",
                   key, *n);
        }
      } else {
        log_with(spdlog::level::warn, {}, "segments: listing the stored segments failed: {}", stored.error().message());
      }
      for (const auto& s : set->segments()) {
        const auto& key = s.def.key;
        std::string paused_key = detail::segment_state::paused_key(key);
        auto paused = co_await ctx.db.meta_get(paused_key);
        ctx.segs.set_paused(key, paused && *paused && **paused == "1");
        std::string def_key = detail::segment_state::definition_key(key), wanted = definition_text(s.def);
        auto stored = co_await ctx.db.meta_get(def_key);
        if (stored && *stored && **stored == wanted) continue;
        log_with(spdlog::level::info, {}, "segment {}: new or changed definition, evaluating every profile", key);
        auto run = co_await ctx.db.run_begin(store::run_record("segment_backfill", "", key));
        const std::int64_t run_id = run ? *run : 0;
        auto got = co_await pipe.backfill_segment(key, 1000, run_id, {});
        if (run_id > 0) {
          std::string outcome = got ? "ok" : "failed", error = got ? std::string() : got.error().message();
          (void)co_await ctx.db.run_finish(run_id, std::move(outcome), std::move(error));
        }
        if (got) {
          (void)co_await ctx.db.meta_set(def_key, wanted);
          log_with(spdlog::level::info, {}, "segment {}: {} member(s) of {} profile(s) ({} entered, {} exited)", key,
                   got->members, got->profiles, got->entered, got->exited);
        }
      }
    }
    if (ctx.leading() && pipe.ready()) {
      auto fired = co_await pipe.fire_segment_timers(1000);
      if (!fired)
        log_with(spdlog::level::warn, {}, "segment timers: {}", fired.error().message());
      else if (*fired == 1000)
        continue;  // more are due
    }
    co_await ctx.clk.sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace omnisync::sync
