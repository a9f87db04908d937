// The Salesforce poll's reader of query answers (adapters/salesforce/query_page.hpp).
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "adapters/salesforce/query_page.hpp"
#include "core/error.hpp"
#include "core/time.hpp"

using omnisync::adapters::salesforce::parse_record_page;

TEST_CASE("A query answer's records keep their JSON text as sent, with id, stamp and deletion read from it",
          "[unit][adapters]") {
  const std::string first =
      R"({"attributes":{"type":"Contact","url":"/services/data/v62.0/sobjects/Contact/003A"},"Id":"003A",)"
      R"("Email":"a\"b\u00e9@example.com","Lead_Score__c":4.5E1,"Account":{"attributes":{"type":"Account"},)"
      R"("Name":"Acme [1]"},"SystemModstamp":"2025-12-25T01:19:44.787+0000","IsDeleted":false})";
  const std::string second = R"({"Id":"003B","IsDeleted":true,"SystemModstamp":"2025-12-26T00:00:00.000Z"})";
  const std::string body = R"({"totalSize":4,"done":false,"records":[ )" + first + " , " + second +
                           R"(, {"Email":"no-id@example.com"}, 17 ],"nextRecordsUrl":"/services/data/v62.0/query/01g-2000"})";
  auto p = parse_record_page(body);
  REQUIRE(p.has_value());
  REQUIRE(p->records.size() == 2);
  CHECK(p->records[0].id == "003A");
  CHECK(p->records[0].payload == first);  // byte for byte: escapes and number forms untouched
  CHECK(boost::json::parse(p->records[0].payload).at("Account").at("Name") == "Acme [1]");
  CHECK(p->records[0].source_updated_at == *omnisync::parse_iso8601("2025-12-25T01:19:44.787Z"));
  CHECK_FALSE(p->records[0].deleted);
  CHECK(p->records[1].id == "003B");
  CHECK(p->records[1].payload == second);
  CHECK(p->records[1].deleted);
  REQUIRE(p->next);
  CHECK(*p->next == "/services/data/v62.0/query/01g-2000");
}

TEST_CASE("The last page of a query answer has no next URL", "[unit][adapters]") {
  auto p = parse_record_page(R"({"totalSize":0,"done":true,"records":[]})");
  REQUIRE(p.has_value());
  CHECK(p->records.empty());
  CHECK_FALSE(p->next);
}

TEST_CASE("A body that is not a query answer is worth asking again (retry)", "[unit][adapters]") {
  for (const std::string& body : {std::string(R"({"totalSize":2,"done":true,"records":[{"Id":"003A","Email":"a@)"),
                                 std::string(R"({"totalSize":0,"done":true})"), std::string("[]"),
                                 std::string("<html>busy</html>"), std::string()}) {
    INFO(body);
    auto p = parse_record_page(body);
    REQUIRE_FALSE(p.has_value());
    CHECK(p.error() == omnisync::errc::retry);
  }
}

TEST_CASE("A query page with broken JSON inside a record is refused, never thrown", "[unit][adapters]") {
  // Found by fuzz_vendor_pages (tests/fuzz/corpus/vendor_pages/salesforce_contacts_bad_key): a value that starts
  // with a control character has no JSON type; asking simdjson for it is an error, which must come back as a
  // refused page, not as a simdjson_error escaping the adapter.
  const std::string body =
      "{\"totalSize\":2,\"done\":false,\"nextRecordsUrl\":\x15/services/data/v62.0/query/01g-2000\",\"records\":["
      "{\"Id\":\"003A\",\"Email\":\"a@example.com\",\"SystemModstamp\":\"2024-05-01T10:00:00.000+0000\"},"
      "{\"Id\":\"003B\",\"Email\":null,\"HasOptedOutOfEmail`:true,\"SystemModstamp\":\"2424-05-01T10:00:01.000+0000\"}]}";
  omnisync::result<omnisync::adapters::salesforce::record_page> p = omnisync::make_error_code(omnisync::errc::fail);
  REQUIRE_NOTHROW(p = parse_record_page(body));
  REQUIRE_FALSE(p.has_value());
  CHECK(p.error() == omnisync::errc::retry);
}
