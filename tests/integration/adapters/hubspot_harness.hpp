#pragma once
// What the HubSpot adapter tests share (test_hubspot_adapter*.cpp, one executable): a connector config for the
// simulator, reading an object to the end, a record's payload and properties.
#include <catch2/catch.hpp>

#include <future>
#include <map>
#include <set>
#include <thread>

#include "daemon/http/listener.hpp"
#include "tests/integration/adapters/connector_harness.hpp"

using namespace std::chrono_literals;
using omnisync::adapters::page;
using omnisync::adapters::page_request;
using omnisync::adapters::poll_mode;
using omnisync::adapters::write_item;
using omnisync::adapters::write_result;
using omnisync::test::adapters::fresh_sim;
using omnisync::test::adapters::harness;
using omnisync::test::adapters::sim_calls;
using omnisync::test::sim::running_sim;
namespace json = boost::json;


namespace omnisync::test::hubspot {

inline omnisync::test::adapters::connector_config hs_config(running_sim& s, std::map<std::string, std::string> settings = {}) {
  omnisync::test::adapters::connector_config c("hs", "hubspot");
  c.set("base_url", s.url("hubspot", "https"));
  c.set("tls.ca_file", s.ca_file());
  c.set("settle_lag", "0s");
  c.list("objects", {"contacts", "deals"});
  c.set("auth.private_app_token", "pat-test-token");
  // The simulator answers in microseconds: the client-side buckets would only slow the test down.
  c.set("rate_limit.per_10s", "5000");
  c.set("rate_limit.search_per_second", "5000");
  for (auto& [k, v] : settings) c.set(k, v);
  return c;
}

struct read_result {
  std::map<std::string, omnisync::adapters::source_record> by_id;
  std::size_t records = 0;     ///< records returned in all pages (duplicates included)
  std::size_t pages = 0;
  std::optional<std::string> cursor;
};

/// Polls until `more` is false, passing each page's cursor back as the engine does; checks each page holds
/// distinct ids.
inline read_result read_all(harness& h, const std::string& object, poll_mode mode, std::optional<std::string> cursor,
                     std::optional<std::chrono::system_clock::time_point> since = std::nullopt) {
  read_result out;
  out.cursor = cursor;
  for (int guard = 0; guard < 2000; ++guard) {
    page_request req(object, out.cursor, mode);
    if (since && !out.cursor) req.since = since;
    auto pg = h.run(h.c->poll(std::move(req)));
    REQUIRE(pg.has_value());
    std::set<std::string> in_page;
    for (auto& r : pg->records) {
      CHECK(in_page.insert(r.id).second);
      out.by_id[r.id] = r;
    }
    out.records += pg->records.size();
    ++out.pages;
    if (pg->cursor) out.cursor = pg->cursor;
    if (!pg->more) return out;
  }
  FAIL("poll never reached the end");
  return out;
}

inline json::value payload(const omnisync::adapters::source_record& r) { return json::parse(r.payload); }

inline std::string prop(const omnisync::adapters::source_record& r, const char* name) {
  auto v = payload(r);
  const auto* p = v.at("properties").as_object().if_contains(name);
  return p && p->is_string() ? std::string(p->as_string()) : std::string();
}


}  // namespace omnisync::test::hubspot
