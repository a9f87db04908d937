// RFC 4180 fields as `omnisyncctl profile list --csv` writes them.
#include <catch2/catch.hpp>

#include "daemon/ctl/subcommands.hpp"

using omnisync::ctl::csv_field;

TEST_CASE("csv_field quotes only what needs it and doubles quotes", "[ctl][csv]") {
  CHECK(csv_field("ann@acme.com") == "ann@acme.com");
  CHECK(csv_field("") == "");
  CHECK(csv_field(" spaced ") == " spaced ");  // spaces are part of the field (RFC 4180)
  CHECK(csv_field("O'Neil, Jr.") == "\"O'Neil, Jr.\"");
  CHECK(csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(csv_field("two\nlines") == "\"two\nlines\"");
  CHECK(csv_field("cr\r") == "\"cr\r\"");
  CHECK(csv_field("vip; pilot") == "vip; pilot");
}
