#include "daemon/config/sections.hpp"

#include <yaml-cpp/yaml.h>

#include <regex>

#include "config/validate.hpp"

namespace omnisync::config {

void read_daemon_sections(reader& r, const YAML::Node& root, const std::filesystem::path& base, daemon_config& cfg,
                          std::vector<std::string>& secret_values) {
  if (auto d = root["daemon"]) {
    auto& s = cfg.daemon;
    if (r.is_map(d, "daemon")) {
      r.known_keys(d, "daemon", {"state_dir", "control_socket", "control_group", "shutdown_timeout", "threads",
                                 "control_idle_timeout", "control_max_line", "log"});
      if (auto n = d["state_dir"]) { if (auto v = r.path_value(n, "daemon.state_dir", base)) s.state_dir = *v; }
      if (auto n = d["control_socket"]) { if (auto v = r.path_value(n, "daemon.control_socket", base)) s.control_socket = *v; }
      if (auto n = d["control_group"]) { if (auto v = r.string(n, "daemon.control_group")) s.control_group = *v; }
      if (auto n = d["shutdown_timeout"]) { if (auto v = r.duration(n, "daemon.shutdown_timeout")) s.shutdown_timeout = *v; }
      if (auto n = d["control_idle_timeout"]) { if (auto v = r.duration(n, "daemon.control_idle_timeout")) s.control_idle_timeout = *v; }
      if (auto n = d["threads"]) { if (auto v = r.positive(n, "daemon.threads", 64)) s.threads = static_cast<unsigned>(*v); }
      if (auto n = d["control_max_line"]) { if (auto v = r.size(n, "daemon.control_max_line", 64u << 20)) s.control_max_line = *v; }
      if (auto l = d["log"]; l && r.is_map(l, "daemon.log")) {
        r.known_keys(l, "daemon.log", {"level", "format", "components"});
        static const std::vector<std::string> levels{"trace", "debug", "info", "warn", "error", "critical", "off"};
        if (auto n = l["level"]) { if (auto v = r.one_of(n, "daemon.log.level", levels)) s.log.level = *v; }
        if (auto n = l["format"]) {
          if (auto v = r.one_of(n, "daemon.log.format", {"auto", "text", "journal", "json"}))
            s.log.format = *v == "text" ? config::log_format::text : *v == "journal" ? config::log_format::journal
                         : *v == "json" ? config::log_format::json : config::log_format::automatic;
        }
        if (auto c = l["components"]; c && r.is_map(c, "daemon.log.components"))
          for (const auto& kv : c)
            if (auto v = r.one_of(kv.second, "daemon.log.components." + kv.first.Scalar(), levels))
              s.log.components[kv.first.Scalar()] = *v;
      }
    }
  }
  if (auto a = root["audit"]; a && r.is_map(a, "audit")) {
    r.known_keys(a, "audit", {"retention", "max_entries"});
    if (auto n = a["retention"]) { if (auto v = r.duration(n, "audit.retention")) cfg.audit.retention = *v; }
    if (auto n = a["max_entries"]) {
      if (auto v = r.positive(n, "audit.max_entries", 1'000'000'000)) cfg.audit.max_entries = static_cast<std::size_t>(*v);
    }
  }
  if (auto a = root["runs"]; a && r.is_map(a, "runs")) {
    r.known_keys(a, "runs", {"retention"});
    if (auto n = a["retention"]) { if (auto v = r.duration(n, "runs.retention")) cfg.runs.retention = *v; }
  }
  if (auto a = root["history"]; a && r.is_map(a, "history")) {
    r.known_keys(a, "history", {"retention", "max_rows"});
    if (auto n = a["retention"]) { if (auto v = r.duration(n, "history.retention")) cfg.history.retention = *v; }
    if (auto n = a["max_rows"]) {
      if (auto v = r.positive(n, "history.max_rows", 1'000'000'000)) cfg.history.max_rows = static_cast<std::size_t>(*v);
    }
  }
  if (auto a = root["dead_letters"]; a && r.is_map(a, "dead_letters")) {
    r.known_keys(a, "dead_letters", {"retries", "retry_backoff", "keep_resolved"});
    if (auto n = a["retries"]) {
      if (n.IsScalar() && n.Scalar() == "0") cfg.dead_letters.retries = 0;
      else if (auto v = r.positive(n, "dead_letters.retries", 100)) cfg.dead_letters.retries = static_cast<int>(*v);
    }
    if (auto n = a["retry_backoff"]) {
      if (auto v = r.duration(n, "dead_letters.retry_backoff")) cfg.dead_letters.retry_backoff = *v;
    }
    if (auto n = a["keep_resolved"]) {
      if (auto v = r.duration(n, "dead_letters.keep_resolved")) cfg.dead_letters.keep_resolved = *v;
    }
  }
  if (auto h = root["http"]; h && r.is_map(h, "http")) {
    auto& s = cfg.http;
    r.known_keys(h, "http", {"listen", "public_url", "max_body", "header_timeout", "body_timeout", "max_connections",
                          "dedupe_retention"});
    if (auto n = h["listen"]) {
      static const std::regex listen(R"(^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+):(\d{1,5})$)");
      auto v = r.string(n, "http.listen");
      if (v && std::regex_match(*v, listen) && std::stoul(v->substr(v->rfind(':') + 1)) <= 65535)
        s.listen = *v;
      else if (v)
        r.error(n, "http.listen", "expected host:port (port 0 picks a free one), got \"" + *v + "\"");
    }
    if (auto n = h["public_url"]) { if (auto v = r.url(n, "http.public_url")) s.public_url = *v; }
    if (auto n = h["max_body"]) { if (auto v = r.size(n, "http.max_body", 1ull << 30)) s.max_body = *v; }
    if (auto n = h["header_timeout"]) { if (auto v = r.duration(n, "http.header_timeout")) s.header_timeout = *v; }
    if (auto n = h["body_timeout"]) { if (auto v = r.duration(n, "http.body_timeout")) s.body_timeout = *v; }
    if (auto n = h["max_connections"]) { if (auto v = r.positive(n, "http.max_connections", 1u << 20)) s.max_connections = static_cast<unsigned>(*v); }
    if (auto n = h["dedupe_retention"]) {
      if (auto v = r.duration(n, "http.dedupe_retention")) {
        if (v->count() <= 0) r.error(n, "http.dedupe_retention", "must be longer than 0");
        else s.dedupe_retention = *v;
      }
    }
  }
  if (auto st = root["store"]; st && r.is_map(st, "store")) {
    auto& s = cfg.store;
    r.known_keys(st, "store", {"kind", "synchronous", "busy_timeout", "dsn", "dsn_file", "lease_ttl", "instance"});
    if (auto n = st["kind"]) {
      if (auto v = r.one_of(n, "store.kind", {"sqlite", "postgres"}))
        s.kind = *v == "postgres" ? config::store_kind::postgres : config::store_kind::sqlite;
    }
    if (auto n = st["synchronous"]) {
      if (auto v = r.one_of(n, "store.synchronous", {"off", "normal", "full", "extra"}))
        s.synchronous = *v == "off" ? config::sync_mode::off : *v == "normal" ? config::sync_mode::normal
                      : *v == "extra" ? config::sync_mode::extra : config::sync_mode::full;
    }
    if (auto n = st["busy_timeout"]) { if (auto v = r.duration(n, "store.busy_timeout")) s.busy_timeout = *v; }
    if (auto n = st["lease_ttl"]) {
      if (auto v = r.duration(n, "store.lease_ttl")) {
        if (v->count() < 300) r.error(n, "store.lease_ttl", "must be at least 300ms (it is renewed every third of it)");
        else s.lease_ttl = *v;
      }
    }
    if (auto n = st["instance"]) {
      if (!n.IsScalar() || n.Scalar().empty() || n.Scalar().size() > 200)
        r.error(n, "store.instance", "must be a name of 1 to 200 characters");
      else s.instance = n.Scalar();
    }
    // The PostgreSQL DSN may hold a password: it is read like the connectors' secrets (`dsn_file: PATH`,
    // `dsn: {credential: NAME}`, `dsn: "${ENV}"`), and even a literal `dsn:` is kept as a secret (masked in
    // logs; never shown by status).
    if (st["dsn"] && st["dsn_file"])
      r.error(st["dsn_file"], "store.dsn_file", "give either store.dsn or store.dsn_file, not both");
    validation_context ctx{r.file(), base, &r.problems(), &secret_values};
    if (auto n = st["dsn_file"]) {
      s.dsn = read_secret(n, true, "store.dsn_file", ctx);
    } else if (auto n = st["dsn"]) {
      if (auto v = read_secret(n, false, "store.dsn", ctx); v && v->empty())
        r.error(n, "store.dsn", "the PostgreSQL DSN is empty");
      else
        s.dsn = std::move(v);
    }
    if (s.kind == config::store_kind::postgres && !s.dsn && !st["dsn"] && !st["dsn_file"])
      r.error(st["kind"], "store.kind",
              "postgres needs a connection string: store.dsn_file: PATH, store.dsn: {credential: NAME} or "
              "store.dsn: \"${ENV}\" (libpq keyword/value or URI form)");
  }
  if (auto n = root["mappings_dir"]) {
    if (auto v = r.path_value(n, "mappings_dir", base)) cfg.mappings_dir = *v;
  }
}

}  // namespace omnisync::config
