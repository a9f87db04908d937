#include "daemon/console/service.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "core/json_text.hpp"
#include "daemon/console/assets.hpp"
#include "daemon/console/page_parts.hpp"
#include "daemon/console/pages.hpp"

namespace asio = boost::asio;
namespace json = boost::json;

namespace omnisync::console {
namespace {

/// Events of commands run with `follow` are dropped: an HTTP answer is the final result only.
class no_events final : public control::event_sink {
 public:
  asio::awaitable<bool> emit(json::object) override { co_return true; }
  std::string caller() const override { return "console"; }
};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

http_response json_answer(int status, json::value body) {
  return {status, "application/json", to_json_text(body) + "\n", {}};
}

http_response json_error(int status, std::string_view code, std::string_view message) {
  return json_answer(status, json::object{{"ok", false}, {"error", json::object{{"code", code}, {"message", message}}}});
}

/// The HTTP status of a command's refusal.
int status_of(const std::string& code) {
  if (code == "invalid_args" || code == "bad_request") return 400;
  if (code == "internal_error") return 500;
  if (code.find("not_found") != std::string::npos || code.starts_with("unknown_")) return 404;
  if (code == "not_ready" || code == "unavailable") return 503;
  return 409;  // refused in the daemon's present state (paused, running already, ...)
}

std::string join_names(const control::command_spec& spec) {
  std::string out;
  for (const auto& a : spec.args) out += (out.empty() ? "" : ", ") + std::string(a.name);
  return out;
}

http_response redirect(std::string location) {
  return {303, "text/plain", "see " + location + "\n", {{"Location", std::move(location)}}};
}

}  // namespace

std::vector<std::pair<std::string, std::string>> parse_form(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!text.empty()) {
    auto amp = text.find('&');
    auto part = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (part.empty()) continue;
    auto eq = part.find('=');
    if (eq == std::string_view::npos) out.emplace_back(decode(part), std::string());
    else out.emplace_back(decode(part.substr(0, eq)), decode(part.substr(eq + 1)));
  }
  return out;
}

std::string url_encode(std::string_view text) { return pages::detail::url_encode(text); }

std::vector<std::string> secret_forms(std::string_view secret) {
  std::string js = json::serialize(json::string_view(secret.data(), secret.size()));
  js = js.substr(1, js.size() - 2);
  std::vector<std::string> out{std::string(secret), js, pages::escape(secret), pages::escape(js), url_encode(secret)};
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool local_path(std::string_view target) {
  if (target.empty() || target.front() != '/') return false;
  if (target.size() > 1 && (target[1] == '/' || target[1] == '\\')) return false;
  return std::none_of(target.begin(), target.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

std::string form_value(std::string_view body, std::string_view name) {
  for (auto& [k, v] : parse_form(body))
    if (k == name) return v;
  return {};
}

bool same_origin(const http_request& req) {
  // Browsers send Origin with every POST; a request without one is not from a cross-site page. With one, it
  // must name this console (scheme and Host as the browser reached it). The pages' Referrer-Policy is
  // same-origin, not no-referrer: under no-referrer Chromium sends `Origin: null` with forms, refused here.
  if (req.origin.empty()) return true;
  return req.origin == (req.tls ? "https://" : "http://") + req.host;
}

std::variant<json::object, std::string> args_from_params(
    const control::command_spec& spec, const std::vector<std::pair<std::string, std::string>>& params) {
  json::object args;
  std::vector<std::string> problems;
  for (const auto& [name, value] : params) {
    const control::arg_spec* a = spec.arg(name);
    if (!a) {
      problems.push_back("unknown argument \"" + name + "\" (" + std::string(spec.name) +
                         (spec.args.empty() ? " takes no arguments)" : " takes " + join_names(spec) + ")"));
      continue;
    }
    const std::string quoted = "argument \"" + name + "\"";
    switch (a->type) {
      case control::arg_type::string:
        if (args.contains(name)) problems.push_back(quoted + " is given more than once");
        else args[name] = value;
        break;
      case control::arg_type::integer: {
        std::int64_t n = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
        if (value.empty() || ec != std::errc() || end != value.data() + value.size())
          problems.push_back(quoted + " must be an integer, not \"" + value + "\"");
        else
          args[name] = n;
        break;
      }
      case control::arg_type::boolean:
        if (value.empty() || value == "true" || value == "1" || value == "on") args[name] = true;
        else if (value == "false" || value == "0" || value == "off") args[name] = false;
        else problems.push_back(quoted + " must be true or false, not \"" + value + "\"");
        break;
      case control::arg_type::string_list: {
        auto& list = args[name].is_array() ? args[name].as_array() : args[name].emplace_array();
        std::string_view rest = value;
        while (!rest.empty()) {
          auto comma = rest.find(',');
          if (auto item = rest.substr(0, comma); !item.empty()) list.emplace_back(item);
          rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        }
        break;
      }
    }
  }
  if (problems.empty()) {
    if (auto why = control::check_args(spec, args); !why.empty()) return why;
    return args;
  }
  std::string out = std::string(spec.name) + ": ";
  for (std::size_t i = 0; i < problems.size(); ++i) out += (i ? "; " : "") + problems[i];
  return out;
}

service::service(std::shared_ptr<const control::command_table> commands, std::shared_ptr<authenticator> auth,
                 std::vector<std::string> secrets)
    : commands_(std::move(commands)), auth_(std::move(auth)) {
  set_secrets(secrets);
}

void service::set_secrets(const std::vector<std::string>& secrets) {
  auto forms = std::make_shared<std::vector<std::string>>();
  for (const auto& s : secrets)
    if (s.size() >= 6)  // shorter values are too common to scrub
      for (auto& f : secret_forms(s)) forms->push_back(std::move(f));
  // Longest first: a form that contains another is replaced whole.
  std::sort(forms->begin(), forms->end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  std::lock_guard lock(mutex_);
  secret_forms_ = std::move(forms);
}

void service::scrub(std::string& text) const {
  static constexpr std::string_view redacted = "<redacted>";
  std::shared_ptr<const std::vector<std::string>> forms;
  {
    std::lock_guard lock(mutex_);
    forms = secret_forms_;
  }
  for (const auto& s : *forms)
    for (auto at = text.find(s); at != std::string::npos; at = text.find(s, at + redacted.size()))
      text.replace(at, s.size(), redacted);  // searched on after the mark: a secret inside "<redacted>" ends too
}

std::shared_ptr<const control::command_table> service::commands() const {
  std::lock_guard lock(mutex_);
  return commands_;
}

void service::set_commands(std::shared_ptr<const control::command_table> commands) {
  std::lock_guard lock(mutex_);
  commands_ = std::move(commands);
}

asio::awaitable<control::reply> service::run(std::string_view command, json::object args) {
  auto table = commands();
  const control::handler* h = table->find(command);
  if (!h) co_return control::reply::failure("unknown_command", "unknown command \"" + std::string(command) + "\"");
  no_events events;
  std::optional<control::reply> r;
  std::string failure;
  try {
    r.emplace(co_await (*h)(std::move(args), events));
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (!r) {
    spdlog::error("console: command {} failed: {}", command, failure);
    co_return control::reply::failure("internal_error", "the command failed inside the daemon; see its log");
  }
  co_return std::move(*r);
}

http_response service::finish(http_response r, bool cache) const {
  scrub(r.body);
  for (auto& [name, value] : r.headers) scrub(value);  // a redirect's notice, a file name
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
                         "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                         "frame-ancestors 'none'");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "same-origin");
  r.headers.emplace_back("Cache-Control", cache ? "public, max-age=3600" : "no-store");
  return r;
}

asio::awaitable<http_response> service::handle(http_request req) {
  std::string_view target = req.target;
  const std::string_view path = target.substr(0, target.find('?'));
  if (path.starts_with("/assets/")) {
    if (req.method != "GET" && req.method != "HEAD") co_return finish(json_error(405, "method_not_allowed", "GET only"), false);
    if (const asset* a = find_asset(path.substr(8)))
      co_return finish({200, std::string(a->content_type), std::string(a->body), {}}, true);
    co_return finish({404, "text/plain", "not found\n", {}}, false);
  }
  if (path == "/api/v1" || path.starts_with("/api/v1/")) co_return finish(co_await api(req, path), false);
  if (path == "/login") co_return finish(login(req), false);

  caller who;
  if (!req.authorization.empty()) {
    who.scope = auth_->check_authorization(req.authorization);
  } else if (auto s = auth_->find(req.cookie)) {
    who.scope = s->scope;
    who.browser = std::move(s);
  }
  if (who.scope == grant::none) {
    if (req.method == "GET" || req.method == "HEAD") co_return finish(redirect("/login"), false);
    co_return finish({401, "text/html; charset=utf-8", pages::message_page(401, "Sign in first."), {}}, false);
  }
  if (path == "/logout") {
    if (req.method != "POST" || !who.browser || !same_origin(req) ||
        !equal_secret(form_value(req.body, "csrf"), who.browser->csrf))
      co_return finish({403, "text/html; charset=utf-8", pages::message_page(403, "Refused."), {}}, false);
    auth_->sign_out(who.browser->id);
    auto r = redirect("/login");
    r.headers.emplace_back("Set-Cookie", std::string(authenticator::cookie_name) +
                                             "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
    co_return finish(std::move(r), false);
  }
  if (path == "/actions") co_return finish(co_await action(req, who), false);
  co_return finish(co_await page(req, path, who), false);
}

asio::awaitable<http_response> service::api(const http_request& req, std::string_view path) {
  const grant g = auth_->check_authorization(req.authorization);
  if (g == grant::none) {
    auto r = json_error(401, "unauthorized",
                        req.authorization.empty() ? "send Authorization: Bearer TOKEN" : "the token is not valid");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"omnisync\"");
    co_return r;
  }
  auto table = commands();
  std::string_view name = path.size() > 8 ? path.substr(8) : std::string_view();
  if (name.empty()) {  // the index: every command with its declaration
    json::array list;
    for (const auto& [n, help] : table->list())
      if (const auto* spec = table->spec(n)) list.push_back(control::to_json(*spec));
    co_return json_answer(200, json::object{{"ok", true}, {"result", json::object{{"commands", std::move(list)}}}});
  }
  const control::command_spec* spec = table->spec(name);
  if (!spec) co_return json_error(404, "unknown_command", "unknown command \"" + std::string(name) + "\"");
  if (req.method != "GET" && req.method != "POST") {
    auto r = json_error(405, "method_not_allowed", "use GET to read, POST to act");
    r.headers.emplace_back("Allow", "GET, POST");
    co_return r;
  }
  const std::string_view target = req.target;
  const auto q = target.find('?');
  const auto params = parse_form(q == std::string_view::npos ? std::string_view() : target.substr(q + 1));
  json::object args;
  if (req.method == "POST" && !req.body.empty()) {
    if (!req.content_type.starts_with("application/json"))
      co_return json_error(415, "unsupported_media_type", "a POST body must be a JSON object (application/json)");
    if (!params.empty())
      co_return json_error(400, "invalid_args", "give the arguments in the body or in the query string, not both");
    boost::system::error_code ec;
    auto body = json::parse(req.body, ec);
    if (ec || !body.is_object()) co_return json_error(400, "invalid_args", "the body must be a JSON object of arguments");
    args = std::move(body.as_object());
    if (auto why = control::check_args(*spec, args); !why.empty()) co_return json_error(400, "invalid_args", why);
  } else {
    auto parsed = args_from_params(*spec, params);
    if (auto* why = std::get_if<std::string>(&parsed)) co_return json_error(400, "invalid_args", *why);
    args = std::move(std::get<json::object>(parsed));
  }
  const control::access needs = control::required_scope(*spec, args);
  if (needs == control::access::write && req.method != "POST") {
    auto r = json_error(405, "method_not_allowed", std::string(spec->name) + " with these arguments changes state: use POST");
    r.headers.emplace_back("Allow", "POST");
    co_return r;
  }
  if (!allows(g, needs))
    co_return json_error(403, "forbidden", "this token may only read; " + std::string(spec->name) + " needs the write token");
  if (needs == control::access::write)
    spdlog::info("console: {} {} by the write token from {}", spec->name, to_json_text(args), req.remote);
  auto r = co_await run(spec->name, std::move(args));
  if (!r.ok()) co_return json_error(status_of(r.code()), r.code(), r.message());
  co_return json_answer(200, json::object{{"ok", true}, {"result", r.result()}});
}

}  // namespace omnisync::console
