// `omnisyncctl profile list|search` with real processes: Salesforce Contacts and their Cases in
// omnisync-sim, read by omnisyncd, listed over the control socket by attribute, stage, KPI range and free text,
// a page at a time (--limit, --after, --all), as a table, JSON lines and RFC 4180 CSV; bad filters exit 2.
#include <map>
#include <set>
#include <sstream>

#include "tests/integration/pipeline/pipeline_support.hpp"

using namespace omnisync::test;
using namespace omnisync::test::pipeline;
using omnisync::test::sim::running_sim;

namespace {

std::vector<json::object> json_lines(const std::string& out) {
  std::vector<json::object> v;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) v.push_back(json::parse(line).as_object());
  return v;
}

std::string str(const json::object& o, const char* k) {
  const auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::vector<std::string> ids(const std::vector<json::object>& recs) {
  std::vector<std::string> out;
  for (const auto& r : recs) out.push_back(str(r, "_profile_id"));
  return out;
}

}  // namespace

TEST_CASE("profile list and search: filters, paging and exports over the control socket", "[cli][profiles]") {
  running_sim sim({"--size", "0"});
  struct person {
    const char *first, *last, *email;
    int cases;  // support cases of this person (open: the KPIs open_tickets and total_tickets)
  };
  const std::vector<person> people{
      {"Ann", "Kowalski", "ann@acme.com", 2}, {"Bob", "Acme-Smith", "bob@acme.com", 1},
      {"Cid", "Other", "cid@other.org", 0},   {"Dee", "O\"Neil, Jr.", "dee@acme.com", 0},
      {"Eve", "Stone", "eve@stone.io", 3},    {"Fay", "Kowalczyk", "fay@other.org", 0},
      {"Gus", "Gray", "gus@gray.net", 0},
  };
  for (const auto& p : people) {
    json::object c{{"FirstName", p.first}, {"LastName", p.last}, {"Email", p.email}};
    auto made = sim.admin("POST", "/admin/salesforce/Contact", json::serialize(c)).json();
    for (int n = 0; n < p.cases; ++n) {
      json::object o{{"Subject", std::string(p.first) + " question " + std::to_string(n)}, {"ContactId", made.at("Id")}};
      sim.admin("POST", "/admin/salesforce/Case", json::serialize(o));
    }
  }
  daemon_run d;
  d.dir.write("omnisync.yaml", daemon_config(free_port()) + salesforce_block(sim, "Contact, Case"));
  d.start();

  // Every person is a profile, with their cases counted.
  std::vector<json::object> all;
  run_result last;
  const bool read = eventually([&] {
    auto r = last = d.ctl({"profile", "list", "--json", "--all"});
    if (r.exit_code != 0) return false;
    all = json_lines(r.out);
    std::int64_t tickets = 0;
    for (const auto& p : all)
      if (const auto* v = p.if_contains("total_tickets"); v && v->is_int64()) tickets += v->as_int64();
    return all.size() == people.size() && tickets == 6;
  }, 60s);
  INFO(last.out << last.err);
  REQUIRE(read);
  const auto all_ids = ids(all);
  CHECK(std::is_sorted(all_ids.begin(), all_ids.end()));  // id order: the cursor's order

  {  // attribute, stage, KPI and text filters
    auto emails = [&](std::vector<std::string> args) {
      args.insert(args.begin(), "--json");
      auto r = d.ctl(args);
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
      std::set<std::string> out;
      for (const auto& p : json_lines(r.out)) out.insert(str(p, "email"));
      return out;
    };
    using S = std::set<std::string>;
    CHECK(emails({"profile", "list", "--where", "email~@ACME.com"}) == S{"ann@acme.com", "bob@acme.com", "dee@acme.com"});
    CHECK(emails({"profile", "list", "--where", "email=cid@other.org"}) == S{"cid@other.org"});
    CHECK(emails({"profile", "list", "--where", "email~@acme.com", "--where", "first_name!=Bob"}) ==
          S{"ann@acme.com", "dee@acme.com"});
    CHECK(emails({"profile", "list", "--where", "email?"}).size() == people.size());
    CHECK(emails({"profile", "list", "--where", "!phone?", "--where", "last_name~kowal"}) ==
          S{"ann@acme.com", "fay@other.org"});
    CHECK(emails({"profile", "list", "--kpi", "total_tickets>=2"}) == S{"ann@acme.com", "eve@stone.io"});
    CHECK(emails({"profile", "list", "--kpi", "open_tickets>0", "--kpi", "total_tickets<=2", "--where",
                  "email~acme"}) == S{"ann@acme.com", "bob@acme.com"});
    CHECK(emails({"profile", "search", "kowal"}) == S{"ann@acme.com", "fay@other.org"});
    CHECK(emails({"profile", "search", "OTHER.org", "--kpi", "open_tickets=0"}) == S{"cid@other.org", "fay@other.org"});
    // --stage: the stage each profile shows, as list reports it
    std::map<std::string, S> by_stage;
    for (const auto& p : all) by_stage[str(p, "lifecycle_stage")].insert(str(p, "email"));
    REQUIRE_FALSE(by_stage.empty());
    for (const auto& [stage, members] : by_stage) {
      INFO(stage);
      CHECK(emails({"profile", "list", "--stage", stage}) == members);
    }
    // none: a table says so, exit 0
    auto none = d.ctl({"profile", "list", "--where", "email=nobody@nowhere.io"});
    CHECK(none.exit_code == 0);
    CHECK(none.out == "no profile matches\n");
  }

  {  // paging: --limit and --after walk every profile once; --all does it in one command
    std::vector<std::string> seen;
    std::string after;
    int pages = 0;
    while (true) {
      std::vector<std::string> args{"--json", "profile", "list", "--limit", "3", "--fields", "email"};
      if (!after.empty()) args.insert(args.end(), {"--after", after});
      auto r = d.ctl(args);
      REQUIRE(r.exit_code == 0);
      ++pages;
      for (const auto& p : json_lines(r.out)) {
        seen.push_back(str(p, "_profile_id"));
        CHECK(p.size() == 2);  // _profile_id and the one field asked for
      }
      const auto at = r.err.find("more: --after ");
      if (at == std::string::npos) break;
      after = r.err.substr(at + 14, r.err.find(' ', at + 14) - at - 14);
      REQUIRE(pages < 10);
    }
    CHECK(pages == 3);
    CHECK(seen == all_ids);
    auto r = d.ctl({"--json", "profile", "list", "--all", "--limit", "2"});
    CHECK(r.err.empty());
    CHECK(ids(json_lines(r.out)) == all_ids);
  }

  {  // CSV (RFC 4180) and the table
    auto r = d.ctl({"profile", "list", "--csv", "--fields", "email,last_name,total_tickets", "--where",
                    "email~acme", "--kpi", "total_tickets<2"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    std::istringstream in(r.out);
    std::vector<std::string> rows;
    for (std::string line; std::getline(in, line);) {
      REQUIRE_FALSE(line.empty());
      CHECK(line.back() == '\r');  // CRLF line ends
      line.pop_back();
      rows.push_back(line.substr(line.find(',') + 1));  // without the profile id
    }
    std::sort(rows.begin() + 1, rows.end());
    CHECK(rows == std::vector<std::string>{"email,last_name,total_tickets", "bob@acme.com,Acme-Smith,1",
                                           "dee@acme.com,\"O\"\"Neil, Jr.\",0"});
    CHECK(r.out.rfind("profile_id,email,last_name,total_tickets\r\n", 0) == 0);

    auto t = d.ctl({"profile", "list", "--where", "email=ann@acme.com"});
    REQUIRE(t.exit_code == 0);
    CHECK(t.out.rfind("PROFILE", 0) == 0);
    CHECK(t.out.find("EMAIL") != std::string::npos);
    CHECK(t.out.find("ann@acme.com") != std::string::npos);
  }

  {  // bad filters are usage errors (exit 2) that say what is wrong
    auto expect_usage = [&](std::vector<std::string> args, const std::string& says) {
      auto r = d.ctl(args);
      INFO(r.out << r.err);
      CHECK(r.exit_code == 2);
      CHECK(r.err.find(says) != std::string::npos);
    };
    expect_usage({"profile", "list", "--where", "email"}, "expected ATTR=VALUE");
    expect_usage({"profile", "list", "--where", "=x"}, "no attribute name");
    expect_usage({"profile", "list", "--where", "emial~acme"}, "unknown attribute \"emial\" (did you mean \"email\"?)");
    expect_usage({"profile", "list", "--kpi", "lifetime_valu>=1"}, "unknown KPI \"lifetime_valu\" (did you mean");
    expect_usage({"profile", "list", "--kpi", "lifetime_value>=lots"}, "\"lots\" is not a number");
    expect_usage({"profile", "list", "--kpi", "lifetime_value"}, "expected NAME>=N");
    expect_usage({"profile", "list", "--stage", "purchse"}, "unknown lifecycle stage \"purchse\"");
    expect_usage({"profile", "list", "--after", "bogus"}, "is no cursor");
    expect_usage({"profile", "list", "--limit", "0"}, "--limit");
    expect_usage({"profile", "search"}, "needs the text");
    expect_usage({"profile", "list", "--csv", "--json"}, "exclude each other");
    expect_usage({"profile", "get"}, "needs an e-mail");
  }
  CHECK(d.stop() == 0);
}
