#include "daemon/sync/inbox.hpp"

#include <spdlog/spdlog.h>

#include <map>

namespace omnisync::sync::detail {
namespace asio = boost::asio;
using std::chrono::milliseconds;

asio::awaitable<void> inbox_processor::run(connector_state& owner) {
  mapping::evaluator_cache evals;
  for (;;) {
    if (owner.paused.load() || !ctx_.leading()) {
      co_await ctx_.clk.sleep_for(milliseconds(100));
      continue;
    }
    std::vector<store::inbox_item> claimed;
    {
      auto got = co_await ctx_.db.inbox_claim(ctx_.opt.inbox_batch, ctx_.opt.inbox_lease, owner.cfg.name);
      if (got) claimed = std::move(*got);
    }
    if (claimed.empty()) {
      co_await owner.inbox_bell.wait(ctx_.clk, ctx_.opt.queue_idle);
      continue;
    }
    std::vector<std::int64_t> done;
    for (auto& it : claimed) {
      auto* c = ctx_.find(it.event.connector);
      if (!c) {
        co_await quarantine(it, "connector", "no connector named " + it.event.connector + " is configured");
        done.push_back(it.id);
        continue;
      }
      if (c->paused.load()) {
        std::vector<std::int64_t> one{it.id};
        co_await ctx_.db.inbox_nack(std::move(one), "paused", ctx_.now() + milliseconds(1000));
        continue;
      }
      auto parsed = c->adapter->parse_event(it.event);
      if (!parsed) {
        co_await quarantine(it, "parse", "malformed event: " + parsed.error().message());
        done.push_back(it.id);
        continue;
      }
      std::string error;
      // The event's records per object; the records it only names are fetched now.
      std::map<std::string, std::vector<store::source_record>> by_object;
      for (auto& r : parsed->records) by_object[r.object].push_back(std::move(r.record));
      std::map<std::string, std::vector<std::string>> refetch;
      for (auto& [obj, id] : parsed->refetch) refetch[obj].push_back(id);
      for (auto& [obj, ids] : refetch) {
        auto got = co_await c->adapter->fetch(obj, ids);
        if (!got) {
          error = "fetching " + obj + ": " + got.error().message();
          break;
        }
        for (auto& r : *got) by_object[obj].push_back(std::move(r));
      }
      if (error.empty()) {
        for (auto& [obj, recs] : by_object) {
          std::vector<adapters::event_records::announcement> told;
          for (const auto& a : parsed->announced)
            if (a.object == obj) told.push_back(a);
          auto stored = co_await pipeline_.store_records(*c, obj, std::move(recs), std::nullopt, false, evals,
                                                         c->find(obj), std::move(told));
          if (!stored) {
            error = "store: " + stored.error().message();
            break;
          }
        }
      }
      if (error.empty()) {
        done.push_back(it.id);
        std::lock_guard lk(ctx_.mu);
        ++c->counters.events_in;
      } else if (it.attempts >= ctx_.opt.max_inbox_attempts) {
        co_await quarantine(it, "process", error);
        done.push_back(it.id);
      } else {
        std::vector<std::int64_t> one{it.id};
        co_await ctx_.db.inbox_nack(std::move(one), error,
                                    ctx_.now() + ctx_.opt.error_pause * (1 << std::min(it.attempts, 6)));
      }
    }
    if (!done.empty()) co_await ctx_.db.inbox_ack(std::move(done));
  }
}

asio::awaitable<void> inbox_processor::quarantine(const store::inbox_item& it, const std::string& stage,
                                                  const std::string& why) {
  spdlog::warn("{}: webhook event {} quarantined ({}): {}", it.event.connector, it.event.dedupe_key, stage, why);
  store::dead_letter_entry e(store::retry_target::inbox, it.event.connector, std::string(), std::string(),
                             it.event.dedupe_key, stage, why, it.event.body, it.event.meta);
  co_await ctx_.db.dead_letter_add(std::move(e));
  if (ctx_.m.dead_letters) ctx_.m.dead_letters->with({it.event.connector, stage}).inc();
}

}  // namespace omnisync::sync::detail
