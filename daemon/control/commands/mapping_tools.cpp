// remap, sample and fields: the commands that make a mapping change safe to try and cheap to apply.
//
// remap re-applies the current inbound mappings to the stored source records (the engine's run_remap, a page at a
// time, among the sync tasks the application awaits at shutdown; with follow, progress every 250 ms like resync);
// sample prints stored records as the vendor sent them — the input `omnisyncctl map` takes; fields lists a vendor
// object's fields from its metadata (the adapter's describe, as lint reads it).
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <memory>

#include "config/value_syntax.hpp"
#include "daemon/control/catalogue.hpp"
#include "daemon/control/commands/groups.hpp"
#include "daemon/sync/engine.hpp"

namespace asio = boost::asio;
namespace json = boost::json;

namespace omnisync::control::commands {
namespace {

/// An `object` argument naming none of `connector`'s objects (the engine's list, which holds the adapter's
/// defaults when the config names none): the `unknown_object` answer with "did you mean" and the list.
std::optional<reply> unknown_object(const context& ctx, const std::string& connector, const std::string& object) {
  if (!ctx.engine) return std::nullopt;
  std::vector<std::string> names;
  for (const auto& cs : ctx.engine->status()) {
    if (cs.name != connector) continue;
    for (const auto& os : cs.objects) {
      if (os.object == object) return std::nullopt;
      names.push_back(os.object);
    }
  }
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  return reply::failure("unknown_object", "connector \"" + connector + "\" has no object \"" + object + "\"" +
                                              config::did_you_mean(object, names) +
                                              (list.empty() ? std::string() : " (its objects: " + list + ")"));
}

json::object remap_json(const sync::remap_progress& p, double secs) {
  json::object o{{"read", p.read.load()},
                 {"mapped", p.mapped.load()},
                 {"failed", p.failed.load()},
                 {"writes_queued", p.writes_queued.load()},
                 {"writes_unchanged", p.writes_unchanged.load()},
                 {"elapsed_s", secs},
                 {"rate", secs > 0 ? double(p.read.load()) / secs : 0.0},
                 {"running", p.running.load()},
                 {"run", p.run.load()}};
  {
    std::lock_guard lk(p.mu);
    o["connector"] = p.connector;
    o["object"] = p.object;
    o["error"] = p.error;
  }
  if (p.estimated_total.load() >= 0) o["estimated_total"] = p.estimated_total.load();
  return o;
}

/// remap: args {connector?, object?, follow?}. Started as one of the engine's tasks; without follow the reply
/// names what it covers, with follow progress events every 250 ms and the summary when it finished.
asio::awaitable<reply> remap(const context& ctx, json::object args, event_sink& events) {
  auto* engine = ctx.engine;
  if (!engine) co_return reply::failure("unavailable", "the sync engine is not running");
  const std::string connector = arg_text(args, "connector");
  const std::string object = arg_text(args, "object");
  if (!object.empty() && connector.empty()) co_return reply::failure("usage", "remap of an object needs its connector");
  if (!connector.empty())
    if (auto refused = unknown_connector(ctx, connector)) co_return std::move(*refused);
  if (!object.empty())
    if (auto refused = unknown_object(ctx, connector, object)) co_return std::move(*refused);
  if (auto refused = co_await standby_refusal(ctx, "remaps")) co_return std::move(*refused);
  auto started = engine->start_remap(connector, object);
  if (!started) {
    if (started.error() == errc::conflict)
      co_return reply::failure("busy", "a remap is already running; wait for it (status shows the daemon busy "
                                       "while it runs) and try again");
    if (started.error() == errc::invalid_input)
      co_return reply::failure("usage", "no inbound mapping reads " + connector + " " + object +
                                            ": there is nothing to remap (mapping files: <kind>/" + object + ".in.yaml)");
    co_return reply::failure("unknown_object", "no connector \"" + connector + "\" with object \"" + object + "\"");
  }
  auto progress = *started;
  json::array covered;
  for (const auto& [name, objs] : progress->targets) {
    json::array os;
    for (const auto& o : objs) os.push_back(json::value(o));
    covered.push_back(json::object{{"connector", name}, {"objects", std::move(os)}});
  }
  ctx.logger("sync")->info("remap of {} requested", connector.empty() ? std::string("every connector")
                                                     : object.empty() ? connector
                                                                      : connector + " " + object);
  // (a plain lambda returning the coroutine: a lambda that is itself a coroutine would lose its captures)
  auto run = [](sync::engine* e, std::shared_ptr<sync::remap_progress> p) -> asio::awaitable<void> {
    co_await e->run_remap(std::move(p));
  };
  ctx.spawn_sync_task("remap", [run, engine, progress] { return run(engine, progress); });
  auto follow = args.if_contains("follow");
  if (!follow || !follow->is_bool() || !follow->as_bool())
    co_return reply::success(json::object{{"connectors", std::move(covered)}});
  const auto t0 = std::chrono::steady_clock::now();
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(std::chrono::milliseconds(250));
    co_await timer.async_wait(asio::use_awaitable);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto now = remap_json(*progress, secs);
    if (!progress->running.load()) {
      now["connectors"] = std::move(covered);
      co_return reply::success(std::move(now));
    }
    // The remap goes on when the client leaves (it is the engine's task, not this command's).
    if (!co_await events.emit(std::move(now))) co_return reply::failure("gone", "client went away");
  }
}

/// The stored payload as JSON (it was stored as the vendor's JSON text); a string when it does not parse.
json::value payload_json(const std::string& text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  return ec ? json::value(text) : v;
}

json::object sample_item(const store::stored_record& r) {
  return json::object{{"id", r.id},
                      {"payload", payload_json(r.payload)},
                      {"source_updated_at", iso_text(r.source_updated_at)},
                      {"deleted", r.deleted}};
}

/// sample: args {connector, object, id?, limit?, after?}: stored records in id order, or the one named.
asio::awaitable<reply> sample(const context& ctx, json::object args) {
  const std::string connector = arg_text(args, "connector");
  const std::string object = arg_text(args, "object");
  if (auto refused = unknown_connector(ctx, connector)) co_return std::move(*refused);
  if (auto refused = unknown_object(ctx, connector, object)) co_return std::move(*refused);
  json::array items;
  std::string next_after;
  if (const std::string id = arg_text(args, "id"); !id.empty()) {
    auto got = co_await ctx.db->record_get(connector, object, id);
    if (!got) co_return reply::failure("store", "reading the stored record failed: " + got.error().message());
    if (!*got)
      co_return reply::failure("not_found", "no stored " + connector + " " + object + " record with id \"" + id +
                                                "\" (it is stored once a poll, a resync or a webhook read it)");
    items.push_back(sample_item(**got));
  } else {
    std::int64_t limit = 10;
    if (const auto* l = args.if_contains("limit"); l && l->is_int64()) limit = l->as_int64();
    if (limit < 1 || limit > 1000) co_return reply::failure("usage", "limit must be between 1 and 1000");
    auto page = co_await ctx.db->record_scan(connector, object, arg_text(args, "after"), std::size_t(limit));
    if (!page) co_return reply::failure("store", "reading stored records failed: " + page.error().message());
    for (const auto& r : *page) items.push_back(sample_item(r));
    if (std::int64_t(page->size()) == limit && !page->empty()) next_after = page->back().id;
  }
  co_return reply::success(json::object{
      {"connector", connector}, {"object", object}, {"items", std::move(items)}, {"next_after", next_after}});
}

/// fields: args {connector, object}: the adapter's describe, run among the sync tasks (adapters are used there).
asio::awaitable<reply> fields(const context& ctx, json::object args) {
  auto* engine = ctx.engine;
  if (!engine) co_return reply::failure("unavailable", "the sync engine is not running");
  const std::string connector = arg_text(args, "connector");
  const std::string object = arg_text(args, "object");
  if (auto refused = unknown_connector(ctx, connector)) co_return std::move(*refused);
  if (auto refused = unknown_object(ctx, connector, object)) co_return std::move(*refused);
  struct shared {
    std::atomic<bool> done{false};
    omnisync::result<adapters::object_schema> schema = make_error_code(errc::fail);
  };
  auto st = std::make_shared<shared>();
  auto run = [](sync::engine* e, std::string c, std::string o, std::shared_ptr<shared> out) -> asio::awaitable<void> {
    out->schema = co_await e->describe(std::move(c), std::move(o));
    out->done = true;
  };
  ctx.spawn_sync_task("fields", [run, engine, connector, object, st] { return run(engine, connector, object, st); });
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!st->done.load()) {
    timer.expires_after(std::chrono::milliseconds(50));
    co_await timer.async_wait(asio::use_awaitable);
  }
  if (!st->schema)
    co_return reply::failure("vendor", "reading the " + object + " metadata of " + connector +
                                           " failed: " + st->schema.error().message());
  std::string kind;
  for (const auto& cs : engine->status())
    if (cs.name == connector) kind = cs.kind;
  auto list = st->schema->fields;
  std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  json::array out;
  for (const auto& f : list)
    out.push_back(json::object{{"name", f.name},
                               {"type", f.type},
                               {"length", static_cast<std::int64_t>(f.length)},
                               {"writable", f.updateable},
                               {"calculated", f.calculated},
                               {"external_id", f.external_id},
                               {"unique", f.unique}});
  co_return reply::success(
      json::object{{"connector", connector}, {"kind", kind}, {"object", object}, {"fields", std::move(out)}});
}

}  // namespace

void add_mapping_tools_commands(command_table& table, const context& ctx) {
  table.add(catalogue::remap, [&ctx](json::object a, event_sink& e) { return remap(ctx, std::move(a), e); });
  table.add(catalogue::sample, [&ctx](json::object a, event_sink&) { return sample(ctx, std::move(a)); });
  table.add(catalogue::fields, [&ctx](json::object a, event_sink&) { return fields(ctx, std::move(a)); });
}

}  // namespace omnisync::control::commands
