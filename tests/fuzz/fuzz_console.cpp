// Fuzzes what the web console does with a request (daemon/console/service.hpp), everything after Beast has split
// it into method, target and headers: the path and query string (percent decoding, typing by the command's
// declaration, the pages' own parameters), the Authorization header, the Cookie header (session lookup), Origin
// and Host (same-origin check), the sign-in form, JSON and form bodies of actions with their CSRF token, and the
// asset paths. The commands are the control catalogue's, with stub handlers that record what ran and answer with
// the configured secrets in their results (no real handler does; the console must scrub them anyway).
//
// Input: byte 0 picks the method, byte 1 the credential and a few header choices; then the target up to the first
// newline, one free header line up to the second (the raw Authorization, Cookie or Origin, as byte 1 says), the
// body after it. "@SID@" in the header line becomes the live session's id and "@CSRF@" in the body its CSRF token,
// so the fuzzer reaches what lies behind them.
//
// Invariants besides "no crash, no ASan report, no exception out of handle": a handler runs only for a caller the
// authenticator admits; a write runs only for the write grant, and for a browser session only as a same-origin
// POST /actions carrying the session's CSRF token; no response (body or header) holds a secret, raw or escaped as
// the console writes JSON, HTML or URLs; no header value holds a control character; a redirect stays on the
// console; a cookie is set by /login only; every status is one the console documents.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/console/auth.hpp"
#include "daemon/console/pages.hpp"
#include "daemon/console/service.hpp"
#include "daemon/control/catalogue.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
using namespace omnisync;

namespace {

const std::string read_token = "read-token-0123456789abcdef";
const std::string write_token = "write-token-0123456789abcdef";
// Secrets as a config may hold them: one plain, one with the characters JSON, HTML and URLs escape.
const std::string plain_secret = "vendor-secret-value-42";
const std::string odd_secret = "p&ss<w\"rd>/'\\x";

struct ran {
  std::string command;
  control::access scope;
};

struct world {
  std::vector<ran> calls;
  std::shared_ptr<console::authenticator> auth;
  std::shared_ptr<console::service> svc;
  console::session read_session, write_session;

  world() {
    auto table = std::make_shared<control::command_table>();
    for (const auto* spec : control::catalogue::all)
      table->add(*spec, [this, spec](json::object args, control::event_sink&) -> asio::awaitable<control::reply> {
        calls.push_back({std::string(spec->name), control::required_scope(*spec, args)});
        json::object result{{"args", args}, {"leak", plain_secret}, {"odd", odd_secret},
                            {"items", json::array{json::object{{"id", 1}, {"name", odd_secret}}}},
                            {"next_after", odd_secret}};
        co_return control::reply::success(std::move(result));
      });
    auth = std::make_shared<console::authenticator>(read_token, write_token, std::chrono::hours(24));
    svc = std::make_shared<console::service>(
        table, auth, std::vector<std::string>{read_token, write_token, plain_secret, odd_secret});
    read_session = *auth->sign_in(read_token);
    write_session = *auth->sign_in(write_token);
  }
};

void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_console: %s: %s\n", what, detail.c_str());
  std::abort();
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
}

/// The forms a secret takes in what the console writes: raw, JSON string, HTML text, HTML of JSON, URL-encoded
/// (RFC 3986 unreserved characters kept), written out here rather than taken from the console's own list.
std::vector<std::string> forms(const std::string& secret) {
  std::string js = json::serialize(json::value(secret));
  js = js.substr(1, js.size() - 2);
  std::string url;
  for (unsigned char c : secret) {
    static constexpr char hex[] = "0123456789ABCDEF";
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') url.push_back(static_cast<char>(c));
    else url += std::string{'%', hex[c >> 4], hex[c & 15]};
  }
  return {secret, js, console::pages::escape(secret), console::pages::escape(js), url};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static world w;
  static const std::vector<std::string> secret_forms = [] {
    std::vector<std::string> out;
    for (const auto* s : {&read_token, &write_token, &plain_secret, &odd_secret})
      for (auto& f : forms(*s)) out.push_back(std::move(f));
    return out;
  }();
  if (size < 2) return 0;
  // A /logout with the right token ends a session: start a new one so every input finds both.
  if (!w.auth->find("omnisync_session=" + w.read_session.id)) w.read_session = *w.auth->sign_in(read_token);
  if (!w.auth->find("omnisync_session=" + w.write_session.id)) w.write_session = *w.auth->sign_in(write_token);
  static constexpr const char* methods[] = {"GET", "POST", "HEAD", "PUT", "DELETE", "PATCH"};
  const std::uint8_t how = data[1];
  std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  auto line = [&rest] {
    const auto nl = rest.find('\n');
    std::string out(rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    return out;
  };

  console::http_request req;
  req.method = methods[data[0] % 6];
  req.target = line();
  std::string free_header = line();
  req.body = std::string(rest);
  replace_all(free_header, "@SID@", (how & 0x40) ? w.read_session.id : w.write_session.id);
  replace_all(req.body, "@CSRF@", (how & 0x40) ? w.read_session.csrf : w.write_session.csrf);
  req.host = "console.example.com:8089";
  req.tls = how & 0x10;
  req.content_type = (how & 0x20) ? "application/json" : "application/x-www-form-urlencoded";
  req.remote = "192.0.2.1";
  const std::string own_origin = std::string(req.tls ? "https://" : "http://") + req.host;
  switch (how & 7) {
    case 0: break;
    case 1: req.authorization = "Bearer " + read_token; break;
    case 2: req.authorization = "Bearer " + write_token; break;
    case 3: req.cookie = "omnisync_session=" + w.read_session.id; break;
    case 4: req.cookie = "omnisync_session=" + w.write_session.id; break;
    case 5: req.authorization = free_header; break;
    case 6: req.cookie = free_header; break;
    case 7: req.origin = free_header; req.cookie = "omnisync_session=" + w.write_session.id; break;
  }
  if ((how & 7) != 7) req.origin = (how & 8) ? "https://evil.example" : std::string();
  if (req.origin.empty() && (how & 0x80)) req.origin = own_origin;

  // What the caller may do, from the authenticator itself (the free line may name a real session or token).
  const auto bearer = req.authorization.empty() ? console::grant::none : w.auth->check_authorization(req.authorization);
  const auto from_cookie = w.auth->find(req.cookie);
  const auto cookie_grant = from_cookie ? from_cookie->scope : console::grant::none;
  const std::string path = req.target.substr(0, req.target.find('?'));
  const bool same_origin = req.origin.empty() || req.origin == own_origin;
  const bool csrf_present = from_cookie && req.body.find(from_cookie->csrf) != std::string::npos;
  const std::string method = req.method;

  w.calls.clear();
  asio::io_context io;
  auto f = asio::co_spawn(io, w.svc->handle(std::move(req)), asio::use_future);
  io.run();
  const console::http_response r = f.get();  // an exception out of handle is a finding (the server would 500)

  static constexpr int known[] = {200, 303, 400, 401, 403, 404, 405, 409, 415, 503};
  if (std::find(std::begin(known), std::end(known), r.status) == std::end(known))
    fail("undocumented status", std::to_string(r.status));
  for (const auto& c : w.calls) {
    if (bearer == console::grant::none && cookie_grant == console::grant::none)
      fail("a handler ran for a caller without a grant", c.command);
    if (c.scope != control::access::write) continue;
    if (bearer != console::grant::write && cookie_grant != console::grant::write)
      fail("a write ran without the write grant", c.command);
    if (bearer != console::grant::write && !(method == "POST" && path == "/actions" && same_origin && csrf_present))
      fail("a session's write ran outside a same-origin POST /actions with its CSRF token", c.command);
  }
  // A form the request itself holds may come back (an unknown command's name is quoted, a search echoed): that
  // is the caller's own text. The fuzzer learns the secrets from the console's scrubbing (libFuzzer watches
  // string searches), so it does send them.
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto leaked = [&](const std::string& text, const std::string& s) {
    return text.find(s) != std::string::npos && input.find(s) == std::string_view::npos;
  };
  for (const auto& s : secret_forms)
    if (leaked(r.body, s)) fail("a secret in the body", s);
  for (const auto& [k, v] : r.headers) {
    for (const auto& s : secret_forms)
      if (leaked(v, s)) fail("a secret in a header", k + ": " + v);
    for (unsigned char ch : k + v)
      if (ch < 0x20 || ch == 0x7f) fail("a control character in a header", k);
    if (k == "Location" && (!v.starts_with("/") || v.starts_with("//") || v.starts_with("/\\")))
      fail("a redirect off the console", v);
    if (k == "Set-Cookie" && path != "/login" && path != "/logout") fail("a cookie set outside sign-in", path);
  }
  return 0;
}
