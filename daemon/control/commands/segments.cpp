// segment: the segments in effect (daemon/segments, compiled from omnisync.yaml) and their stored membership —
// list, show, members (store: segment_members, paged), explain (each term for one person, the next flip),
// preview (evaluated now over every profile, nothing written; per destination the adds and removes the next
// membership sync would send, against what the destination acknowledged), backfill (a run, among the sync tasks), pause and
// resume (the segment's membership writes; persisted; resume queues the changes made while paused), release (a
// membership sync the safety brake holds sends the writes queued now, once; audited with the caller).
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include "daemon/control/catalogue.hpp"
#include "daemon/control/commands/groups.hpp"
#include "daemon/segments/segment_set.hpp"
#include "daemon/store/store.hpp"
#include "daemon/sync/engine.hpp"
#include "daemon/sync/membership_policy.hpp"
#include "daemon/sync/status.hpp"

namespace asio = boost::asio;
namespace json = boost::json;

namespace omnisync::control::commands {
namespace {

json::array destinations_json(const segments::segment_def& d) {
  json::array out;
  for (const auto& s : d.sync)
    out.push_back(json::object{{"connector", s.connector}, {"list", s.list}, {"resubscribe", s.resubscribe}});
  return out;
}

/// The destinations whose membership sync is held (safety brake, missing list): {connector: why}.
json::object held_json(const std::map<std::string, std::string>& held) {
  json::object out;
  for (const auto& [connector, why] : held) out[connector] = why;
  return out;
}

std::string iso_ms(std::int64_t ms) { return iso_text(store::timestamp(std::chrono::milliseconds(ms))); }

/// The store's members of `key`, every page (preview's diff).
asio::awaitable<result<std::vector<std::string>>> stored_members(const context& ctx, std::string key) {
  std::vector<std::string> out;
  std::string after;
  for (;;) {
    auto page = co_await ctx.db->segment_members(key, after, 10000);
    if (!page) co_return page.error();
    for (auto& m : *page) out.push_back(std::move(m.profile));
    if (page->size() < 10000) break;
    after = out.back();
  }
  co_return out;
}

json::object progress_json(const std::string& key, std::size_t done, std::size_t total) {
  return json::object{{"key", key}, {"done", static_cast<std::int64_t>(done)}, {"total", static_cast<std::int64_t>(total)}};
}

/// What the next membership sync of `d` would send: `desired` (the segment's members now, sorted profile ids)
/// against what the destination acknowledged (`acked`: member id, profile id — segment_members_acked), each
/// member resolved to its record there as the writer resolves it (sync::plan_membership, which `segment resume`
/// queues). A member acknowledged under another profile id (a merge) is neither added nor removed; a member that
/// links no record there is `unresolved` (its add waits).
json::object destination_plan(const sync::engine& engine, const segments::sync_target& d, bool paused,
                              const std::vector<std::string>& desired,
                              const std::vector<std::pair<std::string, std::string>>& acked, std::int64_t limit) {
  std::function<std::string(const std::string&)> member_of = [&engine, &d](const std::string& pid) {
    auto rep = engine.profile_get(pid);
    return rep ? sync::membership_member_id(rep->view, d.connector) : std::string();
  };
  const auto plan = sync::plan_membership(desired, acked, member_of);
  const auto sample = [limit](const std::vector<sync::membership_change>& v) {
    json::array a;
    for (std::size_t k = 0; k < v.size() && static_cast<std::int64_t>(k) < limit; ++k)
      a.push_back(json::object{{"profile", v[k].profile}, {"member", v[k].member}});
    return a;
  };
  return json::object{{"connector", d.connector},
                      {"list", d.list},
                      {"acknowledged", static_cast<std::int64_t>(acked.size())},
                      {"adds", static_cast<std::int64_t>(plan.adds.size())},
                      {"removes", static_cast<std::int64_t>(plan.removes.size())},
                      {"unresolved", static_cast<std::int64_t>(plan.unresolved.size())},
                      {"add_sample", sample(plan.adds)},
                      {"remove_sample", sample(plan.removes)},
                      {"paused", paused}};
}

struct backfill_state {
  std::atomic<bool> done{false};
  std::atomic<std::size_t> at{0}, total{0};
  std::mutex mu;
  result<sync::segment_backfill_count> outcome = errc::fail;
};

/// segment: args {action, key?, profile?, after?, limit?, follow?}.
asio::awaitable<reply> segment(const context& ctx, json::object args, event_sink& events) {
  auto* engine = ctx.engine;
  if (!engine) co_return reply::failure("unavailable", "the sync engine is not running");
  const std::string action = arg_text(args, "action").empty() ? "list" : arg_text(args, "action");
  const auto set = engine->segments();
  if (action == "list") {
    json::array items;
    for (const auto& s : set->segments()) {
      auto n = co_await ctx.db->segment_count(s.def.key);
      if (!n) co_return reply::failure("store", n.error().message());
      items.push_back(json::object{{"key", s.def.key},
                                   {"size", *n},
                                   {"paused", engine->segment_paused(s.def.key)},
                                   {"destinations", destinations_json(s.def)}});
    }
    co_return reply::success(json::object{{"items", std::move(items)}});
  }
  const std::string key = arg_text(args, "key");
  if (key.empty()) co_return reply::failure("usage", "segment " + action + " needs a segment key");
  const auto index = set->index_of(key);
  if (!index) {
    std::string known;
    for (const auto& s : set->segments()) known += (known.empty() ? "" : ", ") + s.def.key;
    co_return reply::failure("not_found", "no segment \"" + key + "\" (configured: " +
                                              (known.empty() ? std::string("none") : known) + ")");
  }
  const auto& def = set->segments()[static_cast<std::size_t>(*index)].def;
  const auto* limit_arg = args.if_contains("limit");
  const std::int64_t limit = limit_arg && limit_arg->is_int64() ? limit_arg->as_int64() : 100;
  if (action == "show") {
    auto n = co_await ctx.db->segment_count(key);
    if (!n) co_return reply::failure("store", n.error().message());
    co_return reply::success(json::object{{"key", key},
                                          {"where", def.where},
                                          {"holdout_percent", def.holdout_percent},
                                          {"priority_group", def.priority_group},
                                          {"size", *n},
                                          {"paused", engine->segment_paused(key)},
                                          {"sync", destinations_json(def)},
                                          {"held", held_json(engine->segment_sync_held(key))}});
  }
  if (action == "members") {
    if (limit < 1 || limit > 10000) co_return reply::failure("usage", "limit must be 1 to 10000");
    auto page = co_await ctx.db->segment_members(key, arg_text(args, "after"), static_cast<std::size_t>(limit));
    if (!page) co_return reply::failure("store", page.error().message());
    json::array items;
    for (const auto& m : *page) items.push_back(json::object{{"profile", m.profile}, {"since", iso_text(m.since)}});
    const std::string next = static_cast<std::int64_t>(page->size()) == limit ? page->back().profile : "";
    co_return reply::success(json::object{{"key", key}, {"items", std::move(items)}, {"next_after", next}});
  }
  if (action == "explain") {
    const std::string who = arg_text(args, "profile");
    if (who.empty()) co_return reply::failure("usage", "segment explain needs a profile (p..., e-mail, phone, system:id)");
    if (auto refused = co_await standby_refusal(ctx, "profiles")) co_return std::move(*refused);
    auto e = engine->segment_explain(key, who);
    if (!e) co_return reply::failure("not_found", "no profile matches \"" + who + "\"");
    json::array terms;
    for (const auto& t : e->terms) terms.push_back(json::object{{"text", t.text}, {"value", t.value}, {"detail", t.detail}});
    co_return reply::success(json::object{{"key", key},
                                          {"profile", e->profile},
                                          {"member", e->member},
                                          {"matches", e->matches},
                                          {"held_out", e->held_out},
                                          {"outranked_by", e->outranked_by},
                                          {"flips_at", e->flips_at ? json::value(iso_ms(*e->flips_at)) : json::value(nullptr)},
                                          {"recheck", e->recheck},
                                          {"terms", std::move(terms)}});
  }
  if (action == "preview") {
    if (auto refused = co_await standby_refusal(ctx, "profiles")) co_return std::move(*refused);
    auto p = engine->segment_preview_of(key, static_cast<std::size_t>(std::clamp<std::int64_t>(limit, 0, 1000)));
    if (!p) co_return reply::failure("store", p.error().message());
    auto current = co_await stored_members(ctx, key);
    if (!current) co_return reply::failure("store", current.error().message());
    // Both sorted by profile id: the diff is one merge.
    std::vector<std::string> enter, exit;
    std::set_difference(p->members.begin(), p->members.end(), current->begin(), current->end(), std::back_inserter(enter));
    std::set_difference(current->begin(), current->end(), p->members.begin(), p->members.end(), std::back_inserter(exit));
    const auto sample_of = [&](const std::vector<std::string>& v) {
      json::array a;
      for (std::size_t k = 0; k < v.size() && static_cast<std::int64_t>(k) < limit; ++k) a.push_back(json::value(v[k]));
      return a;
    };
    json::array sample;
    for (const auto& s : p->sample) sample.push_back(json::value(s));
    // Per destination: what the next membership sync would send, against what the destination acknowledged.
    json::array dests;
    for (const auto& d : def.sync) {
      auto acked = co_await ctx.db->membership_members(key, d.connector);
      if (!acked) co_return reply::failure("store", acked.error().message());
      dests.push_back(destination_plan(*engine, d, engine->segment_paused(key), p->members, *acked, limit));
    }
    co_return reply::success(json::object{{"key", key},
                                          {"profiles", static_cast<std::int64_t>(p->profiles)},
                                          {"size", static_cast<std::int64_t>(p->size)},
                                          {"current", static_cast<std::int64_t>(current->size())},
                                          {"sample", std::move(sample)},
                                          {"would_enter", static_cast<std::int64_t>(enter.size())},
                                          {"would_exit", static_cast<std::int64_t>(exit.size())},
                                          {"enter_sample", sample_of(enter)},
                                          {"exit_sample", sample_of(exit)},
                                          {"destinations", std::move(dests)}});
  }
  if (action == "pause" || action == "resume" || action == "release") {
    // The membership sync (its pause flags, its held writes, a resume's catch-up) runs with the pipeline: on a
    // standby these would change a flag the leader reads only when it takes over, or find nothing held.
    if (auto refused = co_await standby_refusal(ctx, "segment pauses, resumes and releases")) co_return std::move(*refused);
  }
  if (action == "pause" || action == "resume") {
    auto r = co_await engine->segment_pause(key, action == "pause");
    if (!r) co_return reply::failure("store", r.error().message());
    json::array queued;
    std::int64_t adds = 0, removes = 0;
    for (const auto& q : *r) {
      adds += q.adds;
      removes += q.removes;
      queued.push_back(json::object{
          {"connector", q.connector}, {"adds", q.adds}, {"removes", q.removes}, {"already_queued", q.already_queued}});
    }
    if (action == "pause")
      ctx.logger("sync")->info("segment {} paused (membership writes held)", key);
    else
      ctx.logger("sync")->info("segment {} resumed: {} add(s) and {} removal(s) queued to catch up", key, adds, removes);
    json::object out{{"key", key}, {"paused", action == "pause"}};
    if (action == "resume") out["queued"] = std::move(queued);
    co_return reply::success(std::move(out));
  }
  if (action == "release") {
    // Which destinations: the one named (it must be one of the segment's), else every one; only held ones.
    const std::string only = arg_text(args, "connector");
    std::string names;
    bool named = only.empty();
    for (const auto& d : def.sync) {
      names += (names.empty() ? "" : ", ") + d.connector;
      named = named || d.connector == only;
    }
    if (!named)
      co_return reply::failure("unknown_connector", "segment " + key + " has no destination \"" + only + "\" (its "
                               "destinations: " + (names.empty() ? std::string("none") : names) + ")");
    const auto held = engine->segment_sync_held(key);
    std::vector<std::string> targets;
    for (const auto& d : def.sync)
      if ((only.empty() || d.connector == only) && held.count(d.connector) &&
          std::find(targets.begin(), targets.end(), d.connector) == targets.end())
        targets.push_back(d.connector);
    if (targets.empty())
      co_return reply::failure("not_held", "the membership sync of segment " + key + " is not held" +
                                               (only.empty() ? std::string() : " at " + only) +
                                               ": nothing to release (segment preview " + key + " shows what it would send)");
    const std::string who = events.caller().empty() ? std::string("an unknown caller") : events.caller();
    auto r = co_await engine->segment_release(key, targets, who);
    if (!r) co_return reply::failure("store", r.error().message());
    if (r->empty())
      co_return reply::failure("not_held", "the membership sync of segment " + key + " is no longer held: nothing released");
    json::array released;
    for (const auto& x : *r)
      released.push_back(json::object{{"connector", x.connector}, {"held", x.held}, {"writes", x.writes}});
    co_return reply::success(json::object{{"key", key}, {"released", std::move(released)}, {"by", who}});
  }
  // backfill: among the sync tasks (the application awaits them at shutdown); this command waits for it.
  if (auto refused = co_await standby_refusal(ctx, "segment backfills")) co_return std::move(*refused);
  auto st = std::make_shared<backfill_state>();
  auto run = [](sync::engine* e, std::string k, std::shared_ptr<backfill_state> s) -> asio::awaitable<void> {
    // A named callback, not a lambda written in the co_await's arguments: GCC 12 destroys such a temporary
    // twice, so its copy of `s` was released twice and the state freed while this command still waited on it
    // (its mutex then locked in freed memory: "Invalid argument", answered as internal_error).
    std::function<void(std::size_t, std::size_t)> progress = [s](std::size_t at, std::size_t total) {
      s->at = at;
      s->total = total;
    };
    auto got = co_await e->segment_backfill(k, std::move(progress));
    {
      std::lock_guard lk(s->mu);
      s->outcome = std::move(got);
    }
    s->done = true;
  };
  ctx.spawn_sync_task("segment backfill", [run, engine, key, st] { return run(engine, key, st); });
  const auto* follow = args.if_contains("follow");
  const bool following = follow && follow->is_bool() && follow->as_bool();
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!st->done.load()) {
    timer.expires_after(std::chrono::milliseconds(250));
    co_await timer.async_wait(asio::use_awaitable);
    if (!following || st->done.load()) continue;
    // Built before the co_await: GCC 12 cannot keep an initializer list's array in a coroutine frame.
    json::object progress = progress_json(key, st->at.load(), st->total.load());
    if (!co_await events.emit(std::move(progress))) co_return reply::failure("gone", "client went away");
  }
  std::lock_guard lk(st->mu);
  if (!st->outcome) co_return reply::failure("store", st->outcome.error().message());
  const auto& c = *st->outcome;
  co_return reply::success(json::object{{"key", key},
                                        {"profiles", static_cast<std::int64_t>(c.profiles)},
                                        {"members", static_cast<std::int64_t>(c.members)},
                                        {"entered", static_cast<std::int64_t>(c.entered)},
                                        {"exited", static_cast<std::int64_t>(c.exited)}});
}

}  // namespace

void add_segment_command(command_table& table, const context& ctx) {
  table.add(catalogue::segment, [&ctx](json::object a, event_sink& e) { return segment(ctx, std::move(a), e); });
}

}  // namespace omnisync::control::commands
