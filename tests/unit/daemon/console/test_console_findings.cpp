// Regression tests for what fuzz_console (tests/fuzz/) and the console's adversarial review found; each input is
// also in tests/fuzz/corpus/console/ (finding_*).
#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include "daemon/console/pages.hpp"
#include "daemon/console/service.hpp"
#include "daemon/control/catalogue.hpp"
#include "tests/unit/daemon/console/tokens.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
using namespace omnisync;
using namespace omnisync::console;
using namespace omnisync::console::testing;

namespace {

/// A console whose every command answers `result`, with `secrets` configured.
struct console_under_test {
  std::shared_ptr<authenticator> auth = std::make_shared<authenticator>(read_token, write_token, std::chrono::hours(1));
  std::shared_ptr<service> svc;

  console_under_test(json::value result, std::vector<std::string> secrets) {
    auto table = std::make_shared<control::command_table>();
    for (const auto* spec : control::catalogue::all)
      table->add(*spec, [result](json::object, control::event_sink&) -> asio::awaitable<control::reply> {
        co_return control::reply::success(result);
      });
    secrets.push_back(read_token);
    secrets.push_back(write_token);
    svc = std::make_shared<service>(table, auth, std::move(secrets));
  }
  http_response call(http_request req) {
    asio::io_context io;
    auto f = asio::co_spawn(io, svc->handle(std::move(req)), asio::use_future);
    io.run();
    return f.get();
  }
  http_response get(std::string target) {
    http_request r;
    r.method = "GET";
    r.target = std::move(target);
    r.authorization = "Bearer " + write_token;
    return call(std::move(r));
  }
  /// POST /actions from a signed-in write session with its CSRF token.
  http_response act(const std::string& form) {
    auto s = auth->sign_in(write_token);
    http_request r;
    r.method = "POST";
    r.target = "/actions";
    r.cookie = std::string(authenticator::cookie_name) + "=" + s->id;
    r.content_type = "application/x-www-form-urlencoded";
    r.body = form + "&csrf=" + s->csrf;
    return call(std::move(r));
  }
};

std::string location(const http_response& r) {
  for (const auto& [k, v] : r.headers)
    if (k == "Location") return v;
  return {};
}

}  // namespace

TEST_CASE("console finding: a secret with characters JSON, HTML or URLs escape is scrubbed in every form",
          "[console]") {
  // fuzz_console, first input (corpus finding_secret_json_escaped): the API answered such a secret JSON-escaped,
  // and only the raw form was scrubbed; pages showed it HTML-escaped, redirects percent-encoded.
  const std::string odd = "p&ss<w\"rd>/'\\x";
  console_under_test c(json::object{{"odd", odd}, {"items", json::array{json::object{{"id", 1}, {"name", odd}}}},
                                    {"next_after", odd}},
                       {odd});
  auto api = c.get("/api/v1/status");
  REQUIRE(api.status == 200);
  auto page = c.get("/runs");
  REQUIRE(page.status == 200);
  auto acted = c.act("command=pause&connector=hs&back=%2Fruns");
  REQUIRE(acted.status == 303);
  for (const auto& r : {api, page, acted}) {
    for (const auto& f : secret_forms(odd)) {
      CHECK(r.body.find(f) == std::string::npos);
      for (const auto& [k, v] : r.headers) CHECK(v.find(f) == std::string::npos);
    }
  }
  CHECK(api.body.find("<redacted>") != std::string::npos);
  CHECK(location(acted).starts_with("/runs?notice="));
  CHECK(location(acted).find("%3Credacted%3E") != std::string::npos);
  // The forms themselves.
  const auto forms = secret_forms(odd);
  CHECK(std::find(forms.begin(), forms.end(), odd) != forms.end());
  CHECK(std::find(forms.begin(), forms.end(), R"(p&ss<w\"rd>/'\\x)") != forms.end());           // JSON
  CHECK(std::find(forms.begin(), forms.end(), pages::escape(odd)) != forms.end());              // HTML
  CHECK(std::find(forms.begin(), forms.end(), "p%26ss%3Cw%22rd%3E%2F%27%5Cx") != forms.end());  // URL
}

TEST_CASE("console finding: a secret that \"<redacted>\" itself contains does not hang the scrubbing", "[console]") {
  // Found reading the scrubber: it searched on from where it had put "<redacted>", so a secret inside that mark
  // (e.g. "redacted") was found again and again, for ever.
  console_under_test c(json::object{{"note", "redacted value"}}, {"redacted"});
  auto r = c.get("/api/v1/version");
  CHECK(r.status == 200);
  CHECK(r.body.find("<redacted> value") != std::string::npos);
}

TEST_CASE("console finding: an action's way back stays on the console, in one header", "[console]") {
  // Found reading /actions (the fuzz target's redirect invariant now guards it; corpus finding_back_*): `back`
  // was kept when it started with "/" but not "//", so "/\evil.example" (which browsers read as
  // //evil.example), "/<TAB>/evil.example" (browsers drop the tab) and a back with CR LF (Beast 1.81 writes
  // header values as given: a second header) passed.
  console_under_test c(json::object{}, {});
  for (const std::string back : {"%2F%5Cevil.example", "/%09/evil.example", "%2F%2Fevil.example",
                                  "%2Fruns%0D%0ASet-Cookie%3A%20omnisync_session%3Dx", "https%3A%2F%2Fevil.example",
                                  "/runs%00x", ""}) {
    INFO(back);
    auto r = c.act("command=pause&connector=hs&back=" + back);
    REQUIRE(r.status == 303);
    CHECK(location(r).starts_with("/?notice="));
  }
  CHECK(location(c.act("command=pause&back=%2Fdead-letters%3Fstate%3Dany")).starts_with("/dead-letters?state=any&notice="));
  CHECK(local_path("/runs?after=3"));
  CHECK(local_path("/"));
  CHECK_FALSE(local_path("/\\evil.example"));
  CHECK_FALSE(local_path("//evil.example"));
  CHECK_FALSE(local_path("/\t/evil.example"));
  CHECK_FALSE(local_path("/runs\r\nX: y"));
  CHECK_FALSE(local_path("runs"));
  CHECK_FALSE(local_path(""));
  CHECK(url_encode("a b/c-d_e.f~g%") == "a%20b%2Fc-d_e.f~g%25");
}

TEST_CASE("console finding: a secret a reload adds is scrubbed from then on", "[console]") {
  // The console's secret set was fixed at start: a secret first read by a reload came back in answers until a
  // restart. The daemon now hands every reload's secrets to the service (set_secrets).
  const std::string added = "added-by-reload-secret-42";
  console_under_test c(json::object{{"value", added}}, {});
  CHECK(c.get("/api/v1/status").body.find(added) != std::string::npos);  // not yet a secret: shown
  c.svc->set_secrets({added, read_token, write_token});
  auto r = c.get("/api/v1/status");
  CHECK(r.status == 200);
  CHECK(r.body.find(added) == std::string::npos);
  CHECK(r.body.find("<redacted>") != std::string::npos);
}
