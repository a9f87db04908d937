#include "daemon/sync/writer.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <spdlog/spdlog.h>

#include <map>

#include "daemon/profile/propagation.hpp"

namespace omnisync::sync::detail {
namespace asio = boost::asio;
namespace json = boost::json;
using std::chrono::milliseconds;

writer::writer(context& ctx, connector_state& c)
    : ctx_(ctx), c_(c), chunks_(ctx.ex, static_cast<std::size_t>(std::max(1, c.write_concurrency))) {}

asio::awaitable<void> writer::claims() {
  for (;;) {
    if (c_.paused.load()) {
      co_await ctx_.clk.sleep_for(milliseconds(100));
      continue;
    }
    const int free_slots = c_.write_concurrency - in_flight_.load();
    if (free_slots <= 0) {
      co_await c_.outbox_bell.wait(ctx_.clk, milliseconds(50));  // a finished chunk rings
      continue;
    }
    auto items = co_await ctx_.db.outbox_claim(
        std::max<std::size_t>(1, c_.adapter->max_batch("")) * static_cast<std::size_t>(free_slots),
        ctx_.opt.write_lease, c_.cfg.name);
    if (!items || items->empty()) {
      co_await c_.outbox_bell.wait(ctx_.clk, ctx_.opt.queue_idle);
      continue;
    }
    std::map<std::string, std::vector<store::outbox_item>> by_object;
    for (auto& it : *items) by_object[it.write.object].push_back(std::move(it));
    for (auto& [object, list] : by_object) {
      const std::size_t batch = std::max<std::size_t>(1, c_.adapter->max_batch(object));
      for (std::size_t at = 0; at < list.size(); at += batch) {
        chunk ch;
        ch.object = object;
        const auto end = std::min(list.size(), at + batch);
        ch.items.assign(std::make_move_iterator(list.begin() + static_cast<std::ptrdiff_t>(at)),
                        std::make_move_iterator(list.begin() + static_cast<std::ptrdiff_t>(end)));
        in_flight_.fetch_add(1);
        auto [ec] = co_await chunks_.async_send(boost::system::error_code(), std::move(ch),
                                                asio::as_tuple(asio::use_awaitable));
        if (ec) co_return;  // cancelled: stopping
      }
    }
  }
}

asio::awaitable<void> writer::work() {
  for (;;) {
    auto [ec, ch] = co_await chunks_.async_receive(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;  // cancelled: the daemon is stopping (claimed writes return to the queue at the next start)
    try {
      co_await write_items(std::move(ch.object), std::move(ch.items));
    } catch (const boost::system::system_error& e) {
      in_flight_.fetch_sub(1);
      if (e.code() == asio::error::operation_aborted) throw;  // stopping
      spdlog::error("{}: writing failed: {} (the writes are retried when their claim expires)", c_.cfg.name, e.what());
      continue;
    } catch (const std::exception& e) {
      spdlog::error("{}: writing failed: {} (the writes are retried when their claim expires)", c_.cfg.name, e.what());
    }
    in_flight_.fetch_sub(1);
    c_.outbox_bell.notify();
  }
}

asio::awaitable<void> writer::write_items(std::string object, std::vector<store::outbox_item> list) {
  auto& c = c_;
  std::vector<adapters::write_item> batch, deletions;
  std::map<std::int64_t, const store::outbox_item*> by_id;
  for (std::size_t i = 0; i < list.size(); ++i) {
    auto& to = list[i].write.payload == profile::deleted_payload ? deletions : batch;
    to.emplace_back(list[i].id, list[i].write.record_key, list[i].write.payload);
    to.back().target_id = list[i].write.target_id;
    by_id[list[i].id] = &list[i];
  }
  omnisync::result<std::vector<adapters::write_result>> res = std::vector<adapters::write_result>{};
  if (!batch.empty()) res = co_await c.adapter->write(object, std::move(batch));
  if (res && !deletions.empty()) {
    auto removed = co_await c.adapter->remove(object, std::move(deletions));
    if (removed) res->insert(res->end(), removed->begin(), removed->end());
    else res = removed.error();
  }
  std::vector<std::int64_t> ok;
  std::vector<const store::outbox_item*> retry, rejected;
  std::map<std::int64_t, std::string> errors;
  if (!res) {
    for (auto& [id, it] : by_id) {
      retry.push_back(it);
      errors[id] = res.error().message();
    }
  } else {
    for (const auto& r : *res) {
      auto f = by_id.find(r.outbox_id);
      if (f == by_id.end()) continue;
      if (r.status == adapters::write_result::outcome::written) ok.push_back(r.outbox_id);
      else if (r.status == adapters::write_result::outcome::rejected) rejected.push_back(f->second);
      else retry.push_back(f->second);
      errors[r.outbox_id] = r.error;
      by_id.erase(f);
    }
    for (auto& [id, it] : by_id) {  // the adapter said nothing about these: try again
      retry.push_back(it);
      errors[id] = "no result from the adapter";
    }
  }
  if (!ok.empty()) co_await ctx_.db.outbox_ack(ok);
  std::size_t retried = 0;
  for (const auto* it : retry) {
    if (it->attempts >= ctx_.opt.max_write_attempts) {
      rejected.push_back(it);
      continue;
    }
    ++retried;
    std::vector<std::int64_t> one{it->id};
    co_await ctx_.db.outbox_nack(std::move(one), errors[it->id],
                                 ctx_.now() + ctx_.opt.write_retry * (1 << std::min(it->attempts, 8)));
  }
  for (const auto* it : rejected) {
    json::object meta;
    if (!it->write.target_id.empty()) meta["target_id"] = it->write.target_id;
    store::dead_letter_entry e(store::retry_target::outbox, c.cfg.name, object, it->write.record_key, std::string(),
                               "write", errors[it->id], it->write.payload, json::serialize(meta));
    co_await ctx_.db.dead_letter_add(std::move(e));
    std::vector<std::int64_t> one{it->id};
    co_await ctx_.db.outbox_ack(std::move(one));  // leaves the queue; the dead letter holds it
    if (ctx_.m.dead_letters) ctx_.m.dead_letters->with({c.cfg.name, "write"}).inc();
  }
  if (ctx_.m.writes_out) {
    ctx_.m.writes_out->with({c.cfg.name, object, "written"}).inc(static_cast<double>(ok.size()));
    ctx_.m.writes_out->with({c.cfg.name, object, "rejected"}).inc(static_cast<double>(rejected.size()));
    ctx_.m.writes_out->with({c.cfg.name, object, "retried"}).inc(static_cast<double>(retried));
  }
  std::lock_guard lk(ctx_.mu);
  c.counters.writes_ok += static_cast<std::int64_t>(ok.size());
  c.counters.writes_rejected += static_cast<std::int64_t>(rejected.size());
  c.counters.writes_retried += static_cast<std::int64_t>(retried);
  for (auto& [id, e] : errors)
    if (!e.empty()) c.counters.last_write_error = e;
}

}  // namespace omnisync::sync::detail
