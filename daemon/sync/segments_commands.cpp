// The pipeline's segment queries and runs: explain (each term for one person and the next flip), preview (the
// segment over every profile now, nothing written), backfill (the segment over every profile, stored), and the
// history rows of the transitions they cause.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "daemon/sync/pipeline.hpp"

namespace omnisync::sync::detail {
namespace asio = boost::asio;

std::optional<segment_explanation> pipeline::explain_segment(int index, std::string_view profile_query) const {
  const auto set = ctx_.segs.get();
  if (index < 0 || static_cast<std::size_t>(index) >= set->segments().size()) return std::nullopt;
  std::lock_guard lk(book_mu_);
  auto id = book_->find(profile_query);
  if (!id) return std::nullopt;
  const auto facts = facts_of(*id);
  const auto now = ctx_.now().time_since_epoch().count();
  const auto m = set->evaluate(index, facts, now);
  segment_explanation e;
  e.profile = id->str();
  e.member = m.member;
  e.matches = m.matches;
  e.held_out = m.held_out;
  e.outranked_by = m.outranked_by;
  e.flips_at = m.flips_at;
  e.recheck = m.recheck;
  for (auto& t : set->explain(index, facts, now)) e.terms.push_back({t.text, t.value, t.detail});
  return e;
}

segment_preview pipeline::preview_segment(int index, std::size_t sample) const {
  segment_preview out;
  const auto set = ctx_.segs.get();
  if (index < 0 || static_cast<std::size_t>(index) >= set->segments().size()) return out;
  std::vector<profile::profile_id> ids;
  {
    std::lock_guard lk(book_mu_);
    ids = book_->profiles();
  }
  std::vector<std::string> names;
  names.reserve(ids.size());
  for (const auto id : ids) names.push_back(id.str());
  std::sort(names.begin(), names.end());
  const auto now = ctx_.now().time_since_epoch().count();
  // The book's lock is held for a chunk at a time, so a preview over many profiles does not stall the pipeline.
  constexpr std::size_t chunk = 512;
  for (std::size_t k = 0; k < names.size(); k += chunk) {
    std::lock_guard lk(book_mu_);
    for (std::size_t j = k; j < std::min(names.size(), k + chunk); ++j) {
      auto id = profile::profile_id::parse(names[j]);
      if (!id || !book_->contains(*id)) continue;
      ++out.profiles;
      if (!set->member(index, facts_of(*id), now)) continue;
      if (out.sample.size() < sample) out.sample.push_back(names[j]);
      out.members.push_back(names[j]);
    }
  }
  out.size = out.members.size();
  return out;
}

asio::awaitable<omnisync::result<segment_backfill_count>> pipeline::backfill_segment(
    std::string key, std::size_t chunk, std::int64_t run, std::function<void(std::size_t, std::size_t)> progress) {
  segment_backfill_count count;
  const auto set = ctx_.segs.get();
  const auto index = set->index_of(key);
  if (!index) co_return omnisync::errc::not_found;
  while (!ready_.load()) co_await ctx_.clk.sleep_for(std::chrono::milliseconds(20));
  std::vector<profile::profile_id> ids;
  {
    std::lock_guard lk(book_mu_);
    ids = book_->profiles();
  }
  std::sort(ids.begin(), ids.end());
  chunk = std::max<std::size_t>(chunk, 1);
  const std::string cause = run > 0 ? "\"run\":\"" + std::to_string(run) + "\"" : std::string();
  for (std::size_t k = 0; k < ids.size(); k += chunk) {
    auto turn = co_await order_.acquire();
    processed out;
    {
      std::lock_guard lk(book_mu_);
      const auto now = ctx_.now().time_since_epoch().count();
      for (std::size_t j = k; j < std::min(ids.size(), k + chunk); ++j) {
        const auto id = ids[j];
        if (!book_->contains(id)) continue;  // merged away since the list was taken
        ++count.profiles;
        auto f = facts_of(id);
        const auto m = set->evaluate(*index, f, now);
        std::optional<timestamp> next;
        if (m.flips_at) next = timestamp(std::chrono::milliseconds(*m.flips_at));
        out.verdicts.emplace_back(key, id.str(), m.member, next);
        out.facts->insert_or_assign(id.str(), std::move(f));  // the transitions' terms (apply_segments)
        if (m.member) ++count.members;
      }
    }
    // Entered/exited come from what the store held: segment_apply reports only changes.
    auto changed = co_await apply_segments(out, cause, &count);
    if (!changed) co_return changed.error();
    if (!out.history.empty()) {
      auto h = co_await ctx_.db.history_append(std::move(out.history));
      if (!h) co_return h.error();
    }
    if (!out.writes.empty()) {
      for (auto& w : out.writes) w.run = run;
      auto q = co_await enqueue(std::move(out.writes));
      if (!q) co_return q.error();
    }
    if (progress) progress(std::min(ids.size(), k + chunk), ids.size());
  }
  co_return count;
}

}  // namespace omnisync::sync::detail
