// core/time.hpp: every timestamp form a vendor sends is read to the same instant, malformed text is refused,
// and what omnisync writes reads back to what it wrote.
#include <catch2/catch.hpp>

#include "core/time.hpp"

using namespace omnisync;

namespace {
constexpr std::int64_t may_first_10h = 1714557600000;  // 2024-05-01T10:00:00Z

std::optional<std::int64_t> iso(std::string_view s, time_part t = time_part::optional) {
  auto v = parse_iso8601(s, t);
  if (!v) return std::nullopt;
  return to_epoch_ms(*v);
}
std::optional<std::int64_t> vendor(std::string_view s) {
  auto v = parse_vendor_time(s);
  if (!v) return std::nullopt;
  return to_epoch_ms(*v);
}
std::optional<std::int64_t> http_date(std::string_view s) {
  auto v = parse_http_date(s);
  if (!v) return std::nullopt;
  return to_epoch_ms(*v);
}
}  // namespace

TEST_CASE("ISO 8601 with and without a fraction, in UTC", "[unit][time]") {
  CHECK(iso("2024-05-01T10:00:00Z") == may_first_10h);
  CHECK(iso("2024-05-01T10:00:00z") == may_first_10h);
  CHECK(iso("2024-05-01t10:00:00Z") == may_first_10h);
  CHECK(iso("2024-05-01 10:00:00Z") == may_first_10h);
  CHECK(iso("2024-05-01T10:00:00.123Z") == may_first_10h + 123);
  CHECK(iso("2024-05-01T10:00:00.5Z") == may_first_10h + 500);
  CHECK(iso("2024-05-01T10:00:00,25Z") == may_first_10h + 250);
  CHECK(iso("2024-05-01T10:00:00.123456789Z") == may_first_10h + 123);  // beyond milliseconds: truncated
  CHECK(iso("2024-05-01T10:00Z") == may_first_10h);                     // no seconds
  CHECK(iso("2024-05-01T10:00:00") == may_first_10h);                   // no zone: UTC
  CHECK(iso("2024-05-01T10:00:00.250") == may_first_10h + 250);
}

TEST_CASE("ISO 8601 offsets in every spelling", "[unit][time]") {
  CHECK(iso("2024-05-01T12:00:00+02:00") == may_first_10h);
  CHECK(iso("2024-05-01T12:00:00+0200") == may_first_10h);
  CHECK(iso("2024-05-01T12:00:00+02") == may_first_10h);
  CHECK(iso("2024-05-01T05:00:00-05:00") == may_first_10h);  // ActiveCampaign, in the account's zone
  CHECK(iso("2024-05-01T15:30:00+05:30") == may_first_10h);
  CHECK(iso("2024-05-01T10:00:00-00:00") == may_first_10h);
  CHECK(iso("2024-05-01T00:30:00+01:00") == may_first_10h - 10 * 3600000 - 1800000);  // the day before in UTC
}

TEST_CASE("Salesforce's datetime form", "[unit][time]") {
  CHECK(iso("2024-05-01T10:00:00.000+0000") == may_first_10h);
  CHECK(iso("2026-01-01T00:00:00.000+0000", time_part::required) == 1767225600000);
  CHECK(iso("2026-01-01T02:00:00.250+02:00", time_part::required) == 1767225600250);
  CHECK(iso("2026-01-01T00:00:00Z", time_part::required) == 1767225600000);
}

TEST_CASE("A date alone is midnight UTC, unless a time is required", "[unit][time]") {
  CHECK(iso("2024-05-01") == 1714521600000);
  CHECK(iso("1970-01-01") == 0);
  CHECK(iso("2024-02-29") == 1709164800000);  // a leap day
  CHECK_FALSE(iso("2026-01-01", time_part::required).has_value());
}

TEST_CASE("HubSpot's epoch-millisecond strings", "[unit][time]") {
  CHECK(vendor("1714557600000") == may_first_10h);
  CHECK(vendor("0") == 0);
  CHECK(vendor("-1") == -1);
  CHECK(vendor("2024-05-01T10:00:00.000Z") == may_first_10h);  // HubSpot writes ISO too
  CHECK(vendor("2024-05-01") == 1714521600000);
  CHECK_FALSE(parse_iso8601("1714557600000").has_value());   // digits are not ISO 8601
  CHECK_FALSE(parse_iso8601("2024").has_value());            // not even a year alone
  CHECK(vendor("2024") == 2024);                              // where epoch ms are accepted, they win
  CHECK_FALSE(parse_epoch_ms("2024-05-01").has_value());
  CHECK_FALSE(parse_epoch_ms("").has_value());
  CHECK_FALSE(parse_epoch_ms("-").has_value());
  CHECK_FALSE(parse_epoch_ms("12a").has_value());
  CHECK_FALSE(parse_epoch_ms("+12").has_value());
  CHECK_FALSE(parse_epoch_ms("99999999999999999999").has_value());  // does not fit
}

TEST_CASE("HTTP Date headers (RFC 1123)", "[unit][time]") {
  CHECK(http_date("Thu, 01 Jan 2026 00:00:00 GMT") == 1767225600000);
  CHECK(http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777000);
  CHECK(http_date("sun, 06 nov 1994 08:49:37 GMT") == 784111777000);  // names without case
  CHECK(http_date("Sun, 6 Nov 1994 08:49:37 GMT") == 784111777000);   // one-digit day
  for (const char* bad : {"", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 UTC",
                          "Sun 06 Nov 1994 08:49:37 GMT", "Xyz, 06 Nov 1994 08:49:37 GMT",
                          "Sun, 06 Nox 1994 08:49:37 GMT", "Sun, 31 Nov 1994 08:49:37 GMT",
                          "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 94 08:49:37 GMT",
                          "Sun, 06 Nov 1994 08:49:37 GMT ", "Sunday, 06-Nov-94 08:49:37 GMT", "2024-05-01T10:00:00Z"})
    CHECK_FALSE(parse_http_date(bad).has_value());
}

TEST_CASE("Malformed or impossible timestamps are refused", "[unit][time]") {
  for (const char* bad :
       {"", "yesterday", "2024-05", "2024-5-01", "2024-05-1", "24-05-01T10:00:00Z", "2024/05/01",
        "2024-13-01T00:00:00Z", "2024-00-01", "2024-05-00", "2024-04-31", "2023-02-29", "2100-02-29",
        "2024-05-01T24:00:00Z", "2024-05-01T10:60:00Z", "2024-05-01T10:00:60Z", "2024-05-01T10", "2024-05-01T10:0",
        "2024-05-01T10:00:00Q", "2024-05-01T10:00:00Zjunk", "2024-05-01T10:00:00.Z", "2024-05-01T10:00.5Z",
        "2024-05-01T10:00:00+2", "2024-05-01T10:00:00+02:", "2024-05-01T10:00:00+02:0", "2024-05-01T10:00:00+24:00",
        "2024-05-01T10:00:00+02:60", "2024-05-01T10:00:00+02:00Z", "2024-05-01X10:00:00Z", " 2024-05-01",
        "2024-05-01 ", "2024-05-01T10:00:00 Z", "+2024-05-01"}) {
    INFO(bad);
    CHECK_FALSE(parse_iso8601(bad).has_value());
    CHECK_FALSE(parse_vendor_time(bad).has_value());
  }
}

TEST_CASE("Formats written back read to the same instant", "[unit][time]") {
  CHECK(format_iso8601_ms(from_epoch_ms(may_first_10h + 123)) == "2024-05-01T10:00:00.123Z");
  CHECK(format_iso8601_ms(from_epoch_ms(0)) == "1970-01-01T00:00:00.000Z");
  CHECK(format_iso8601_ms(from_epoch_ms(-1)) == "1969-12-31T23:59:59.999Z");  // floored before 1970
  CHECK(format_iso8601(from_epoch_ms(1767225600999)) == "2026-01-01T00:00:00Z");  // whole seconds, rounded down
  CHECK(format_iso8601(from_epoch_ms(-1)) == "1969-12-31T23:59:59Z");
  CHECK(format_http_date(from_epoch_ms(784111777999)) == "Sun, 06 Nov 1994 08:49:37 GMT");
  CHECK(format_http_date(from_epoch_ms(1767225600000)) == "Thu, 01 Jan 2026 00:00:00 GMT");
  for (std::int64_t ms : {std::int64_t{0}, std::int64_t{1}, std::int64_t{-1}, may_first_10h + 999,
                          std::int64_t{253402300799999}, std::int64_t{-62135596800000}}) {
    INFO(ms);
    CHECK(iso(format_iso8601_ms(from_epoch_ms(ms))) == ms);
    CHECK(vendor(format_iso8601_ms(from_epoch_ms(ms))) == ms);
    CHECK(iso(format_iso8601(from_epoch_ms(ms))) == ms - ((ms % 1000) + 1000) % 1000);
  }
  CHECK(http_date(format_http_date(from_epoch_ms(may_first_10h))) == may_first_10h);
}

TEST_CASE("The clock reads the system clock to the millisecond", "[unit][time]") {
  const auto before = std::chrono::system_clock::now();
  const timestamp now = utc_now();
  const auto after = std::chrono::system_clock::now();
  CHECK(now >= std::chrono::floor<std::chrono::milliseconds>(before));
  CHECK(now <= after);
}

TEST_CASE("parse_since: journalctl's forms in UTC, ISO times, nothing else", "[core][time]") {
  const timestamp now = from_epoch_ms(may_first_10h + 1234);  // 2024-05-01T10:00:01.234Z
  auto since = [&](std::string_view s) -> std::optional<std::int64_t> {
    auto v = parse_since(s, now);
    if (!v) return std::nullopt;
    return to_epoch_ms(*v);
  };
  const std::int64_t now_ms = may_first_10h + 1234, midnight = may_first_10h - 10 * 3600000;
  CHECK(since("90s") == now_ms - 90000);
  CHECK(since("30m") == now_ms - 1800000);
  CHECK(since("30min") == now_ms - 1800000);
  CHECK(since("1h") == now_ms - 3600000);
  CHECK(since("1h ago") == now_ms - 3600000);
  CHECK(since("7d") == now_ms - 7 * 86400000LL);
  CHECK(since("2w") == now_ms - 14 * 86400000LL);
  CHECK(since("now") == now_ms);
  CHECK(since("today") == midnight);
  CHECK(since("yesterday") == midnight - 86400000);
  CHECK(since("2024-05-01T10:00:00Z") == may_first_10h);
  CHECK(since("2024-05-01") == midnight);
  for (const char* bad : {"", "lots", "1x", "h", "-1h", "2024-13-40", "1h later", "99999999999999d"}) {
    INFO(bad);
    CHECK_FALSE(since(bad).has_value());
  }
}
