// `segment resume`: the membership writes a paused segment did not queue, caught up. Inside the pipeline's
// turnstile (no page, timer or backfill changes the membership meanwhile) the pause is cleared — transitions after
// this point are queued by the pipeline as usual — and, per `sync:` destination, the stored members are compared
// with what the destination acknowledged (sync::plan_membership, what `segment preview` shows): the adds and
// removes that differ are queued as membership writes, except where a queued write already carries that change.
// A queued write that would undo the wanted membership (queued before the pause, the person came back meanwhile)
// is replaced by the wanted one. Sent by the writer like any membership write: shadow mode and the brake apply.
#include <boost/json.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "daemon/sync/membership_policy.hpp"
#include "daemon/sync/pipeline.hpp"

namespace omnisync::sync::detail {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

/// The op ("add" | "remove") of a membership write's payload; "" when it has none.
std::string op_of(const std::string& payload) {
  boost::system::error_code ec;
  auto v = json::parse(payload, ec);
  const auto* o = ec ? nullptr : v.if_object();
  const auto* op = o ? o->if_contains("op") : nullptr;
  return op && op->is_string() ? std::string(op->as_string()) : std::string();
}

}  // namespace

asio::awaitable<omnisync::result<std::vector<segment_catch_up_of>>> pipeline::catch_up_segment(std::string key) {
  const auto set = ctx_.segs.get();
  const auto index = set->index_of(key);
  if (!index) co_return omnisync::errc::not_found;
  const auto def = set->segments()[static_cast<std::size_t>(*index)].def;
  auto turn = co_await order_.acquire();
  ctx_.segs.set_paused(key, false);

  std::vector<std::string> desired;  // the stored members, sorted by profile id (the store pages in that order)
  for (std::string after;;) {
    auto page = co_await ctx_.db.segment_members(key, after, 10000);
    if (!page) co_return page.error();
    for (auto& m : *page) desired.push_back(std::move(m.profile));
    if (page->size() < 10000) break;
    after = desired.back();
  }
  std::sort(desired.begin(), desired.end());

  const std::string object = "segment:" + key;
  std::vector<segment_catch_up_of> out;
  std::vector<store::outbox_write> writes;
  for (const auto& d : def.sync) {
    segment_catch_up_of tally;
    tally.connector = d.connector;
    std::string segment_key = key, connector = d.connector;
    auto acked = co_await ctx_.db.membership_members(std::move(segment_key), std::move(connector));
    if (!acked) co_return acked.error();
    // What is queued for the segment there (pending or being sent): per record, the newest write's op and target.
    std::map<std::string, std::pair<std::string, std::string>> queued;
    for (std::int64_t after = 0;;) {
      store::outbox_filter filter(d.connector, after, 1000);  // a named local: GCC 12 and co_await arguments
      auto page = co_await ctx_.db.outbox_pending(std::move(filter));
      if (!page) co_return page.error();
      for (const auto& it : page->items)
        if (it.write.object == object) queued[it.write.record_key] = {op_of(it.write.payload), it.write.target_id};
      if (page->next_after_id == 0) break;
      after = page->next_after_id;
    }
    std::function<std::string(const std::string&)> member_of = [this, &d](const std::string& pid) {
      auto rep = get(pid);
      return rep ? membership_member_id(rep->view, d.connector) : std::string();
    };
    const auto plan = plan_membership(desired, *acked, member_of);
    std::set<std::string> planned;
    const auto queue = [&](const std::string& profile, const std::string& member, bool add) {
      const std::string record = profile.empty() ? member : profile;
      planned.insert(record);
      if (auto q = queued.find(record); q != queued.end() && q->second.first == (add ? "add" : "remove")) {
        ++tally.already_queued;
        return;
      }
      // The payload as the pipeline writes it (segments_runtime.cpp): same text, so the outbox coalesces with it.
      json::object payload{{"op", add ? "add" : "remove"}, {"segment", key}, {"list", d.list}, {"resubscribe", d.resubscribe}};
      store::outbox_write w(d.connector, object, record, json::serialize(payload));
      w.target_id = member;
      w.profile_id = profile;
      writes.push_back(std::move(w));
      ++(add ? tally.adds : tally.removes);
    };
    for (const auto& c : plan.adds) queue(c.profile, c.member, true);
    for (const auto& c : plan.unresolved) queue(c.profile, c.member, true);  // its add waits for a record there
    for (const auto& c : plan.removes) queue(c.profile, c.member, false);
    // A queued write the plan does not need must not undo the membership wanted now: replaced by the wanted op.
    for (const auto& [record, q] : queued) {
      if (planned.count(record)) continue;
      const bool member = std::binary_search(desired.begin(), desired.end(), record);
      if (q.first == (member ? "add" : "remove")) continue;
      queue(record, q.second, member);
    }
    out.push_back(std::move(tally));
  }
  if (!writes.empty()) {
    auto q = co_await ctx_.db.outbox_enqueue(std::move(writes), ctx_.pipeline_fence());
    if (!q) co_return q.error();
    for (const auto& c : ctx_.list())
      for (const auto& t : out)
        if (c->cfg.name == t.connector && t.adds + t.removes > 0) c->outbox_bell.notify();
  }
  co_return out;
}

}  // namespace omnisync::sync::detail
