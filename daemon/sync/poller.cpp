#include "daemon/sync/poller.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/system/system_error.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <utility>

#include "core/health.hpp"
#include "core/time.hpp"
#include "daemon/sync/failpoint.hpp"
#include "daemon/sync/runs.hpp"

namespace omnisync::sync::detail {
namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

/// Why a poll failed, for `status` and the log: the connector's health in the vendor's words when the error is
/// what that health explains (credentials refused, no answer, quota), else the error class.
std::string poll_error(const connector_state& c, const boost::system::error_code& ec) {
  const auto h = c.adapter->usage().health;
  const bool explains = (ec == errc::auth_expired && h.state == health_state::unauthorized) ||
                        ((ec == errc::retry || ec == errc::timeout || ec == errc::fail) &&
                         h.state == health_state::unreachable) ||
                        (ec == errc::rate_limited &&
                         (h.state == health_state::quota_exhausted || h.state == health_state::degraded));
  return explains ? health_text(h) : ec.message();
}

}  // namespace

asio::awaitable<void> poller::nap(object_state& os, milliseconds d) {
  const auto until = ctx_.clk.steady_now() + d;
  while (ctx_.clk.steady_now() < until && !os.wake.exchange(false)) {
    auto left = std::chrono::duration_cast<milliseconds>(until - ctx_.clk.steady_now());
    co_await ctx_.clk.sleep_for(std::min(left, milliseconds(100)));
  }
}

asio::awaitable<void> poller::handle_lookups(connector_state& c, object_state& os, mapping::evaluator_cache& evals) {
  std::vector<resync_request> todo;
  {
    std::lock_guard lk(ctx_.mu);
    todo.swap(os.pending_lookups);
  }
  for (const auto& r : todo) {
    omnisync::result<std::vector<store::source_record>> got = make_error_code(errc::fail);
    if (r.what == resync_request::kind::id) {
      std::vector<std::string> ids{r.value};
      got = co_await c.adapter->fetch(os.st.object, std::move(ids));
    } else {
      got = co_await c.adapter->find_by_email(os.st.object, r.value);
    }
    std::string error;
    run_meter meter(ctx_, c, os);
    if (r.run > 0) meter.start("resync", r.run);
    if (!got) {
      error = got.error().message();
    } else {
      page_tally tally;
      tally.run = r.run;
      auto stored = co_await pipeline_.store_records(c, os.st.object, std::move(*got), std::nullopt, false, evals, &os,
                                                     {}, &tally);
      if (!stored) error = stored.error().message();
      else co_await meter.add(tally);
    }
    co_await meter.detach();
    co_await end_resync(r.run, error.empty() ? "ok" : "failed", error);
    std::lock_guard lk(ctx_.mu);
    os.st.resync_running = false;
    os.st.resync_finished = ctx_.now();
    os.st.resync_error = error;
  }
}

asio::awaitable<void> poller::run(connector_state& c, object_state& os) {
  run_meter meter(ctx_, c, os);  // the run the loop counts into: a poll cycle or a resync
  std::int64_t resync_run = 0;   // the running resync's run (0: none, or not recorded)
  std::exception_ptr failure;
  std::string what;
  try {
    co_await loop(c, os, meter, resync_run);
    co_return;
  } catch (const boost::system::system_error& e) {
    if (e.code() == asio::error::operation_aborted) throw;  // cancelled: the daemon is stopping
    failure = std::current_exception();
    what = e.what();
  } catch (const std::exception& e) {
    failure = std::current_exception();
    what = e.what();
  }
  // The loop ended with an exception (a defect, or a page nothing could handle): its run ends `failed` with the
  // reason, the object shows the error, and the exception goes on to the supervisor, which restarts the loop
  // after a backoff (supervise.hpp). The loop starts again from the stored cursor.
  const std::string why = "the poll loop failed: " + what;
  log_with(spdlog::level::err, fields_of(c, os), "{}: polling {} ended with an exception: {}", c.cfg.name,
           os.st.object, what);
  {
    std::lock_guard lk(ctx_.mu);
    os.st.last_error = why;
    os.st.last_attempt = ctx_.now();
    os.st.phase = "error";
    if (resync_run > 0) {
      os.st.resync_running = false;
      os.st.resync_finished = ctx_.now();
      os.st.resync_error = why;
    }
  }
  if (resync_run > 0) {
    co_await meter.detach();
    co_await end_resync(std::exchange(resync_run, 0), "failed", why);
  } else if (meter.active()) {
    co_await meter.note_failure();
    co_await meter.finish("failed", why);
  }
  std::rethrow_exception(failure);
}

asio::awaitable<void> poller::loop(connector_state& c, object_state& os, run_meter& meter, std::int64_t& resync_run) {
  mapping::evaluator_cache evals;
  unsigned failures = 0;
  std::optional<std::string> resync_cursor;  // position of a running full resync (nullopt: start)
  bool in_resync = false;
  std::optional<std::chrono::system_clock::time_point> since;
  std::vector<std::string> resync_fields;        // resync --fields: a partial re-read, no cursor of its own kept
  auto last_reconcile = ctx_.clk.steady_now();
  std::optional<adapters::page> prefetched;      // the next page, read while the previous one was stored
  std::optional<std::string> prefetched_for;     // the cursor it was read from
  bool initial_checked = false;                  // whether the first incremental poll looked for a stored cursor
  {
    std::lock_guard lk(ctx_.mu);
    os.st.polling_since = ctx_.now();
  }
  for (;;) {
    if (c.paused.load() || !ctx_.leading()) {
      {
        std::lock_guard lk(ctx_.mu);
        os.st.phase = ctx_.leading() ? "paused" : "standby";
        // A pause holds a running resync, which goes on at resume; an instance that lost the pipeline drops
        // it (the new leader reads from the stored cursors) and says so.
        if (!ctx_.leading() && in_resync) {
          os.st.resync_running = false;
          os.st.resync_finished = ctx_.now();
          os.st.resync_error = "stopped: this instance no longer runs the pipeline";
          in_resync = false;
        }
      }
      if (!ctx_.leading() && meter.active()) {
        // The new leader reads on from the stored cursors: this instance's run ends here.
        if (resync_run > 0) {
          co_await meter.detach();
          co_await end_resync(std::exchange(resync_run, 0), "cancelled", "this instance no longer runs the pipeline");
        } else {
          co_await meter.finish("cancelled", "this instance no longer runs the pipeline");
        }
      }
      prefetched.reset();
      co_await ctx_.clk.sleep_for(milliseconds(100));
      continue;
    }
    co_await handle_lookups(c, os, evals);
    std::optional<std::int64_t> picked_up;  // a resync request taken now, with its run
    std::int64_t replaced_run = 0;          // the resync it replaces, if one was running
    {
      std::lock_guard lk(ctx_.mu);
      if (os.pending_resync) {
        picked_up = os.pending_resync->run;
        if (in_resync) replaced_run = resync_run;
        prefetched.reset();
        in_resync = true;
        resync_cursor.reset();
        since.reset();
        // resync --since: checked when it was requested (engine::resync), so it reads here.
        if (os.pending_resync->what == resync_request::kind::since) since = parse_iso8601(os.pending_resync->value);
        resync_fields = os.pending_resync->fields;
        os.pending_resync.reset();
        os.st.resync_running = true;
        os.st.resync_read = os.st.resync_stored = 0;
        os.st.resync_started = ctx_.now();
        os.st.resync_finished = {};
        os.st.resync_error.clear();
      }
      os.st.phase = in_resync ? "resync" : "polling";
      os.st.last_attempt = ctx_.now();
    }
    if (picked_up) {
      // A poll cycle under way ends with what it did; a resync under way is replaced (its part cancelled).
      if (meter.active() && resync_run == 0) co_await meter.finish("ok");
      co_await meter.detach();
      if (replaced_run > 0) co_await end_resync(replaced_run, "cancelled", "replaced by a newer resync");
      resync_run = *picked_up;
      meter.start("resync", resync_run);
    }
    if (!meter.active()) meter.start("poll");  // a poll cycle begins (its row once it has something to count)
    adapters::page_request req;
    req.object = os.st.object;
    if (in_resync) {
      req.cursor = resync_cursor;
      req.mode = since ? adapters::poll_mode::incremental : adapters::poll_mode::full;
      if (since && !resync_cursor) req.since = since;
      req.fields = resync_fields;
    } else {
      auto cur = co_await ctx_.db.cursor_get(c.cfg.name, os.st.object);
      if (!cur) {
        co_await fail(c, os, failures, "store: " + cur.error().message(), meter, in_resync,
                    error_code_name(cur.error()));
        continue;
      }
      req.cursor = *cur;
      if (!initial_checked) {
        // No cursor stored: this object was never read; everything is read from the beginning now.
        initial_checked = true;
        if (!req.cursor) {
          std::lock_guard lk(ctx_.mu);
          os.st.initial_running = true;
          os.st.initial_started = ctx_.now();
          log_with(spdlog::level::info, fields_of(c, os), "{}: initial sync of {} started", c.cfg.name,
                   os.st.object);
        }
      }
    }
    const auto started = std::chrono::steady_clock::now();
    omnisync::result<adapters::page> pg = make_error_code(errc::retry);
    if (prefetched && prefetched_for == req.cursor) {
      pg = std::move(*prefetched);  // read while the previous page was being stored
    } else {
      pg = co_await c.adapter->poll(req);
    }
    prefetched.reset();
    if (!pg) {
      co_await fail(c, os, failures, poll_error(c, pg.error()), meter, in_resync,
                    error_code_name(pg.error()));
      continue;
    }
    if (failpoint_active("poll_throw", c.cfg.name, os.st.object)) {
      (void)co_await meter.open();  // the page's run exists, so that it can end `failed`
      throw std::runtime_error("failpoint poll_throw: a page of " + os.st.object + " that cannot be handled");
    }
    const bool more = pg->more;
    const auto page_records = static_cast<std::int64_t>(pg->records.size());
    const auto page_total = pg->total;
    auto next_cursor = pg->cursor;
    // A full resync keeps its own position and stores the cursor only at the end, so that the incremental
    // cursor stays valid if it is interrupted; its last page's cursor continues incrementally.
    std::optional<std::string> cursor_to_store = in_resync && more ? std::nullopt : next_cursor;
    if (in_resync && !resync_fields.empty() && pg->partial) cursor_to_store.reset();  // the incremental one stays
    // A page with records makes the poll cycle a run (its row first, so the writes it queues carry its id).
    if (!pg->records.empty()) co_await meter.open();
    page_tally tally;
    tally.run = meter.id();
    auto store_op = pipeline_.store_records(c, os.st.object, std::move(pg->records), cursor_to_store, pg->partial,
                                            evals, &os, {}, &tally);
    omnisync::result<store::append_summary> stored = make_error_code(errc::retry);
    if (more && !c.paused.load()) {
      // While this page is stored, the next one is read (its cursor is this page's): reading and storing
      // overlap. If storing fails, the prefetched page is dropped and the cursor stays where it was.
      adapters::page_request next_req(os.st.object, next_cursor, req.mode);
      next_req.fields = req.fields;
      using namespace boost::asio::experimental::awaitable_operators;
      auto both = co_await (std::move(store_op) && c.adapter->poll(next_req));
      stored = std::move(std::get<0>(both));
      if (stored && std::get<1>(both)) {
        prefetched = std::move(*std::get<1>(both));
        prefetched_for = next_cursor;
      }
    } else {
      stored = co_await std::move(store_op);
    }
    if (!stored) {
      prefetched.reset();
      co_await fail(c, os, failures, "store: " + stored.error().message(), meter, in_resync,
                    error_code_name(stored.error()));
      continue;
    }
    // The page's duration is measured in real time: it is a performance figure, not an interval the engine keeps.
    if (ctx_.m.page_seconds)
      ctx_.m.page_seconds->with({c.cfg.name})
          .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    failures = 0;
    log_with(spdlog::level::debug, fields_of(c, os), "{}: {} page polled: {} record(s), {} stored{}",
             c.cfg.name, os.st.object, page_records, stored->written, more ? ", more to read" : "");
    co_await meter.add(tally);  // counted with the writes it queued, in the store at the meter's next flush
    if (in_resync) resync_cursor = next_cursor;
    {
      std::lock_guard lk(ctx_.mu);
      ++os.st.pages;
      os.st.last_success = ctx_.now();
      os.st.last_error.clear();
      if (cursor_to_store) os.st.cursor = cursor_to_store;
      if (in_resync && !more) {
        os.st.resync_running = false;
        os.st.resync_finished = ctx_.now();
      }
      os.st.phase = "idle";
      if (!more) os.st.last_caught_up = ctx_.now();
      if (os.st.initial_running) note_initial_progress(c, os, page_records, page_total, more);
    }
    if (!more) {
      if (resync_run > 0 && in_resync) {
        co_await meter.detach();
        co_await end_resync(std::exchange(resync_run, 0), "ok", {});
      } else if (resync_run == 0) {
        co_await meter.finish("ok");
      }
      co_await meter.detach();
    }
    if (in_resync && !more) in_resync = false;
    if (!more && !os.caught_up.exchange(true)) co_await pipeline_.caught_up(c, os.st.object);
    if (!more) {
      if (c.reconcile_every.count() > 0 && ctx_.clk.steady_now() - last_reconcile >= c.reconcile_every) {
        co_await reconcile(c, os, evals);
        last_reconcile = ctx_.clk.steady_now();
      }
      co_await nap(os, c.cfg.poll_interval);
    }
  }
}

asio::awaitable<void> poller::end_resync(std::int64_t run, std::string outcome, std::string error) {
  if (run <= 0) co_return;
  std::optional<std::pair<std::string, std::string>> last;
  {
    std::lock_guard lk(ctx_.mu);
    last = end_resync_part(ctx_, run, outcome, error);
  }
  if (!last) co_return;
  auto done = co_await ctx_.db.run_finish(run, last->first, last->second);
  if (!done)
    spdlog::warn("the run history could not end resync run {}: {}", run, done.error().message());
}

void poller::note_initial_progress(connector_state& c, object_state& os, std::int64_t records,
                                   std::optional<std::int64_t> total, bool more) {
  auto& st = os.st;
  st.initial_read += records;
  // The first page that says how many there are gives the total (later pages count what is left after them).
  if (total && !st.initial_total) st.initial_total = *total;
  if (st.initial_total && *st.initial_total < st.initial_read) st.initial_total = st.initial_read;
  if (ctx_.m.initial_records) ctx_.m.initial_records->with({c.cfg.name, st.object}).set(double(st.initial_read));
  if (ctx_.m.initial_total)
    ctx_.m.initial_total->with({c.cfg.name, st.object}).set(st.initial_total ? double(*st.initial_total) : -1.0);
  if (more) return;
  st.initial_running = false;
  st.initial_done = true;
  st.initial_finished = ctx_.now();
  const double secs = std::chrono::duration<double>(st.initial_finished - st.initial_started).count();
  if (ctx_.m.initial_seconds) ctx_.m.initial_seconds->with({c.cfg.name, st.object}).set(secs);
  log_with(spdlog::level::info, fields_of(c, os), "{}: initial sync of {} done in {:.1f} s ({} records read)",
           c.cfg.name, st.object, secs, st.initial_read);
}

asio::awaitable<void> poller::fail(connector_state& c, object_state& os, unsigned& failures, std::string why,
                                   run_meter& meter, bool resync, std::string code) {
  auto fields = fields_of(c, os);
  fields.error = code;
  log_with(spdlog::level::warn, fields, "{}: polling {} failed: {}", c.cfg.name, os.st.object, why);
  if (meter.active() && !resync) {
    // A poll cycle that failed is a run of its own (the backoff below spaces them out); a resync goes on after
    // the pause, in the same run.
    co_await meter.note_failure();
    co_await meter.finish("failed", why);
  }
  {
    std::lock_guard lk(ctx_.mu);
    os.st.last_error = std::move(why);
    os.st.phase = "error";
  }
  auto pause = ctx_.opt.error_pause * (1u << std::min(failures, 6u));
  ++failures;
  co_await nap(os, std::min(pause, ctx_.opt.error_pause_cap));
}

asio::awaitable<void> poller::reconcile(connector_state& c, object_state& os, mapping::evaluator_cache& evals) {
  std::vector<std::string> live;
  std::optional<std::string> next;
  do {
    auto pg = co_await c.adapter->list_ids(os.st.object, next);
    if (!pg) co_return;  // not supported or failed: try at the next interval
    live.insert(live.end(), pg->ids.begin(), pg->ids.end());
    next = pg->next;
  } while (next);
  std::sort(live.begin(), live.end());
  std::string after;
  std::vector<store::source_record> gone;
  for (;;) {
    auto rows = co_await ctx_.db.record_scan(c.cfg.name, os.st.object, after, 1000);
    if (!rows || rows->empty()) break;
    for (const auto& r : *rows)
      if (!r.deleted && !std::binary_search(live.begin(), live.end(), r.id))
        gone.emplace_back(r.id, r.payload, r.source_updated_at, true);
    after = rows->back().id;
  }
  if (!gone.empty()) {
    log_with(spdlog::level::info, fields_of(c, os),
             "{}: {} {} record(s) deleted upstream without a trace (reconciliation)", c.cfg.name, gone.size(),
             os.st.object);
    co_await pipeline_.store_records(c, os.st.object, std::move(gone), std::nullopt, false, evals, &os);
  }
}

}  // namespace omnisync::sync::detail
