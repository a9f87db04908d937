// Config mistakes, each reported with its exact file:line:col and dotted key path, all at once; secrets
// resolved from files, the environment and systemd credentials, and never part of a message.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>

#include "daemon/config/loader.hpp"
#include "daemon/profile/book.hpp"
#include "tests/support/temp_dir.hpp"

using omnisync::app::load_daemon_config;
using omnisync::test::temp_dir;

namespace {

/// Loads `yaml` from <tmp>/omnisync.yaml and returns the formatted diagnostics (empty when valid).
struct loaded {
  temp_dir dir;
  omnisync::app::loaded_config result;
  std::string file;
  std::string text;
  explicit loaded(const std::string& yaml, omnisync::app::config_overrides o = {}) {
    file = dir.write("omnisync.yaml", yaml).string();
    result = load_daemon_config(file, o);
    text = result.problems.format();
  }
  /// The diagnostic expected at line:col for `path`, with `message` somewhere in it.
  bool has(int line, int col, const std::string& path, const std::string& message) const {
    for (const auto& d : result.problems.items())
      if (d.where.file == file && d.where.line == line && d.where.column == col && d.path == path &&
          d.message.find(message) != std::string::npos)
        return true;
    return false;
  }
};

}  // namespace

TEST_CASE("config: the shipped example validates", "[config]") {
  auto r = load_daemon_config(OMNISYNC_SOURCE_DIR "/config/omnisync.example.yaml", {});
  INFO(r.problems.format());
  CHECK(r.ok());
  REQUIRE(r.config);
  CHECK(r.config->connectors.size() == 3);
}

TEST_CASE("config: 1 — an unknown key, with a suggestion", "[config]") {
  loaded l("daemon:\n  shutdown_timout: 20s\n");
  INFO(l.text);
  CHECK(l.has(2, 3, "daemon.shutdown_timout", "unknown key \"shutdown_timout\" (did you mean \"shutdown_timeout\"?)"));
  CHECK_FALSE(l.result.ok());
}

TEST_CASE("config: 2 — a duration that is not one", "[config]") {
  loaded l("connectors:\n  salesforce:\n    kind: salesforce\n    poll_interval: soon\n");
  INFO(l.text);
  CHECK(l.has(4, 20, "connectors.salesforce.poll_interval", "expected a duration like \"30s\""));
  CHECK(l.text.find("got \"soon\"") != std::string::npos);
}

TEST_CASE("config: 3 — an enum value outside its set lists the allowed ones", "[config]") {
  loaded l("store:\n  synchronous: sometimes\n");
  INFO(l.text);
  CHECK(l.has(2, 16, "store.synchronous", "expected one of off, normal, full, extra"));
}

TEST_CASE("config: 4 — a URL without a scheme or host", "[config]") {
  loaded l("connectors:\n  hs:\n    kind: hubspot\n    base_url: api.hubapi.com\n");
  INFO(l.text);
  CHECK(l.has(4, 15, "connectors.hs.base_url", "expected an http(s) URL with a host"));
}

TEST_CASE("config: 5 — an unknown connector kind", "[config]") {
  loaded l("connectors:\n  crm:\n    kind: pipedrive\n");
  INFO(l.text);
  CHECK(l.has(3, 11, "connectors.crm.kind", "expected one of salesforce, hubspot, zendesk, activecampaign, intercom"));
}

TEST_CASE("config: 6 — a missing required key", "[config]") {
  loaded l("connectors:\n  crm:\n    enabled: true\n");
  INFO(l.text);
  CHECK(l.has(3, 5, "connectors.crm.kind", "missing required key \"kind\""));
}

TEST_CASE("config: 7 — a list where a mapping is expected", "[config]") {
  loaded l("daemon:\n  - state_dir\n");
  INFO(l.text);
  CHECK(l.has(2, 3, "daemon", "expected a mapping"));
}

TEST_CASE("config: 8 — a number out of range or not a number", "[config]") {
  loaded l("daemon:\n  threads: 0\nhttp:\n  max_connections: many\n");
  INFO(l.text);
  CHECK(l.has(2, 12, "daemon.threads", "expected a whole number from 1 to 64"));
  CHECK(l.has(4, 20, "http.max_connections", "expected a whole number"));
}

TEST_CASE("config: 16 — a size that is not one, sizes with units are read", "[config]") {
  loaded l("http:\n  max_body: huge\ndaemon:\n  control_max_line: 2MiB\n");
  INFO(l.text);
  CHECK(l.has(2, 13, "http.max_body", "expected a size like"));
  loaded ok("http:\n  max_body: 64KiB\ndaemon:\n  control_max_line: 2MB\n");
  REQUIRE(ok.result.ok());
  CHECK(ok.result.config->http.max_body == 65536);
  CHECK(ok.result.config->daemon.control_max_line == 2000000);
}

TEST_CASE("config: 9 — a bad listen address", "[config]") {
  loaded l("http:\n  listen: everywhere\n");
  INFO(l.text);
  CHECK(l.has(2, 11, "http.listen", "expected host:port"));
}

TEST_CASE("config: 10 — a boolean that is not one", "[config]") {
  loaded l("connectors:\n  z:\n    kind: zendesk\n    enabled: perhaps\n");
  INFO(l.text);
  CHECK(l.has(4, 14, "connectors.z.enabled", "expected true or false, got \"perhaps\""));
}

TEST_CASE("config: 11 — a missing secret file", "[config]") {
  loaded l("connectors:\n  hs:\n    kind: hubspot\n    auth:\n      private_app_token_file: /nonexistent/hubspot.token\n");
  INFO(l.text);
  CHECK(l.has(5, 31, "connectors.hs.auth.private_app_token_file", "cannot read secret file /nonexistent/hubspot.token"));
}

TEST_CASE("config: 12 — an unset environment variable", "[config]") {
  ::unsetenv("OMNISYNC_TEST_UNSET_VAR");
  loaded l("connectors:\n  hs:\n    kind: hubspot\n    auth:\n      private_app_token_file: ${OMNISYNC_TEST_UNSET_VAR}/t\n");
  INFO(l.text);
  CHECK(l.has(5, 31, "connectors.hs.auth.private_app_token_file", "environment variable OMNISYNC_TEST_UNSET_VAR is not set"));
}

TEST_CASE("config: 13 — a YAML syntax error has its location", "[config]") {
  loaded l("daemon:\n  threads: [1, 2\n");
  INFO(l.text);
  REQUIRE(l.result.problems.size() == 1);
  const auto& d = l.result.problems.items()[0];
  CHECK(d.where.line == 3);
  CHECK(d.message.find("YAML syntax error") != std::string::npos);
}

TEST_CASE("config: 14 — a log level that does not exist", "[config]") {
  loaded l("daemon:\n  log:\n    level: loud\n");
  INFO(l.text);
  CHECK(l.has(3, 12, "daemon.log.level", "expected one of trace, debug, info, warn, error, critical, off"));
}

TEST_CASE("config: 15 — a file that does not exist", "[config]") {
  auto r = load_daemon_config("/nonexistent/omnisync.yaml", {});
  CHECK_FALSE(r.ok());
  CHECK(r.problems.format().find("/nonexistent/omnisync.yaml: cannot read the config file") != std::string::npos);
}

TEST_CASE("config: every mistake is reported at once, in file order", "[config]") {
  loaded l("daemon:\n  threads: 0\n  shutdown_timeout: forever\nstore:\n  kind: oracle\nhttp:\n  listen: nowhere\n"
           "connectors:\n  x:\n    kind: pipedrive\n    poll_interval: often\nbogus: 1\n");
  INFO(l.text);
  CHECK(l.result.problems.size() == 7);
  // Sorted by line: the formatted output lists them top to bottom.
  auto p1 = l.text.find("omnisync.yaml:2:"), p2 = l.text.find("omnisync.yaml:3:"), p3 = l.text.find("omnisync.yaml:12:");
  CHECK(p1 < p2);
  CHECK(p2 < p3);
}

TEST_CASE("config: secrets from a file, the environment and systemd credentials, never in messages", "[config]") {
  temp_dir d;
  d.write("secrets/hubspot.token", "canary-token-123\n");
  d.write("creds/zendesk.token", "canary-credential-456");
  ::setenv("OMNISYNC_TEST_SECRET_DIR", (d.path() / "secrets").c_str(), 1);
  ::setenv("CREDENTIALS_DIRECTORY", (d.path() / "creds").c_str(), 1);
  auto file = d.write("omnisync.yaml",
                      "connectors:\n"
                      "  hs:\n    kind: hubspot\n    auth:\n      private_app_token_file: ${OMNISYNC_TEST_SECRET_DIR}/hubspot.token\n"
                      "  zd:\n    kind: zendesk\n    auth:\n      api_token: { credential: zendesk.token }\n"
                      "    poll_interval: nope\n");
  auto r = load_daemon_config(file, {});
  ::unsetenv("CREDENTIALS_DIRECTORY");
  auto text = r.problems.format();
  INFO(text);
  // The one mistake is reported; the secrets were read (for the log redactor) and appear in no message.
  CHECK(r.problems.size() == 1);
  CHECK(std::find(r.secret_values.begin(), r.secret_values.end(), "canary-token-123") != r.secret_values.end());
  CHECK(std::find(r.secret_values.begin(), r.secret_values.end(), "canary-credential-456") != r.secret_values.end());
  CHECK(text.find("canary") == std::string::npos);
}

TEST_CASE("config: command-line overrides win and relative paths resolve against the file", "[config]") {
  temp_dir d;
  auto file = d.write("etc/omnisync.yaml", "daemon:\n  state_dir: state\nmappings_dir: maps\n");
  std::filesystem::create_directories(d.path() / "etc" / "maps");
  auto r = load_daemon_config(file, {});
  REQUIRE(r.ok());
  CHECK(r.config->daemon.state_dir == d.path() / "etc" / "state");
  CHECK(r.config->mappings_dir == d.path() / "etc" / "maps");
  omnisync::app::config_overrides o;
  o.state_dir = d.path() / "elsewhere";
  o.control_socket = d.path() / "c.sock";
  auto r2 = load_daemon_config(file, o);
  REQUIRE(r2.ok());
  CHECK(r2.config->daemon.state_dir == d.path() / "elsewhere");
  CHECK(r2.config->daemon.control_socket == d.path() / "c.sock");
}

TEST_CASE("config: every mapping file is compiled with the config, a mapping mistake rejects it", "[config][mapping]") {
  temp_dir d;
  d.write("mappings/salesforce/Contact.in.yaml",
          "system: salesforce\nobject: Contact\ndirection: inbound\nfields:\n  email: { from: Email, transform: [lowr] }\n");
  auto file = d.write("omnisync.yaml", "daemon:\n  threads: 2\n");
  auto r = load_daemon_config(file, {});
  auto text = r.problems.format();
  INFO(text);
  CHECK_FALSE(r.ok());
  CHECK(text.find("mappings/salesforce/Contact.in.yaml:5:") != std::string::npos);
  CHECK(text.find("lowr") != std::string::npos);

  d.write("mappings/salesforce/Contact.in.yaml",
          "system: salesforce\nobject: Contact\ndirection: inbound\nfields:\n  email: { from: Email, transform: [lower] }\n");
  auto good = load_daemon_config(file, {});
  INFO(good.problems.format());
  CHECK(good.ok());
  CHECK(good.mappings.size() == 1);

  auto named = d.write("named.yaml", "mappings_dir: nowhere\n");
  auto missing = load_daemon_config(named, {});
  CHECK_FALSE(missing.ok());
  CHECK(missing.problems.format().find("named.yaml:1:15: mappings_dir: no such folder") != std::string::npos);
}

TEST_CASE("config: the shipped example compiles every shipped mapping", "[config][mapping]") {
  auto r = load_daemon_config(OMNISYNC_SOURCE_DIR "/config/omnisync.example.yaml", {});
  INFO(r.problems.format());
  REQUIRE(r.ok());
  CHECK(r.mappings.size() >= 15);
}

TEST_CASE("config: 17 — vendor settings are type-checked too", "[config]") {
  loaded l("connectors:\n  sf:\n    kind: salesforce\n    settle_lag: later\n    api_version: v62\n"
           "  zd:\n    kind: zendesk\n    subdomain: Acme Corp\n    batch_size: 5000\n");
  INFO(l.text);
  CHECK(l.has(4, 17, "connectors.sf.settle_lag", "expected a duration"));
  CHECK(l.has(5, 18, "connectors.sf.api_version", "expected a Salesforce API version like \"62.0\""));
  CHECK(l.has(8, 16, "connectors.zd.subdomain", "expected a subdomain"));
  CHECK(l.has(9, 17, "connectors.zd.batch_size", "expected a whole number from 1 to 2000"));
}

TEST_CASE("config: 18 — a repeated key anywhere, two connectors of one name included, is an error", "[config]") {
  loaded l("connectors:\n  crm:\n    kind: hubspot\n    enabled: false\n  crm:\n    kind: zendesk\n"
           "daemon:\n  threads: 2\n  threads: 3\n");
  INFO(l.text);
  CHECK(l.has(5, 3, "connectors.crm", "duplicate key \"crm\" (first at line 2, column 3)"));
  CHECK(l.has(9, 3, "daemon.threads", "duplicate key \"threads\" (first at line 8, column 3)"));
  CHECK_FALSE(l.result.ok());
}

TEST_CASE("config: 19 — what an adapter refuses is reported at the key it names", "[config]") {
  loaded l("connectors:\n  zd:\n    kind: zendesk\n    subdomain: acme\n    auth:\n      api_token: t\n");
  INFO(l.text);
  REQUIRE(l.result.problems.size() == 1);
  CHECK(l.has(6, 7, "connectors.zd.auth.email", "auth.api_token needs auth.email"));
}

TEST_CASE("config: 20 — a connector block compares equal when only its layout changed", "[config]") {
  loaded a("connectors:\n  hs:\n    kind: hubspot\n    auth: { private_app_token: one }\n    sync: { page_size: 50 }\n");
  loaded moved("connectors:\n  hs:\n    sync:\n      page_size: 50\n    auth:\n      private_app_token: one\n"
               "    kind: hubspot\n");
  loaded other("connectors:\n  hs:\n    kind: hubspot\n    auth: { private_app_token: two }\n    sync: { page_size: 50 }\n");
  REQUIRE(a.result.ok());
  REQUIRE(moved.result.ok());
  REQUIRE(other.result.ok());
  CHECK(a.result.config->connectors[0].settings == moved.result.config->connectors[0].settings);
  CHECK_FALSE(a.result.config->connectors[0].settings == other.result.config->connectors[0].settings);
}

TEST_CASE("config: omnisync_id in identity.match is matched as a profile reference", "[config]") {
  loaded l("identity:\n  match: [omnisync_id, email, phone]\n");
  INFO(l.text);
  REQUIRE(l.result.ok());
  REQUIRE(l.result.profiles);
  const auto& rules = l.result.profiles->identity.rules;
  const auto it = std::find_if(rules.begin(), rules.end(), [](const auto& r) { return r.attribute == "omnisync_id"; });
  REQUIRE(it != rules.end());
  CHECK(it->norm == omnisync::profile::normalizer::profile_ref);
  CHECK(std::count_if(rules.begin(), rules.end(), [](const auto& r) { return r.attribute == "omnisync_id"; }) == 1);
}

TEST_CASE("config: runs.retention is a duration, other keys under runs are errors", "[config]") {
  loaded good("runs:\n  retention: 7d\n");
  INFO(good.text);
  if (good.result.config) CHECK(good.result.config->runs.retention == std::chrono::hours(7 * 24));
  loaded bad("runs:\n  retention: forever\n  keep: 3\n");
  INFO(bad.text);
  CHECK(bad.has(2, 14, "runs.retention", "expected a duration"));
  CHECK(bad.has(3, 3, "runs.keep", "unknown key \"keep\""));
  CHECK_FALSE(bad.result.ok());
}

TEST_CASE("config: console — off by default, tokens from files, each problem located", "[config][console]") {
  {
    loaded l("");
    REQUIRE(l.result.config);
    CHECK_FALSE(l.result.config->console.enabled);
  }
  {
    loaded l("console:\n  listen: 127.0.0.1:0\n");
    INFO(l.text);
    CHECK(l.has(2, 3, "console", "the console needs a token"));
  }
  {
    loaded l("console:\n  token: s3cr3t\n  write_token_file: /nonexistent/write.token\n  tls: { cert: c.pem }\n"
             "  listen: here\n  colour: blue\n");
    INFO(l.text);
    CHECK(l.has(2, 10, "console.token", "shorter than 16 characters"));
    CHECK(l.text.find("console.write_token_file") != std::string::npos);
    CHECK(l.has(4, 8, "console.tls", "give both cert and key"));
    CHECK(l.has(5, 11, "console.listen", "expected host:port"));
    CHECK(l.has(6, 3, "console.colour", "unknown key"));
    CHECK(l.text.find("s3cr3t") == std::string::npos);  // a secret is never part of a message
  }
  {
    temp_dir d;
    const auto read = d.write("read.token", "read-token-0123456789abcdef\n");
    const auto write = d.write("write.token", "write-token-0123456789abcdef\n");
    loaded l("console:\n  listen: 127.0.0.1:0\n  token_file: " + read.string() + "\n  write_token_file: " +
             write.string() + "\n  idle_timeout: 5s\n");
    INFO(l.text);
    REQUIRE(l.result.ok());
    const auto& c = l.result.config->console;
    CHECK(c.enabled);
    CHECK(c.token->reveal() == "read-token-0123456789abcdef");
    CHECK(c.write_token->reveal() == "write-token-0123456789abcdef");
    CHECK(c.idle_timeout == std::chrono::seconds(5));
    loaded same("console:\n  token_file: " + read.string() + "\n  write_token_file: " + read.string() + "\n");
    CHECK(same.text.find("must differ from the read token") != std::string::npos);
  }
}

TEST_CASE("config: console.trusted_proxy is an IP address, anything else a located error", "[config][console]") {
  temp_dir d;
  const auto read = d.write("read.token", "read-token-0123456789abcdef\n");
  for (const std::string_view ok : {"127.0.0.1", "::1", "10.1.2.3"}) {
    loaded l("console:\n  token_file: " + read.string() + "\n  trusted_proxy: \"" + std::string(ok) + "\"\n");
    INFO(l.text);
    REQUIRE(l.result.ok());
    CHECK(l.result.config->console.trusted_proxy == ok);
  }
  loaded bad("console:\n  token_file: " + read.string() + "\n  trusted_proxy: proxy.example\n");
  INFO(bad.text);
  CHECK(bad.has(3, 18, "console.trusted_proxy", "expected the reverse proxy's IP address"));
}
