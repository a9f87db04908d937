// The book's record facts (docs/write-back.md): each value carries the time of the information it represents — a
// copy of another record's value keeps that value's time, an unchanged value keeps the time it appeared — clears
// are remembered, and values webhook events announce win when they are newer. Stored with the record, the facts
// give the same golden values when the book is rebuilt in any order.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tests/unit/daemon/profile/book_fixture.hpp"

using namespace omnisync::profile;
using omnisync::test::profile::fed_book;
using omnisync::test::profile::hs_contact;
using omnisync::test::profile::sf_contact;
using omnisync::test::profile::stored;
namespace mapping = omnisync::mapping;

TEST_CASE("book facts: a copy of another record's value keeps that value's time, so an older copy never wins",
          "[profile][book]") {
  fed_book f;
  f.apply("sf", "003A", 100, sf_contact("+14155550100"));
  // HubSpot is modified at 300 by omnisync's own write: it now holds Salesforce's phone, whose information is 100.
  f.apply("hs", "901", 300, hs_contact("+14155550100"));
  CHECK(f.b.facts("hs", "contacts", "901").find("\"phone\":100") != std::string::npos);
  // Salesforce's phone changes at 200: newer than the information the HubSpot copy carries (100), though older
  // than HubSpot's record stamp (300). The change wins — it would have lost to the copy by record stamps.
  f.apply("sf", "003A", 200, sf_contact("+14155550200"));
  CHECK(f.golden("ann@example.com", "phone") == "\"+14155550200\"");
}

TEST_CASE("book facts: an unchanged value keeps the time it appeared when another field changes",
          "[profile][book]") {
  fed_book f;
  f.apply("hs", "901", 100, hs_contact("+14155550111"));  // HubSpot's own phone, set at 100
  f.apply("sf", "003A", 200, sf_contact("+14155550222"));  // Salesforce's phone changed at 200
  CHECK(f.golden("ann@example.com", "phone") == "\"+14155550222\"");
  // HubSpot's first name changes at 300; its phone did not change then, so it still dates from 100.
  f.apply("hs", "901", 300, hs_contact("+14155550111", "Anna"));
  CHECK(f.golden("ann@example.com", "phone") == "\"+14155550222\"");
  CHECK(f.golden("ann@example.com", "first_name") == "\"Anna\"");
}

TEST_CASE("book facts: a value a change removed is a clear that can win, a null that never held one cannot",
          "[profile][book]") {
  fed_book f;
  f.apply("sf", "003A", 100, sf_contact("+14155550100"));
  f.apply("hs", "901", 150, hs_contact(nullptr));  // never had a phone
  CHECK(f.golden("ann@example.com", "phone") == "\"+14155550100\"");
  f.apply("hs", "901", 200, hs_contact("+14155550300"));
  CHECK(f.golden("ann@example.com", "phone") == "\"+14155550300\"");
  f.apply("hs", "901", 400, hs_contact(nullptr));  // a person cleared it at 400
  auto pid = f.b.find("ann@example.com");
  REQUIRE(pid);
  auto g = f.b.golden_of(*pid, "phone");
  REQUIRE(g);
  CHECK(g->value.k == mapping::value::kind::null);
  CHECK(g->cleared);
}

TEST_CASE("book facts: a value a webhook event announced wins over an older one the re-read returns",
          "[profile][book]") {
  fed_book f;
  f.apply("sf", "003A", 100, sf_contact("+14155550100"));
  f.apply("hs", "901", 150, hs_contact("+14155550100"));  // a copy (information 100)
  // A person sets HubSpot's phone at 500; before omnisync reads it, a stale write puts Salesforce's value back
  // (at 600). The event's re-read holds the stale value — but the event said what changed and when.
  announced_value a{"phone", {}, 500};
  a.value.set_string("+16465550500");
  f.apply("hs", "901", 600, hs_contact("+14155550100"), {a});
  CHECK(f.golden("ann@example.com", "phone") == "\"+16465550500\"");
  // Once HubSpot is read holding the announced value, the record speaks for itself again.
  f.apply("hs", "901", 700, hs_contact("+16465550500"));
  CHECK(f.golden("ann@example.com", "phone") == "\"+16465550500\"");
  CHECK(f.b.facts("hs", "contacts", "901").find("\"e\"") == std::string::npos);
  // An announcement older than the information the record holds changes nothing.
  announced_value old{"phone", {}, 50};
  old.value.set_string("+19995550000");
  std::set<profile_id> affected;
  f.b.announce("hs", "contacts", "901", std::span<const announced_value>(&old, 1), affected);
  CHECK(affected.empty());
  CHECK(f.golden("ann@example.com", "phone") == "\"+16465550500\"");
}

TEST_CASE("book facts: omnisync's own stale write landing after a person's edit does not replace the edit",
          "[profile][book]") {
  fed_book f;
  f.apply("sf", "003A", 100, sf_contact("+14155550100"));
  f.apply("hs", "901", 150, hs_contact(nullptr));  // HubSpot has no phone: omnisync computes a write of SF's phone
  announced_value w{"phone", {}, 100};               // the golden value written, its information from 100
  w.value.set_string("+14155550100");
  f.b.note_written("hs", "contacts", "901", std::span<const announced_value>(&w, 1));
  // A person types a phone at 500 and omnisync reads it; then the write computed before lands (HubSpot at 600).
  f.apply("hs", "901", 500, hs_contact("+16465550500"));
  CHECK(f.golden("ann@example.com", "phone") == "\"+16465550500\"");
  f.apply("hs", "901", 600, hs_contact("+14155550100"));
  // The read-back holds omnisync's value, as old as its information (100); the edit (500) stays in force, so the
  // profile keeps it and it is written back to HubSpot.
  CHECK(f.golden("ann@example.com", "phone") == "\"+16465550500\"");
  CHECK(f.b.facts("hs", "contacts", "901").find("\"e\"") != std::string::npos);
  // The event of omnisync's own write, announcing that value, is not news either.
  std::set<profile_id> affected;
  f.b.announce("hs", "contacts", "901", std::span<const announced_value>(&w, 1), affected);
  CHECK(f.golden("ann@example.com", "phone") == "\"+16465550500\"");
  // Once HubSpot holds the edit again, the record speaks for itself.
  f.apply("hs", "901", 700, hs_contact("+16465550500"));
  CHECK(f.golden("ann@example.com", "phone") == "\"+16465550500\"");
  CHECK(f.b.facts("hs", "contacts", "901").find("\"e\"") == std::string::npos);
}

TEST_CASE("book facts: the echo of an earlier write read after a later write was sent is still omnisync's own",
          "[profile][book]") {
  fed_book f;
  f.apply("hs", "901", 100, hs_contact(nullptr));
  f.apply("sf", "003A", 120, sf_contact(nullptr));
  // Omnisync writes phone A (information 50, from a third system) to Salesforce; then a person sets HubSpot's
  // phone (500), and omnisync writes that to Salesforce too, before reading Salesforce back.
  announced_value a{"phone", {}, 50}, b{"phone", {}, 500};
  a.value.set_string("+14155550050");
  b.value.set_string("+16465550500");
  f.b.note_written("sf", "Contact", "003A", std::span<const announced_value>(&a, 1));
  f.apply("hs", "901", 500, hs_contact("+16465550500"));
  f.b.note_written("sf", "Contact", "003A", std::span<const announced_value>(&b, 1));
  // A poll reads Salesforce between the two writes' arrivals: it holds A, stamped 600. That is the first write's
  // echo (information 50), not a change newer than the person's edit.
  f.apply("sf", "003A", 600, sf_contact("+14155550050"));
  CHECK(f.golden("ann@example.com", "phone") == "\"+16465550500\"");
  f.apply("sf", "003A", 650, sf_contact("+16465550500"));
  CHECK(f.golden("ann@example.com", "phone") == "\"+16465550500\"");
}

TEST_CASE("book facts: a record omnisync created holds older information than an edit read since, whatever its "
          "creation time",
          "[profile][book]") {
  fed_book f;
  f.apply("hs", "901", 100, hs_contact("+14155550100"));
  const auto pid = f.b.find("ann@example.com");
  REQUIRE(pid);
  // HubSpot's phone is edited at 500 (HubSpot's clock, to the second); omnisync had computed a create of the
  // Salesforce contact before reading it, and the instance that sent it died before noting it. The contact is
  // read for the first time with the old phone, its creation time 501 — and the profile id omnisync wrote.
  f.apply("hs", "901", 500, hs_contact("+16465550500"));
  const std::string created = R"({"Id":"003C","Email":"ann@example.com","FirstName":"Ann","LastName":"Lee",)"
                              R"("Phone":"+14155550100","Omnisync_Id__c":")" + pid->str() + R"(",)"
                              R"("SystemModstamp":"2026-01-01T00:00:00.000Z"})";
  f.apply("sf", "003C", 501, created);
  REQUIRE(f.b.find("sf:Contact:003C") == pid);
  CHECK(f.golden("ann@example.com", "phone") == "\"+16465550500\"");
  // A Salesforce change after that is news as usual.
  const std::string edited = R"({"Id":"003C","Email":"ann@example.com","FirstName":"Ann","LastName":"Lee",)"
                             R"("Phone":"+14155550999","Omnisync_Id__c":")" + pid->str() + R"(",)"
                             R"("SystemModstamp":"2026-01-01T00:00:00.000Z"})";
  f.apply("sf", "003C", 700, edited);
  CHECK(f.golden("ann@example.com", "phone") == "\"+14155550999\"");
}

TEST_CASE("book facts: omnisync's write read back over an older value is just a copy (nothing kept)",
          "[profile][book]") {
  fed_book f;
  f.apply("hs", "901", 100, hs_contact("+14155550111"));
  f.apply("sf", "003A", 200, sf_contact("+14155550222"));  // newer: golden, written to HubSpot
  announced_value w{"phone", {}, 200};
  w.value.set_string("+14155550222");
  f.b.note_written("hs", "contacts", "901", std::span<const announced_value>(&w, 1));
  f.apply("hs", "901", 300, hs_contact("+14155550222"));
  CHECK(f.golden("ann@example.com", "phone") == "\"+14155550222\"");
  CHECK(f.b.facts("hs", "contacts", "901").find("\"phone\":200") != std::string::npos);
  // Salesforce changes again at 250: newer than the copy's information (200), though older than HubSpot's stamp.
  f.apply("sf", "003A", 250, sf_contact("+14155550333"));
  CHECK(f.golden("ann@example.com", "phone") == "\"+14155550333\"");
}

TEST_CASE("book facts: a rebuild from the stored records and facts gives the same golden values in any order",
          "[profile][book]") {
  fed_book f;
  f.apply("sf", "003A", 100, sf_contact("+14155550100"));
  f.apply("hs", "901", 300, hs_contact("+14155550100"));
  f.apply("sf", "003A", 200, sf_contact("+14155550200"));
  announced_value a{"first_name", {}, 900};
  a.value.set_string("Annie");
  f.apply("hs", "901", 800, hs_contact("+14155550100"), {a});
  const auto phone = f.golden("ann@example.com", "phone");
  const auto first = f.golden("ann@example.com", "first_name");
  CHECK(phone == "\"+14155550200\"");
  CHECK(first == "\"Annie\"");
  std::vector<stored> order = f.store;
  std::mt19937 rng(7);
  for (int i = 0; i < 6; ++i) {
    std::shuffle(order.begin(), order.end(), rng);
    auto nb = f.rebuild(order);
    CHECK(fed_book::golden_in(*nb, "ann@example.com", "phone") == phone);
    CHECK(fed_book::golden_in(*nb, "ann@example.com", "first_name") == first);
  }
}

TEST_CASE("identity: a record keeps its profile when its e-mail and phone both change, through the profile id "
          "omnisync wrote into it",
          "[profile][book]") {
  fed_book f;
  f.apply("sf", "003A", 100, sf_contact("+14155550100"));
  f.apply("hs", "901", 150, hs_contact("+14155550100"));
  auto pid = f.b.find("ann@example.com");
  REQUIRE(pid);
  REQUIRE(f.b.find("hs:contacts:901") == pid);
  // omnisync wrote the profile id into both (Omnisync_Id__c, omnisync_id); they are read back with it.
  const std::string id = pid->str();
  auto with_id = [&](std::string json, const char* field, bool nested) {
    const std::string member = std::string("\"") + field + "\":\"" + id + "\",";
    json.insert(nested ? json.find("\"properties\":{") + 14 : 1, member);
    return json;
  };
  f.apply("sf", "003A", 200, with_id(sf_contact("+14155550100"), "Omnisync_Id__c", false));
  f.apply("hs", "901", 200, with_id(hs_contact("+14155550100"), "omnisync_id", true));
  // Every identifier of the HubSpot contact changes at once: it stays in the profile, nothing new appears.
  std::string moved = with_id(hs_contact("+16465550999"), "omnisync_id", true);
  moved.replace(moved.find("ann@example.com"), 15, "ann.new@example.org");
  f.apply("hs", "901", 300, moved);
  CHECK(f.b.find("hs:contacts:901") == pid);
  CHECK(f.b.find("ann.new@example.org") == pid);
  CHECK(f.b.stats().profiles == 1);
  // A value that is not an omnisync profile id links nothing through that key.
  f.apply("hs", "902", 300, std::string(R"({"id":"902","properties":{"email":"other@example.com","omnisync_id":"crm-7"}})"));
  f.apply("hs", "903", 300, std::string(R"({"id":"903","properties":{"email":"third@example.com","omnisync_id":"crm-7"}})"));
  CHECK(f.b.find("other@example.com") != f.b.find("third@example.com"));
}

TEST_CASE("identity: splitting a record's identifiers also splits the profile id omnisync wrote into it",
          "[profile][book]") {
  fed_book f;
  f.apply("sf", "003A", 100, sf_contact("+14155550100"));
  f.apply("hs", "901", 150, hs_contact("+14155550100"));
  const auto pid = f.b.find("ann@example.com");
  REQUIRE(pid);
  // omnisync wrote the profile id into both records; they are read back holding it.
  auto with_id = [&](std::string j, const char* field, bool nested) {
    j.insert(nested ? j.find("\"properties\":{") + 14 : 1, std::string("\"") + field + "\":\"" + pid->str() + "\",");
    return j;
  };
  f.apply("sf", "003A", 200, with_id(sf_contact("+14155550100"), "Omnisync_Id__c", false));
  f.apply("hs", "901", 200, with_id(hs_contact("+14155550100"), "omnisync_id", true));
  REQUIRE(f.b.find("hs:contacts:901") == f.b.find("sf:Contact:003A"));
  std::set<profile_id> affected;
  const record_ref hs{"hs", "contacts", "901"};
  REQUIRE(f.b.split(link_ref{hs, "email", "ann@example.com"}, affected));
  REQUIRE(f.b.split(link_ref{hs, "phone", "+14155550100"}, affected));
  CHECK(f.b.find("hs:contacts:901") != f.b.find("sf:Contact:003A"));  // the shared written-back id does not hold them
  REQUIRE(f.b.restore(link_ref{hs, "email", "ann@example.com"}, affected));
  CHECK(f.b.find("hs:contacts:901") == f.b.find("sf:Contact:003A"));
}
