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
using omnisync::test::adapters::read_all;
using omnisync::test::adapters::read_result;
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

inline json::value payload(const omnisync::adapters::source_record& r) { return json::parse(r.payload); }

inline std::string prop(const omnisync::adapters::source_record& r, const char* name) {
  auto v = payload(r);
  const auto* p = v.at("properties").as_object().if_contains(name);
  return p && p->is_string() ? std::string(p->as_string()) : std::string();
}


}  // namespace omnisync::test::hubspot
