// The pipeline's segment membership (docs/segments.md "In the daemon"): a page's changed profiles are evaluated
// for the segments their change touches (their facts before and after, diffed), the verdicts stored in one store
// transaction per page with the transitions' history rows (segment_apply: a row per member, one timer per
// (segment, profile)); the transitions become the profiles' segment events, read by the segments that name them
// in a next round; for each `sync:` destination of a segment that is not paused they are queued as membership
// writes with the page's other writes (one outbox_enqueue).
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
  f.segment_events = segment_events_of(f.profile_id);
  return f;
}

std::vector<profile::event> pipeline::segment_events_of(const std::string& profile_id) const {
  // From the history as stored (the analytics index holds every row in memory, in time order).
  std::vector<profile::event> out;
  for (auto& r : ctx_.history.rows_of(profile_id, "segment")) {
    profile::event e;
    e.type = r.to == "in" ? segments::segment_entered_type : segments::segment_exited_type;
    e.occurred_at = r.at;
    e.subject = std::move(r.subject);
    out.push_back(std::move(e));
  }
  return out;
}

void pipeline::note_before(const std::string& system, const std::string& object, const std::string& id,
                           const mapping::mapped_record* m, const std::set<profile::profile_id>& affected,
                           facts_before& before) const {
  auto take = [&](std::optional<profile::profile_id> pid) {
    if (!pid || before.count(*pid)) return;
    // Changed by an earlier record of the page before its facts were taken: what changed is not known.
    if (affected.count(*pid))
      before.emplace(*pid, std::nullopt);
    else
      before.emplace(*pid, facts_of(*pid));
  };
  take(book_->find(profile::record_key(system, object, id)));
  if (!m) return;
  for (const auto& e : m->events)  // an interaction: the people it links (by e-mail or phone)
    for (const auto& [attribute, v] : e.person)
      if (v.k == mapping::value::kind::string && !v.s.empty()) take(book_->find(v.s));
}

void pipeline::segment_verdicts(const std::set<profile::profile_id>& affected, const facts_before* before,
                                std::int64_t now, processed& out) const {
  const auto set = ctx_.segs.get();
  if (set->empty() || affected.empty()) return;
  segments::profile_change all;
  all.all = true;
  const auto every = set->affected(all);
  std::uint64_t evaluated = 0;
  for (const auto id : affected) {
    if (!book_->contains(id)) {  // merged into another profile or deleted: no longer a member of anything
      for (const int i : every)
        out.verdicts.emplace_back(set->segments()[static_cast<std::size_t>(i)].def.key, id.str(), false, std::nullopt);
      continue;
    }
    auto facts = facts_of(id);
    std::vector<int> which;
    const std::optional<segments::profile_facts>* was = nullptr;
    if (before)
      if (auto it = before->find(id); it != before->end()) was = &it->second;
    if (was && *was)
      which = set->affected(segments::diff_facts(**was, facts));
    else
      which = every;
    if (which.empty()) continue;
    for (const int i : which) {
      const auto m = set->evaluate(i, facts, now);
      std::optional<timestamp> next;
      if (m.flips_at) next = timestamp(std::chrono::milliseconds(*m.flips_at));
      out.verdicts.emplace_back(set->segments()[static_cast<std::size_t>(i)].def.key, id.str(), m.member, next);
    }
    evaluated += which.size();
    out.facts->insert_or_assign(id.str(), std::move(facts));
  }
  segment_evaluations_ += evaluated;
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
  const auto set = ctx_.segs.get();
  const std::int64_t now = at.time_since_epoch().count();
  std::size_t total = 0;
  auto facts = std::move(out.facts);
  out.facts = std::make_shared<std::map<std::string, segments::profile_facts>>();
  // Rounds: a transition is a `segment_entered` / `segment_exited` event of the profile, which the segments
  // reading it (e.segment == KEY) see in the next round; a DAG, so at most one round per segment.
  for (std::size_t round = 0; !out.verdicts.empty() && round <= set->segments().size(); ++round) {
    // The membership and the transitions' history rows in one store transaction; the terms are explained there,
    // only for the verdicts that change the membership.
    store::segment_describer describe = [set, facts, now, cause](const store::segment_verdict& v, bool entered) {
      json::object c = cause.empty() ? json::object{} : json::parse("{" + cause + "}").as_object();
      auto i = set->index_of(v.segment);
      auto f = facts->find(v.profile);
      if (i && f != facts->end()) {
        auto term = flipped_term(set->explain(*i, f->second, now), entered);
        if (!term.empty()) c["term"] = std::move(term);
      }
      return json::serialize(c);
    };
    auto changed = co_await ctx_.db.segment_apply(std::move(out.verdicts), at, std::move(describe));
    out.verdicts.clear();
    if (!changed) co_return changed.error();
    if (changed->empty()) break;
    total += changed->size();
    std::vector<store::history_entry> rows;
    rows.reserve(changed->size());
    std::map<profile::profile_id, segments::profile_change> next;
    for (const auto& t : *changed) {
      if (tally) ++(t.entered ? tally->entered : tally->exited);
      rows.emplace_back(t.profile, "segment", t.segment, t.entered ? "out" : "in", t.entered ? "in" : "out", at, t.cause);
      log_with(spdlog::level::debug, {}, "segment {}: profile {} {} ({})", t.segment, t.profile,
               t.entered ? "entered" : "exited", t.cause);
      if (auto id = profile::profile_id::parse(t.profile)) next[*id].segment_events.insert(t.segment);
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
    history_stored(rows);  // stored: the index (and so the profiles' segment events) takes them in
    // The segments that read these transitions as events, for the profiles that made them.
    facts = std::make_shared<std::map<std::string, segments::profile_facts>>();
    std::lock_guard lk(book_mu_);
    std::uint64_t evaluated = 0;
    for (const auto& [id, change] : next) {
      const auto which = set->affected(change);
      if (which.empty() || !book_->contains(id)) continue;
      auto f = facts_of(id);
      for (const int i : which) {
        const auto m = set->evaluate(i, f, now);
        std::optional<timestamp> flip;
        if (m.flips_at) flip = timestamp(std::chrono::milliseconds(*m.flips_at));
        out.verdicts.emplace_back(set->segments()[static_cast<std::size_t>(i)].def.key, id.str(), m.member, flip);
      }
      evaluated += which.size();
      facts->insert_or_assign(id.str(), std::move(f));
    }
    segment_evaluations_ += evaluated;
  }
  co_return total;
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
      auto f = facts_of(*id);
      const auto m = set->evaluate(*i, f, now);
      std::optional<timestamp> next;
      if (m.flips_at) next = timestamp(std::chrono::milliseconds(*m.flips_at));
      out.verdicts.emplace_back(t.segment, t.profile, m.member, next);
      out.facts->insert_or_assign(t.profile, std::move(f));
    }
    segment_evaluations_ += due->size();
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
