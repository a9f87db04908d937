// The pipeline's part of the append-only history (history_writer.hpp): after a rebuild, the snapshots taken again,
// the one-time seed of a store that had profiles before the history, and the analytics index loaded from the store.
#include <spdlog/spdlog.h>

#include <chrono>

#include "daemon/sync/failpoint.hpp"
#include "daemon/sync/pipeline.hpp"

namespace omnisync::sync::detail {

namespace asio = boost::asio;

namespace {
constexpr const char* seeded_key = "history.seeded";
constexpr std::size_t seed_chunk = 5000;  // rows per transaction while seeding
}  // namespace

asio::awaitable<void> pipeline::history_after_rebuild() {
  auto seeded = co_await ctx_.db.meta_get(seeded_key);
  const bool seed = seeded && !*seeded;
  std::vector<store::history_entry> rows;
  {
    std::lock_guard lk(book_mu_);
    rows = history_.reset(*book_, seed);
  }
  if (seed) {
    // Profiles that existed before the history: their current stage and KPIs, once, as initial rows.
    bool ok = true;
    for (std::size_t i = 0; i < rows.size() && ok; i += seed_chunk) {
      std::vector<store::history_entry> chunk(rows.begin() + static_cast<std::ptrdiff_t>(i),
                                              rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), i + seed_chunk)));
      auto r = co_await ctx_.db.history_append(std::move(chunk));
      if (!r) {
        spdlog::error("history: seeding the initial stages failed: {}", r.error().message());
        ok = false;
      }
    }
    if (ok) {
      auto r = co_await ctx_.db.meta_set(seeded_key, "1");
      if (!r) spdlog::error("history: marking the history seeded failed: {}", r.error().message());
      else if (!rows.empty()) spdlog::info("history: {} initial row(s) for the profiles that existed before it", rows.size());
    }
  }
  // The analytics index is loaded once per leadership: a rebuild for a reload keeps it (live pages added theirs),
  // an instance that leads a cluster again loads it afresh (the other leader stored rows meanwhile, and the rows
  // this instance added live carry no id to catch up from), and so does a retry after a failed load (the rows it
  // took and those pages added since would count twice). Reports are refused until it is complete
  // (control/commands/report.cpp).
  const auto leadership = ctx_.leaderships.load();
  if (history_loaded_for_ == leadership) co_return;
  ctx_.history.set_state(analytics::history_index::load_state::loading);
  ctx_.history.clear();
  if (history_loaded_for_ >= 0) spdlog::info("history: leading again; the analytics index is loaded afresh");
  // Test hook (failpoint.hpp): the load waits here while `history_load_hold - -` is set.
  while (failpoint_active("history_load_hold", "-", "-")) co_await ctx_.clk.sleep_for(std::chrono::milliseconds(50));
  // Every stored row, in pages by id (live pages add theirs after this).
  store::history_filter f;
  f.limit = 10000;
  std::size_t n = 0;
  const auto load0 = std::chrono::steady_clock::now();  // for the log line only
  for (;;) {
    auto page = co_await ctx_.db.history_query(f);
    if (!page) {
      spdlog::error("history: loading the analytics index failed: {} (reports are refused until it loads: at the "
                    "next reload or restart)", page.error().message());
      ctx_.history.set_state(analytics::history_index::load_state::failed);
      co_return;
    }
    if (page->empty()) break;
    f.after_id = page->back().id;
    n += page->size();
    ctx_.history.add(*page);
  }
  history_loaded_for_ = leadership;
  ctx_.history.set_state(analytics::history_index::load_state::complete);
  const auto st = ctx_.history.stats();
  spdlog::info("history: {} row(s) of {} profile(s) loaded for the analytics reports in {} ms (index about {} MB; "
               "history.max_rows {})",
               n, st.profiles,
               std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - load0).count(),
               st.bytes / 1048576, ctx_.opt.history_max_rows);
}

void pipeline::history_stored(const std::vector<store::history_entry>& rows) {
  if (!rows.empty()) ctx_.history.add(rows);
}

}  // namespace omnisync::sync::detail
