// The console's pages, sign-in and form actions (service.hpp); the JSON API is in service.cpp.
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>

#include "core/json_text.hpp"
#include "daemon/console/pages.hpp"
#include "daemon/console/service.hpp"

namespace asio = boost::asio;
namespace json = boost::json;

namespace omnisync::console {
namespace {

http_response html(int status, std::string body) { return {status, "text/html; charset=utf-8", std::move(body), {}}; }

http_response see_other(std::string location) {
  return {303, "text/plain", "see " + location + "\n", {{"Location", std::move(location)}}};
}

/// The query string of `target` parsed; `drop` names parameters the page itself consumes.
std::vector<std::pair<std::string, std::string>> query_of(std::string_view target) {
  const auto q = target.find('?');
  return parse_form(q == std::string_view::npos ? std::string_view() : target.substr(q + 1));
}

std::string take(std::vector<std::pair<std::string, std::string>>& params, std::string_view name) {
  std::string out;
  std::erase_if(params, [&](const auto& kv) {
    if (kv.first != name) return false;
    out = kv.second;
    return true;
  });
  return out;
}

/// The query string of the next page: the page's filters with `after` set to the result's next_after.
std::string next_query(std::vector<std::pair<std::string, std::string>> params, const json::value& result) {
  const auto* o = result.if_object();
  const auto* next = o ? o->if_contains("next_after") : nullptr;
  if (!next || next->is_null() || (next->is_string() && next->as_string().empty())) return {};
  std::erase_if(params, [](const auto& kv) { return kv.first == "after"; });
  params.emplace_back("after", next->is_string() ? std::string(next->as_string()) : to_json_text(*next));
  std::string out;
  for (const auto& [k, v] : params) out += (out.empty() ? "" : "&") + url_encode(k) + "=" + url_encode(v);
  return out;
}

// Command names as constants: GCC 12 rejects a string literal inside a co_await expression ("array used as
// initializer").
constexpr std::string_view cmd_status = "status", cmd_runs = "runs", cmd_dlq = "dlq", cmd_profile = "profile",
                           cmd_record = "record", cmd_report = "report";

/// The reports the Analytics page draws (`omnisyncctl report NAME`), in its order.
constexpr std::string_view report_names[] = {"funnel", "retention", "satisfaction", "value", "segment_size"};

/// The filters of dlq list that dlq stats takes too.
constexpr std::string_view stats_filters[] = {"connector", "object", "stage", "reason", "since", "until", "state"};

}  // namespace

http_response service::login(const http_request& req) {
  if (req.method == "GET" || req.method == "HEAD") return html(200, pages::login({}));
  if (req.method != "POST") return html(405, pages::message_page(405, "GET or POST only."));
  if (!same_origin(req)) return html(403, pages::message_page(403, "Sign in from this console's own page."));
  auto s = auth_->sign_in(form_value(req.body, "token"));
  if (!s) {
    spdlog::warn("console: a sign-in with a wrong token from {}", req.remote);
    return html(401, pages::login("That token is not valid."));
  }
  spdlog::info("console: signed in with the {} token from {}", s->scope == grant::write ? "write" : "read", req.remote);
  auto r = see_other("/");
  r.headers.emplace_back("Set-Cookie", std::string(authenticator::cookie_name) + "=" + s->id +
                                           "; Path=/; HttpOnly; SameSite=Strict" + (req.tls ? "; Secure" : ""));
  return r;
}

asio::awaitable<http_response> service::page(const http_request& req, std::string_view path, const caller& who) {
  if (req.method != "GET" && req.method != "HEAD") co_return html(405, pages::message_page(405, "Pages are read with GET."));
  pages::frame f;
  f.csrf = who.browser ? who.browser->csrf : std::string();
  f.can_write = who.scope == grant::write;
  auto params = query_of(req.target);
  f.notice = take(params, "notice");
  auto ok_or_empty = [](const control::reply& r) { return r.ok() ? r.result() : json::value(json::object{}); };
  auto bad = [](const std::string& why) { return html(400, pages::message_page(400, why)); };
  if (path == "/") {
    f.title = "Overview";
    f.active = "overview";
    json::object no_args;
    auto status = co_await run(cmd_status, std::move(no_args));
    if (!status.ok()) co_return html(503, pages::message_page(503, status.message()));
    json::object runs_args{{"limit", 10}};
    auto runs = co_await run(cmd_runs, std::move(runs_args));
    json::object stats_args{{"action", "stats"}};
    auto stats = co_await run(cmd_dlq, std::move(stats_args));
    co_return html(200, pages::overview(f, status.result(), ok_or_empty(runs), ok_or_empty(stats)));
  }
  if (path == "/runs") {
    f.title = "Runs";
    f.active = "runs";
    const auto* spec = commands()->spec("runs");
    if (!spec) co_return html(404, pages::message_page(404, "This daemon has no run history."));
    auto args = args_from_params(*spec, params);
    if (auto* why = std::get_if<std::string>(&args)) co_return bad(*why);
    auto& a = std::get<json::object>(args);
    if (a.contains("action") || a.contains("id")) co_return bad("runs: this page lists runs (no action, no id)");
    auto r = co_await run(cmd_runs, a);
    if (!r.ok()) co_return html(400, pages::message_page(400, r.message()));
    co_return html(200, pages::runs(f, r.result(), next_query(params, r.result())));
  }
  if (path == "/dead-letters") {
    f.title = "Dead letters";
    f.active = "dead-letters";
    const auto* spec = commands()->spec("dlq");
    if (!spec) co_return html(404, pages::message_page(404, "This daemon has no dead letters."));
    auto args = args_from_params(*spec, params);
    if (auto* why = std::get_if<std::string>(&args)) co_return bad(*why);
    auto& a = std::get<json::object>(args);
    if (a.contains("action")) co_return bad("dlq: this page lists dead letters (actions are buttons on it)");
    json::object stats_args{{"action", "stats"}};
    for (std::string_view k : stats_filters)
      if (auto* v = a.if_contains(k)) stats_args[k] = *v;
    auto stats = co_await run(cmd_dlq, std::move(stats_args));
    a["action"] = "list";
    auto list = co_await run(cmd_dlq, a);
    if (!list.ok()) co_return html(400, pages::message_page(400, list.message()));
    co_return html(200, pages::dead_letters(f, ok_or_empty(stats), list.result(), next_query(params, list.result())));
  }
  if (path == "/people") {
    f.title = "People";
    f.active = "people";
    const std::string q = take(params, "q"), id = take(params, "id"), explain = take(params, "explain");
    if (!params.empty()) co_return bad("people: unknown parameter \"" + params.front().first + "\" (takes q, id, explain)");
    if (!explain.empty() && explain != "true" && explain != "false") co_return bad("people: explain is true or false");
    std::optional<json::value> results, person;
    if (!q.empty()) {
      json::object search{{"action", "search"}, {"query", q}, {"limit", 50}};
      auto r = co_await run(cmd_profile, std::move(search));
      if (!r.ok()) {
        const int st = r.code() == "invalid_args" ? 400 : 503;
        co_return html(st, pages::message_page(st, r.message()));
      }
      results = r.result();
    }
    if (!id.empty()) {
      json::object get{{"action", explain == "true" ? "explain" : "get"}, {"query", id}};
      auto r = co_await run(cmd_profile, std::move(get));
      if (!r.ok()) {
        const int st = r.code() == "not_found" ? 404 : 400;
        co_return html(st, pages::message_page(st, r.message()));
      }
      person = r.result();
    }
    co_return html(200, pages::people(f, q, results ? &*results : nullptr, person ? &*person : nullptr));
  }
  if (path == "/records") {
    f.title = "Record inspector";
    f.active = "runs";
    const std::string connector = take(params, "connector"), object = take(params, "object"), id = take(params, "id");
    if (!params.empty())
      co_return bad("records: unknown parameter \"" + params.front().first + "\" (takes connector, object, id)");
    if (connector.empty() && object.empty() && id.empty())
      co_return html(200, pages::record_inspector(f, connector, object, id, nullptr));
    if (connector.empty() || object.empty() || id.empty())
      co_return bad("records: connector, object and id are all needed");
    if (connector.size() > 200 || object.size() > 200 || id.size() > 1000) co_return bad("records: a parameter is too long");
    json::object a{{"action", "show"}, {"connector", connector}, {"object", object}, {"id", id}};
    auto r = co_await run(cmd_record, std::move(a));
    if (!r.ok()) {
      const int st = r.code() == "not_found" ? 404 : (r.code() == "unknown_connector" || r.code() == "usage" ||
                                                      r.code() == "invalid_args") ? 400 : 503;
      co_return html(st, pages::message_page(st, r.message()));
    }
    co_return html(200, pages::record_inspector(f, connector, object, id, &r.result()));
  }
  if (path == "/analytics") {
    f.title = "Analytics";
    f.active = "analytics";
    if (!params.empty()) co_return bad("analytics: unknown parameter \"" + params.front().first + "\"");
    const auto* spec = commands()->spec("report");
    if (!spec)
      co_return html(200, pages::analytics(f, nullptr, "The reports need the lifecycle history (omnisyncctl report), "
                                                       "which this daemon does not have yet."));
    json::object reports;
    std::string note;  // why a report is missing (the index still loading, a standby): the first refusal's words
    for (std::string_view name : report_names) {
      json::object a{{"name", name}};
      auto r = co_await run(cmd_report, std::move(a));
      if (r.ok()) reports[name] = r.result();
      else if (note.empty()) note = r.message();
    }
    json::value all(std::move(reports));
    co_return html(200, pages::analytics(f, &all, note));
  }
  if (path.starts_with("/analytics/") && path.ends_with(".csv")) {
    const std::string name(path.substr(11, path.size() - 15));
    if (std::find(std::begin(report_names), std::end(report_names), name) == std::end(report_names))
      co_return html(404, pages::message_page(404, "No such report."));
    if (!commands()->spec("report"))
      co_return html(404, pages::message_page(404, "This daemon has no history reports yet."));
    json::object a{{"name", name}};
    auto r = co_await run(cmd_report, std::move(a));
    if (!r.ok()) co_return html(503, pages::message_page(503, r.message()));
    http_response csv{200, "text/csv; charset=utf-8", pages::report_csv(r.result()), {}};
    csv.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + name + ".csv\"");
    co_return csv;
  }
  co_return html(404, pages::message_page(404, "No such page."));
}

asio::awaitable<http_response> service::action(const http_request& req, const caller& who) {
  // A form posted by a page: only from a signed-in browser, from this origin, with the session's CSRF token.
  if (req.method != "POST") co_return html(405, pages::message_page(405, "Actions are POSTed by the pages' forms."));
  if (!who.browser || !same_origin(req))
    co_return html(403, pages::message_page(403, "Actions come from this console's pages."));
  if (!req.content_type.starts_with("application/x-www-form-urlencoded"))
    co_return html(415, pages::message_page(415, "A form body is expected."));
  auto fields = parse_form(req.body);
  const std::string csrf = [&] {
    for (auto& [k, v] : fields)
      if (k == "csrf") return v;
    return std::string();
  }();
  if (!equal_secret(csrf, who.browser->csrf))
    co_return html(403, pages::message_page(403, "The form is stale; load the page again."));
  std::string command, back = "/";
  std::vector<std::pair<std::string, std::string>> params;
  for (auto& [k, v] : fields) {
    if (k == "csrf") continue;
    if (k == "command") command = v;
    else if (k == "back") back = v;
    else params.emplace_back(k, v);
  }
  if (!local_path(back)) back = "/";  // never a redirect off this console, never a split header
  const auto* spec = commands()->spec(command);
  if (!spec) co_return html(404, pages::message_page(404, "Unknown command \"" + command + "\"."));
  auto args = args_from_params(*spec, params);
  if (auto* why = std::get_if<std::string>(&args)) co_return html(400, pages::message_page(400, *why));
  auto& a = std::get<json::object>(args);
  const auto needs = control::required_scope(*spec, a);
  if (!allows(who.scope, needs))
    co_return html(403, pages::message_page(403, std::string(spec->name) + " needs the write token; this session may only read."));
  if (needs == control::access::write)
    spdlog::info("console: {} {} by a session of the write token from {}", spec->name, to_json_text(a), req.remote);
  auto r = co_await run(spec->name, std::move(a));
  std::string notice = r.ok() ? std::string(spec->name) + ": done — " + to_json_text(r.result())
                              : std::string(spec->name) + ": refused — " + r.message();
  scrub(notice);  // before encoding: finish() scrubs the header too, but only the forms it knows
  co_return see_other(back + (back.find('?') == std::string::npos ? "?" : "&") + "notice=" + url_encode(notice));
}

}  // namespace omnisync::console
