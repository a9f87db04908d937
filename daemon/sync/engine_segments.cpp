// The engine's segments: the compiled set in effect, pause/resume (persisted in meta), explain, preview, backfill
// (a run of kind `segment_backfill`), and the loop that reconciles the stored membership with the definitions
// (backfill what changed, forget what went) and fires the timer queue.
#include <boost/json.hpp>

#include "daemon/sync/engine_parts.hpp"

namespace omnisync::sync {
namespace asio = boost::asio;

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

asio::awaitable<omnisync::result<void>> engine::segment_pause(std::string key, bool paused) {
  auto& ctx = parts_->ctx;
  if (!ctx.segs.get()->index_of(key)) co_return omnisync::errc::not_found;
  std::string meta_key = detail::segment_state::paused_key(key), value = paused ? "1" : "0";
  auto r = co_await ctx.db.meta_set(std::move(meta_key), std::move(value));
  if (!r) co_return r.error();
  ctx.segs.set_paused(key, paused);
  co_return omnisync::result<void>{};
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
