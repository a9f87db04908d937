// Writes computed when they are sent (propagator::compute): from the profile's golden values now, only the fields
// that differ from what the destination holds, each with its reason; creates only when allowed; nulls by policy;
// a value the destination keeps transforming is repeated once, not forever.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <string>
#include <vector>

#include "daemon/profile/propagation.hpp"
#include "tests/unit/daemon/profile/book_fixture.hpp"

using namespace omnisync::profile;
using omnisync::test::profile::fed_book;
using omnisync::test::profile::hs_contact;
using omnisync::test::profile::sf_contact;
using omnisync::test::profile::shipped;
namespace mapping = omnisync::mapping;
namespace json = boost::json;

namespace {

/// A destination that may create records in every object and receive every attribute.
destination any_object(std::string name, std::string kind) {
  destination d;
  d.connector = std::move(name);
  d.kind = std::move(kind);
  d.may_create = [](std::string_view) { return true; };
  return d;
}

struct writes {
  fed_book f;
  writes() = default;
  explicit writes(std::shared_ptr<const settings> rules) : f(std::move(rules)) {}
  std::vector<std::shared_ptr<const mapping::plan>> outbound{shipped("hubspot/contacts.out.yaml"),
                                                              shipped("salesforce/Contact.out.yaml")};
  destination hs = any_object("hs", "hubspot");
  destination sf = any_object("sf", "salesforce");
  propagator prop;
  mapping::evaluator_cache evals;

  std::optional<computed_write> to_hs(const std::string& last = "", std::string_view queued = "901",
                                      null_policy nulls = null_policy::cleared) {
    auto pid = f.b.find("ann@example.com");
    REQUIRE(pid);
    destination d = hs;
    d.nulls = nulls;
    return prop.compute(f.b, outbound, d, *pid, "contacts", queued, last, evals);
  }
  static std::vector<std::string> fields(const computed_write& w) {
    std::vector<std::string> out;
    for (const auto& c : w.changes) out.push_back(c.field);
    return out;
  }
};

std::string with_omnisync_id(std::string hs_json, const std::string& id) {
  hs_json.insert(hs_json.find("\"properties\":{") + 14, "\"omnisync_id\":\"" + id + "\",");
  return hs_json;
}

}  // namespace

TEST_CASE("propagation at send time: only the fields that differ, each with its source and rule", "[profile][propagation]") {
  writes w;
  w.f.apply("sf", "003A", 100, sf_contact("+14155550100"));
  w.f.apply("hs", "901", 50, hs_contact("+14155550100"));
  const auto pid = w.f.b.find("ann@example.com")->str();
  // HubSpot holds everything but the profile id: the first write sets just that (and the KPI fields it never got).
  auto first = w.to_hs();
  REQUIRE(first);
  CHECK(first->what == computed_write::kind::update);
  CHECK(first->write.target_id == "901");
  auto f1 = writes::fields(*first);
  CHECK(std::find(f1.begin(), f1.end(), "omnisync_id") != f1.end());
  CHECK(std::find(f1.begin(), f1.end(), "phone") == f1.end());
  CHECK(std::find(f1.begin(), f1.end(), "email") == f1.end());
  // Read back holding the id, with what was written remembered: nothing differs.
  w.f.apply("hs", "901", 60, with_omnisync_id(hs_contact("+14155550100"), pid));
  CHECK_FALSE(w.to_hs(first->full_payload));
  // Salesforce's phone changes: the write carries the phone alone, why, and what HubSpot holds now.
  w.f.apply("sf", "003A", 200, sf_contact("+14155550200"));
  auto second = w.to_hs(first->full_payload);
  REQUIRE(second);
  REQUIRE(second->changes.size() == 1);
  const auto& c = second->changes[0];
  CHECK(c.field == "phone");
  CHECK(c.before == "\"+14155550100\"");
  CHECK(c.after == "\"+14155550200\"");
  CHECK(c.attribute == "phone");
  CHECK(c.rule == "most_recent");
  CHECK(c.source == "sf:Contact:003A");
  CHECK(c.source_ts == 200);
  CHECK(json::parse(second->write.payload).as_object().size() == 1);
  // An entry queued for a record that has since left the profile writes nothing.
  CHECK_FALSE(w.to_hs(first->full_payload, "999"));
}

TEST_CASE("propagation at send time: creates the whole record only where allowed, and never writes what is missing",
          "[profile][propagation]") {
  writes w;
  w.f.apply("sf", "003A", 100, sf_contact(nullptr));  // no phone anywhere
  auto pid = w.f.b.find("ann@example.com");
  REQUIRE(pid);
  destination always = w.hs;
  always.nulls = null_policy::always;
  auto create = w.prop.compute(w.f.b, w.outbound, always, *pid, "contacts", "", "", w.evals);
  REQUIRE(create);
  CHECK(create->what == computed_write::kind::create);
  CHECK(create->write.target_id.empty());
  CHECK(create->write.record_key == "ann@example.com");
  const auto body = json::parse(create->write.payload).as_object();
  CHECK(body.contains("email"));
  CHECK_FALSE(body.contains("phone"));  // a missing value is never written, whatever the policy
  destination closed = w.hs;
  closed.may_create = [](std::string_view) { return false; };  // not read to the end yet
  CHECK_FALSE(w.prop.compute(w.f.b, w.outbound, closed, *pid, "contacts", "", "", w.evals));
  // Created with this very content and not read back yet: not created again; with other content, it is.
  CHECK_FALSE(w.prop.compute(w.f.b, w.outbound, always, *pid, "contacts", "", create->full_payload, w.evals));
  CHECK(w.prop.compute(w.f.b, w.outbound, always, *pid, "contacts", "", R"({"email":"old@example.com"})", w.evals));
}

TEST_CASE("propagation at send time: a cleared value clears other systems as their null policy says",
          "[profile][propagation]") {
  writes w;
  w.f.apply("sf", "003A", 100, sf_contact("+14155550100"));
  w.f.apply("hs", "901", 50, hs_contact("+14155550100"));
  const auto pid = w.f.b.find("ann@example.com")->str();
  w.f.apply("hs", "901", 60, with_omnisync_id(hs_contact("+14155550100"), pid));
  auto base = w.to_hs();
  const std::string last = base ? base->full_payload : std::string();
  // A person clears the phone in Salesforce at 300.
  w.f.apply("sf", "003A", 300, sf_contact(nullptr));
  auto cleared = w.to_hs(last, "901", null_policy::cleared);
  REQUIRE(cleared);
  REQUIRE(cleared->changes.size() == 1);
  CHECK(cleared->changes[0].field == "phone");
  CHECK(cleared->changes[0].after == "null");
  CHECK_FALSE(w.to_hs(last, "901", null_policy::never));
}

TEST_CASE("propagation at send time: a change there that the rules overrule is corrected once, not in a loop",
          "[profile][propagation]") {
  auto rules = std::make_shared<settings>();
  attribute_rule owned;
  owned.attribute = "first_name";
  owned.owner = "sf";  // Salesforce owns the first name
  rules->survivorship.attributes.push_back(owned);
  writes w{rules};
  w.f.apply("sf", "003A", 100, sf_contact("+14155550100", "Ann"));
  w.f.apply("hs", "901", 50, hs_contact("+14155550100", "Ann"));
  const auto pid = w.f.b.find("ann@example.com")->str();
  w.f.apply("hs", "901", 60, with_omnisync_id(hs_contact("+14155550100", "Ann"), pid));
  auto base = w.to_hs();
  const std::string last = base ? base->full_payload : std::string();
  // Someone renames her in HubSpot; the owner rule keeps Salesforce's name: one correction...
  w.f.apply("hs", "901", 300, with_omnisync_id(hs_contact("+14155550100", "Anny"), pid));
  auto fix = w.to_hs(last);
  REQUIRE(fix);
  CHECK(writes::fields(*fix) == std::vector<std::string>{"firstname"});
  CHECK(fix->changes[0].rule == "owner");
  // ...and not again while HubSpot is not read holding it (a vendor that stores it otherwise gets no loop).
  CHECK_FALSE(w.to_hs(last));
  // Read back corrected, then changed there once more: corrected once more.
  w.f.apply("hs", "901", 310, with_omnisync_id(hs_contact("+14155550100", "Ann"), pid));
  CHECK_FALSE(w.to_hs(last));
  w.f.apply("hs", "901", 400, with_omnisync_id(hs_contact("+14155550100", "Annie"), pid));
  auto fix2 = w.to_hs(last);
  REQUIRE(fix2);
  CHECK(writes::fields(*fix2) == std::vector<std::string>{"firstname"});
}

TEST_CASE("propagation at send time: a write is not sent again before its echo is read, but an undo is corrected",
          "[profile][propagation]") {
  auto rules = std::make_shared<settings>();
  attribute_rule owned;
  owned.attribute = "phone";
  owned.owner = "sf";  // Salesforce owns the phone
  rules->survivorship.attributes.push_back(owned);
  writes w{rules};
  w.f.apply("sf", "003A", 100, sf_contact("+14155550100", "Ann"));
  w.f.apply("hs", "901", 50, hs_contact("+14155550199", "Ann"));
  const auto pid = w.f.b.find("ann@example.com")->str();
  w.f.apply("hs", "901", 60, with_omnisync_id(hs_contact("+14155550199", "Ann"), pid));
  // HubSpot holds another phone: it is written...
  auto first = w.to_hs();
  REQUIRE(first);
  CHECK(writes::fields(*first).front() == "phone");  // and the KPIs HubSpot receives
  const std::string last = first->full_payload;
  // ...and, acknowledged but not read back yet, not written again when the profile is computed once more.
  CHECK_FALSE(w.to_hs(last));
  CHECK_FALSE(w.to_hs(last));
  // A person puts the old phone back in HubSpot (a newer version of the record): the owner rule corrects it once.
  w.f.apply("hs", "901", 200, with_omnisync_id(hs_contact("+14155550199", "Ann"), pid));
  auto undo = w.to_hs(last);
  REQUIRE(undo);
  CHECK(writes::fields(*undo) == std::vector<std::string>{"phone"});
  CHECK_FALSE(w.to_hs(last));
  // Read back holding the written phone: nothing to do.
  w.f.apply("hs", "901", 210, with_omnisync_id(hs_contact("+14155550100", "Ann"), pid));
  CHECK_FALSE(w.to_hs(last));
}

TEST_CASE("propagation at send time: a destination receives only the attributes its sync.fields allow",
          "[profile][propagation]") {
  writes w;
  w.f.apply("sf", "003A", 100, sf_contact("+14155550100"));
  w.f.apply("hs", "901", 50, hs_contact("+14155550100"));
  const auto pid = w.f.b.find("ann@example.com");
  w.f.apply("hs", "901", 60, with_omnisync_id(hs_contact("+14155550100"), pid->str()));
  auto base = w.to_hs();
  const std::string last = base ? base->full_payload : std::string();
  w.f.apply("sf", "003A", 200, sf_contact("+14155550200", "Annie"));
  destination d = w.hs;
  d.may_receive = [](std::string_view attribute) { return attribute != "phone"; };  // sync.fields.deny: [phone]
  auto out = w.prop.compute(w.f.b, w.outbound, d, *w.f.b.find("ann@example.com"), "contacts", "901", last, w.evals);
  REQUIRE(out);
  CHECK(writes::fields(*out) == std::vector<std::string>{"firstname"});
}

TEST_CASE("propagation at send time: a value another person's record holds is not written to a field the vendor "
          "matches records by",
          "[profile][propagation]") {
  writes w;
  w.f.apply("sf", "003A", 100, sf_contact("+14155550100"));
  w.f.apply("hs", "901", 50, hs_contact("+14155550100"));
  w.f.apply("hs", "902", 60, std::string(R"({"id":"902","properties":{"email":"bob@example.com","firstname":"Bob"}})"));
  const auto ann = w.f.b.find("hs:contacts:901");
  REQUIRE(ann);
  REQUIRE(w.f.b.find("hs:contacts:902") != ann);
  // Salesforce's contact now says Bob's address: it stays with Ann's profile (it holds her profile id, which
  // omnisync wrote there), and the golden e-mail becomes Bob's.
  std::string moved = sf_contact("+14155550100");
  moved.replace(moved.find("ann@example.com"), 15, "bob@example.com");
  moved.insert(1, "\"Omnisync_Id__c\":\"" + ann->str() + "\",");
  w.f.apply("hs", "901", 150, with_omnisync_id(hs_contact("+14155550100"), ann->str()));
  w.f.apply("sf", "003A", 200, moved);
  REQUIRE(w.f.b.find("sf:Contact:003A") == ann);
  auto d = w.hs;
  auto plain = w.prop.compute(w.f.b, w.outbound, d, *ann, "contacts", "901", "", w.evals);
  REQUIRE(plain);
  auto f0 = writes::fields(*plain);
  REQUIRE(std::find(f0.begin(), f0.end(), "email") != f0.end());  // without the vendor's rule it would be written
  d.upsert_matches = [](std::string_view) { return std::vector<std::string>{"email"}; };
  auto guarded = w.prop.compute(w.f.b, w.outbound, d, *ann, "contacts", "901", "", w.evals);
  REQUIRE(guarded);
  auto f1 = writes::fields(*guarded);
  CHECK(std::find(f1.begin(), f1.end(), "email") == f1.end());
  CHECK_FALSE(json::parse(guarded->write.payload).as_object().contains("email"));
}
