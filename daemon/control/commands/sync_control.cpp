// pause, resume and resync: steering the sync engine's reads and writes per connector.
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <algorithm>

#include "core/time.hpp"
#include "config/value_syntax.hpp"
#include "daemon/config/daemon_config.hpp"
#include "daemon/control/catalogue.hpp"
#include "daemon/control/commands/groups.hpp"
#include "daemon/control/commands/paused_set.hpp"
#include "daemon/sync/engine.hpp"

namespace asio = boost::asio;
namespace json = boost::json;

namespace omnisync::control::commands {

std::optional<reply> unknown_connector(const context& ctx, const std::string& name) {
  auto c = ctx.config();
  std::vector<std::string> names;
  for (const auto& cc : c->connectors) {
    if (cc.name == name) return std::nullopt;
    names.push_back(cc.name);
  }
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  return reply::failure("unknown_connector", "no connector named \"" + name + "\" is configured" +
                                                 config::did_you_mean(name, names) +
                                                 (list.empty() ? std::string() : " (configured: " + list + ")"));
}

namespace {

/// pause/resume: one connector (args.connector) or, without it, all configured connectors.
asio::awaitable<reply> pause_or_resume(const context& ctx, json::object args, bool pause) {
  auto c = ctx.config();
  std::vector<std::string> targets;
  if (const std::string name = arg_text(args, "connector"); !name.empty()) {
    if (auto refused = unknown_connector(ctx, name)) co_return std::move(*refused);
    targets.push_back(name);
  } else {
    for (const auto& cc : c->connectors) targets.push_back(cc.name);
  }
  auto changed = co_await ctx.paused->change(ctx.engine, targets, pause);
  if (!changed.saved)
    co_return reply::failure("store", "could not persist the paused set: " + changed.saved.error().message());
  std::string list;
  for (const auto& t : targets) list += (list.empty() ? "" : ", ") + t;
  ctx.logger("app")->info("{} {}", pause ? "paused" : "resumed", targets.empty() ? std::string("(no connectors)") : list);
  if (ctx.status_changed) ctx.status_changed();
  co_return reply::success(json::object{{"paused", json::value_from(changed.paused)}});
}

/// The resync request the arguments describe; an id or email lookup without an object reads the connector's first
/// object (its people object).
sync::resync_request resync_request_of(const sync::engine& engine, const json::object& args) {
  sync::resync_request req;
  req.connector = arg_text(args, "connector");
  req.object = arg_text(args, "object");
  if (!arg_text(args, "since").empty()) {
    req.what = sync::resync_request::kind::since;
    // 1h, yesterday, 2026-11-01...: the engine gets an ISO 8601 time (what it cannot read stays, and is refused)
    const auto since = parse_since(arg_text(args, "since"), utc_now());
    req.value = since ? format_iso8601_ms(*since) : arg_text(args, "since");
  } else if (!arg_text(args, "id").empty()) {
    req.what = sync::resync_request::kind::id;
    req.value = arg_text(args, "id");
  } else if (!arg_text(args, "email").empty()) {
    req.what = sync::resync_request::kind::email;
    req.value = arg_text(args, "email");
  }
  if ((req.what == sync::resync_request::kind::id || req.what == sync::resync_request::kind::email) &&
      req.object.empty()) {
    for (const auto& cs : engine.status())
      if (cs.name == req.connector && !cs.objects.empty()) req.object = cs.objects.front().object;
  }
  if (const auto* f = args.if_contains("fields"))
    for (const auto& v : f->as_array()) req.fields.emplace_back(v.as_string());
  return req;
}

/// --fields: Salesforce and HubSpot read just those fields (partial pages merged into the stored records); the
/// other vendors' APIs cannot select fields, so their resync reads whole records. The reply says which.
std::string fields_note(const config::daemon_config& c, const sync::resync_request& req) {
  if (req.fields.empty()) return {};
  std::string kind, list;
  for (const auto& cc : c.connectors)
    if (cc.name == req.connector) kind = cc.kind;
  for (const auto& f : req.fields) list += (list.empty() ? "" : ",") + f;
  if (kind == "salesforce" || kind == "hubspot")
    return "reading only " + list + " (with each record's id and modification stamp); the other stored fields are kept";
  return kind + " cannot read selected fields: this resync reads whole records (--fields " + list + " not applied)";
}

/// What a resync's run caused at its destinations so far, for its progress and summary: {queued, written, refused,
/// unchanged, pending} (pending: still in the outbox).
struct write_back {
  std::int64_t queued = 0, written = 0, refused = 0, unchanged = 0, pending = 0;
  json::object to_json() const {
    return json::object{{"queued", queued}, {"written", written}, {"refused", refused}, {"unchanged", unchanged},
                        {"pending", pending}};
  }
  bool operator==(const write_back&) const = default;
};

asio::awaitable<write_back> write_back_of(const context& ctx, std::int64_t run) {
  write_back w;
  if (run <= 0) co_return w;
  auto r = co_await ctx.db->run_get(run);
  if (r)
    for (const auto& d : r->writes) {
      w.queued += d.queued;
      w.written += d.written;
      w.refused += d.refused;
      w.unchanged += d.unchanged;
    }
  auto q = co_await ctx.db->run_writes_queued(run);
  if (q) w.pending = *q;
  co_return w;
}

/// resync: args {connector, object?, full?, since?, id?, email?, fields?, follow?}. The resync is a run (its id in
/// every answer). With follow, progress events every 250 ms until every covered object was read and the writes it
/// caused left the outbox (or made no progress for write_settle), then the summary; without, the objects it
/// started.
asio::awaitable<reply> resync(const context& ctx, json::object args, event_sink& events) {
  // How long the write phase of --follow may see no write finish before the summary is given anyway (a paused
  // or shadowed destination keeps its writes queued).
  constexpr auto write_settle = std::chrono::seconds(10);
  auto* engine = ctx.engine;
  if (!engine) co_return reply::failure("unavailable", "the sync engine is not running");
  if (auto refused = co_await standby_refusal(ctx, "resyncs")) co_return std::move(*refused);
  sync::resync_request req = resync_request_of(*engine, args);
  if (req.connector.empty()) co_return reply::failure("usage", "resync needs a connector name");
  if (auto refused = unknown_connector(ctx, req.connector)) co_return std::move(*refused);
  auto targets = engine->resync_targets(req);
  if (!targets) {
    if (targets.error() == errc::invalid_input)
      co_return reply::failure("usage", "--since needs a UTC time (2026-11-01T00:00:00Z), a time ago (30m, 2h, 7d) or today/yesterday");
    co_return reply::failure("unknown_connector",
                             "no connector \"" + req.connector + "\"" +
                                 (req.object.empty() ? std::string() : " with object \"" + req.object + "\""));
  }
  {
    // The run first, so that every page and write of the resync counts into it.
    std::string objects;
    for (const auto& o : *targets) objects += (objects.empty() ? "" : ",") + o;
    auto id = co_await ctx.db->run_begin(store::run_record("resync", req.connector, objects));
    if (id) req.run = *id;
    else ctx.logger("sync")->warn("the run history could not record this resync: {}", id.error().message());
  }
  auto started = engine->request_resync(req);
  if (!started) co_return reply::failure("unknown_connector", "no connector \"" + req.connector + "\"");
  json::array objs;
  for (const auto& o : *started) objs.push_back(json::value(o));
  ctx.logger("sync")->info("resync of {} {} requested (run {})", req.connector,
                           req.object.empty() ? "(all objects)" : req.object, req.run);
  const std::string note = fields_note(*ctx.config(), req);
  auto follow = args.if_contains("follow");
  if (!follow || !follow->as_bool()) {
    json::object started_reply{{"connector", req.connector}, {"objects", std::move(objs)}, {"run", req.run}};
    if (!note.empty()) started_reply["fields_note"] = note;
    co_return reply::success(std::move(started_reply));
  }
  // For a full resync, what the store holds now of the objects it reads is a good estimate of what there is to
  // read (for the bar and the ETA).
  std::int64_t estimate = -1;
  if (req.what == sync::resync_request::kind::full) {
    auto k = co_await ctx.db->get_counts();
    if (k) {
      std::int64_t sum = 0;
      for (const auto& o : *started)
        if (auto it = k->records_per_object.find({req.connector, o}); it != k->records_per_object.end())
          sum += it->second;
      if (sum > 0) estimate = sum;
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  asio::steady_timer timer(co_await asio::this_coro::executor);
  write_back last_writes;
  auto last_write_change = std::chrono::steady_clock::now();
  for (;;) {
    timer.expires_after(std::chrono::milliseconds(250));
    co_await timer.async_wait(asio::use_awaitable);
    std::int64_t read = 0, stored = 0;
    bool running = false;
    std::string error;
    for (const auto& cs : engine->status()) {
      if (cs.name != req.connector) continue;
      for (const auto& os : cs.objects) {
        if (std::find(started->begin(), started->end(), os.object) == started->end()) continue;
        read += os.resync_read;
        stored += os.resync_stored;
        running = running || os.resync_running;
        if (!os.resync_error.empty()) error = os.resync_error;
        if (!os.last_error.empty() && os.phase == "error") error = os.last_error;
      }
    }
    const auto writes = co_await write_back_of(ctx, req.run);
    const auto now = std::chrono::steady_clock::now();
    if (!(writes == last_writes)) {
      last_writes = writes;
      last_write_change = now;
    }
    // Read to the end: the write phase follows while its writes are still queued and moving.
    const bool writing = !running && error.empty() && writes.pending > 0 && now - last_write_change < write_settle;
    const double secs = std::chrono::duration<double>(now - t0).count();
    json::object progress{{"connector", req.connector}, {"read", read},     {"stored", stored},
                          {"elapsed_s", secs},          {"rate", secs > 0 ? double(read) / secs : 0.0},
                          {"running", running || writing}, {"error", error},
                          {"phase", running ? "read" : writing ? "write" : "done"},
                          {"run", req.run},             {"writes", writes.to_json()}};
    // Read to the end, the bar is full: the store's count (the estimate) also holds records deleted upstream.
    if (estimate > 0) progress["estimated_total"] = running ? std::max(estimate, read) : read;
    if (!running && !writing) {
      progress["objects"] = std::move(objs);
      if (!note.empty()) progress["fields_note"] = note;
      omnisync::result<store::run_record> r = make_error_code(errc::not_found);
      if (req.run > 0) r = co_await ctx.db->run_get(req.run);
      if (r) {
        progress["outcome"] = r->outcome;
        progress["mapped"] = r->counts.mapped;
        progress["failed"] = r->counts.failed;
        progress["api_calls"] = r->counts.api_calls;
        progress["per_destination"] = run_json(*r).at("writes").as_object().at("per_destination");
      }
      co_return reply::success(std::move(progress));
    }
    if (!co_await events.emit(std::move(progress))) co_return reply::failure("gone", "client went away");
  }
}

}  // namespace

void add_sync_control_commands(command_table& table, const context& ctx) {
  table.add(catalogue::pause, [&ctx](json::object a, event_sink&) { return pause_or_resume(ctx, std::move(a), true); });
  table.add(catalogue::resume,
            [&ctx](json::object a, event_sink&) { return pause_or_resume(ctx, std::move(a), false); });
  table.add(catalogue::resync, [&ctx](json::object a, event_sink& e) { return resync(ctx, std::move(a), e); });
}

}  // namespace omnisync::control::commands
