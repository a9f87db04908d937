// The Salesforce simulator's SOQL subset: what it accepts, what it refuses as MALFORMED_QUERY, and datetimes.
#include <catch2/catch.hpp>

#include "sim/salesforce/soql.hpp"

using namespace omnisync::sim::salesforce;

namespace {
soql_query ok(const std::string& s) {
  auto r = parse_soql(s);
  INFO(s << " -> " << (std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : "ok"));
  REQUIRE(std::holds_alternative<soql_query>(r));
  return std::get<soql_query>(r);
}
std::string bad(const std::string& s) {
  auto r = parse_soql(s);
  INFO(s);
  REQUIRE(std::holds_alternative<std::string>(r));
  return std::get<std::string>(r);
}
}  // namespace

TEST_CASE("soql: the incremental-sync query with relationship fields, AND, ORDER BY, LIMIT", "[sim][soql]") {
  auto q = ok("SELECT Id, Email, Account.Name, SystemModstamp FROM Contact "
              "WHERE SystemModstamp > 2026-01-01T00:00:00Z AND IsDeleted = false "
              "ORDER BY SystemModstamp ASC, Id DESC LIMIT 500");
  CHECK(q.fields == std::vector<std::string>{"Id", "Email", "Account.Name", "SystemModstamp"});
  CHECK(q.object == "Contact");
  REQUIRE(q.where.size() == 2);
  CHECK(q.where[0].field == "SystemModstamp");
  CHECK(q.where[0].op == ">");
  CHECK(q.where[0].values[0].type == soql_literal::kind::datetime);
  CHECK(q.where[0].values[0].epoch_ms == 1767225600000);
  CHECK(q.where[1].values[0].type == soql_literal::kind::boolean);
  REQUIRE(q.order_by.size() == 2);
  CHECK_FALSE(q.order_by[0].descending);
  CHECK(q.order_by[1].descending);
  CHECK(q.limit == 500);
}

TEST_CASE("soql: keywords in any case, IN lists, quoted strings with escapes, numbers, null", "[sim][soql]") {
  auto q = ok("select Id from Contact where Id in ('003A', '003B') and LastModifiedDate <= 2026-01-01T10:00:00.000Z");
  CHECK(q.where[0].op == "IN");
  CHECK(q.where[0].values.size() == 2);
  CHECK(q.where[0].values[1].text == "003B");
  auto s = ok("SELECT Id FROM Contact WHERE Id = 'it\\'s' AND CreatedDate != null");
  CHECK(s.where[0].values[0].text == "it's");
  CHECK(s.where[1].values[0].type == soql_literal::kind::null);
}

TEST_CASE("soql: anything outside the subset is refused", "[sim][soql]") {
  CHECK(bad("SELECT FROM Contact").find("unexpected token") != std::string::npos);
  bad("SELECT Id Contact");
  bad("SELECT Id FROM Contact WHERE");
  bad("SELECT Id FROM Contact WHERE Email LIKE 'a%'");
  bad("SELECT Id FROM Contact WHERE Id = 'a' OR Id = 'b'");
  bad("SELECT Id FROM Contact LIMIT -1");
  bad("SELECT Id FROM Contact LIMIT ten");
  bad("SELECT COUNT() FROM Contact");
  bad("SELECT Id FROM Contact WHERE Id = 'unterminated");
  bad("SELECT Id, FROM Contact");
  bad("SELECT Id FROM Contact GROUP BY Id");
  bad("DELETE FROM Contact");
  bad("");
}

TEST_CASE("sim soql: datetime and date literals in the documented forms only, <> is !=, no field twice", "[sim][soql]") {
  // SOQL reference, "Date Formats and Date Literals": YYYY-MM-DD; YYYY-MM-DDThh:mm:ss+hh:mm, -hh:mm or Z.
  auto q = ok("SELECT Id FROM Contact WHERE CreatedDate > 2026-01-01T02:00:00+02:00 AND CreatedDate < 2026-01-02T00:00:00Z");
  CHECK(q.where[0].values[0].type == soql_literal::kind::datetime);
  CHECK(q.where[0].values[0].epoch_ms == 1767225600000);
  auto d = ok("SELECT Id FROM Opportunity WHERE CloseDate >= 2026-01-01");
  CHECK(d.where[0].values[0].type == soql_literal::kind::date);
  CHECK(d.where[0].values[0].epoch_ms == 1767225600000);
  // An offset without its colon, a date that does not exist, a time without a zone: not SOQL literals.
  bad("SELECT Id FROM Contact WHERE CreatedDate > 2026-01-01T00:00:00+0000");
  bad("SELECT Id FROM Contact WHERE CreatedDate > 2026-02-30");
  bad("SELECT Id FROM Contact WHERE CreatedDate > 2026-01-01T00:00:00");
  bad("SELECT Id FROM Contact WHERE Lead_Score__c > nan");
  bad("SELECT Id FROM Contact WHERE Lead_Score__c > 0x10");
  // A quoted datetime parses as a string: the schema check (api.cpp) answers INVALID_FIELD for it.
  CHECK(ok("SELECT Id FROM Contact WHERE CreatedDate > '2026-01-01T00:00:00Z'").where[0].values[0].type ==
        soql_literal::kind::string);
  CHECK(ok("SELECT Id FROM Contact WHERE Email <> 'a@b.co'").where[0].op == "!=");
  CHECK(bad("SELECT Id, Email, id FROM Contact").find("duplicate field selected") != std::string::npos);
  CHECK(parse_soql_date("2024-02-29").has_value());
  CHECK_FALSE(parse_soql_date("2023-02-29").has_value());
}

TEST_CASE("salesforce datetimes: parse every documented form, format as the REST API writes them", "[sim][soql]") {
  CHECK(parse_sf_datetime("2026-01-01T00:00:00Z") == 1767225600000);
  CHECK(parse_sf_datetime("2026-01-01T00:00:00.000+0000") == 1767225600000);
  CHECK(parse_sf_datetime("2026-01-01T02:00:00+02:00") == 1767225600000);
  CHECK(parse_sf_datetime("2026-01-01T00:00:00.250Z") == 1767225600250);
  CHECK_FALSE(parse_sf_datetime("2026-13-01T00:00:00Z").has_value());
  CHECK_FALSE(parse_sf_datetime("2026-01-01 00:00:00Z").has_value());
  CHECK_FALSE(parse_sf_datetime("2026-01-01T00:00:00").has_value());
  CHECK(format_sf_datetime(1767225600250) == "2026-01-01T00:00:00.250+0000");
}
