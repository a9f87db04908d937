// The pipeline's segment membership (docs/segments.md "In the daemon"): a page's changed profiles are evaluated
// for the segments, the verdicts stored in one store transaction per page (segment_apply: a row per member, one
// timer per (segment, profile)), the transitions written to the history and, for each `sync:` destination of a
// segment that is not paused, queued as membership writes with the page's other writes (one outbox_enqueue).
// The timer loop fires due flips the same way, one batch of due timers per turn of the turnstile.
#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "daemon/sync/pipeline.hpp"

namespace omnisync::sync::detail {
namespace asio = boost::asio;
namespace json = boost::json;

segments::profile_facts pipeline::facts_of(profile::profile_id id) const {
  segments::profile_facts f;
  f.profile_id = id.str();
  auto v = book_->view(id);
  if (!v) return f;
  for (auto& [name, g] : v->golden)
    if (!g.value.is_missing()) f.attributes.emplace(name, std::move(g.value));
  for (auto& [name, value] : v->kpis.to_attributes())
    if (name != "lifecycle_stage") f.kpis.emplace(name, std::move(value));
  f.stage = v->kpis.lifecycle_stage;
  f.events = std::move(v->timeline);
  return f;
}

std::vector<store::segment_verdict> pipeline::segment_verdicts(const std::set<profile::profile_id>& affected,
                                                               std::int64_t now) const {
  std::vector<store::segment_verdict> out;
  const auto set = ctx_.segs.get();
  if (set->empty() || affected.empty()) return out;
  segments::profile_change all;
  all.all = true;
  const auto which = set->affected(all);
  out.reserve(affected.size() * which.size());
  for (const auto id : affected) {
    const bool gone = !book_->contains(id);
    const auto facts = gone ? segments::profile_facts{} : facts_of(id);
    for (const int i : which) {
      const auto& key = set->segments()[static_cast<std::size_t>(i)].def.key;
      if (gone) {  // merged into another profile or deleted: no longer a member of anything
        out.emplace_back(key, id.str(), false, std::nullopt);
        continue;
      }
      const auto m = set->evaluate(i, facts, now);
      std::optional<timestamp> next;
      if (m.flips_at) next = timestamp(std::chrono::milliseconds(*m.flips_at));
      out.emplace_back(key, id.str(), m.member, next);
    }
  }
  return out;
}

namespace {

/// The term that explains a transition: on entry the terms that hold (joined), on exit the first that fails.
std::string flipped_term(const std::vector<segments::term_value>& terms, bool entered) {
  std::string out;
  for (const auto& t : terms) {
    const bool holds = t.value == "true";
    if (entered && holds) {
      if (!out.empty()) out += " && ";
      out += t.text;
    } else if (!entered && !holds) {
      return t.text;
    }
  }
  return out;
}

}  // namespace

asio::awaitable<omnisync::result<std::size_t>> pipeline::apply_segments(processed& out, std::string cause,
                                                                        segment_backfill_count* tally) {
  if (out.verdicts.empty()) co_return std::size_t{0};
  const auto at = ctx_.now();
  auto changed = co_await ctx_.db.segment_apply(std::move(out.verdicts), at);
  out.verdicts.clear();
  if (!changed) co_return changed.error();
  if (changed->empty()) co_return std::size_t{0};
  const auto set = ctx_.segs.get();
  // The transitions' terms, from the book as the verdicts saw it (still in the turnstile: nothing changed since).
  std::vector<std::string> terms(changed->size());
  {
    std::lock_guard lk(book_mu_);
    const auto now = at.time_since_epoch().count();
    for (std::size_t k = 0; k < changed->size(); ++k) {
      const auto& t = (*changed)[k];
      auto i = set->index_of(t.segment);
      auto id = profile::profile_id::parse(t.profile);
      if (!i || !id || !book_->contains(*id)) continue;
      terms[k] = flipped_term(set->explain(*i, facts_of(*id), now), t.entered);
    }
  }
  for (std::size_t k = 0; k < changed->size(); ++k) {
    const auto& t = (*changed)[k];
    if (tally) ++(t.entered ? tally->entered : tally->exited);
    json::object c = cause.empty() ? json::object{} : json::parse("{" + cause + "}").as_object();
    if (!terms[k].empty()) c["term"] = terms[k];
    out.history.emplace_back(t.profile, "segment", t.segment, t.entered ? "out" : "in", t.entered ? "in" : "out", at,
                             json::serialize(c));
    log_with(spdlog::level::debug, {}, "segment {}: profile {} {} ({})", t.segment, t.profile,
             t.entered ? "entered" : "exited", out.history.back().cause);
    auto i = set->index_of(t.segment);
    if (!i || ctx_.segs.paused(t.segment)) continue;  // paused: membership kept, nothing queued
    for (const auto& dest : set->segments()[static_cast<std::size_t>(*i)].def.sync) {
      json::object payload{{"op", t.entered ? "add" : "remove"},
                           {"segment", t.segment},
                           {"list", dest.list},
                           {"resubscribe", dest.resubscribe}};
      store::outbox_write w(dest.connector, "segment:" + t.segment, t.profile, json::serialize(payload));
      w.profile_id = t.profile;
      out.writes.push_back(std::move(w));
    }
  }
  co_return changed->size();
}

asio::awaitable<omnisync::result<std::size_t>> pipeline::fire_segment_timers(std::size_t limit) {
  const auto set = ctx_.segs.get();
  if (set->empty() || !ready_.load()) co_return std::size_t{0};
  auto due = co_await ctx_.db.segment_timers_due(ctx_.now(), limit);
  if (!due) co_return due.error();
  if (due->empty()) co_return std::size_t{0};
  auto turn = co_await order_.acquire();
  processed out;
  {
    std::lock_guard lk(book_mu_);
    const auto now = ctx_.now().time_since_epoch().count();
    for (const auto& t : *due) {
      auto i = set->index_of(t.segment);
      auto id = profile::profile_id::parse(t.profile);
      if (!i || !id || !book_->contains(*id)) {  // a segment or profile that is gone: its timer goes, and it leaves
        out.verdicts.emplace_back(t.segment, t.profile, false, std::nullopt);
        continue;
      }
      const auto m = set->evaluate(*i, facts_of(*id), now);
      std::optional<timestamp> next;
      if (m.flips_at) next = timestamp(std::chrono::milliseconds(*m.flips_at));
      out.verdicts.emplace_back(t.segment, t.profile, m.member, next);
    }
  }
  auto n = co_await apply_segments(out, "\"timer\":true");
  if (!n) co_return n.error();
  if (!out.history.empty()) {
    auto h = co_await ctx_.db.history_append(std::move(out.history));
    if (!h) co_return h.error();
  }
  if (!out.writes.empty()) {
    auto q = co_await enqueue(std::move(out.writes));
    if (!q) co_return q.error();
  }
  co_return due->size();
}

}  // namespace omnisync::sync::detail
