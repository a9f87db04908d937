// Remap: the stored source records mapped again with the current inbound mappings and taken through the pipeline
// (book, propagation, writes), a page at a time, with no vendor API call. See pipeline.hpp (remap_page) and
// engine.hpp (start_remap, run_remap).
#include <spdlog/spdlog.h>

#include "daemon/sync/pipeline.hpp"

namespace omnisync::sync::detail {
namespace asio = boost::asio;

asio::awaitable<omnisync::result<pipeline::remap_step>> pipeline::remap_page(connector_state& c, std::string object,
                                                                             std::string after, std::size_t limit,
                                                                             mapping::evaluator_cache& evals,
                                                                             std::int64_t run) {
  while (!ready_.load()) co_await ctx_.clk.sleep_for(std::chrono::milliseconds(20));  // the book loads first
  // The page is read inside the turnstile: a poll or webhook page stored meanwhile waits, so the book never
  // takes in a stored copy older than one it already holds.
  auto turn = co_await order_.acquire();
  auto page = co_await ctx_.db.record_scan(c.cfg.name, object, after, limit);
  if (!page) co_return page.error();
  remap_step step;
  if (page->empty()) co_return step;
  step.read = page->size();
  step.last_id = page->back().id;
  std::vector<store::source_record> recs;
  recs.reserve(page->size());
  for (auto& r : *page) {
    store::source_record s(std::move(r.id), std::move(r.payload), r.source_updated_at, r.deleted);
    s.first_seen = r.first_seen;
    s.facts = std::move(r.facts);
    recs.push_back(std::move(s));
  }
  page->clear();
  processed out;
  std::int64_t failures = 0;
  process(c, object, recs, evals, out, failures, {}, /*every_profile=*/true, run);
  step.failed = static_cast<std::size_t>(failures);
  step.mapped = out.mapped.size();
  for (auto& f : out.failures) {
    auto added = co_await ctx_.db.dead_letter_add(std::move(f));
    if (!added) co_return added.error();
    if (ctx_.m.dead_letters) ctx_.m.dead_letters->with({c.cfg.name, "mapping"}).inc();
    ctx_.letters.added(c.cfg.name, object, "mapping");
  }
  co_await ctx_.letters.succeeded(ctx_.db, ctx_.clk, c.cfg.name, object, "mapping", std::move(out.mapped));
  if (!out.writes.empty()) {
    for (auto& w : out.writes) w.run = run;
    auto q = co_await enqueue(std::move(out.writes));
    if (!q) co_return q.error();
    step.writes = *q;
  }
  // The same copies stored again with what the book decided now (their facts): a later rebuild decides the same.
  // The stamps are unchanged, so a copy stored since (none can be: the turnstile) would not be replaced.
  store::record_batch batch(c.cfg.name, object, std::move(recs), std::nullopt, ctx_.pipeline_fence());
  batch.history = out.history;  // a new mapping can move stages and KPIs: stored with the page
  auto sum = co_await ctx_.db.append_records(std::move(batch));
  if (!sum) co_return sum.error();
  history_stored(out.history);
  co_return step;
}

}  // namespace omnisync::sync::detail
