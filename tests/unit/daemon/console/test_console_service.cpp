// The console's answers without a network: the JSON API over a command table holding every declared command
// (stub handlers), its scopes, argument typing, authentication, sessions, CSRF, and that no secret leaves it.
#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include "daemon/console/assets.hpp"
#include "daemon/console/service.hpp"
#include "daemon/control/catalogue.hpp"
#include "tests/unit/daemon/console/tokens.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
using namespace omnisync;
using namespace omnisync::console;
using namespace omnisync::console::testing;

namespace {

const std::string vendor_secret = "vendor-secret-value-42";

struct fixture {
  std::vector<std::string> calls;  // "cmd args" of every handler run
  std::shared_ptr<service> svc;

  fixture() {
    auto table = std::make_shared<control::command_table>();
    for (const auto* spec : control::catalogue::all)
      table->add(*spec, [this, name = std::string(spec->name)](json::object args, control::event_sink&)
                            -> asio::awaitable<control::reply> {
        calls.push_back(name + " " + json::serialize(args));
        if (name == "version") co_return control::reply::success(json::object{{"leak", vendor_secret}});
        if (name == "status")
          co_return control::reply::success(json::object{
              {"state", "running"},
              {"store", json::object{{"dead_letters", 0}}},
              {"connectors", json::object{{"crm", json::object{{"kind", "salesforce"}, {"state", "idle"}}}}}});
        co_return control::reply::success(json::object{{"items", json::array{}}});
      });
    auto auth = std::make_shared<authenticator>(read_token, write_token, std::chrono::hours(1));
    svc = std::make_shared<service>(table, auth, std::vector<std::string>{read_token, write_token, vendor_secret});
  }

  http_response call(http_request req) {
    asio::io_context io;
    auto f = asio::co_spawn(io, svc->handle(std::move(req)), asio::use_future);
    io.run();
    return f.get();
  }
  http_response get(std::string target, std::string token = {}) {
    http_request r;
    r.method = "GET";
    r.target = std::move(target);
    if (!token.empty()) r.authorization = "Bearer " + token;
    return call(std::move(r));
  }
  http_response post(std::string target, std::string token, std::string body = {}) {
    http_request r;
    r.method = "POST";
    r.target = std::move(target);
    r.authorization = "Bearer " + token;
    r.body = std::move(body);
    r.content_type = "application/json";
    return call(std::move(r));
  }
};

std::string header(const http_response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return {};
}

/// A value of the argument's type, for required arguments.
std::string sample(const control::arg_spec& a) {
  if (!a.choices.empty()) return std::string(a.choices.front().value);  // (report's name, ...)
  switch (a.type) {
    case control::arg_type::integer: return "1";
    case control::arg_type::boolean: return "true";
    default: return "x";
  }
}

}  // namespace

TEST_CASE("console API: every declared command is reachable with the scope it needs", "[console]") {
  fixture fx;
  std::size_t checked = 0;
  for (const auto* spec : control::catalogue::all) {
    // The command with its required arguments, and once per scoped choice (dlq's and profile's actions).
    std::vector<std::string> queries;
    std::string base;
    bool action_required = false;
    for (const auto& a : spec->args) {
      if (a.name == "action" && !a.choices.empty()) {
        action_required = a.required;
        continue;  // one query per action below
      }
      if (a.required) base += (base.empty() ? "" : "&") + std::string(a.name) + "=" + sample(a);
    }
    if (!action_required) queries.push_back(base);
    for (const auto& a : spec->args)
      for (const auto& c : a.choices)
        if (a.name == "action") queries.push_back(base + (base.empty() ? "" : "&") + "action=" + std::string(c.value));
    for (const auto& q : queries) {
      const std::string target = "/api/v1/" + std::string(spec->name) + (q.empty() ? "" : "?" + q);
      auto args = std::get<json::object>(args_from_params(*spec, parse_form(q)));
      const bool writes = control::required_scope(*spec, args) == control::access::write;
      INFO(target);
      if (writes) {
        CHECK(fx.get(target, write_token).status == 405);  // a write is never a GET
        CHECK(fx.post(target, read_token).status == 403);
        CHECK(fx.post(target, write_token).status == 200);
      } else {
        CHECK(fx.get(target, read_token).status == 200);
        CHECK(fx.get(target, write_token).status == 200);
      }
      ++checked;
    }
  }
  CHECK(checked >= control::catalogue::all.size());
  // The index lists exactly the table's commands.
  auto index = json::parse(fx.get("/api/v1", read_token).body);
  CHECK(index.at("result").at("commands").as_array().size() == control::catalogue::all.size());
}

TEST_CASE("console API: 401 without or with a wrong token, never through the session cookie", "[console]") {
  fixture fx;
  auto none = fx.get("/api/v1/status");
  CHECK(none.status == 401);
  CHECK(header(none, "WWW-Authenticate").starts_with("Bearer"));
  CHECK(fx.get("/api/v1/status", "wrong-token-0123456789abcdef").status == 401);
  CHECK(fx.get("/api/v1/status", read_token.substr(0, 10)).status == 401);

  http_request login;
  login.method = "POST";
  login.target = "/login";
  login.content_type = "application/x-www-form-urlencoded";
  login.body = "token=" + write_token;
  auto signed_in = fx.call(login);
  REQUIRE(signed_in.status == 303);
  const auto cookie = header(signed_in, "Set-Cookie");
  CHECK(cookie.find("HttpOnly") != std::string::npos);
  CHECK(cookie.find("SameSite=Strict") != std::string::npos);
  http_request api;
  api.method = "POST";
  api.target = "/api/v1/pause";
  api.cookie = cookie.substr(0, cookie.find(';'));
  CHECK(fx.call(api).status == 401);  // a cookie alone never authorises the API (no CSRF through it)
  CHECK(fx.calls.empty());
}

TEST_CASE("console API: arguments are typed by the declaration, with clear 400s", "[console]") {
  fixture fx;
  auto bad_int = fx.get("/api/v1/dlq?limit=ten", read_token);
  CHECK(bad_int.status == 400);
  CHECK(bad_int.body.find("\\\"limit\\\" must be an integer") != std::string::npos);
  auto unknown = fx.get("/api/v1/runs?colour=red", read_token);
  CHECK(unknown.status == 400);
  CHECK(unknown.body.find("colour") != std::string::npos);
  auto choice = fx.get("/api/v1/dlq?action=explode", read_token);
  CHECK(choice.status == 400);
  CHECK(choice.body.find("action") != std::string::npos);
  CHECK(fx.get("/api/v1/dlq?all=maybe", read_token).status == 400);
  CHECK(fx.get("/api/v1/sample?connector=crm", read_token).status == 400);  // object is required
  CHECK(fx.get("/api/v1/nosuch", read_token).status == 404);
  CHECK(fx.post("/api/v1/dlq", write_token, "[1]").status == 400);
  CHECK(fx.calls.empty());

  REQUIRE(fx.get("/api/v1/dlq?limit=5&all=false&connector=crm", read_token).status == 200);
  CHECK(fx.calls.back() == R"(dlq {"limit":5,"all":false,"connector":"crm"})");
  REQUIRE(fx.post("/api/v1/dlq", write_token, R"({"action":"retry","all":true})").status == 200);
  CHECK(fx.calls.back() == R"(dlq {"action":"retry","all":true})");
}

TEST_CASE("console: no response holds a configured secret, every response a strict CSP", "[console]") {
  fixture fx;
  auto v = fx.get("/api/v1/version", read_token);
  REQUIRE(v.status == 200);
  CHECK(v.body.find(vendor_secret) == std::string::npos);
  CHECK(v.body.find("<redacted>") != std::string::npos);
  for (const auto& r : {v, fx.get("/api/v1/status"), fx.get("/", read_token), fx.get("/assets/console.css")}) {
    CHECK(header(r, "Content-Security-Policy").starts_with("default-src 'self'"));
    CHECK(header(r, "X-Content-Type-Options") == "nosniff");
    CHECK(r.body.find(read_token) == std::string::npos);
    CHECK(r.body.find(write_token) == std::string::npos);
  }
  CHECK(find_asset("console.js") != nullptr);
  CHECK(fx.get("/assets/console.js").body.find("addEventListener") != std::string::npos);
  CHECK(fx.get("/assets/nothing.js").status == 404);
}

TEST_CASE("console pages: sign-in, CSRF and the write scope guard actions", "[console]") {
  fixture fx;
  CHECK(fx.get("/").status == 303);  // to /login
  auto sign_in = [&](const std::string& token) {
    http_request r;
    r.method = "POST";
    r.target = "/login";
    r.content_type = "application/x-www-form-urlencoded";
    r.body = "token=" + token;
    auto res = fx.call(r);
    REQUIRE(res.status == 303);
    auto c = header(res, "Set-Cookie");
    return c.substr(0, c.find(';'));
  };
  const auto reader = sign_in(read_token), writer = sign_in(write_token);
  http_request page;
  page.method = "GET";
  page.target = "/";
  page.cookie = writer;
  auto overview = fx.call(page);
  REQUIRE(overview.status == 200);
  CHECK(overview.body.find("<table id=\"connectors\">") != std::string::npos);
  const auto at = overview.body.find("name=\"csrf\" value=\"");
  REQUIRE(at != std::string::npos);
  const std::string csrf = overview.body.substr(at + 19, 64);

  auto act = [&](const std::string& cookie, const std::string& body, const std::string& origin = {}) {
    http_request r;
    r.method = "POST";
    r.target = "/actions";
    r.cookie = cookie;
    r.host = "127.0.0.1:8089";
    r.origin = origin;
    r.content_type = "application/x-www-form-urlencoded";
    r.body = body;
    return fx.call(r);
  };
  const std::string retry = "command=dlq&action=retry&all=true&back=%2Fdead-letters";
  const auto before = fx.calls.size();  // the pages ran their read commands
  CHECK(act(writer, retry).status == 403);                                   // no CSRF token
  CHECK(act(writer, retry + "&csrf=" + std::string(64, 'a')).status == 403);  // a wrong one
  CHECK(act(writer, retry + "&csrf=" + csrf, "https://evil.example").status == 403);
  CHECK(fx.calls.size() == before);
  auto done = act(writer, retry + "&csrf=" + csrf, "http://127.0.0.1:8089");
  CHECK(done.status == 303);
  CHECK(header(done, "Location").starts_with("/dead-letters?notice="));
  CHECK(fx.calls.back() == R"(dlq {"action":"retry","all":true})");

  page.cookie = reader;
  auto read_page = fx.call(page);
  const auto rat = read_page.body.find("name=\"csrf\" value=\"");
  REQUIRE(rat != std::string::npos);
  CHECK(act(reader, retry + "&csrf=" + read_page.body.substr(rat + 19, 64)).status == 403);  // read scope
  CHECK(act(writer, "command=dlq&action=retry&all=maybe&csrf=" + csrf).status == 400);

  // Sign-in with a wrong token: 401, no cookie.
  http_request wrong;
  wrong.method = "POST";
  wrong.target = "/login";
  wrong.body = "token=nope";
  auto refused = fx.call(wrong);
  CHECK(refused.status == 401);
  CHECK(header(refused, "Set-Cookie").empty());
}

TEST_CASE("console pages: query parameters are checked against the command's arguments", "[console]") {
  fixture fx;
  CHECK(fx.get("/runs?limit=x", read_token).status == 400);
  CHECK(fx.get("/runs?limit=5", read_token).status == 200);
  CHECK(fx.calls.back() == R"(runs {"limit":5})");
  CHECK(fx.get("/dead-letters?action=drop", read_token).status == 400);
  CHECK(fx.get("/people?colour=1", read_token).status == 400);
  auto people = fx.get("/people?q=%3Cscript%3E", read_token);
  CHECK(people.status == 200);
  CHECK(people.body.find("<script>") == std::string::npos);  // escaped
  CHECK(fx.get("/nowhere", read_token).status == 404);
}

TEST_CASE("console pages: record inspector, explain and analytics check their parameters", "[console]") {
  fixture fx;
  auto empty_form = fx.get("/records", read_token);
  CHECK(empty_form.status == 200);
  CHECK(empty_form.body.find("action=\"/records\"") != std::string::npos);
  CHECK(fx.get("/records?connector=crm", read_token).status == 400);          // object and id missing
  CHECK(fx.get("/records?connector=crm&object=Contact&id=1&x=2", read_token).status == 400);
  auto shown = fx.get("/records?connector=crm&object=Contact&id=003%3Cx%3E", read_token);
  CHECK(shown.status == 200);
  CHECK(fx.calls.back() == R"(record {"action":"show","connector":"crm","object":"Contact","id":"003<x>"})");
  CHECK(shown.body.find("003<x>") == std::string::npos);  // escaped
  CHECK(fx.get("/people?id=p1&explain=maybe", read_token).status == 400);
  CHECK(fx.get("/people?id=p1&explain=true", read_token).status == 200);
  CHECK(fx.calls.back() == R"(profile {"action":"explain","query":"p1"})");
  auto analytics = fx.get("/analytics", read_token);
  CHECK(analytics.status == 200);
  CHECK(analytics.body.find("id=\"funnel\"") != std::string::npos);
  CHECK(fx.get("/analytics?x=1", read_token).status == 400);
  CHECK(fx.get("/analytics/nosuch.csv", read_token).status == 404);
}
