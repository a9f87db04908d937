#include "sim/core/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>

#include <fnmatch.h>

#include <deque>
#include <iostream>
#include <mutex>

#include "adapters/http/http_client.hpp"
#include "sim/core/form.hpp"

namespace omnisync::sim {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
namespace json = boost::json;
using tcp = asio::ip::tcp;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

enum class fault_kind { latency, status, rate_limit, reset, token_expiry, malformed, truncated, slow_body };

struct fault_rule {
  std::string service;       // "*" for any
  std::string method;        // "*" for any
  std::string path_glob;     // fnmatch on the path (no query)
  fault_kind kind = fault_kind::status;
  long remaining = 1;        // -1: until cleared
  int status = 500;
  int retry_after = 1;
  long latency_ms = 0;
  std::string body;
};

std::optional<fault_kind> parse_kind(std::string_view k) {
  static const std::pair<std::string_view, fault_kind> kinds[] = {
      {"latency", fault_kind::latency},     {"status", fault_kind::status},
      {"rate_limit", fault_kind::rate_limit}, {"reset", fault_kind::reset},
      {"token_expiry", fault_kind::token_expiry}, {"malformed", fault_kind::malformed},
      {"truncated", fault_kind::truncated}, {"slow_body", fault_kind::slow_body}};
  for (auto& [n, v] : kinds)
    if (n == k) return v;
  return std::nullopt;
}

struct log_entry {
  std::int64_t seq = 0;
  std::int64_t at_ms = 0;
  std::string service, direction, method, target;
  int status = 0;
  std::int64_t bytes = 0;  ///< the request's body (a webhook delivery's body for "out")
};

/// What the session does with a request: answer normally, or misbehave as a fault says.
struct plan {
  http_response response;
  std::optional<fault_kind> fault;
  long latency_ms = 0;
};

std::string path_of(const std::string& target) { return target.substr(0, target.find('?')); }

http_response json_response(int status, const json::value& v) {
  http_response r;
  r.status = status;
  r.body = json::serialize(v);
  return r;
}

http_response admin_error(int status, std::string message) {
  return json_response(status, json::object{{"error", std::move(message)}});
}

}  // namespace

struct server::impl : std::enable_shared_from_this<impl> {
  asio::any_io_executor ex;
  server_options opts;
  std::vector<std::shared_ptr<service>> services;
  std::shared_ptr<sim_clock> clock;
  ssl::context tls_ctx{ssl::context::tls_server};
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::map<std::string, std::pair<std::string, std::string>> urls;  // service → (http, https)
  std::string admin_url;

  std::mutex mutex;
  std::vector<fault_rule> faults;
  std::deque<log_entry> log;
  std::int64_t next_seq = 1;
  std::map<std::string, std::map<std::string, std::int64_t>> counts;
  /// Body bytes of the requests each service received, per "METHOD path" (the keys of `counts`).
  std::map<std::string, std::map<std::string, std::int64_t>> bytes_in;
  std::map<std::string, webhook_target> webhooks;
  std::unique_ptr<omnisync::http::client> delivery;

  /// One webhook delivery and its attempts, for `GET /admin/deliveries` (the newest `max_deliveries` kept).
  struct delivery_state {
    std::int64_t id = 0;
    std::string service, url, method, label;
    int attempts = 0;
    int last_status = 0;
    std::string state = "pending";  // pending, delivered, failed (gave up), dropped (reset)
    std::int64_t first_ms = 0, last_ms = 0, next_ms = 0;  // sim clock
    std::vector<std::int64_t> pauses_ms;                   // vendor time, before the time scale
  };
  static constexpr std::size_t max_deliveries = 5000;
  std::deque<delivery_state> deliveries;
  std::int64_t next_delivery = 1;
  std::uint64_t generation = 0;                 // bumped by /admin/reset: pending redeliveries stop
  std::map<std::string, double> time_scale;     // service -> webhook_time_scale (1: the vendor's real pauses)
  /// A service's cap on webhook requests in flight: a channel with that many slots; an attempt takes one before
  /// it sends and gives it back when answered (or failed), so further attempts wait. None: no cap.
  using delivery_gate = asio::experimental::concurrent_channel<void(boost::system::error_code)>;
  std::map<std::string, std::shared_ptr<delivery_gate>> gates;

  impl(asio::any_io_executor e, server_options o, std::vector<std::shared_ptr<service>> s, std::shared_ptr<sim_clock> c)
      : ex(std::move(e)), opts(std::move(o)), services(std::move(s)), clock(std::move(c)) {
    tls_ctx.use_certificate_chain_file(opts.tls.leaf_cert.string());
    tls_ctx.use_private_key_file(opts.tls.leaf_key.string(), ssl::context::pem);
    omnisync::http::client_options co;
    co.ca_file = opts.tls.ca_cert;
    co.connect_timeout = std::chrono::seconds(5);
    co.read_timeout = std::chrono::seconds(10);
    co.total_timeout = std::chrono::seconds(15);
    delivery = std::make_unique<omnisync::http::client>(ex, co);
    for (auto& svc : services) set_concurrency(svc->name(), svc->webhook_concurrency());
  }

  /// Under `mutex` (or before any delivery): the service's cap on webhook requests in flight, 0 for none.
  /// Attempts already waiting or in flight finish under the cap they started with.
  void set_concurrency(const std::string& svc, std::size_t n) {
    if (n == 0) gates.erase(svc);
    else gates[svc] = std::make_shared<delivery_gate>(ex, n);
  }

  std::shared_ptr<service> find(const std::string& name) {
    for (auto& s : services)
      if (s->name() == name) return s;
    return nullptr;
  }

  void record(const std::string& svc, const std::string& direction, const std::string& method,
              const std::string& target, int status, std::size_t bytes = 0) {
    std::lock_guard lock(mutex);
    const auto n = static_cast<std::int64_t>(bytes);
    log.push_back({next_seq++, clock->now_ms(), svc, direction, method, target, status, n});
    while (log.size() > opts.request_log_size) log.pop_front();
    if (direction == "in") {
      const std::string key = method + " " + path_of(target);
      ++counts[svc][key];
      bytes_in[svc][key] += n;
    }
  }

  std::optional<fault_rule> take_fault(const std::string& svc, const http_request& r) {
    std::lock_guard lock(mutex);
    auto path = path_of(r.target);
    for (auto it = faults.begin(); it != faults.end(); ++it) {
      if (it->service != "*" && it->service != svc) continue;
      if (it->method != "*" && it->method != r.method) continue;
      if (fnmatch(it->path_glob.c_str(), path.c_str(), 0) != 0) continue;
      fault_rule f = *it;
      if (it->remaining > 0 && --it->remaining == 0) faults.erase(it);
      return f;
    }
    return std::nullopt;
  }

  // ---- webhooks -------------------------------------------------------------------------------------------

  void deliver(const std::string& svc, std::vector<outgoing_webhook> hooks, const webhook_target& target) {
    for (auto& h : hooks) {
      std::int64_t id;
      std::uint64_t gen;
      {
        std::lock_guard lock(mutex);
        id = next_delivery++;
        gen = generation;
        delivery_state d;
        d.id = id;
        d.service = svc;
        d.url = target.url;
        d.method = h.method;
        d.label = h.label;
        d.first_ms = clock->now_ms();
        deliveries.push_back(std::move(d));
        while (deliveries.size() > max_deliveries) deliveries.pop_front();
      }
      asio::co_spawn(ex, deliver_one(shared_from_this(), svc, std::move(h), target, id, gen), asio::detached);
    }
  }

  template <class F>
  void update_delivery(std::int64_t id, F&& f) {
    // The kept deliveries hold consecutive ids (appended with next_delivery++ under the lock, dropped from the
    // front): found by index, not by a scan per attempt (an initial sync sends thousands at once).
    std::lock_guard lock(mutex);
    if (deliveries.empty() || id < deliveries.front().id) return;
    const auto at = static_cast<std::size_t>(id - deliveries.front().id);
    if (at < deliveries.size() && deliveries[at].id == id) f(deliveries[at]);
  }

  double scale_of(const std::string& svc) {
    std::lock_guard lock(mutex);
    auto it = time_scale.find(svc);
    return it == time_scale.end() ? 1.0 : it->second;
  }

  /// One exchange with a webhook receiver; the answer's status (0 when none came), body and Retry-After.
  struct attempt_result {
    int status = 0;
    std::string body, retry_after;
  };
  static asio::awaitable<attempt_result> send_hook(std::shared_ptr<impl> self, const outgoing_webhook& hook,
                                                   const std::string& url) {
    omnisync::http::request req;
    req.method = hook.method;
    req.url = url;
    req.timeout = std::chrono::milliseconds(std::max<std::int64_t>(1, hook.timeout_ms));
    if (hook.method != "HEAD" && hook.method != "GET") {
      req.body = hook.body;
      req.headers.push_back({"Content-Type", hook.content_type});
    }
    for (auto& [k, v] : hook.headers) req.headers.push_back({k, v});
    auto r = co_await self->delivery->send(req);
    attempt_result out;
    if (r) {
      out.status = r->status;
      out.body = r->body;
      out.retry_after = std::string(r->get("Retry-After"));
    }
    co_return out;
  }

  static asio::awaitable<void> deliver_one(std::shared_ptr<impl> self, std::string svc, outgoing_webhook hook,
                                           webhook_target target, std::int64_t id, std::uint64_t gen) {
    // Each vendor's own redelivery policy (hook.retry), its pauses scaled by the service's webhook_time_scale so
    // tests need not wait the vendor's real minutes and hours.
    std::int64_t elapsed = 0, last_pause = 0;
    for (int attempt = 1;; ++attempt) {
      std::shared_ptr<delivery_gate> gate;
      {
        std::lock_guard lock(self->mutex);
        if (auto it = self->gates.find(svc); it != self->gates.end()) gate = it->second;
      }
      if (gate) co_await gate->async_send(boost::system::error_code{}, tuple_awaitable);  // waits for a free slot
      if (attempt > 1 && hook.resign) hook.resign(hook, attempt, self->clock->now_ms());
      auto r = co_await send_hook(self, hook, target.url);
      if (gate) gate->try_receive([](boost::system::error_code) {});  // the slot back: a waiting attempt goes
      self->record(svc, "out", hook.method, target.url, r.status, hook.body.size());
      const bool ok = r.status != 0 && (hook.accepted ? hook.accepted(r.status, r.body) : r.status / 100 == 2);
      const auto now = self->clock->now_ms();
      self->update_delivery(id, [&](delivery_state& d) {
        d.attempts = attempt;
        d.last_status = r.status;
        d.last_ms = now;
        d.next_ms = 0;
        if (ok) d.state = "delivered";
      });
      if (ok) co_return;
      std::optional<std::int64_t> pause;
      {
        std::lock_guard lock(self->mutex);
        if (self->generation != gen) pause.reset();
        else if (hook.retry)
          pause = hook.retry(delivery_outcome{attempt, r.status, r.retry_after, elapsed, last_pause,
                                              static_cast<std::uint64_t>(id)});
      }
      if (!pause) {
        self->update_delivery(id, [&](delivery_state& d) { d.state = self->generation != gen ? "dropped" : "failed"; });
        co_return;
      }
      elapsed += *pause;
      last_pause = *pause;
      const auto real = static_cast<std::int64_t>(static_cast<double>(*pause) * self->scale_of(svc));
      self->update_delivery(id, [&](delivery_state& d) {
        d.pauses_ms.push_back(*pause);
        d.next_ms = now + real;
      });
      asio::steady_timer t(self->ex, std::chrono::milliseconds(std::max<std::int64_t>(0, real)));
      co_await t.async_wait(tuple_awaitable);
      bool stale;
      {
        std::lock_guard lock(self->mutex);
        stale = self->generation != gen;
      }
      if (stale) {
        self->update_delivery(id, [&](delivery_state& d) { d.state = "dropped"; });
        co_return;
      }
    }
  }

  /// `POST /admin/webhooks {service, url, secret}`: the target must first pass the vendor's validation request
  /// (Intercom: HEAD answered with 2xx), then it is registered and the vendor's greeting (Intercom's ping) sent.
  static asio::awaitable<http_response> register_webhook(std::shared_ptr<impl> self, http_request r) {
    boost::system::error_code ec;
    auto body = json::parse(r.body, ec);
    if (ec || !body.is_object()) co_return admin_error(400, "body is not a JSON object");
    auto str = [&](const char* k) {
      auto* v = body.as_object().if_contains(k);
      return v && v->is_string() ? std::string(v->as_string()) : std::string();
    };
    auto s = self->find(str("service"));
    if (!s) co_return admin_error(404, "unknown service");
    if (str("url").empty()) co_return admin_error(400, "url is required");
    webhook_target t{str("url"), str("secret")};
    if (auto check = s->validation_request(t)) {
      auto answer = co_await send_hook(self, *check, t.url);
      self->record(s->name(), "out", check->method, t.url, answer.status);
      if (answer.status / 100 != 2)
        co_return admin_error(400, "the URL did not answer the " + check->method + " validation request with 2xx (got " +
                                       std::to_string(answer.status) + "): not subscribed");
    }
    {
      std::lock_guard lock(self->mutex);
      self->webhooks[s->name()] = t;
    }
    auto hello = s->on_webhook_registered(t);
    if (!hello.empty()) self->deliver(s->name(), std::move(hello), t);
    co_return json_response(200, json::object{{"service", s->name()}, {"url", t.url}});
  }

  json::value deliveries_json(const std::string& service) {
    std::lock_guard lock(mutex);
    json::array out;
    for (const auto& d : deliveries) {
      if (!service.empty() && d.service != service) continue;
      json::array pauses;
      for (auto p : d.pauses_ms) pauses.push_back(p);
      out.push_back(json::object{{"id", d.id},
                                 {"service", d.service},
                                 {"url", d.url},
                                 {"method", d.method},
                                 {"label", d.label},
                                 {"attempts", d.attempts},
                                 {"last_status", d.last_status},
                                 {"state", d.state},
                                 {"first_ms", d.first_ms},
                                 {"last_ms", d.last_ms},
                                 {"next_ms", d.next_ms == 0 ? json::value(nullptr) : json::value(d.next_ms)},
                                 {"pauses_ms", std::move(pauses)}});
    }
    return out;
  }

  void flush_webhooks(const std::shared_ptr<service>& s) {
    webhook_target target;
    {
      std::lock_guard lock(mutex);
      auto it = webhooks.find(s->name());
      if (it == webhooks.end()) {
        s->take_webhooks({}, clock->now_ms());  // nobody listens: drop them, as a vendor with no subscription
        return;
      }
      target = it->second;
    }
    auto hooks = s->take_webhooks(target, clock->now_ms());
    if (!hooks.empty()) deliver(s->name(), std::move(hooks), target);
  }

  // ---- admin API ------------------------------------------------------------------------------------------

  http_response admin(const http_request& r) {
    auto path = path_of(r.target);
    json::value body;
    if (!r.body.empty()) {
      boost::system::error_code ec;
      body = json::parse(r.body, ec);
      if (ec) return admin_error(400, "body is not JSON");
    }
    auto obj = body.is_object() ? body.as_object() : json::object{};
    auto str = [&](const char* k) {
      auto* v = obj.if_contains(k);
      return v && v->is_string() ? std::string(v->as_string()) : std::string();
    };
    auto num = [&](const char* k, long dflt) -> long {
      auto* v = obj.if_contains(k);
      if (v && v->is_int64()) return static_cast<long>(v->as_int64());
      if (v && v->is_uint64()) return static_cast<long>(v->as_uint64());
      return dflt;
    };

    if (path == "/admin/reset" && r.method == "POST") {
      for (auto& s : services) s->reset();
      std::lock_guard lock(mutex);
      faults.clear();
      log.clear();
      counts.clear();
      bytes_in.clear();
      ++generation;  // pending redeliveries stop at their next step
      deliveries.clear();
      time_scale.clear();
      for (auto& s : services) set_concurrency(s->name(), s->webhook_concurrency());
      return json_response(200, json::object{{"reset", true}});
    }
    if (path == "/admin/clock") {
      if (r.method == "POST") clock->advance(num("advance_ms", 0));
      return json_response(200, json::object{{"now_ms", clock->now_ms()}});
    }
    if (path == "/admin/snapshot" && r.method == "GET") {
      json::object out;
      for (auto& s : services) out[s->name()] = s->snapshot();
      return json_response(200, out);
    }
    if ((path == "/admin/counts" || path == "/admin/bytes") && r.method == "GET") {
      std::lock_guard lock(mutex);
      json::object out;
      for (auto& [svc, m] : path == "/admin/counts" ? counts : bytes_in) {
        json::object per;
        std::int64_t total = 0;
        for (auto& [k, v] : m) {
          per[k] = v;
          total += v;
        }
        per["total"] = total;
        out[svc] = per;
      }
      return json_response(200, out);
    }
    if (path == "/admin/requests" && r.method == "GET") {
      std::lock_guard lock(mutex);
      json::array out;
      for (auto& e : log)
        out.push_back(json::object{{"seq", e.seq}, {"at_ms", e.at_ms}, {"service", e.service},
                                   {"direction", e.direction}, {"method", e.method}, {"target", e.target},
                                   {"status", e.status}, {"bytes", e.bytes}});
      return json_response(200, out);
    }
    if (path == "/admin/limits" && r.method == "POST") {
      auto s = find(str("service"));
      if (!s) return admin_error(404, "unknown service");
      if (auto* v = obj.if_contains("webhook_max_concurrent")) {
        // Webhook requests in flight to the target at most (0: no cap); HubSpot's default is its settings' 10.
        if (!v->is_int64() || v->as_int64() < 0) return admin_error(400, "webhook_max_concurrent must be an integer >= 0");
        std::lock_guard lock(mutex);
        set_concurrency(s->name(), static_cast<std::size_t>(v->as_int64()));
      }
      if (auto* v = obj.if_contains("webhook_time_scale")) {
        // How fast the vendor's redelivery pauses pass: 1 is real time, 0.001 makes an hour last 3.6 s.
        if (!v->is_number() || v->to_number<double>() < 0)
          return admin_error(400, "webhook_time_scale must be a number >= 0");
        std::lock_guard lock(mutex);
        time_scale[s->name()] = v->to_number<double>();
      }
      s->set_limits(obj);
      return json_response(200, json::object{{"ok", true}});
    }
    if (path == "/admin/deliveries" && r.method == "GET") {
      std::string service;
      if (auto qm = r.target.find('?'); qm != std::string::npos) service = parse_form(r.target.substr(qm + 1))["service"];
      return json_response(200, deliveries_json(service));
    }
    if (path == "/admin/faults") {
      if (r.method == "DELETE") {
        std::lock_guard lock(mutex);
        faults.clear();
        return json_response(200, json::object{{"cleared", true}});
      }
      if (r.method == "POST") {
        auto kind = parse_kind(str("kind"));
        if (!kind) return admin_error(400, "kind must be one of latency, status, rate_limit, reset, token_expiry, "
                                           "malformed, truncated, slow_body");
        fault_rule f;
        f.service = str("service").empty() ? "*" : str("service");
        f.method = str("method").empty() ? "*" : str("method");
        f.path_glob = str("path_glob").empty() ? "*" : str("path_glob");
        f.kind = *kind;
        f.remaining = num("count", 1);
        f.status = static_cast<int>(num("status", *kind == fault_kind::token_expiry ? 401 : 500));
        f.retry_after = static_cast<int>(num("retry_after", 1));
        f.latency_ms = num("latency_ms", *kind == fault_kind::slow_body ? 2000 : 1000);
        f.body = str("body");
        std::lock_guard lock(mutex);
        faults.push_back(std::move(f));
        return json_response(200, json::object{{"faults", static_cast<std::int64_t>(faults.size())}});
      }
    }
    // /admin/{service}/{object}[/{id}]
    if (path.starts_with("/admin/")) {
      std::string rest = path.substr(7);
      auto a = rest.find('/');
      std::string svc = rest.substr(0, a);
      auto s = find(svc);
      if (!s) return admin_error(404, "unknown admin route " + path);
      std::string object, id;
      if (a != std::string::npos) {
        std::string tail = rest.substr(a + 1);
        auto b = tail.find('/');
        object = tail.substr(0, b);
        if (b != std::string::npos) id = tail.substr(b + 1);
      }
      // Options such as ?purge=true travel with the id.
      if (auto qm = r.target.find('?'); qm != std::string::npos && !id.empty()) id += r.target.substr(qm);
      auto resp = s->admin(r.method, object, id, r.body);
      flush_webhooks(s);
      return resp;
    }
    return admin_error(404, "unknown admin route " + path);
  }

  // ---- public API -----------------------------------------------------------------------------------------

  plan route(const std::shared_ptr<service>& s, const http_request& r) {
    plan p;
    auto fault = take_fault(s->name(), r);
    if (fault) {
      p.fault = fault->kind;
      p.latency_ms = fault->latency_ms;
      switch (fault->kind) {
        case fault_kind::status:
          p.response.status = fault->status;
          p.response.body = fault->body.empty() ? R"({"error":"simulated failure"})" : fault->body;
          return p;
        case fault_kind::rate_limit:
          p.response.status = 429;
          p.response.headers.emplace_back("Retry-After", std::to_string(fault->retry_after));
          p.response.body = fault->body.empty() ? R"({"status":"error","message":"You have reached your rate limit.","category":"RATE_LIMITS"})"
                                                : fault->body;
          return p;
        case fault_kind::token_expiry:
          p.response.status = fault->status;
          p.response.body = fault->body.empty()
                                ? (s->name() == "salesforce"
                                       ? R"([{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}])"
                                       : R"({"status":"error","message":"Authentication credentials not found"})")
                                : fault->body;
          return p;
        case fault_kind::reset:
          return p;
        default:
          break;  // latency, malformed, truncated, slow_body: the real answer, delivered badly
      }
    }
    p.response = s->handle(r);
    if (p.fault == fault_kind::malformed) p.response.body = p.response.body.substr(0, p.response.body.size() / 2) + "\x01{[";
    return p;
  }

  template <class Stream>
  asio::awaitable<void> serve(Stream& stream, std::shared_ptr<service> svc, std::string base_url) {
    beast::flat_buffer buffer;
    for (;;) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.body_limit(opts.max_body);
      beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(60));
      auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, tuple_awaitable);
      if (ec) co_return;
      auto msg = parser.release();
      http_request req;
      req.method = std::string(msg.method_string());
      const std::string sent_target(msg.target());
      req.target = encode_target(sent_target);
      req.body = std::move(msg.body());
      for (const auto& f : msg) req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
      req.base_url = base_url;
      bool keep = msg.keep_alive();

      plan p;
      std::string label = svc ? svc->name() : "admin";
      if (svc) {
        p = route(svc, req);
      } else if (path_of(req.target) == "/admin/webhooks" && req.method == "POST") {
        p.response = co_await register_webhook(shared_from_this(), req);  // may wait for a HEAD validation
      } else {
        p.response = admin(req);
      }
      record(label, svc ? "in" : "admin", req.method, sent_target, p.fault == fault_kind::reset ? 0 : p.response.status,
             req.body.size());

      if (p.fault == fault_kind::latency) {
        asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(p.latency_ms));
        co_await t.async_wait(tuple_awaitable);
      }
      if (p.fault == fault_kind::reset) {
        auto& sock = beast::get_lowest_layer(stream).socket();
        boost::system::error_code ignored;
        sock.set_option(asio::socket_base::linger(true, 0), ignored);
        sock.close(ignored);
        co_return;
      }
      bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(p.response.status), 11};
      res.set(bhttp::field::server, "omnisync-sim");
      res.set(bhttp::field::content_type, p.response.content_type);
      for (auto& [k, v] : p.response.headers) res.insert(k, v);
      res.body() = std::move(p.response.body);
      res.keep_alive(keep);
      res.prepare_payload();
      beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(60));
      if (p.fault == fault_kind::truncated || p.fault == fault_kind::slow_body) {
        bhttp::response_serializer<bhttp::string_body> sr(res);
        auto [hec, hn] = co_await bhttp::async_write_header(stream, sr, tuple_awaitable);
        if (hec) co_return;
        const std::string& b = res.body();
        if (p.fault == fault_kind::truncated) {
          co_await asio::async_write(stream, asio::buffer(b.data(), b.size() / 2), tuple_awaitable);
        } else {
          // Slow body: the answer dribbles out over latency_ms in 16 pieces.
          size_t step = std::max<size_t>(1, b.size() / 16);
          for (size_t off = 0; off < b.size(); off += step) {
            auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(b.data() + off, std::min(step, b.size() - off)),
                                                        tuple_awaitable);
            if (wec) co_return;
            asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(p.latency_ms / 16));
            co_await t.async_wait(tuple_awaitable);
          }
          if (keep) {
            if (svc) flush_webhooks(svc);
            continue;
          }
        }
        boost::system::error_code ignored;
        beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
        co_return;
      }
      auto [wec, wn] = co_await bhttp::async_write(stream, res, tuple_awaitable);
      if (svc) flush_webhooks(svc);
      if (wec || !keep) break;
    }
    boost::system::error_code ignored;
    beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, std::shared_ptr<service> svc, bool tls,
                                    std::string base_url) {
    auto self = shared_from_this();
    for (;;) {
      auto [ec, sock] = co_await acceptor.async_accept(asio::make_strand(ex), tuple_awaitable);
      if (ec) {
        if (!acceptor.is_open()) co_return;
        continue;
      }
      if (tls) {
        asio::co_spawn(sock.get_executor(),
                       [self, s = std::move(sock), svc, base_url]() mutable -> asio::awaitable<void> {
                         beast::ssl_stream<beast::tcp_stream> stream(std::move(s), self->tls_ctx);
                         beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(30));
                         auto [hec] = co_await stream.async_handshake(ssl::stream_base::server, tuple_awaitable);
                         if (hec) co_return;
                         co_await self->serve(stream, svc, base_url);
                       },
                       asio::detached);
      } else {
        asio::co_spawn(sock.get_executor(),
                       [self, s = std::move(sock), svc, base_url]() mutable -> asio::awaitable<void> {
                         beast::tcp_stream stream(std::move(s));
                         co_await self->serve(stream, svc, base_url);
                       },
                       asio::detached);
      }
    }
  }

  std::string listen(std::shared_ptr<service> svc, unsigned short port, bool tls) {
    auto a = std::make_unique<tcp::acceptor>(ex);
    tcp::endpoint ep(asio::ip::make_address(opts.host), port);
    a->open(ep.protocol());
    a->set_option(asio::socket_base::reuse_address(true));
    a->bind(ep);
    a->listen();
    std::string url = std::string(tls ? "https" : "http") + "://" + opts.host + ":" +
                      std::to_string(a->local_endpoint().port());
    asio::co_spawn(ex, accept_loop(*a, svc, tls, url), asio::detached);
    acceptors.push_back(std::move(a));
    return url;
  }
};

server::server(boost::asio::any_io_executor ex, server_options options, std::vector<std::shared_ptr<service>> services,
               std::shared_ptr<sim_clock> clock)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(options), std::move(services), std::move(clock))) {}

server::~server() { stop(); }

void server::start() {
  for (auto& s : impl_->services) {
    auto ports = impl_->opts.ports.count(s->name()) ? impl_->opts.ports.at(s->name()) : std::pair<unsigned short, unsigned short>{0, 0};
    auto http_url = impl_->listen(s, ports.first, false);
    auto https_url = impl_->listen(s, ports.second, true);
    impl_->urls[s->name()] = {http_url, https_url};
    s->set_base_urls(http_url, https_url);
  }
  impl_->admin_url = impl_->listen(nullptr, impl_->opts.admin_port, false);
}

boost::json::value server::endpoints() const {
  json::object out;
  for (auto& [name, u] : impl_->urls) out[name] = json::object{{"http", u.first}, {"https", u.second}};
  out["admin"] = impl_->admin_url;
  out["ca_file"] = impl_->opts.tls.ca_cert.string();
  return out;
}

void server::stop() {
  auto self = impl_;
  asio::post(self->ex, [self] {
    for (auto& a : self->acceptors) {
      boost::system::error_code ignored;
      a->close(ignored);
    }
  });
}

}  // namespace omnisync::sim
