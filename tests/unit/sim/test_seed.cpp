// Seeded data: the same (seed, index) always yields the same record, and person i is the same person in the
// Salesforce and HubSpot simulators (same name and email up to case), with the vendor's own phone format.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <string>

#include "sim/hubspot/api.hpp"
#include "sim/salesforce/api.hpp"

namespace sf = omnisync::sim::salesforce;
namespace hs = omnisync::sim::hubspot;
namespace json = boost::json;

namespace {
constexpr std::int64_t base_ms = 1'714'557'600'000;

json::array contacts(std::uint64_t seed) {
  sf::api api(seed, 30, base_ms, [] { return base_ms; });
  auto r = api.admin("GET", "Contact", "", "");
  REQUIRE(r.status == 200);
  return r.body.as_array();
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}
}  // namespace

TEST_CASE("sim seed: Salesforce records are a pure function of (seed, index)", "[sim][seed]") {
  const auto a = contacts(42);
  REQUIRE(a.size() == 30);
  CHECK(a == contacts(42));
  CHECK(a != contacts(43));
}

TEST_CASE("sim seed: person i overlaps between Salesforce and HubSpot with different casing and phones",
          "[sim][seed]") {
  const auto sf_contacts = contacts(42);
  const auto hs_seed = hs::default_seed(42, 30, base_ms);
  int compared_emails = 0, case_differs = 0, phone_differs = 0, missing_email = 0;
  for (std::int64_t i = 1; i <= 30; ++i) {
    const auto& c = sf_contacts.at(static_cast<std::size_t>(i - 1)).as_object();
    const auto h = hs_seed.make("contacts", i);
    INFO("person " << i);
    CHECK(std::string(c.at("FirstName").as_string()) == h.props.at("firstname"));
    CHECK(std::string(c.at("LastName").as_string()) == h.props.at("lastname"));
    if (c.at("Email").is_null()) {
      ++missing_email;  // a stale/missing field on the Salesforce side
      continue;
    }
    const std::string sf_email(c.at("Email").as_string());
    CHECK(lower(sf_email) == lower(h.props.at("email")));
    ++compared_emails;
    if (sf_email != h.props.at("email")) ++case_differs;
    if (c.at("Phone").is_string() && h.props.count("phone") != 0 &&
        std::string(c.at("Phone").as_string()) != h.props.at("phone"))
      ++phone_differs;
  }
  CHECK(compared_emails >= 20);
  CHECK(missing_email >= 1);
  CHECK(case_differs >= 1);
  CHECK(phone_differs >= 1);
}
