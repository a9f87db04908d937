#include "daemon/http/routes.hpp"

#include <boost/json.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

#include "core/log_fields.hpp"
#include "daemon/store/store.hpp"

namespace omnisync::http {
namespace {

using adapters::ack_response;
using adapters::inbound_request;

std::string media_type(std::string_view content_type) {
  auto semi = content_type.find(';');
  std::string_view mt = content_type.substr(0, semi);
  while (!mt.empty() && mt.back() == ' ') mt.remove_suffix(1);
  while (!mt.empty() && mt.front() == ' ') mt.remove_prefix(1);
  std::string out(mt);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

ack_response plain(int status, std::string body) { return {status, "text/plain; charset=utf-8", std::move(body)}; }

/// The event's `meta`: method, path, remote address and the headers (names lower-cased). A stack arena holds the
/// JSON tree of a usual request, so building it allocates nothing but the result.
std::string build_meta(const inbound_request& req, const std::string& connector) {
  unsigned char arena[4096];
  boost::json::monotonic_resource mr(arena, sizeof arena);
  boost::json::object meta(&mr);
  meta["method"] = req.method;
  std::string path = "/webhooks/" + connector;  // never the secret URL token
  meta["path"] = path;
  meta["remote"] = req.remote_address;
  boost::json::object hdrs(&mr);
  std::string lower;
  for (const auto& [k, v] : req.headers) {
    lower.assign(k);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    hdrs[lower] = v;
  }
  meta["headers"] = std::move(hdrs);
  return boost::json::serialize(meta);
}

template <class Child, class Family>
Child& cached(std::atomic<Child*>& slot, Family& family, const std::vector<std::string>& labels) {
  if (auto* c = slot.load(std::memory_order_acquire)) return *c;
  auto& c = family.with(labels);
  slot.store(&c, std::memory_order_release);
  return c;
}

}  // namespace

router::router(store::store& store, metrics::registry& m)
    : store_(store), metrics_(m),
      requests_(m.counter("omnisync_webhook_requests_total", "Webhook requests answered, by connector and status",
                          {"connector", "status"})),
      rejected_(m.counter("omnisync_webhook_rejected_total",
                          "Webhook requests refused by verification, by connector and reason (signature, stale, "
                          "malformed)",
                          {"connector", "reason"})),
      duplicates_(m.counter("omnisync_webhook_duplicates_total",
                            "Webhook events already in the inbox (answered, stored once)", {"connector"})),
      durations_(m.histogram("omnisync_webhook_request_duration_seconds",
                             "Time from a webhook's last byte to its answer (includes the durable inbox write)",
                             metrics::registry::duration_buckets(), {"connector"})) {}

void router::on_stored(std::function<void(const std::string&)> fn) { stored_hook_ = std::move(fn); }

void router::set_endpoints(std::vector<std::shared_ptr<const adapters::webhook_endpoint>> endpoints) {
  auto map = std::make_shared<endpoint_map>();
  for (auto& e : endpoints) {
    auto r = std::make_shared<route>();
    r->name = e->connector();
    r->types = e->content_types();
    r->max_body = e->max_body();
    r->ep = std::move(e);
    (*map)[r->name] = std::move(r);
  }
  std::lock_guard lock(mutex_);
  endpoints_ = std::move(map);
}

std::shared_ptr<const route> router::find(const std::string& connector) const {
  std::shared_ptr<const endpoint_map> eps;
  {
    std::lock_guard lock(mutex_);
    eps = endpoints_;
  }
  auto it = eps->find(connector);
  return it == eps->end() ? nullptr : it->second;
}

void router::set_ready(bool ready) { ready_ = ready && !stopping_; }

void router::set_readiness_check(std::function<std::string()> check) { readiness_check_ = std::move(check); }

bool router::stop() {
  if (stopping_.exchange(true)) return false;
  ready_ = false;
  return true;
}

decision router::decide_webhook(inbound_request& req, std::shared_ptr<const route> rt) const {
  decision d;
  d.rt = rt;
  const auto& ep = *rt->ep;
  if (req.method == "GET" || req.method == "HEAD") {
    if (auto v = ep.validation(req)) {
      d.ack = std::move(*v);
      return d;
    }
    d.ack = plain(405, "method not allowed\n");
    return d;
  }
  if (req.method != "POST") {
    d.ack = plain(405, "method not allowed\n");
    return d;
  }
  if (!rt->types.empty()) {
    auto mt = media_type(req.header("Content-Type"));
    if (std::find(rt->types.begin(), rt->types.end(), mt) == rt->types.end()) {
      d.ack = plain(415, "unsupported content type\n");
      return d;
    }
  }
  auto verified = ep.verify(req);
  if (!verified) {
    auto e = verified.error();
    if (e == omnisync::make_error_code(errc::auth_expired)) {
      log_with(spdlog::level::warn, log_fields{rt->name, {}, {}, {}, "signature"},
               "http: webhook for {} from {} rejected: signature or token did not verify", rt->name,
               req.remote_address);
      rejected_.with({rt->name, "signature"}).inc();
      d.ack = plain(401, "signature verification failed\n");
    } else if (e == omnisync::make_error_code(errc::timeout)) {
      log_with(spdlog::level::warn, log_fields{rt->name, {}, {}, {}, "stale"},
               "http: webhook for {} from {} rejected: its signature timestamp is outside the replay window "
               "(a replay, or a clock far off)", rt->name, req.remote_address);
      rejected_.with({rt->name, "stale"}).inc();
      d.ack = plain(401, "signature timestamp outside the replay window\n");
    } else if (e == omnisync::make_error_code(errc::invalid_input)) {
      log_with(spdlog::level::warn, log_fields{rt->name, {}, {}, {}, "malformed"},
               "http: webhook for {} from {} rejected: malformed", rt->name, req.remote_address);
      rejected_.with({rt->name, "malformed"}).inc();
      d.ack = plain(400, "bad request\n");
    } else {
      const auto code = error_code_name(e);
      log_with(spdlog::level::err, log_fields{rt->name, {}, {}, {}, code},
               "http: webhook for {} could not be verified: {}", rt->name, e.message());
      d.ack = plain(500, "internal error\n");
    }
    return d;
  }
  auto received = std::chrono::time_point_cast<std::chrono::milliseconds>(req.received_at);
  auto meta = build_meta(req, rt->name);
  d.event.emplace(rt->name, std::move(verified->dedupe_key), store::timestamp(received.time_since_epoch()),
                  std::move(meta), std::move(req.body));
  d.ack = std::move(verified->ack);
  return d;
}

decision router::decide(inbound_request& req, std::shared_ptr<const route> rt) const {
  if (rt) return decide_webhook(req, std::move(rt));
  decision d;
  const auto& path = req.path;
  const bool get = req.method == "GET" || req.method == "HEAD";
  if (path == "/healthz" && get)
    d.ack = plain(200, "ok\n");
  else if (path == "/readyz" && get) {
    // `/readyz?webhooks`: whether this node accepts webhooks (a load balancer in front of the listeners asks this:
    // events are stored even while the vendors' APIs refuse omnisync's calls). Plain `/readyz` also applies the
    // connector-health rule.
    const bool webhooks_only = req.target.find("?webhooks") != std::string::npos;
    const std::string problem =
        ready_ && readiness_check_ && !webhooks_only ? readiness_check_() : std::string();
    d.ack = !ready_            ? plain(503, "not ready\n")
            : problem.empty() ? plain(200, "ready\n")
                              : plain(503, "not ready: " + problem + "\n");
  }
  else if (path == "/metrics" && req.method == "GET")
    d.ack = ack_response{200, "text/plain; version=0.0.4; charset=utf-8", metrics_.render()};
  else if (path.starts_with("/webhooks/")) {
    // A vendor still sending to a connector that was renamed or removed, or to one without webhook settings (it
    // declares no route), or added by a reload (routes are built at start-up): say so (rate-limited) and count it
    // under one label (the name is the sender's choice, so it is not a label).
    d.ack = plain(404, "no such webhook endpoint\n");
    requests_.with({"(unknown)", "404"}).inc();
    if (const auto seen = unknown_log_.admit("")) {
      const auto unlogged = *seen - 1;
      std::string name = path.substr(10, 64);
      for (auto& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '/') c = '?';
      log_with(spdlog::level::warn, log_fields{{}, {}, {}, {}, "unknown_connector"},
               "http: webhook to {} from {}: no connector takes webhooks by that name (not configured, without "
               "webhook settings, or added since the start) (404){}", "/webhooks/" + name,
               req.remote_address,
               unlogged ? " — and " + std::to_string(unlogged) + " more such requests in the last minute" : "");
    }
  }
  else
    d.ack = plain(404, "not found\n");
  return d;
}

boost::asio::awaitable<decision> router::deliver(decision d) {
  if (!d.event) co_return d;
  auto op = store_.inbox_append(std::move(*d.event));
  auto stored = co_await std::move(op);
  if (!stored) {
    const auto code = error_code_name(stored.error());
    log_with(spdlog::level::err, log_fields{d.rt->name, {}, {}, {}, code},
             "http: webhook for {} not stored ({}); answering 503 so the sender delivers again", d.rt->name,
             stored.error().message());
    d.ack = plain(503, "temporarily unavailable\n");
  } else if (*stored == store::append_outcome::duplicate) {
    cached(d.rt->duplicates, duplicates_, {d.rt->name}).inc();
  } else if (stored_hook_) {
    stored_hook_(d.rt->name);
  }
  co_return d;
}

void router::count(const decision& d, std::chrono::steady_clock::time_point started) {
  if (!d.rt) return;
  const route& rt = *d.rt;
  auto& counter = d.ack.status == 200 ? cached(rt.answered_200, requests_, {rt.name, "200"})
                                      : requests_.with({rt.name, std::to_string(d.ack.status)});
  counter.inc();
  cached(rt.duration, durations_, {rt.name})
      .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

void router::count_too_large(const std::string& connector) { requests_.with({connector, "413"}).inc(); }

}  // namespace omnisync::http
