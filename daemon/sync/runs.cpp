#include "daemon/sync/runs.hpp"

#include <spdlog/spdlog.h>

#include <utility>

namespace omnisync::sync::detail {
namespace asio = boost::asio;

namespace {

/// Worst first: a run's outcome is the worst of its parts'.
int rank(const std::string& outcome) {
  if (outcome == "failed") return 3;
  if (outcome == "cancelled") return 2;
  if (outcome == "partial") return 1;
  return 0;
}

}  // namespace

std::vector<std::pair<std::int64_t, store::run_writes>> run_write_deltas(const std::string& destination,
                                                                         const std::vector<std::int64_t>& written_runs,
                                                                         const std::vector<std::int64_t>& refused_runs,
                                                                         const std::vector<std::int64_t>& unchanged_runs) {
  std::map<std::int64_t, store::run_writes> per_run;
  auto count = [&](const std::vector<std::int64_t>& runs, std::int64_t store::run_writes::*member) {
    for (const auto run : runs)
      if (run > 0) ++(per_run.try_emplace(run, destination, 0, 0, 0, 0).first->second.*member);
  };
  count(written_runs, &store::run_writes::written);
  count(refused_runs, &store::run_writes::refused);
  count(unchanged_runs, &store::run_writes::unchanged);
  return {per_run.begin(), per_run.end()};
}

asio::awaitable<void> count_run_writes(context& ctx, const std::string& destination,
                                       const std::vector<std::int64_t>& written_runs,
                                       const std::vector<std::int64_t>& refused_runs,
                                       const std::vector<std::int64_t>& unchanged_runs) {
  auto deltas = run_write_deltas(destination, written_runs, refused_runs, unchanged_runs);
  if (deltas.empty()) co_return;
  const auto n = deltas.size();
  auto done = co_await ctx.db.run_count_writes(std::move(deltas));
  if (!done)
    spdlog::warn("{}: the run history could not count {} run(s)' writes: {}", destination, n,
                 done.error().message());
}

void run_meter::start(std::string kind, std::int64_t existing) {
  kind_ = std::move(kind);
  pending_ = {};
  pending_queued_.clear();
  has_pending_ = false;
  flushed_ = ctx_.clk.steady_now();
  id_ = existing;
  active_ = true;
  started_ = ctx_.now();
  const auto u = c_.adapter->usage();
  calls_ = u.api_calls;
  quota_ = u.budget_used;
  os_.run = id_;
}

store::run_counts run_meter::usage_delta() {
  store::run_counts d;
  const auto u = c_.adapter->usage();
  d.api_calls = std::max<std::int64_t>(0, u.api_calls - calls_);
  calls_ = u.api_calls;
  if (u.budget_used >= 0 && quota_ >= 0) d.quota_used = std::max<std::int64_t>(0, u.budget_used - quota_);
  quota_ = u.budget_used;
  return d;
}

asio::awaitable<bool> run_meter::open() {
  if (!active_) co_return false;
  if (id_ > 0) co_return true;
  store::run_record r(kind_, c_.cfg.name, os_.st.object);
  r.started_at = started_;
  auto id = co_await ctx_.db.run_begin(std::move(r));
  if (!id) {
    spdlog::warn("{}: the run history could not record a {} of {}: {}", c_.cfg.name, kind_, os_.st.object,
                 id.error().message());
    co_return false;
  }
  id_ = *id;
  os_.run = id_;
  co_return true;
}

// The awaited results below are held in named variables, never tested inside the co_await expression: GCC 12
// miscompiles some coroutines that do (see daemon/store/README.md on co_await expressions).
asio::awaitable<void> run_meter::add(const page_tally& t) {
  if (!active_) co_return;
  store::run_counts d = t.counts;
  const store::run_counts u = usage_delta();
  d.api_calls += u.api_calls;
  d.quota_used += u.quota_used;
  const bool something = d.read > 0 || d.failed > 0 || !t.queued.empty();
  if (id_ == 0 && !something) {
    // Idle so far: the calls are counted once there is a row (kept in the samples until then).
    calls_ -= u.api_calls;
    if (quota_ >= 0) quota_ -= u.quota_used;
    co_return;
  }
  const bool have = co_await open();
  if (!have) co_return;
  pending_.read += d.read;
  pending_.stored += d.stored;
  pending_.mapped += d.mapped;
  pending_.failed += d.failed;
  pending_.api_calls += d.api_calls;
  pending_.quota_used += d.quota_used;
  for (const auto& [dest, n] : t.queued) pending_queued_[dest] += n;
  has_pending_ = true;
  // Counted in the store at most once per flush interval (and when the run ends): a long resync's pages add
  // one small transaction per interval, not one or two per page.
  if (ctx_.clk.steady_now() - flushed_ >= flush_every) co_await flush();
}

asio::awaitable<void> run_meter::flush() {
  flushed_ = ctx_.clk.steady_now();
  if (!has_pending_) co_return;
  has_pending_ = false;
  const auto d = std::exchange(pending_, store::run_counts{});
  auto queued = std::exchange(pending_queued_, {});
  const auto id = id_;
  if (id <= 0) co_return;
  auto added = co_await ctx_.db.run_add(id, d);
  if (!added) spdlog::warn("{}: the run history could not count run {}: {}", c_.cfg.name, id, added.error().message());
  if (queued.empty()) co_return;
  std::vector<std::pair<std::int64_t, store::run_writes>> q;
  for (const auto& [dest, n] : queued) q.emplace_back(id, store::run_writes(dest, n, 0, 0, 0));
  auto counted = co_await ctx_.db.run_count_writes(std::move(q));
  if (!counted)
    spdlog::warn("{}: the run history could not count run {}'s queued writes: {}", c_.cfg.name, id,
                 counted.error().message());
}

asio::awaitable<void> run_meter::note_failure() {
  if (!active_) co_return;
  const bool have = co_await open();
  if (!have) co_return;
  const store::run_counts d = usage_delta();
  const auto id = id_;
  auto added = co_await ctx_.db.run_add(id, d);
  if (!added) spdlog::warn("{}: the run history could not count run {}: {}", c_.cfg.name, id, added.error().message());
}

asio::awaitable<void> run_meter::finish(std::string outcome, std::string error) {
  if (!active_) co_return;
  co_await flush();
  active_ = false;
  release_current();
  const auto id = std::exchange(id_, 0);
  if (id == 0) {
    // Nothing read, written or failed: counted on the newest poll run of this object, no row of its own.
    auto idle = co_await ctx_.db.run_idle(c_.cfg.name, os_.st.object);
    if (!idle) spdlog::debug("{}: the run history could not count an idle cycle: {}", c_.cfg.name, idle.error().message());
    co_return;
  }
  auto done = co_await ctx_.db.run_finish(id, std::move(outcome), std::move(error));
  if (!done) spdlog::warn("{}: the run history could not end run {}: {}", c_.cfg.name, id, done.error().message());
}

asio::awaitable<void> run_meter::detach() {
  if (active_) co_await flush();
  active_ = false;
  release_current();
  id_ = 0;
}

void run_meter::release_current() {
  // Only its own: a lookup's meter ending must not hide the poll cycle the loop goes on with.
  auto mine = id_;
  os_.run.compare_exchange_strong(mine, 0);
}

std::optional<std::pair<std::string, std::string>> end_resync_part(context& ctx, std::int64_t run,
                                                                   const std::string& outcome,
                                                                   const std::string& error) {
  auto it = ctx.resyncs.find(run);
  if (it == ctx.resyncs.end()) return std::nullopt;
  auto& r = it->second;
  if (rank(outcome) > rank(r.outcome)) {
    r.outcome = outcome;
    if (!error.empty()) r.error = error;
  } else if (r.error.empty() && !error.empty()) {
    r.error = error;
  }
  if (--r.open > 0) return std::nullopt;
  auto out = std::make_pair(r.outcome, r.error);
  ctx.resyncs.erase(it);
  return out;
}

asio::awaitable<std::int64_t> close_interrupted_runs(context& ctx, store::timestamp before, bool pipeline_only) {
  // The table is small (runs.retention prunes it), so every page is read; the ids are gathered first so that
  // ending them does not move the pages under the reader.
  std::vector<std::int64_t> left;
  store::run_filter f;
  f.limit = 500;
  for (;;) {
    auto page = co_await ctx.db.run_list(f);
    if (!page) {
      spdlog::warn("runs: looking for runs a previous process left running failed: {}", page.error().message());
      co_return 0;
    }
    for (const auto& r : page->items) {
      if (r.outcome != "running" || r.started_at >= before) continue;
      if (pipeline_only && r.kind != "poll" && r.kind != "resync" && r.kind != "remap") continue;
      left.push_back(r.id);
    }
    if (page->next_after_id == 0) break;
    f.after_id = page->next_after_id;
  }
  std::int64_t closed = 0;
  for (const auto id : left) {
    auto done = co_await ctx.db.run_finish(id, "interrupted",
                                           "omnisyncd stopped while this run ran (killed or crashed); closed when "
                                           "the pipeline started again");
    if (done) ++closed;
    else spdlog::warn("runs: run {} could not be closed as interrupted: {}", id, done.error().message());
  }
  if (closed > 0)
    spdlog::warn("runs: {} run(s) left running by a process that stopped without ending them closed as interrupted",
                 closed);
  co_return closed;
}

}  // namespace omnisync::sync::detail
