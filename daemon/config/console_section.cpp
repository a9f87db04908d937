// `console:` — the web console's listener, its two bearer tokens and optional TLS (docs/configuration.md#console).
#include <yaml-cpp/yaml.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <regex>

#include "config/validate.hpp"
#include "daemon/config/sections.hpp"

namespace omnisync::config {
namespace {

/// `KEY: secret` or `KEY_file: PATH` (not both); nullopt when neither is given or a problem was reported.
std::optional<secret> token(reader& r, const YAML::Node& c, const std::string& key, validation_context& ctx) {
  const std::string file_key = key + "_file";
  if (c[key] && c[file_key]) {
    r.error(c[file_key], "console." + file_key, "give either console." + key + " or console." + file_key + ", not both");
    return std::nullopt;
  }
  std::optional<secret> s;
  if (auto n = c[file_key]) s = read_secret(n, true, "console." + file_key, ctx);
  else if (auto n = c[key]) s = read_secret(n, false, "console." + key, ctx);
  else return std::nullopt;
  // A short token can be guessed; 16 characters is about 96 bits from a base64 generator.
  if (s && s->reveal().size() < 16) {
    r.error(c[file_key] ? c[file_key] : c[key], "console." + (c[file_key] ? file_key : key),
            "the token is shorter than 16 characters (make one with: openssl rand -base64 32)");
    return std::nullopt;
  }
  return s;
}

}  // namespace

void read_console_section(reader& r, const YAML::Node& root, const std::filesystem::path& base, daemon_config& cfg,
                          std::vector<std::string>& secret_values) {
  auto c = root["console"];
  if (!c || c.IsNull() || !r.is_map(c, "console")) return;
  auto& s = cfg.console;
  r.known_keys(c, "console", {"enabled", "listen", "token", "token_file", "write_token", "write_token_file", "tls",
                              "max_connections", "header_timeout", "body_timeout", "idle_timeout", "session_lifetime",
                              "trusted_proxy"});
  s.enabled = true;
  if (auto n = c["enabled"]) { if (auto v = r.boolean(n, "console.enabled")) s.enabled = *v; }
  if (auto n = c["listen"]) {
    static const std::regex listen(R"(^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+):(\d{1,5})$)");
    auto v = r.string(n, "console.listen");
    if (v && std::regex_match(*v, listen) && std::stoul(v->substr(v->rfind(':') + 1)) <= 65535)
      s.listen = *v;
    else if (v)
      r.error(n, "console.listen", "expected host:port (port 0 picks a free one), got \"" + *v + "\"");
  }
  validation_context ctx{r.file(), base, &r.problems(), &secret_values};
  s.token = token(r, c, "token", ctx);
  s.write_token = token(r, c, "write_token", ctx);
  if (s.enabled && !s.token && !s.write_token && !c["token"] && !c["token_file"] && !c["write_token"] &&
      !c["write_token_file"])
    r.error(c, "console", "the console needs a token: console.token_file: PATH or console.token: {credential: NAME} "
                          "(read scope), and console.write_token_file or console.write_token for actions");
  if (s.token && s.write_token && s.token->reveal() == s.write_token->reveal())
    r.error(c["write_token"] ? c["write_token"] : c["write_token_file"], "console.write_token",
            "the write token must differ from the read token (else every reader can act)");
  if (auto t = c["tls"]; t && r.is_map(t, "console.tls")) {
    r.known_keys(t, "console.tls", {"cert", "key"});
    if (auto n = t["cert"]) { if (auto v = r.path_value(n, "console.tls.cert", base)) s.tls_cert = *v; }
    if (auto n = t["key"]) { if (auto v = r.path_value(n, "console.tls.key", base)) s.tls_key = *v; }
    if (!t["cert"] || !t["key"]) r.error(t, "console.tls", "give both cert and key (PEM files)");
    for (const auto& [key, p] : {std::pair{"cert", s.tls_cert}, std::pair{"key", s.tls_key}}) {
      std::error_code ec;
      if (!p.empty() && !std::filesystem::is_regular_file(p, ec))
        r.error(t[key], std::string("console.tls.") + key, "no such file: " + p.string());
    }
  }
  if (auto n = c["trusted_proxy"]) {
    if (auto v = r.string(n, "console.trusted_proxy")) {
      unsigned char buf[sizeof(in6_addr)];
      if (::inet_pton(AF_INET, v->c_str(), buf) == 1 || ::inet_pton(AF_INET6, v->c_str(), buf) == 1)
        s.trusted_proxy = *v;
      else
        r.error(n, "console.trusted_proxy", "expected the reverse proxy's IP address (e.g. 127.0.0.1), got \"" +
                                                *v + "\"");
    }
  }
  if (auto n = c["max_connections"]) {
    if (auto v = r.positive(n, "console.max_connections", 10000)) s.max_connections = static_cast<unsigned>(*v);
  }
  const std::pair<const char*, std::chrono::milliseconds*> durations[] = {
      {"header_timeout", &s.header_timeout}, {"body_timeout", &s.body_timeout},
      {"idle_timeout", &s.idle_timeout}, {"session_lifetime", &s.session_lifetime}};
  for (auto [key, out] : durations)
    if (auto n = c[key]) {
      if (auto v = r.duration(n, std::string("console.") + key)) {
        if (v->count() <= 0) r.error(n, std::string("console.") + key, "must be longer than 0");
        else *out = *v;
      }
    }
}

}  // namespace omnisync::config
