// dlq: the dead letters (records, events and writes that failed for good) — listed a page at a time, counted by
// reason, shown, retried or dropped, one entry or every entry a filter matches.
//
// A retry never replays what failed: a write goes back to the outbox as "this record", and the writer computes
// what it sends from the profile and the outbound mapping as they are then; a mapping failure (nothing queued to
// go back to) asks the engine to read the record from its system again, and its entry stays open until the
// record maps (then it is resolved) or fails again (then it is replaced); an event goes back to the inbox.
#include <boost/json.hpp>

#include <optional>

#include "core/time.hpp"
#include "daemon/control/catalogue.hpp"
#include "daemon/control/commands/groups.hpp"
#include "daemon/store/store.hpp"
#include "daemon/sync/engine.hpp"

namespace asio = boost::asio;
namespace json = boost::json;

namespace omnisync::control::commands {
namespace {

json::object dead_letter_json(const store::dead_letter& d, bool with_payload) {
  json::object o{{"id", d.id},
                 {"connector", d.entry.connector},
                 {"object", d.entry.object},
                 {"record_id", d.entry.record_id},
                 {"event_id", d.entry.event_id},
                 {"stage", d.entry.stage},
                 {"reason", d.entry.reason},
                 {"created_at", iso_text(d.created_at)},
                 {"retry_to", d.entry.target == store::retry_target::inbox    ? "inbox"
                              : d.entry.target == store::retry_target::outbox ? "outbox"
                              : d.entry.stage == "mapping"                   ? "source"
                                                                             : "none"},
                 {"retries", d.retries},
                 {"retryable", d.entry.retryable},
                 {"resolved_at", d.resolved_at ? json::value(iso_text(*d.resolved_at)) : json::value(nullptr)}};
  if (with_payload) {
    o["payload"] = d.entry.payload;
    o["meta"] = d.entry.meta;
  }
  return o;
}

std::int64_t arg_integer(const json::object& args, const char* key) {
  const auto* v = args.if_contains(key);
  return v && v->is_int64() ? v->as_int64() : 0;
}

bool arg_flag(const json::object& args, const char* key) {
  const auto* v = args.if_contains(key);
  return v && v->is_bool() && v->as_bool();
}

std::optional<std::string> arg_optional(const json::object& args, const char* key) {
  auto v = arg_text(args, key);
  if (v.empty()) return std::nullopt;
  return v;
}

/// The filter the arguments describe; a failure reply for a time that does not parse. `filtered` tells whether
/// any filter was given (a bulk retry or drop needs one, or `all`).
std::optional<reply> filter_of(const json::object& args, store::dead_letter_filter& f, bool& filtered) {
  f.connector = arg_optional(args, "connector");
  f.object = arg_optional(args, "object");
  f.stage = arg_optional(args, "stage");
  // The stages a dead letter can have (the inbox: parse, fetch, mapping; a poll: mapping; the writer: write): any
  // other value would match nothing and look like "no entries", so it is a usage error.
  if (f.stage && *f.stage != "parse" && *f.stage != "fetch" && *f.stage != "mapping" && *f.stage != "write")
    return reply::failure("usage", "unknown --stage '" + *f.stage + "': one of parse, fetch, mapping, write");
  f.reason = arg_text(args, "reason");
  const auto now = utc_now();
  for (const char* key : {"since", "until"}) {
    const auto text = arg_text(args, key);
    if (text.empty()) continue;
    auto t = parse_since(text, now);
    if (!t) return reply::failure("usage", std::string("--") + key + " needs a time (2026-11-01T00:00:00Z) or a "
                                                                      "duration back from now (30m, 2h, 7d)");
    (std::string_view(key) == "since" ? f.since : f.until) = t;
  }
  const auto state = arg_text(args, "state");
  f.state = state == "resolved" ? store::dead_letter_state::resolved
            : state == "any"    ? store::dead_letter_state::any
                                : store::dead_letter_state::open;
  filtered = f.connector || f.object || f.stage || !f.reason.empty() || f.since || f.until;
  return std::nullopt;
}

reply store_failure(const boost::system::error_code& e) { return reply::failure("store", e.message()); }

/// A `--connector` that names no configured connector. The store may still hold entries of a connector that was
/// removed from the config: list, stats, show and drop work on them (the reply names the connector as removed),
/// while retry is refused — there is no connector to send them to. A name with no entries at all stays the
/// usual unknown_connector error (with "did you mean"). Sets `removed` to the name when it is a removed connector's.
asio::awaitable<std::optional<reply>> check_connector(const context& ctx, const std::string& action,
                                                      const store::dead_letter_filter& f, std::string& removed) {
  removed.clear();
  if (!f.connector) co_return std::nullopt;
  auto unknown = unknown_connector(ctx, *f.connector);
  if (!unknown) co_return std::nullopt;
  store::dead_letter_filter any(f.connector, std::nullopt, 0, 1);
  any.state = store::dead_letter_state::any;
  auto held = co_await ctx.db->dead_letter_list(std::move(any));
  if (!held) co_return store_failure(held.error());
  if (held->items.empty()) co_return unknown;
  removed = *f.connector;
  if (action == "retry")
    co_return reply::failure("removed_connector",
                             "connector \"" + *f.connector + "\" is no longer configured: its dead letters cannot be "
                             "retried (add it back and reload to retry them, or drop them: omnisyncctl dlq drop "
                             "--connector " + *f.connector + ")");
  co_return std::nullopt;
}

/// A success whose result names the removed connector whose stored entries it is about (when it is).
reply mark_removed(json::object result, const std::string& removed) {
  if (!removed.empty()) result["removed_connector"] = removed;
  return reply::success(std::move(result));
}

asio::awaitable<reply> list(const context& ctx, const json::object& args) {
  store::dead_letter_filter f;
  bool filtered = false;
  if (auto bad = filter_of(args, f, filtered)) co_return *bad;
  std::string removed;
  if (auto refused = co_await check_connector(ctx, "list", f, removed)) co_return std::move(*refused);
  f.after_id = arg_integer(args, "after");
  const auto limit = args.contains("limit") ? arg_integer(args, "limit") : 100;
  if (limit < 1 || limit > 1000) co_return reply::failure("usage", "--limit must be 1 to 1000");
  f.limit = static_cast<std::size_t>(limit);
  auto page = co_await ctx.db->dead_letter_list(std::move(f));
  if (!page) co_return store_failure(page.error());
  json::array items;
  for (const auto& d : page->items) items.push_back(dead_letter_json(d, false));
  co_return mark_removed(json::object{{"items", std::move(items)}, {"next_after", page->next_after_id}},
                         removed);
}

asio::awaitable<reply> stats(const context& ctx, const json::object& args) {
  store::dead_letter_filter f;
  bool filtered = false;
  if (auto bad = filter_of(args, f, filtered)) co_return *bad;
  std::string removed;
  if (auto refused = co_await check_connector(ctx, "stats", f, removed)) co_return std::move(*refused);
  f.limit = 1000;
  auto groups = co_await ctx.db->dead_letter_stats(std::move(f));
  if (!groups) co_return store_failure(groups.error());
  json::array out;
  std::int64_t total = 0;
  for (const auto& g : *groups) {
    total += g.count;
    out.push_back(json::object{{"connector", g.connector}, {"object", g.object}, {"stage", g.stage},
                               {"reason", g.reason}, {"count", g.count}, {"first", iso_text(g.first)},
                               {"last", iso_text(g.last)}});
  }
  co_return mark_removed(json::object{{"groups", std::move(out)}, {"total", total}}, removed);
}

/// Asks the engine to read the record of a mapping failure again; false when it cannot (no engine, a standby
/// instance, or a connector or object no longer configured).
bool reread(const context& ctx, const store::dead_letter& d) {
  if (!ctx.engine || d.entry.stage != "mapping" || d.entry.record_id.empty()) return false;
  const auto cl = ctx.engine->cluster();
  if (cl.enabled && !cl.leader) return false;
  sync::resync_request req;
  req.connector = d.entry.connector;
  req.object = d.entry.object;
  req.what = sync::resync_request::kind::id;
  req.value = d.entry.record_id;
  return ctx.engine->request_resync(req).has_value();
}

/// Calls `each` for every entry `f` matches, a page at a time; false (with the error in `failed`) when a read failed.
template <class F>
asio::awaitable<bool> for_each_match(const context& ctx, store::dead_letter_filter f, std::optional<reply>& failed,
                                     F each) {
  f.limit = 1000;
  for (;;) {
    auto page = co_await ctx.db->dead_letter_list(f);
    if (!page) {
      failed = store_failure(page.error());
      co_return false;
    }
    for (const auto& d : page->items) each(d);
    if (page->next_after_id == 0) co_return true;
    f.after_id = page->next_after_id;
  }
}

asio::awaitable<reply> bulk(const context& ctx, const std::string& action, const json::object& args) {
  store::dead_letter_filter f;
  bool filtered = false;
  if (auto bad = filter_of(args, f, filtered)) co_return *bad;
  std::string removed;
  if (auto refused = co_await check_connector(ctx, action, f, removed)) co_return std::move(*refused);
  if (!filtered && !arg_flag(args, "all"))
    co_return reply::failure("usage", "dlq " + action + " needs an entry id, a filter (--connector, --object, "
                                      "--stage, --reason, --since, --until) or --all");
  std::optional<reply> failed;
  std::int64_t matched = 0;
  if (!co_await for_each_match(ctx, f, failed, [&](const store::dead_letter&) { ++matched; })) co_return *failed;
  if (arg_flag(args, "dry_run")) co_return mark_removed(json::object{{"matched", matched}}, removed);
  if (action == "drop") {
    auto n = co_await ctx.db->dead_letter_drop_matching(std::move(f));
    if (!n) co_return store_failure(n.error());
    co_return mark_removed(json::object{{"matched", matched}, {"dropped", *n}}, removed);
  }
  std::int64_t reread_n = 0;
  if (!f.stage || *f.stage == "mapping") {
    auto mapping = f;
    mapping.stage = "mapping";
    if (!co_await for_each_match(ctx, mapping, failed, [&](const store::dead_letter& d) {
          if (d.entry.target == store::retry_target::none && reread(ctx, d)) ++reread_n;
        }))
      co_return *failed;
  }
  auto done = co_await ctx.db->dead_letter_retry_matching(std::move(f));
  if (!done) co_return store_failure(done.error());
  // What the retry itself found open: entries may resolve by themselves between the count above and the retry
  // (their record written meanwhile, e.g. by a reload's re-check), and the reply's numbers must add up.
  matched = done->requeued + done->not_retryable;
  co_return reply::success(json::object{{"matched", matched},
                                        {"retried", done->requeued},
                                        {"reread", reread_n},
                                        {"not_retryable", done->not_retryable - reread_n}});
}

asio::awaitable<reply> one(const context& ctx, const std::string& action, std::int64_t id) {
  const auto missing = [id] { return reply::failure("not_found", "no dead letter " + std::to_string(id)); };
  if (action == "show") {
    auto d = co_await ctx.db->dead_letter_get(id);
    if (!d) co_return missing();
    co_return reply::success(dead_letter_json(*d, true));
  }
  if (action == "retry") {
    auto d = co_await ctx.db->dead_letter_get(id);
    if (!d) co_return missing();
    if (!d->entry.connector.empty() && unknown_connector(ctx, d->entry.connector))
      co_return reply::failure("removed_connector",
                               "connector \"" + d->entry.connector + "\" of this entry is no longer configured: it "
                               "cannot be retried (add the connector back and reload, or drop the entry)");
    if (d->entry.target == store::retry_target::none) {
      if (d->entry.stage == "mapping") {
        if (auto refusal = co_await standby_refusal(ctx, "re-reads")) co_return *refusal;
        if (reread(ctx, *d)) co_return reply::success(json::object{{"id", id}, {"reread", true}});
      }
      co_return reply::failure("not_retryable",
                               "this entry has nowhere to go back to (fix the cause, then resync the record)");
    }
  }
  auto r = action == "retry" ? co_await ctx.db->dead_letter_retry(id) : co_await ctx.db->dead_letter_drop(id);
  if (!r) {
    if (r.error() == errc::not_found) co_return missing();
    if (r.error() == errc::invalid_input)
      co_return reply::failure("not_retryable", "this entry has nowhere to go back to (fix the mapping and resync)");
    co_return store_failure(r.error());
  }
  co_return reply::success(json::object{{"id", id}, {action == "retry" ? "retried" : "dropped", true}});
}

asio::awaitable<reply> dlq(const context& ctx, json::object args) {
  const std::string action = arg_text(args, "action").empty() ? "list" : arg_text(args, "action");
  if (action == "list") co_return co_await list(ctx, args);
  if (action == "stats") co_return co_await stats(ctx, args);
  const std::int64_t id = arg_integer(args, "id");
  if (action == "show" && id <= 0) co_return reply::failure("usage", "dlq show needs an entry id");
  if ((action == "retry" || action == "drop") && id <= 0) co_return co_await bulk(ctx, action, args);
  if (action == "show" || action == "retry" || action == "drop") co_return co_await one(ctx, action, id);
  co_return reply::failure("usage", "dlq actions: list, show, stats, retry, drop");
}

}  // namespace

void add_dlq_command(command_table& table, const context& ctx) {
  table.add(catalogue::dlq, [&ctx](json::object a, event_sink&) { return dlq(ctx, std::move(a)); });
}

}  // namespace omnisync::control::commands
