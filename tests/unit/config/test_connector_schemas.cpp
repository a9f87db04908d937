// Each connector kind's schema from the adapters' registry: a block validates against it as the loader does,
// binds into the adapter's typed settings (the adapter is built from it), and a misspelled key anywhere in it
// is located with a suggestion.
#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <yaml-cpp/yaml.h>

#include "adapters/hubspot/settings.hpp"
#include "adapters/registry.hpp"
#include "adapters/salesforce/settings.hpp"
#include "config/reference.hpp"

using namespace omnisync;
using namespace std::chrono_literals;

namespace {

struct read_block {
  config::diagnostics problems;
  config::connector_common cc;
  std::string text;
  read_block(const std::string& name, const std::string& yaml) {
    config::validation_context ctx{"f.yaml", "/etc/omnisync", &problems};
    cc = adapters::read_connector(name, YAML::Load(yaml), "connectors." + name, ctx);
    text = problems.format();
  }
};

/// A block every kind accepts and can build an adapter from (no call is made while building).
const std::map<std::string, std::string> minimal{
    {"salesforce", "kind: salesforce\nlogin_url: https://login.example.com\nauth: { client_id: id, client_secret: s }\n"},
    {"hubspot", "kind: hubspot\nauth: { private_app_token: t }\n"},
    {"zendesk", "kind: zendesk\nsubdomain: acme\nauth: { email: ops@example.com, api_token: t }\n"},
    {"activecampaign", "kind: activecampaign\nsubdomain: acme\nauth: { api_token: t }\n"},
    {"intercom", "kind: intercom\nauth: { access_token: t }\n"},
};

void every_key_described(const config::schema& s, const std::string& prefix) {
  for (const auto& d : s.settings()) {
    const std::string key = prefix + d.key();
    if (d.type() == config::value_type::block) {
      every_key_described(*d.keys(), key + ".");
      continue;
    }
    INFO(key);
    CHECK_FALSE(d.description().empty());
    if (d.type() == config::value_type::map && d.element()->type() == config::value_type::block)
      every_key_described(*d.element()->keys(), key + ".");
  }
}

}  // namespace

TEST_CASE("connector schemas: the registry's kinds are the one list, each with a described schema", "[config][schema]") {
  const auto kinds = adapters::connector_kinds();
  CHECK(kinds == std::vector<std::string>{"salesforce", "hubspot", "zendesk", "activecampaign", "intercom"});
  const auto* kind = adapters::common_connector_schema().find("kind");
  REQUIRE(kind);
  CHECK(kind->choice_words() == kinds);
  every_key_described(adapters::common_connector_schema(), "");
  for (const auto& k : adapters::kinds()) {
    INFO(k.kind);
    REQUIRE(adapters::connector_schema(k.kind));
    every_key_described(k.settings(), "");
    CHECK(config::reference_table(k.settings()).find("| `") != std::string::npos);
  }
  CHECK(adapters::connector_schema("pipedrive") == nullptr);
}

TEST_CASE("connector schemas: a minimal block of each kind validates, binds and builds its adapter", "[config][schema]") {
  boost::asio::io_context io;
  adapters::connector_context ctx;
  ctx.executor = io.get_executor();
  for (const auto& [kind, yaml] : minimal) {
    read_block b("c", yaml);
    INFO(kind << ": " << b.text);
    CHECK(b.problems.empty());
    CHECK(b.cc.kind == kind);
    CHECK_NOTHROW(adapters::make_connector(b.cc, ctx));
  }
}

TEST_CASE("connector schemas: a misspelling two levels down in any kind is located with a suggestion", "[config][schema]") {
  const std::map<std::string, std::pair<std::string, std::string>> typo{
      {"salesforce", {"sync: { Contact: { upsert_kye: Omnisync_Id__c } }\n", "connectors.c.sync.Contact.upsert_kye: unknown key \"upsert_kye\" (did you mean \"upsert_key\"?)"}},
      {"hubspot", {"rate_limit: { per_10: 100 }\n", "connectors.c.rate_limit.per_10: unknown key \"per_10\" (did you mean \"per_10s\"?)"}},
      {"zendesk", {"sync: { job_pol_interval: 1s }\n", "connectors.c.sync.job_pol_interval: unknown key \"job_pol_interval\" (did you mean \"job_poll_interval\"?)"}},
      {"activecampaign", {"rate_limit: { per_secnd: 5 }\n", "connectors.c.rate_limit.per_secnd: unknown key \"per_secnd\" (did you mean \"per_second\"?)"}},
      {"intercom", {"sync: { write_concurency: 4 }\n", "connectors.c.sync.write_concurency: unknown key \"write_concurency\" (did you mean \"write_concurrency\"?)"}},
  };
  for (const auto& [kind, t] : typo) {
    read_block b("c", minimal.at(kind) + t.first);
    INFO(kind << ": " << b.text);
    CHECK(b.problems.size() == 1);
    const auto line = std::count(minimal.at(kind).begin(), minimal.at(kind).end(), '\n') + 1;
    CHECK(b.text.find("f.yaml:" + std::to_string(line) + ":") != std::string::npos);
    CHECK(b.text.find(t.second) != std::string::npos);
  }
}

TEST_CASE("connector schemas: a kind off by a letter is suggested, its block's other keys wait", "[config][schema]") {
  read_block b("c", "kind: zendsk\nsubdomain: acme\nauth: { whatever: 1 }\npoll_interval: soon\n");
  INFO(b.text);
  CHECK(b.problems.size() == 2);
  CHECK(b.text.find("f.yaml:1:7: connectors.c.kind: expected one of salesforce, hubspot, zendesk, activecampaign, "
                    "intercom, got \"zendsk\" (did you mean \"zendesk\"?)") != std::string::npos);
  CHECK(b.text.find("f.yaml:4:16: connectors.c.poll_interval: expected a duration") != std::string::npos);
}

TEST_CASE("connector schemas: a key of another kind is unknown here", "[config][schema]") {
  read_block b("c", minimal.at("hubspot") + "subdomain: acme\napi_version: \"62.0\"\n");
  INFO(b.text);
  CHECK(b.problems.size() == 2);
  CHECK(b.text.find("connectors.c.subdomain: unknown key \"subdomain\"") != std::string::npos);
  CHECK(b.text.find("connectors.c.api_version: unknown key \"api_version\"") != std::string::npos);
}

TEST_CASE("connector schemas: the pipeline's keys are typed fields",
          "[config][schema]") {
  read_block b("c", minimal.at("hubspot") + "sync: { write: false, write_concurrency: 8, reconcile_interval: 90s }\n");
  REQUIRE(b.problems.empty());
  CHECK_FALSE(b.cc.write);
  CHECK(b.cc.write_concurrency == 8);
  CHECK(b.cc.reconcile_interval == 90s);
  read_block off("c", minimal.at("hubspot") + "sync: { reconcile_interval: off }\n");
  CHECK(off.cc.reconcile_interval == 0ms);
  read_block unset("c", minimal.at("hubspot"));
  CHECK(unset.cc.write);
  CHECK(unset.cc.write_concurrency == 4);
  CHECK_FALSE(unset.cc.reconcile_interval.has_value());
  read_block range("c", minimal.at("hubspot") + "sync: { write_concurrency: 65 }\n");
  CHECK(range.text.find("connectors.c.sync.write_concurrency: expected a whole number from 1 to 64, got \"65\"") !=
        std::string::npos);
}

TEST_CASE("connector schemas: per-object settings reach the adapters' typed settings", "[config][schema]") {
  read_block sf("sf", minimal.at("salesforce") +
                          "objects: [Contact, Lead]\n"
                          "sync: { Lead: { fields: 'Id, Email', upsert_key: Omnisync_Id__c }, page_size: 500 }\n");
  INFO(sf.text);
  REQUIRE(sf.problems.empty());
  const auto s = adapters::salesforce::read_settings(sf.cc);
  CHECK(s.objects == std::vector<std::string>{"Contact", "Lead"});
  CHECK(s.page_size == 500);
  CHECK(s.object("Lead").fields == std::vector<std::string>{"Id", "Email"});
  CHECK(s.object("Lead").upsert_key == "Omnisync_Id__c");
  CHECK(s.object("Contact").extra_fields == std::vector<std::string>{"Account.Name"});  // the per-object default
  CHECK(s.auth.flow == adapters::salesforce::auth_flow::client_credentials);          // from the secret present
  CHECK(s.auth.token_url == "https://login.example.com/services/oauth2/token");

  read_block hs("hs", minimal.at("hubspot") +
                          "sync:\n"
                          "  properties: { contacts: 'email, phone', deals: all }\n"
                          "  associations: { deals: [] }\n"
                          "  upsert_property: { contacts: email }\n");
  INFO(hs.text);
  REQUIRE(hs.problems.empty());
  const auto h = adapters::hubspot::read_settings(hs.cc);
  CHECK(h.base_url == "https://api.hubapi.com");
  CHECK(h.properties.at("contacts") == std::vector<std::string>{"email", "phone"});
  CHECK(h.properties.at("deals") == std::vector<std::string>{"all"});
  CHECK(h.associations.at("deals").empty());
  CHECK(h.upsert_property.at("contacts") == "email");
  CHECK(h.per_10s == 190);
  CHECK(h.policy.max_attempts == 6);
}
