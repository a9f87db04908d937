#include "daemon/sync/dead_letters.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "daemon/sync/context.hpp"

namespace omnisync::sync::detail {
namespace asio = boost::asio;
using std::chrono::milliseconds;

std::string resolver::key_of(const std::string& connector, const std::string& object, const std::string& stage) {
  return connector + '\n' + object + '\n' + stage;
}

void resolver::added(const std::string& connector, const std::string& object, const std::string& stage) {
  std::lock_guard lk(mu_);
  auto& k = known_[key_of(connector, object, stage)];
  ++k.generation;
  k.none_since.reset();
}

void resolver::forget() {
  std::lock_guard lk(mu_);
  for (auto& [key, k] : known_) {
    ++k.generation;
    k.none_since.reset();
  }
}

asio::awaitable<void> resolver::succeeded(store::store& db, clock& clk, std::string connector, std::string object,
                                          std::string stage, std::vector<std::string> record_ids) {
  if (record_ids.empty()) co_return;
  const auto key = key_of(connector, object, stage);
  std::uint64_t generation = 0;
  {
    std::lock_guard lk(mu_);
    auto& k = known_[key];
    if (k.none_since && clk.steady_now() - *k.none_since < recheck_) co_return;
    generation = k.generation;
  }
  auto done = co_await db.dead_letter_resolve(connector, object, stage, std::move(record_ids));
  if (!done) {
    const auto code = error_code_name(done.error());
    log_with(spdlog::level::warn, log_fields{connector, object, {}, {}, code},
             "{}: resolving dead letters of {} failed: {}", connector, object, done.error().message());
    co_return;
  }
  if (*done > 0)
    log_with(spdlog::level::info, log_fields{connector, object, {}, {}, {}},
             "{}: {} dead letter(s) of {} at stage {} resolved (the records succeeded since)", connector, *done,
             object, stage);
  store::dead_letter_filter f(connector, stage, 0, 1);
  f.object = object;
  auto left = co_await db.dead_letter_list(std::move(f));
  if (!left || !left->items.empty()) co_return;
  std::lock_guard lk(mu_);
  auto& k = known_[key];
  if (k.generation == generation) k.none_since = clk.steady_now();  // unless one was added meanwhile
}

namespace {

/// Queues again the open retryable entries whose time has come; returns how many.
asio::awaitable<std::int64_t> retry_due(context& ctx) {
  const auto now = ctx.now();
  std::vector<std::int64_t> due;
  store::dead_letter_filter f(std::nullopt, std::string("write"), 0, 1000);
  f.retryable_only = true;
  for (;;) {
    auto page = co_await ctx.db.dead_letter_list(f);
    if (!page) {
      spdlog::warn("dead letters: reading the retryable ones failed: {}", page.error().message());
      co_return 0;
    }
    for (const auto& d : page->items) {
      if (d.retries >= ctx.opt.dead_letter_retries) continue;
      const auto wait = ctx.opt.dead_letter_backoff * (std::int64_t{1} << std::min<std::int64_t>(d.retries, 20));
      if (d.created_at + wait <= now) due.push_back(d.id);
    }
    if (page->next_after_id == 0) break;
    f.after_id = page->next_after_id;
  }
  if (due.empty()) co_return 0;
  auto queued = co_await ctx.db.dead_letter_retry_scheduled(std::move(due));
  if (!queued) {
    spdlog::warn("dead letters: the scheduled retry failed: {}", queued.error().message());
    co_return 0;
  }
  for (auto* c : ctx.list()) c->outbox_bell.notify();
  if (*queued > 0)
    spdlog::info("dead letters: {} write(s) refused for a transient reason queued again (scheduled retry)", *queued);
  co_return *queued;
}

}  // namespace

asio::awaitable<void> retry_schedule(context& ctx) {
  const auto every = std::clamp(ctx.opt.dead_letter_backoff / 4, milliseconds(50), milliseconds(30000));
  std::optional<clock::steady_point> pruned;
  for (;;) {
    if (ctx.leading() && ctx.opt.dead_letter_retries > 0) co_await retry_due(ctx);
    if (ctx.leading() && (!pruned || ctx.clk.steady_now() - *pruned >= std::chrono::hours(1))) {
      store::dead_letter_filter old;
      old.state = store::dead_letter_state::resolved;
      old.until = ctx.now() - ctx.opt.dead_letter_keep_resolved;
      auto gone = co_await ctx.db.dead_letter_drop_matching(std::move(old));
      if (!gone) spdlog::warn("dead letters: removing old resolved entries failed: {}", gone.error().message());
      else if (*gone > 0) spdlog::info("dead letters: {} resolved entr{} past the retention removed", *gone,
                                       *gone == 1 ? "y" : "ies");
      pruned = ctx.clk.steady_now();
    }
    co_await ctx.clk.sleep_for(every);
  }
}

}  // namespace omnisync::sync::detail
