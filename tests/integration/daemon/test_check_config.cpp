// `omnisyncd --check-config` on each connector kind's keys: a misspelling two or three levels down, a value of
// the wrong type or out of range, a word outside its set and a repeated key all exit 78 with the located
// problem; the same block spelled right passes.
#include <catch2/catch.hpp>

#include <string>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using omnisync::test::binary;
using omnisync::test::run;
using omnisync::test::temp_dir;

namespace {

/// One connector of `kind` (its required keys set; disabled so no credential is needed), plus `extra` lines.
std::string config_with(const std::string& kind, const std::string& extra) {
  return "http: { listen: 127.0.0.1:0 }\n"
         "connectors:\n"
         "  c:\n"
         "    kind: " + kind + "\n"
         "    enabled: false\n" + extra;
}

struct checked {
  int exit_code = -1;
  std::string err;
  std::string file;
};

checked check(temp_dir& dir, const std::string& name, const std::string& yaml) {
  checked c;
  c.file = dir.write(name, yaml).string();
  auto r = run({binary("omnisyncd"), "-c", c.file, "--check-config"});
  c.exit_code = r.exit_code;
  c.err = r.err;
  return c;
}

}  // namespace

TEST_CASE("check-config: a misspelled key deep in each kind's block is located, with a suggestion",
          "[integration][config]") {
  struct typo_case {
    const char* kind;
    std::string right;       ///< lines 6.. of the block, spelled right
    std::string wrong;       ///< the same with one key misspelled
    std::string expected;    ///< "line:col: path: message" of the misspelling
  };
  const typo_case cases[] = {
      {"salesforce", "    sync:\n      Contact: { upsert_key: Omnisync_Id__c }\n",
       "    sync:\n      Contact: { upsert_kye: Omnisync_Id__c }\n",
       ":7:18: connectors.c.sync.Contact.upsert_kye: unknown key \"upsert_kye\" (did you mean \"upsert_key\"?)"},
      {"hubspot", "    webhook:\n      signature_version: v1\n", "    webhook:\n      signature_verison: v1\n",
       ":7:7: connectors.c.webhook.signature_verison: unknown key \"signature_verison\" (did you mean \"signature_version\"?)"},
      {"zendesk", "    subdomain: acme\n    sync:\n      job_poll_interval: 1s\n",
       "    subdomain: acme\n    sync:\n      job_pol_interval: 1s\n",
       ":8:7: connectors.c.sync.job_pol_interval: unknown key \"job_pol_interval\" (did you mean \"job_poll_interval\"?)"},
      {"activecampaign", "    rate_limit:\n      per_second: 5\n", "    rate_limit:\n      per_secnd: 5\n",
       ":7:7: connectors.c.rate_limit.per_secnd: unknown key \"per_secnd\" (did you mean \"per_second\"?)"},
      {"intercom", "    sync:\n      write_concurrency: 4\n", "    sync:\n      write_concurency: 4\n",
       ":7:7: connectors.c.sync.write_concurency: unknown key \"write_concurency\" (did you mean \"write_concurrency\"?)"},
  };
  temp_dir dir;
  for (const auto& t : cases) {
    INFO(t.kind);
    auto good = check(dir, std::string(t.kind) + "-good.yaml", config_with(t.kind, t.right));
    INFO(good.err);
    CHECK(good.exit_code == 0);
    auto bad = check(dir, std::string(t.kind) + "-bad.yaml", config_with(t.kind, t.wrong));
    INFO(bad.err);
    CHECK(bad.exit_code == 78);
    CHECK(bad.err.find(bad.file + t.expected) != std::string::npos);
    CHECK(bad.err.find("1 problem(s)") != std::string::npos);
  }
}

TEST_CASE("check-config: types, ranges, words and repeated keys in connector blocks", "[integration][config]") {
  temp_dir dir;
  auto r = check(dir, "c.yaml",
                 "connectors:\n"
                 "  sf:\n"
                 "    kind: salesforce\n"
                 "    enabled: false\n"
                 "    sync: { page_size: 50, budget_share: lots, overlap: soon }\n"
                 "    webhook: { refetch: maybe }\n"
                 "  hs:\n"
                 "    kind: hubspott\n"
                 "  ic:\n"
                 "    kind: intercom\n"
                 "    sync: { role: leed }\n"
                 "  sf:\n"
                 "    kind: salesforce\n");
  INFO(r.err);
  CHECK(r.exit_code == 78);
  const std::string& f = r.file;
  CHECK(r.err.find(f + ":5:24: connectors.sf.sync.page_size: expected a whole number from 200 to 2000, got \"50\"") != std::string::npos);
  CHECK(r.err.find(f + ":5:42: connectors.sf.sync.budget_share: expected a number from 0.01 to 1, got \"lots\"") != std::string::npos);
  CHECK(r.err.find(f + ":5:57: connectors.sf.sync.overlap: expected a duration like \"30s\"") != std::string::npos);
  CHECK(r.err.find(f + ":6:25: connectors.sf.webhook.refetch: expected true or false, got \"maybe\"") != std::string::npos);
  CHECK(r.err.find(f + ":8:11: connectors.hs.kind: expected one of salesforce, hubspot, zendesk, activecampaign, "
                       "intercom, got \"hubspott\" (did you mean \"hubspot\"?)") != std::string::npos);
  CHECK(r.err.find(f + ":11:19: connectors.ic.sync.role: expected one of user, lead, got \"leed\" (did you mean \"lead\"?)") != std::string::npos);
  CHECK(r.err.find(f + ":12:3: connectors.sf: duplicate key \"sf\" (first at line 2, column 3)") != std::string::npos);
  CHECK(r.err.find("7 problem(s)") != std::string::npos);
}

TEST_CASE("check-config: what an adapter cannot work with is named at its key", "[integration][config]") {
  temp_dir dir;
  // Enabled: the adapter is built, and the JWT bearer flow needs a username and a key.
  auto r = check(dir, "c.yaml",
                 "connectors:\n"
                 "  sf:\n"
                 "    kind: salesforce\n"
                 "    login_url: https://login.example.com\n"
                 "    auth:\n"
                 "      flow: jwt_bearer\n"
                 "      client_id: app\n");
  INFO(r.err);
  CHECK(r.exit_code == 78);
  CHECK(r.err.find(r.file + ":6:7: connectors.sf.auth.private_key: required for the jwt_bearer flow") != std::string::npos);
}

TEST_CASE("omnisyncd --check-config: enumerated values get a suggestion", "[daemon][check-config]") {
  temp_dir dir;
  auto r = check(dir, "c.yaml",
                 "daemon:\n"
                 "  log: { level: wran }\n"
                 "connectors:\n"
                 "  zd:\n"
                 "    kind: zendsk\n"
                 "  hs:\n"
                 "    kind: hubspot\n"
                 "    empty_strings: vlaue\n"
                 "    sync: { write_nulls: allways }\n");
  INFO(r.err);
  CHECK(r.exit_code == 78);
  const std::string& f = r.file;
  CHECK(r.err.find(f + ":2:17: daemon.log.level: expected one of trace, debug, info, warn, error, critical, off, got "
                       "\"wran\" (did you mean \"warn\"?)") != std::string::npos);
  CHECK(r.err.find(f + ":5:11: connectors.zd.kind: expected one of salesforce, hubspot, zendesk, activecampaign, "
                       "intercom, got \"zendsk\" (did you mean \"zendesk\"?)") != std::string::npos);
  CHECK(r.err.find(f + ":8:20: connectors.hs.empty_strings: expected one of no_value, value, got \"vlaue\" (did you "
                       "mean \"value\"?)") != std::string::npos);
  CHECK(r.err.find("connectors.hs.sync.write_nulls: expected one of never, cleared, always, got \"allways\" (did you "
                   "mean \"always\"?)") != std::string::npos);
}
