#include "daemon/sync/membership_sync.hpp"

#include <boost/json.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include "daemon/profile/book.hpp"
#include "daemon/segments/segment_set.hpp"
#include "daemon/sync/membership_policy.hpp"
#include "daemon/sync/runs.hpp"
#include "daemon/sync/segment_state.hpp"

namespace omnisync::sync {

membership_policies policies_of(const segments::segment_set& set) {
  membership_policies out;
  for (const auto& s : set.segments())
    for (const auto& t : s.def.sync) {
      membership_policy p;
      p.max_churn_per_run = t.max_churn_per_run;
      p.min_size = t.min_size;
      p.recreate_missing = t.recreate_missing;
      out[{s.def.key, t.connector}] = p;
    }
  return out;
}

std::string membership_member_id(const profile::profile_view& view, std::string_view connector) {
  std::string best;
  int rank = 99;
  for (const auto& m : view.members) {
    if (m.deleted || m.system != connector) continue;
    const int r = m.object == "contacts" || m.object == "Contact" ? 0 : m.object == "Lead" ? 1 : 99;
    if (r < rank) rank = r, best = m.id;
  }
  return best;
}

membership_plan plan_membership(const std::vector<std::string>& desired,
                                const std::vector<std::pair<std::string, std::string>>& acked,
                                const std::function<std::string(const std::string&)>& member_of) {
  std::set<std::string> acked_members, acked_profiles, kept;
  for (const auto& [member, profile] : acked) {
    acked_members.insert(member);
    if (!profile.empty()) acked_profiles.insert(profile);
  }
  membership_plan out;
  for (const auto& pid : desired) {
    if (acked_profiles.count(pid)) continue;
    std::string member = member_of(pid);
    if (member.empty())
      out.unresolved.push_back({pid, std::string()});
    else if (acked_members.count(member))
      kept.insert(std::move(member));
    else
      out.adds.push_back({pid, std::move(member)});
  }
  for (const auto& [member, profile] : acked) {
    if (kept.count(member) || (!profile.empty() && std::binary_search(desired.begin(), desired.end(), profile)))
      continue;
    out.removes.push_back({profile, member});
  }
  return out;
}

}  // namespace omnisync::sync

namespace omnisync::sync::detail {
namespace asio = boost::asio;
namespace json = boost::json;
using std::chrono::milliseconds;

/// One claimed membership write, read.
struct membership_sync::change {
  const store::outbox_item* item = nullptr;
  bool add = true;
  std::string list;
  bool resubscribe = false;
  std::string member;  ///< the vendor's record id of the person
  std::string row;     ///< a removal: the membership row's id as its add answered it ("" when unknown)
  enum class fate { send, noop, retry, reject } what = fate::send;
  bool held = false;   ///< kept back by the brake: re-checked without using up an attempt (the claim is given back)
  std::string why;
};

std::string membership_sync::member_of_profile(const std::string& profile_id) const {
  if (profile_id.empty()) return {};
  auto rep = pipeline_.get(profile_id);
  return rep ? membership_member_id(rep->view, c_.cfg.name) : std::string();
}

void membership_sync::hold(const std::string& segment, const std::string& why) {
  held_.insert(segment);
  const std::string object = "segment:" + segment;
  auto fields = fields_of(c_, object);
  fields.error = "segment_sync_held";
  log_with(spdlog::level::err, fields, "{}: membership sync of segment {} is held: {}", c_.cfg.name, segment, why);
  if (ctx_.m.segment_sync_paused) ctx_.m.segment_sync_paused->with({c_.cfg.name, segment}).set(1);
  std::lock_guard lk(ctx_.mu);
  c_.counters.segment_sync_held[segment] = why;
}

std::string membership_sync::release_text(const std::map<std::int64_t, std::string>& writes) {
  json::object o;
  for (const auto& [id, key] : writes) o[std::to_string(id)] = key;
  return json::serialize(o);
}

std::map<std::int64_t, std::string> membership_sync::release_of(std::string_view text) {
  std::map<std::int64_t, std::string> out;
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return out;
  for (const auto& [k, key] : v.as_object()) {
    std::int64_t id = 0;
    const auto* end = k.data() + k.size();
    if (!key.is_string() || std::from_chars(k.data(), end, id).ptr != end || id <= 0) continue;
    out.emplace(id, std::string(key.as_string()));
  }
  return out;
}

asio::awaitable<void> membership_sync::load_releases() {
  std::vector<std::string> segments;
  {
    std::lock_guard lk(ctx_.mu);
    for (const auto& [k, policy] : ctx_.membership)
      if (k.second == c_.cfg.name) segments.push_back(k.first);
  }
  for (const auto& segment : segments) {
    const std::string key = segment_state::released_key(segment, c_.cfg.name);
    auto stored = co_await ctx_.db.meta_get(key);
    if (!stored || !*stored || (*stored)->empty()) continue;
    const auto wanted = release_of(**stored);
    // Only what is still queued, as it was queued (a settled write's id may come back for another record).
    std::map<std::int64_t, std::string> still;
    const std::string object = "segment:" + segment;
    bool listed = true;
    for (std::int64_t after = 0;;) {
      store::outbox_filter filter(c_.cfg.name, after, 1000);  // a named local: GCC 12 and co_await arguments
      auto page = co_await ctx_.db.outbox_pending(std::move(filter));
      if (!page) {
        spdlog::warn("{}: segment {}: listing the queued writes failed: {} (the stored release is kept whole)",
                     c_.cfg.name, segment, page.error().message());
        listed = false;
        break;
      }
      for (const auto& it : page->items)
        if (auto w = wanted.find(it.id); w != wanted.end() && it.write.object == object &&
                                         w->second == it.write.record_key)
          still.insert(*w);
      if (page->next_after_id == 0) break;
      after = page->next_after_id;
    }
    if (!listed) still = wanted;
    if (!still.empty()) {
      log_with(spdlog::level::info, fields_of(c_, object),
               "{}: segment {}: {} write(s) released before the restart are still queued; they pass the brake once",
               c_.cfg.name, segment, still.size());
      std::lock_guard lk(ctx_.mu);
      ctx_.membership_releases[{segment, c_.cfg.name}].insert(still.begin(), still.end());
    }
    if (still.size() != wanted.size()) {
      std::string text = still.empty() ? std::string() : release_text(still);
      std::string meta_key = key;
      (void)co_await ctx_.db.meta_set(std::move(meta_key), std::move(text));
    }
  }
}

asio::awaitable<void> membership_sync::store_release(const std::string& segment) {
  std::map<std::int64_t, std::string> rest;
  if (auto it = released_.find(segment); it != released_.end()) rest = it->second;
  {
    std::lock_guard lk(ctx_.mu);  // a release taken but not yet handed to this sync stays stored
    if (auto r = ctx_.membership_releases.find({segment, c_.cfg.name}); r != ctx_.membership_releases.end())
      rest.insert(r->second.begin(), r->second.end());
  }
  std::string key = segment_state::released_key(segment, c_.cfg.name);
  std::string text = rest.empty() ? std::string() : release_text(rest);
  auto saved = co_await ctx_.db.meta_set(std::move(key), std::move(text));
  if (!saved)
    spdlog::warn("{}: segment {}: storing what is left of its release failed: {} (a restart may hold those writes "
                 "again)", c_.cfg.name, segment, saved.error().message());
}

asio::awaitable<omnisync::result<std::string>> membership_sync::audience(const adapters::audience_spec& spec) {
  const auto key = spec.segment_key + "\n" + spec.name;
  if (auto it = audiences_.find(key); it != audiences_.end()) co_return it->second;
  auto id = co_await c_.adapter->ensure_audience(spec);
  if (id) audiences_[key] = *id;
  co_return id;
}

asio::awaitable<void> membership_sync::send(std::string object, std::vector<store::outbox_item> items) {
  const std::string segment = object.substr(std::string_view("segment:").size());
  membership_policy policy;
  {
    std::lock_guard lk(ctx_.mu);
    if (auto p = ctx_.membership.find({segment, c_.cfg.name}); p != ctx_.membership.end()) policy = p->second;
    if (generation_ != ctx_.membership_generation) {  // a reload releases what the brake held
      generation_ = ctx_.membership_generation;
      if (!held_.empty() && ctx_.m.segment_sync_paused)
        for (const auto& s : held_) ctx_.m.segment_sync_paused->with({c_.cfg.name, s}).set(0);
      held_.clear();
      held_checks_.clear();  // what a hold re-checked starts afresh (and ids a hold saw dropped go)
    }
    if (auto r = ctx_.membership_releases.find({segment, c_.cfg.name}); r != ctx_.membership_releases.end()) {
      released_[segment].insert(r->second.begin(), r->second.end());
      ctx_.membership_releases.erase(r);
      held_.erase(segment);
      if (ctx_.m.segment_sync_paused) ctx_.m.segment_sync_paused->with({c_.cfg.name, segment}).set(0);
      c_.counters.segment_sync_held.erase(segment);
    }
  }
  auto& released = released_[segment];  // `segment release`: these writes pass the brake once
  const auto now = ctx_.now();
  std::vector<change> changes;
  changes.reserve(items.size());
  for (const auto& it : items) {
    change ch;
    ch.item = &it;
    boost::system::error_code ec;
    auto v = json::parse(it.write.payload, ec);
    const auto* o = ec ? nullptr : v.if_object();
    const auto* op = o ? o->if_contains("op") : nullptr;
    const auto* list = o ? o->if_contains("list") : nullptr;
    if (!op || !op->is_string() || (op->as_string() != "add" && op->as_string() != "remove") || !list ||
        !list->is_string() || list->as_string().empty()) {
      ch.what = change::fate::reject;
      ch.why = "membership write is not {\"op\": \"add\"|\"remove\", \"list\": name}";
    } else {
      ch.add = op->as_string() == "add";
      ch.list = std::string(list->as_string());
      if (const auto* r = o->if_contains("resubscribe"); r && r->is_bool()) ch.resubscribe = r->as_bool();
      ch.member = !it.write.target_id.empty() ? it.write.target_id : member_of_profile(it.write.profile_id);
      if (ch.member.empty()) {
        ch.what = change::fate::retry;
        ch.why = "profile " + it.write.profile_id + " links no record in " + c_.cfg.name + " yet";
      }
    }
    changes.push_back(std::move(ch));
  }

  // Managed membership: only members omnisync added are ever removed.
  std::vector<std::string> removal_ids;
  for (const auto& ch : changes)
    if (ch.what == change::fate::send && !ch.add) removal_ids.push_back(ch.member);
  if (!removal_ids.empty()) {
    auto known = co_await ctx_.db.membership_known(segment, c_.cfg.name, removal_ids);
    if (!known) {
      for (auto& ch : changes)
        if (ch.what == change::fate::send && !ch.add) ch.what = change::fate::retry, ch.why = known.error().message();
    } else {
      const std::map<std::string, std::string> ours(known->begin(), known->end());  // member → row id
      for (auto& ch : changes) {
        if (ch.what != change::fate::send || ch.add) continue;
        if (auto o = ours.find(ch.member); o != ours.end()) {
          ch.row = o->second;
          continue;
        }
        ch.what = change::fate::noop;
        ch.why = "not added by omnisync: not removed";
        spdlog::info("{}: segment {}: member {} was not added by omnisync; its removal is not sent", c_.cfg.name,
                     segment, ch.member);
      }
    }
  }

  // The safety brake: a mass removal holds the segment's sync here instead of being sent. Writes a release let
  // through (queued before `segment release`) are not counted, and go even when newer ones trip it again.
  const auto brakes = [&released](const change& ch) {
    if (ch.what != change::fate::send) return false;
    auto r = released.find(ch.item->id);
    return r == released.end() || r->second != ch.item->write.record_key;
  };
  std::int64_t removals = 0, adds = 0;
  for (const auto& ch : changes)
    if (brakes(ch)) (ch.add ? adds : removals) += 1;
  if (!held_.count(segment) && removals > 0) {
    if (policy.max_churn_per_run > 0 && removals > policy.max_churn_per_run) {
      hold(segment, std::to_string(removals) + " removals at once exceed max_churn_per_run " +
                        std::to_string(policy.max_churn_per_run) +
                        " (safety brake: omnisyncctl segment release " + segment + ", or raise it and reload)");
    } else if (policy.min_size > 0) {
      auto size = co_await ctx_.db.membership_size(segment, c_.cfg.name);
      if (size && *size + adds - removals < policy.min_size)
        hold(segment, "removing " + std::to_string(removals) + " of " + std::to_string(*size) +
                          " members would leave fewer than min_size " + std::to_string(policy.min_size) +
                          " (safety brake: omnisyncctl segment release " + segment + ", or reload)");
    }
  }
  if (held_.count(segment))
    for (auto& ch : changes)
      if (brakes(ch)) ch.what = change::fate::retry, ch.held = true, ch.why = "segment sync held: " + segment;

  // Send, per (list, resubscribe).
  std::map<std::int64_t, adapters::write_result> results;
  std::vector<adapters::write_result> readded;  // members re-added to a recreated audience (no outbox entry)
  std::map<std::pair<std::string, bool>, std::vector<change*>> groups;
  for (auto& ch : changes)
    if (ch.what == change::fate::send) groups[{ch.list, ch.resubscribe}].push_back(&ch);
  for (auto& [key, group] : groups) {
    adapters::audience_spec spec{segment, key.first, key.second};
    std::vector<adapters::membership_item> batch;
    for (auto* ch : group) batch.push_back({ch->item->id, ch->member, ch->add, ch->row});
    bool recreated = false;
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto id = co_await audience(spec);
      omnisync::result<std::vector<adapters::write_result>> sent = id.has_value()
          ? omnisync::result<std::vector<adapters::write_result>>(std::vector<adapters::write_result>{})
          : omnisync::result<std::vector<adapters::write_result>>(id.error());
      if (id) {
        const std::size_t n = std::max<std::size_t>(1, c_.adapter->max_membership_batch());
        for (std::size_t at = 0; at < batch.size() && sent; at += n) {
          std::vector<adapters::membership_item> part(batch.begin() + static_cast<std::ptrdiff_t>(at),
                                                      batch.begin() + static_cast<std::ptrdiff_t>(std::min(batch.size(), at + n)));
          auto r = co_await c_.adapter->change_membership(spec, *id, std::move(part));
          if (r) sent->insert(sent->end(), r->begin(), r->end());
          else sent = r.error();
        }
      }
      if (sent) {
        for (auto& r : *sent) {
          if (r.outbox_id == 0) readded.push_back(std::move(r));
          else results[r.outbox_id] = std::move(r);
        }
        break;
      }
      if (sent.error() == errc::not_found && id && attempt == 0) {
        // The list/tag/campaign was deleted outside omnisync.
        audiences_.erase(spec.segment_key + "\n" + spec.name);
        if (!policy.recreate_missing) {
          hold(segment, "'" + spec.name + "' was deleted in " + c_.cfg.name + " outside omnisync (on_missing_list: report)");
          for (auto* ch : group) ch->what = change::fate::reject, ch->why = "'" + spec.name + "' was deleted in " +
                                                                  c_.cfg.name + " outside omnisync (on_missing_list: report)";
          break;
        }
        log_with(spdlog::level::warn, fields_of(c_, object),
                 "{}: '{}' of segment {} was deleted outside omnisync; recreating it with the members omnisync added",
                 c_.cfg.name, spec.name, segment);
        if (!recreated) {
          recreated = true;
          auto members = co_await ctx_.db.membership_members(segment, c_.cfg.name);
          if (members) {
            std::set<std::string> in_batch;
            for (const auto& b : batch) in_batch.insert(b.member_id);
            for (const auto& [member, profile] : *members)
              if (!in_batch.count(member)) batch.push_back({0, member, true, {}});  // re-added, no outbox entry
          }
        }
        continue;
      }
      const bool cannot = sent.error() == errc::invalid_input;
      for (auto* ch : group) {
        ch->what = cannot ? change::fate::reject : change::fate::retry;
        ch->why = cannot ? c_.cfg.name + " connector cannot hold segment membership (" + spec.name + ")"
                         : sent.error().message();
      }
      break;
    }
  }

  // Settle: acknowledged membership first (a crash before the outbox settles sends the writes again: harmless).
  std::vector<store::acked_member> added;
  std::vector<std::string> removed;
  store::write_settlement settle;
  std::vector<std::int64_t> written_runs, refused_runs;
  std::map<std::string, std::size_t> refusals;
  auto audit = [&](const change& ch, const std::string& outcome, const std::string& answer,
                   const std::string& request_id) {
    store::audit_entry e;
    e.at = now;
    e.connector = c_.cfg.name;
    e.object = object;
    e.record_id = ch.member;
    e.field = "membership";
    e.after = ch.add ? "\"added\"" : "\"removed\"";
    e.attribute = ch.list;
    e.rule = "segment " + segment;
    e.profile_id = ch.item->write.profile_id;
    e.request_id = request_id;
    e.outcome = outcome;
    e.answer = answer.substr(0, 500);
    settle.audit.push_back(std::move(e));
  };
  auto dead_letter = [&](const change& ch, const std::string& why, bool retryable) {
    json::object meta{{"profile_id", ch.item->write.profile_id}};
    if (!ch.member.empty()) meta["target_id"] = ch.member;
    store::dead_letter_entry e(store::retry_target::outbox, c_.cfg.name, object, ch.item->write.record_key,
                               std::string(), "write", why, ch.item->write.payload, json::serialize(meta));
    e.retryable = retryable;
    settle.dead_letters.emplace_back(ch.item->id, std::move(e));
    refused_runs.push_back(ch.item->write.run);
    ++refusals[why];
  };
  // Held writes wait without using up their attempts (a hold is no failure), re-checked with a capped backoff —
  // at once when a release came while this chunk was out.
  bool released_meanwhile = false;
  {
    std::lock_guard lk(ctx_.mu);
    released_meanwhile = ctx_.membership_releases.count({segment, c_.cfg.name}) > 0;
  }
  std::size_t ok = 0, retried = 0;
  bool release_settled = false;
  for (auto& ch : changes) {
    const auto* it = ch.item;
    if (ch.what == change::fate::send) {
      auto r = results.find(it->id);
      if (r == results.end()) ch.what = change::fate::retry, ch.why = "no result from the adapter";
      else if (r->second.status == adapters::write_result::outcome::written) ch.what = change::fate::noop, ch.why.clear();
      else if (r->second.status == adapters::write_result::outcome::rejected) ch.what = change::fate::reject, ch.why = r->second.error;
      else ch.what = change::fate::retry, ch.why = r->second.error;
      if (r != results.end() && ch.what == change::fate::noop) {
        if (ch.add) added.emplace_back(ch.member, it->write.profile_id, r->second.row_id);
        else removed.push_back(ch.member);
        audit(ch, "written", "", r->second.request_id);
      } else if (r != results.end() && ch.what == change::fate::reject) {
        audit(ch, "rejected", ch.why, r->second.request_id);
      }
    } else if (ch.what == change::fate::noop) {
      audit(ch, "written", ch.why, "");
    }
    switch (ch.what) {
      case change::fate::noop:
        settle.acked.push_back(it->id);
        settle.written.emplace_back(it->write.payload);
        written_runs.push_back(it->write.run);
        ++ok;
        break;
      case change::fate::reject:
        dead_letter(ch, ch.why, false);
        break;
      case change::fate::retry:
        if (ch.held) {
          // The claim is given back (uncounted): a re-check never reached the vendor, so however long the hold
          // and however it ends (release or reload), the write keeps its whole retry budget. The backoff counts
          // the re-checks here instead (in memory: a restart starts it again).
          ++retried;
          const int checks = ++held_checks_[it->id];
          const auto wait = ctx_.opt.write_retry * (1 << std::min(checks, 5));
          settle.retried.emplace_back(it->id, ch.why, released_meanwhile ? now : now + wait, /*uncounted=*/true);
        } else if (it->attempts >= ctx_.opt.max_write_attempts) {
          dead_letter(ch, ch.why, true);
        } else {
          ++retried;
          settle.retried.emplace_back(it->id, ch.why, now + ctx_.opt.write_retry * (1 << std::min(it->attempts, 8)));
        }
        break;
      case change::fate::send:
        break;
    }
    if (ch.what != change::fate::retry && released.erase(it->id) > 0)  // settled: a release lets a write through once
      release_settled = true;
    if (!ch.held) held_checks_.erase(it->id);
  }
  // Members re-added to a recreated list (no outbox entry of their own): recorded again on success.
  for (const auto& r : readded)
    if (r.status == adapters::write_result::outcome::written && !r.destination_id.empty())
      added.emplace_back(r.destination_id, std::string(), r.row_id);
  if (!added.empty() || !removed.empty()) {
    auto rec = co_await ctx_.db.membership_record(segment, c_.cfg.name, std::move(added), std::move(removed));
    if (!rec)
      spdlog::error("{}: recording the acknowledged membership of segment {} failed: {} (the writes are sent again)",
                    c_.cfg.name, segment, rec.error().message());
    if (!rec) co_return;  // their claims expire and they are sent again (idempotent)
  }
  settle.runs = run_write_deltas(c_.cfg.name, written_runs, refused_runs, {});
  const auto rejected = settle.dead_letters.size();
  auto settled = co_await ctx_.db.outbox_settle(std::move(settle));
  if (!settled) {
    spdlog::error("{}: storing the outcome of {} membership write(s) of segment {} failed: {}", c_.cfg.name,
                  items.size(), segment, settled.error().message());
    co_return;
  }
  if (release_settled) co_await store_release(segment);  // after the outcome: a crash before it keeps the release
  for (const auto& [why, n] : refusals) {
    auto fields = fields_of(c_, object);
    fields.error = "rejected";
    log_with(spdlog::level::warn, fields, "{}: {} membership change(s) of segment {} refused: {} (dead-lettered: "
             "omnisyncctl dlq list)", c_.cfg.name, n, segment, why.substr(0, 300));
  }
  for (std::size_t i = 0; i < rejected; ++i) {
    ctx_.letters.added(c_.cfg.name, object, "write");
    if (ctx_.m.dead_letters) ctx_.m.dead_letters->with({c_.cfg.name, "write"}).inc();
  }
  if (ctx_.m.writes_out) {
    ctx_.m.writes_out->with({c_.cfg.name, object, "written"}).inc(static_cast<double>(ok));
    ctx_.m.writes_out->with({c_.cfg.name, object, "rejected"}).inc(static_cast<double>(rejected));
    ctx_.m.writes_out->with({c_.cfg.name, object, "retried"}).inc(static_cast<double>(retried));
  }
  std::lock_guard lk(ctx_.mu);
  c_.counters.writes_ok += static_cast<std::int64_t>(ok);
  c_.counters.writes_rejected += static_cast<std::int64_t>(rejected);
  c_.counters.writes_retried += static_cast<std::int64_t>(retried);
}

}  // namespace omnisync::sync::detail
