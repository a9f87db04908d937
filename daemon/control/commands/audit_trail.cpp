// The audit trail of the control commands that change state: one audit entry per request whose scope is `write`
// (pause, resume, reload, resync, dlq retry/drop, profile split/restore/resync, remap, segment
// backfill/pause/resume/release), naming who sent it, the command and its arguments, the outcome and the time.
// Read-only requests, dry runs, and requests refused for their arguments (nothing ran), record nothing.
#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>

#include <exception>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/time.hpp"
#include "daemon/control/command_spec.hpp"
#include "daemon/control/commands/groups.hpp"
#include "daemon/profile/resolver.hpp"
#include "daemon/store/store.hpp"
#include "daemon/sync/engine.hpp"

namespace omnisync::control::commands {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

/// An argument whose name says it carries a secret: never written to the audit log (no command takes one today).
bool secret_name(std::string_view k) {
  for (std::string_view word : {"secret", "token", "password", "credential", "api_key"})
    if (k.find(word) != std::string_view::npos) return true;
  return false;
}

/// What the request asked for, e.g. "dlq drop 12" or "pause hubspot": the command, its action, and what it names.
std::string what_text(const command_spec& spec, const json::object& args) {
  std::string out(spec.name);
  for (const char* k : {"action", "connector", "key", "profile", "query", "record", "id"}) {
    const auto* v = args.if_contains(k);
    if (v && v->is_string() && !v->as_string().empty()) out += " " + std::string(v->as_string());
    if (v && v->is_int64()) out += " " + std::to_string(v->as_int64());
  }
  return out;
}

/// The request changes nothing: its scope is read, or it is a dry run (`dlq retry/drop` counting the matches).
bool reads_only(const command_spec& spec, const json::object& args) {
  const auto* dry = args.if_contains("dry_run");
  return required_scope(spec, args) != access::write || (dry && dry->is_bool() && dry->as_bool());
}

/// The profile the request names (`profile split|restore|resync`, by id, e-mail, phone or record), as its id: an
/// id as written, anything else looked up in the book before the command runs (a split may move the record that
/// was named to another profile). Empty when it names none, or the book is not loaded (nothing to look in).
std::string named_profile(const context& ctx, const json::object& args) {
  for (const char* k : {"profile", "query"}) {
    const auto p = arg_text(args, k);
    if (p.empty()) continue;
    if (profile::profile_id::parse(p)) return p;
    if (ctx.engine && ctx.engine->profiles_ready())
      if (auto rep = ctx.engine->profile_get(p)) return rep->view.id.str();
  }
  return {};
}

/// The one audit entry of a request: shaped like segment release's `sync_hold` entry (the caller as source
/// "control:<who>", what it did in `after`, a sentence in `rule`), so `omnisyncctl audit --source` finds both;
/// `audit --field command` lists the commands alone.
store::audit_entry command_entry(const command_spec& spec, const json::object& args, const std::string& who,
                                 const std::string& profile_id, const reply& r) {
  json::object shown;
  for (const auto& [k, v] : args)
    if (!secret_name(std::string_view(k.data(), k.size()))) shown[k] = v;
  store::audit_entry e;
  e.at = utc_now();
  // The store wants a connector, an object and a field: "*" (the whole daemon) when the command names no connector.
  e.connector = arg_text(args, "connector");
  if (e.connector.empty()) e.connector = "*";
  e.object = "control";
  e.field = "command";
  e.after = json::serialize(json::object{{"command", spec.name}, {"args", std::move(shown)}});
  e.rule = what_text(spec, args) + " by " + who;
  e.source = "control:" + who;
  e.profile_id = profile_id;
  e.outcome = r.ok() ? "done" : "failed";  // refused, or failed on the way: `answer` says which
  e.answer = r.ok() ? std::string() : r.code() + ": " + r.message();
  if (e.answer.size() > 500) e.answer = e.answer.substr(0, 500) + "...";
  return e;
}

asio::awaitable<reply> audited(const context& ctx, const command_spec& spec, const handler& run, json::object args,
                               event_sink& events) {
  if (reads_only(spec, args) || !check_args(spec, args).empty())
    co_return co_await run(std::move(args), events);
  json::object asked = args;
  const std::string profile_id = named_profile(ctx, asked);
  // An exception (answered internal_error by the server) is recorded as a failure too, then passed on.
  std::exception_ptr thrown;
  reply r = reply::failure("internal_error", "the command failed inside the daemon; see its log");
  try {
    r = co_await run(std::move(args), events);
  } catch (...) {
    thrown = std::current_exception();
  }
  const std::string who = events.caller().empty() ? std::string("unknown") : events.caller();
  std::vector<store::audit_entry> entries{command_entry(spec, asked, who, profile_id, r)};
  if (ctx.db)
    if (auto done = co_await ctx.db->audit_append(std::move(entries)); !done)
      ctx.logger("control")->warn("{}: the audit entry of this command could not be written: {}",
                                  what_text(spec, asked) + " by " + who, done.error().message());
  if (thrown) std::rethrow_exception(thrown);
  co_return r;
}

}  // namespace

void audit_write_commands(command_table& table, const context& ctx) {
  table.wrap_declared([&ctx](const command_spec& spec, handler run) -> handler {
    return [&ctx, spec = &spec, run = std::move(run)](json::object a, event_sink& e) {
      return audited(ctx, *spec, run, std::move(a), e);
    };
  });
}

}  // namespace omnisync::control::commands
