// The daemon's command handlers (daemon/control/commands) without a daemon: a real SQLite store in a temp dir, a
// configuration built in code, no sync engine, and stand-ins for the application's actions (reload). Checks that
// every declared command is served, the shape of status (schema 1) and the answers of the other commands.
#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include <spdlog/logger.h>

#include "core/time.hpp"
#include "daemon/config/daemon_config.hpp"
#include "daemon/control/catalogue.hpp"
#include "daemon/control/commands/context.hpp"
#include "daemon/control/commands/paused_set.hpp"
#include "daemon/control/commands/table.hpp"
#include "daemon/store/blocking.hpp"
#include "daemon/store/store.hpp"
#include "tests/support/temp_dir.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
namespace catalogue = omnisync::control::catalogue;
namespace commands = omnisync::control::commands;
using omnisync::control::reply;

namespace {

class no_events final : public omnisync::control::event_sink {
 public:
  explicit no_events(std::string caller = {}) : caller_(std::move(caller)) {}
  asio::awaitable<bool> emit(json::object) override { co_return true; }
  std::string caller() const override { return caller_; }

 private:
  std::string caller_;
};

/// Everything a command needs, with no engine; `reload` answers what `next_reload` says.
struct harness {
  omnisync::test::temp_dir dir;
  std::shared_ptr<const omnisync::config::daemon_config> cfg;
  std::unique_ptr<omnisync::store::store> db;
  std::unique_ptr<commands::paused_set> paused;
  commands::daemon_state state;
  commands::context ctx;
  commands::reload_result next_reload;
  std::vector<std::string> reload_triggers;
  std::shared_ptr<const omnisync::control::command_table> table;

  harness() {
    auto c = std::make_shared<omnisync::config::daemon_config>();
    c->source_file = dir / "omnisync.yaml";
    c->daemon.state_dir = dir / "state";
    for (auto [name, kind] : {std::pair{"crm", "salesforce"}, std::pair{"desk", "zendesk"}}) {
      omnisync::config::connector_common cc;
      cc.name = name;
      cc.kind = kind;
      cc.base_url = "http://127.0.0.1:9/";
      cc.objects = {"people"};
      c->connectors.push_back(cc);
    }
    cfg = c;
    omnisync::store::options so;
    so.state_dir = c->daemon.state_dir;
    auto opened = omnisync::store::open_store(so);
    REQUIRE(opened.has_value());
    db = std::move(*opened);
    paused = std::make_unique<commands::paused_set>(*db);
    REQUIRE(paused->load().has_value());
    ctx.config = [this] { return cfg; };
    ctx.logger = [](const std::string& component) { return std::make_shared<spdlog::logger>(component); };
    ctx.db = db.get();
    ctx.state = &state;
    ctx.paused = paused.get();
    ctx.reload = [this](commands::reload_request req) -> asio::awaitable<commands::reload_result> {
      reload_triggers.push_back(req.trigger + (req.force ? " (forced)" : ""));
      co_return next_reload;
    };
    ctx.spawn_sync_task = [](std::string, std::function<asio::awaitable<void>()>) { FAIL("no sync task expected"); };
    table = commands::build_command_table(ctx);
    state.set_phase("running");
  }

  /// Audit entries for field `field`, written at `at`.
  void audit(std::vector<std::pair<std::string, omnisync::timestamp>> entries) {
    std::vector<omnisync::store::audit_entry> batch;
    for (auto& [field, at] : entries) {
      omnisync::store::audit_entry e;
      e.at = at;
      e.connector = "desk";
      e.object = "people";
      e.record_id = "9";
      e.field = field;
      e.after = R"("x")";
      e.source = "crm:people:1";
      e.outcome = "written";
      batch.push_back(std::move(e));
    }
    asio::io_context io;
    auto done = asio::co_spawn(io, db->audit_append(std::move(batch)), asio::use_future);
    io.run();
    done.get();
  }

  reply call(const std::string& cmd, std::string_view args = "{}", std::string caller = {}) {
    const auto* h = table->find(cmd);
    REQUIRE(h != nullptr);
    asio::io_context io;
    no_events events(std::move(caller));
    auto done = asio::co_spawn(io, (*h)(json::parse(args).as_object(), events), asio::use_future);
    io.run();
    return done.get();
  }
};

std::vector<std::string> keys(const json::object& o) {
  std::vector<std::string> out;
  for (const auto& kv : o) out.emplace_back(kv.key());
  return out;
}

}  // namespace

TEST_CASE("control commands: every declared command is served with its declaration", "[control][commands]") {
  harness h;
  REQUIRE(h.table->list().size() == catalogue::all.size());
  for (const auto* c : catalogue::all) {
    INFO(c->name);
    CHECK(h.table->spec(c->name) == c);
  }
  // Arguments are checked for the daemon's own commands too.
  auto bad = h.call("pause", R"({"connector":["crm"]})");
  CHECK(bad.code() == "invalid_args");
  CHECK(bad.message() == R"(pause: argument "connector" must be a string, not an array)");
}

TEST_CASE("control commands: status schema 1 without the sync engine", "[control][commands]") {
  harness h;
  auto r = h.call("status");
  REQUIRE(r.ok());
  const auto& st = r.result().as_object();
  CHECK(keys(st) == std::vector<std::string>{"schema", "version", "pid", "uptime_s", "config_file", "http", "state",
                                             "last_reload", "paused", "connectors", "store", "log"});
  CHECK(st.at("schema").as_int64() == 1);
  CHECK(st.at("state").as_string() == "running");
  CHECK(st.at("last_reload").is_null());
  CHECK(st.at("http").at("listen").as_string() == "127.0.0.1:8088");
  const auto& crm = st.at("connectors").at("crm").as_object();
  CHECK(keys(crm) == std::vector<std::string>{"kind", "state", "enabled", "paused", "base_url", "poll_interval_ms",
                                              "objects", "inbox_depth", "outbox_depth", "records",
                                              "inbox_oldest_age_ms", "outbox_oldest_age_ms"});
  CHECK(crm.at("inbox_oldest_age_ms").is_null());  // nothing waits
  CHECK(crm.at("state").as_string() == "idle");
  const auto& store = st.at("store").as_object();
  CHECK(keys(store) == std::vector<std::string>{"kind", "schema_version", "state_dir", "inbox_depth", "outbox_depth",
                                                "dead_letters", "records", "state_db_bytes", "inbox_db_bytes",
                                                "commits", "round_trips"});
  CHECK(store.at("kind").as_string() == "sqlite");
  CHECK(store.at("round_trips").to_number<std::int64_t>() == 0);  // SQLite sends nothing over a network
  CHECK(st.at("log").at("format").as_string() == "auto");
}

TEST_CASE("control commands: pause and resume change the stored set, status shows it", "[control][commands]") {
  harness h;
  auto p = h.call("pause", R"({"connector":"desk"})");
  REQUIRE(p.ok());
  CHECK(json::serialize(p.result()) == R"({"paused":["desk"]})");
  auto st = h.call("status").result().as_object();
  CHECK(json::serialize(st.at("paused")) == R"(["desk"])");
  CHECK(st.at("connectors").at("desk").at("state").as_string() == "paused");
  CHECK(st.at("connectors").at("desk").at("paused").as_bool());

  auto unknown = h.call("pause", R"({"connector":"nope"})");
  CHECK(unknown.code() == "unknown_connector");
  CHECK(unknown.message() == R"(no connector named "nope" is configured (configured: crm, desk))");
  auto typo = h.call("pause", R"({"connector":"dsek"})");
  CHECK(typo.message() == R"(no connector named "dsek" is configured (did you mean "desk"?) (configured: crm, desk))");

  CHECK(json::serialize(h.call("pause").result()) == R"({"paused":["crm","desk"]})");  // all
  CHECK(json::serialize(h.call("resume", R"({"connector":"crm"})").result()) == R"({"paused":["desk"]})");
  // The set is in the store: a restarted daemon reads it back.
  commands::paused_set again(*h.db);
  again.load();
  CHECK(again.names() == std::set<std::string>{"desk"});
  CHECK(json::serialize(h.call("resume", R"({"connector":""})").result()) == R"({"paused":[]})");  // "" means all
}

TEST_CASE("control commands: reload renders what the application did, status shows the last one",
          "[control][commands]") {
  harness h;
  h.next_reload = {};
  h.next_reload.what = commands::reload_result::outcome::applied;
  h.next_reload.config_file = "/etc/omnisync/omnisync.yaml";
  h.next_reload.connectors = 2;
  auto ok = h.call("reload");
  REQUIRE(ok.ok());
  CHECK(json::serialize(ok.result()) ==
        R"({"reloaded":true,"config_file":"/etc/omnisync/omnisync.yaml","connectors":2,"forced":false,"warnings":[],)"
        R"("mappings":[],"lint":[],"rechecks":[],"next_steps":[]})");
  CHECK(h.reload_triggers == std::vector<std::string>{"control command"});

  // Warnings, the changed mappings, what is re-written, and the next step after an inbound change (for every
  // connector of that kind) reach the caller.
  h.next_reload.warnings = {"connector desk: webhook.secret changed: takes effect at the next restart"};
  h.next_reload.mappings = {{"zendesk", "people", "/m/zendesk/people.in.yaml", "in", "changed"}};
  omnisync::sync::recheck_count rc;
  rc.connector = "desk";
  rc.object = "people";
  rc.checked = 10;
  rc.to_write = 4;
  h.next_reload.rechecks = {rc};
  auto told = h.call("reload", R"({"force":true})").result().as_object();
  CHECK(h.reload_triggers.back() == "control command (forced)");
  CHECK(told.at("warnings").as_array().size() == 1);
  CHECK(told.at("rechecks").as_array()[0].as_object().at("to_write").as_int64() == 4);
  REQUIRE(told.at("next_steps").as_array().size() == 1);
  CHECK(std::string(told.at("next_steps").as_array()[0].as_string()).find("omnisyncctl remap desk") !=
        std::string::npos);

  // Refused: lint found errors in the changed mappings; every error is in the message.
  h.next_reload = {};
  h.next_reload.what = commands::reload_result::outcome::refused;
  omnisync::sync::lint_finding f;
  f.severity = "error";
  f.connector = "desk";
  f.object = "people";
  f.file = "people.out.yaml";
  f.line = 9;
  f.message = "no field nickname";
  h.next_reload.lint = {f};
  auto refused = h.call("reload");
  CHECK(refused.code() == "lint_errors");
  CHECK(refused.message().find("people.out.yaml:9: error: desk/people: no field nickname") != std::string::npos);
  CHECK(refused.message().find("--force") != std::string::npos);

  h.next_reload = {};
  h.next_reload.what = commands::reload_result::outcome::rejected;
  h.next_reload.problems = "omnisync.yaml:3:1: x: unknown key \"x\"";
  auto bad = h.call("reload");
  CHECK(bad.code() == "config_invalid");
  CHECK(bad.message() == "configuration rejected, previous one kept:\nomnisync.yaml:3:1: x: unknown key \"x\"");

  h.next_reload = {};
  h.next_reload.what = commands::reload_result::outcome::stopping;
  auto stopping = h.call("reload");
  CHECK(stopping.code() == "stopping");
  CHECK(stopping.message() == "the daemon is stopping; not reloading");

  REQUIRE(h.state.begin_reload());
  h.state.end_reload({"2026-11-01T00:00:00Z", "SIGHUP", false, {"omnisync.yaml:3:1: x: unknown key \"x\""}});
  auto st = h.call("status").result().as_object();
  CHECK(json::serialize(st.at("last_reload")) ==
        R"({"at":"2026-11-01T00:00:00Z","trigger":"SIGHUP","ok":false,"diagnostics":["omnisync.yaml:3:1: x: unknown key \"x\""]})");
  CHECK(st.at("state").as_string() == "running");
  h.state.set_phase("stopping");
  CHECK_FALSE(h.state.begin_reload());
}

TEST_CASE("control commands: dlq pages, counts by reason, and retries or drops by filter", "[control][commands][dlq]") {
  harness h;
  using omnisync::store::retry_target;
  for (int i = 0; i < 5; ++i)
    REQUIRE(omnisync::store::wait(h.db->dead_letter_add({retry_target::outbox, "crm", "people", "p" + std::to_string(i),
                                                         "", "write", "400 FIELD_MISSING: x", R"({"stale":1})", "{}"})));
  REQUIRE(omnisync::store::wait(h.db->dead_letter_add({retry_target::outbox, "desk", "people", "d1", "", "write",
                                                       "429 Too Many Requests", "{}", "{}"})));
  REQUIRE(omnisync::store::wait(h.db->dead_letter_add({retry_target::none, "desk", "people", "d2", "", "mapping",
                                                       "email: not an e-mail", "{}", "{}"})));

  // Pages of 3: next_after carries on where a page stopped.
  auto p1 = h.call("dlq", R"({"action":"list","limit":3})").result().as_object();
  REQUIRE(p1.at("items").as_array().size() == 3);
  const auto next = p1.at("next_after").as_int64();
  CHECK(next == p1.at("items").as_array()[2].at("id").as_int64());
  auto p2 = h.call("dlq", json::serialize(json::object{{"action", "list"}, {"limit", 3}, {"after", next}}));
  CHECK(p2.result().at("items").as_array().size() == 3);
  CHECK(h.call("dlq", R"({"action":"list","limit":0})").code() == "usage");
  CHECK(h.call("dlq", R"({"action":"list","since":"yesterday-ish"})").code() == "usage");
  // A stage no entry can have matches nothing: an error, not an empty list; a known stage with no entries is empty.
  auto bad_stage = h.call("dlq", R"({"action":"list","stage":"writ"})");
  CHECK(bad_stage.code() == "usage");
  CHECK(bad_stage.message() == "unknown --stage 'writ': one of parse, fetch, mapping, write");
  CHECK(h.call("dlq", R"({"action":"stats","stage":"parse"})").ok());

  // stats: by connector, object, stage and reason, largest first.
  auto st = h.call("dlq", R"({"action":"stats"})").result().as_object();
  CHECK(st.at("total").as_int64() == 7);
  const auto& g0 = st.at("groups").as_array()[0].as_object();
  CHECK(g0.at("count").as_int64() == 5);
  CHECK(g0.at("reason").as_string() == "400 FIELD_MISSING: x");

  // A bulk operation needs a filter or all; a dry run only counts.
  CHECK(h.call("dlq", R"({"action":"retry"})").code() == "usage");
  CHECK(json::serialize(h.call("dlq", R"({"action":"drop","reason":"429*","dry_run":true})").result()) ==
        R"({"matched":1})");
  // Retry by filter: the five writes go back to the outbox (without the payload they failed with).
  auto r = h.call("dlq", R"({"action":"retry","connector":"crm","reason":"field_missing"})");
  REQUIRE(r.ok());
  CHECK(json::serialize(r.result()) == R"({"matched":5,"retried":5,"reread":0,"not_retryable":0})");
  CHECK(omnisync::store::wait(h.db->get_counts())->outbox_depth == 5);
  // Without an engine a mapping failure has nowhere to go: it stays.
  r = h.call("dlq", R"({"action":"retry","all":true})");
  CHECK(json::serialize(r.result()) == R"({"matched":2,"retried":1,"reread":0,"not_retryable":1})");
  CHECK(h.call("dlq", R"({"action":"drop","all":true})").result().at("dropped").as_int64() == 1);
  CHECK(json::serialize(h.call("dlq").result()) == R"({"items":[],"next_after":0})");
}

TEST_CASE("control commands: version, dlq on an empty store, and the engine's commands without an engine",
          "[control][commands]") {
  harness h;
  auto v = h.call("version");
  REQUIRE(v.ok());
  CHECK(v.result().at("protocol").as_int64() == 1);
  CHECK(v.result().at("version").is_string());

  CHECK(json::serialize(h.call("dlq").result()) == R"({"items":[],"next_after":0})");
  auto no_id = h.call("dlq", R"({"action":"show"})");
  CHECK(no_id.code() == "usage");
  CHECK(no_id.message() == "dlq show needs an entry id");
  CHECK(h.call("dlq", R"({"action":"retry","id":42})").code() == "not_found");
  CHECK(h.call("dlq", R"({"action":"drop","id":42})").message() == "no dead letter 42");

  for (auto [cmd, args] : {std::pair{"lint", "{}"}, std::pair{"resync", R"({"connector":"crm"})"},
                           std::pair{"profile", R"({"query":"ann@example.com"})"}}) {
    INFO(cmd);
    auto r = h.call(cmd, args);
    CHECK(r.code() == "unavailable");
    CHECK(r.message() == "the sync engine is not running");
  }
}

TEST_CASE("control commands: audit --since takes an ISO 8601 time (any offset) or a duration back from now",
          "[control][commands]") {
  harness h;
  using namespace std::chrono_literals;
  const auto now = omnisync::utc_now();
  h.audit({{"old", *omnisync::parse_iso8601("2020-01-01T00:00:00Z")},
           {"june", *omnisync::parse_iso8601("2020-06-01T12:00:00Z")},
           {"two_hours_ago", now - 2h},
           {"a_minute_ago", now - 1min}});
  auto fields = [&](const std::string& since) {
    auto r = h.call("audit", json::serialize(json::object{{"since", since}}));
    REQUIRE(r.ok());
    std::vector<std::string> out;
    for (const auto& e : r.result().at("items").as_array()) out.emplace_back(e.at("field").as_string());
    return out;
  };
  using v = std::vector<std::string>;
  CHECK(fields("2020-03-01") == v{"a_minute_ago", "two_hours_ago", "june"});
  CHECK(fields("2020-06-01T12:00:00Z") == v{"a_minute_ago", "two_hours_ago", "june"});
  CHECK(fields("2020-06-01T12:00:00.001Z") == v{"a_minute_ago", "two_hours_ago"});
  CHECK(fields("2020-06-01T13:59:59+02:00") == v{"a_minute_ago", "two_hours_ago", "june"});  // 11:59:59 UTC
  CHECK(fields("2020-06-01T14:00:01+0200") == v{"a_minute_ago", "two_hours_ago"});
  CHECK(fields("30m") == v{"a_minute_ago"});
  CHECK(fields("3h") == v{"a_minute_ago", "two_hours_ago"});
  CHECK(fields("7d") == v{"a_minute_ago", "two_hours_ago"});
  CHECK(fields("0s").empty());
  for (const char* bad : {"tomorrow", "2020-02-30", "2020-06-01T25:00:00Z", "30x", "-5m", "2020-06-01Tjunk"}) {
    INFO(bad);
    auto r = h.call("audit", json::serialize(json::object{{"since", bad}}));
    CHECK(r.code() == "usage");
    CHECK(r.message() ==
          "--since needs a UTC time (2026-11-01T00:00:00Z), a time ago (30m, 2h, 7d) or today/yesterday");
  }
}

TEST_CASE("control commands: runs lists newest first with filters and pages, show has the writes per destination",
          "[control][commands][runs]") {
  harness h;
  using omnisync::store::run_record;
  using omnisync::store::run_writes;
  const auto a = *omnisync::store::wait(h.db->run_begin(run_record("poll", "crm", "people")));
  omnisync::store::run_counts d;
  d.read = 10;
  d.stored = 9;
  d.mapped = 10;
  REQUIRE(omnisync::store::wait(h.db->run_add(a, d)));
  REQUIRE(omnisync::store::wait(h.db->run_count_writes({{a, run_writes("desk", 4, 3, 1, 0)}})));
  REQUIRE(omnisync::store::wait(h.db->run_finish(a, "ok", "")));
  const auto b = *omnisync::store::wait(h.db->run_begin(run_record("resync", "desk", "people")));
  const auto c = *omnisync::store::wait(h.db->run_begin(run_record("reload", "", "")));
  REQUIRE(omnisync::store::wait(h.db->run_finish(c, "ok", "")));

  auto all = h.call("runs").result().as_object();
  REQUIRE(all.at("items").as_array().size() == 3);
  CHECK(all.at("items").as_array()[0].at("id").as_int64() == c);
  CHECK(all.at("next_after").as_int64() == 0);
  auto page = h.call("runs", R"({"limit":2})").result().as_object();
  CHECK(page.at("items").as_array().size() == 2);
  CHECK(page.at("next_after").as_int64() == b);
  auto rest = h.call("runs", json::serialize(json::object{{"after", b}})).result().as_object();
  REQUIRE(rest.at("items").as_array().size() == 1);
  CHECK(rest.at("items").as_array()[0].at("id").as_int64() == a);
  CHECK(h.call("runs", R"({"connector":"crm"})").result().at("items").as_array().size() == 1);
  CHECK(h.call("runs", R"({"kind":"resync"})").result().at("items").as_array().size() == 1);
  CHECK(h.call("runs", R"({"kind":"nap"})").code() == "invalid_args");
  CHECK(h.call("runs", R"({"connector":"nope"})").code() == "unknown_connector");
  CHECK(h.call("runs", R"({"limit":0})").code() == "usage");

  auto shown = h.call("runs", json::serialize(json::object{{"action", "show"}, {"id", a}})).result().as_object();
  CHECK(shown.at("outcome").as_string() == "partial");  // a refused write
  CHECK(shown.at("read").as_int64() == 10);
  CHECK(shown.at("writes").at("queued").as_int64() == 4);
  CHECK(shown.at("writes").at("refused").as_int64() == 1);
  CHECK(shown.at("writes").at("per_destination").as_array()[0].at("destination").as_string() == "desk");
  CHECK(shown.at("duration_s").is_double());
  auto running = h.call("runs", json::serialize(json::object{{"action", "show"}, {"id", b}})).result().as_object();
  CHECK(running.at("ended_at").is_null());
  CHECK(running.at("outcome").as_string() == "running");
  CHECK(h.call("runs", R"({"action":"show"})").code() == "usage");
  CHECK(h.call("runs", R"({"action":"show","id":424242})").code() == "not_found");
}

TEST_CASE("control commands: a command that changes state leaves one audit entry with its caller, a read none",
          "[control][commands][audit]") {
  harness h;
  auto commands = [&] {
    auto r = h.call("audit", R"({"field":"command"})");
    REQUIRE(r.ok());
    return r.result().at("items").as_array();
  };
  REQUIRE(h.call("pause", R"({"connector":"desk"})", "console").ok());
  REQUIRE(h.call("pause").ok());                                      // all, from an unknown caller
  REQUIRE(h.call("resume", R"({"connector":"nope"})", "uid 7 (ops)").code() == "unknown_connector");
  CHECK(h.call("pause", R"({"connector":["crm"]})", "console").code() == "invalid_args");  // nothing ran
  REQUIRE(h.call("status").ok());
  REQUIRE(h.call("dlq", R"({"action":"list"})", "console").ok());
  REQUIRE(h.call("dlq", R"({"action":"drop","all":true,"dry_run":true})", "console").ok());  // counts only
  const auto items = commands();
  INFO(json::serialize(items));
  REQUIRE(items.size() == 3);
  CHECK(items[0].at("source").as_string() == "control:uid 7 (ops)");
  CHECK(items[0].at("outcome").as_string() == "failed");
  CHECK(items[0].at("answer").as_string().starts_with("unknown_connector: "));
  CHECK(items[0].at("rule").as_string() == "resume nope by uid 7 (ops)");
  CHECK(items[1].at("source").as_string() == "control:unknown");
  CHECK(items[1].at("connector").as_string() == "*");
  CHECK(json::serialize(items[1].at("after")) == R"({"command":"pause","args":{}})");
  CHECK(items[2].at("source").as_string() == "control:console");
  CHECK(items[2].at("connector").as_string() == "desk");
  CHECK(items[2].at("object").as_string() == "control");
  CHECK(items[2].at("outcome").as_string() == "done");
  CHECK(json::serialize(items[2].at("after")) == R"({"command":"pause","args":{"connector":"desk"}})");
}
