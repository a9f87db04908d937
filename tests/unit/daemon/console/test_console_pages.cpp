// The pages as pure functions of command results: the overview's API budget and cluster, the record inspector's
// redacted writes, the People page's split and restore buttons by scope, the SVG charts.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "daemon/console/pages.hpp"
#include "daemon/console/svg_chart.hpp"

namespace json = boost::json;
using namespace omnisync::console;

TEST_CASE("overview: each vendor's limits in its words, webhook rate, the cluster's leader", "[console]") {
  auto status = json::parse(R"({"state":"running","store":{"dead_letters":0},
    "connectors":{"crm":{"kind":"salesforce","events_per_minute":12,"api":{"calls":3,"limits":[
      {"name":"daily","limit":5000,"remaining":4982,"used":18,"window_ms":86400000,"resets_in_ms":null,
       "vendor_words":"Sforce-Limit-Info: api-usage=18/5000","age_ms":1500}]}}},
    "cluster":{"instance":"b","leader":false,"leases":[{"key":"pipeline","owner":"a","token":3,"expires_at":"x"}]}})");
  pages::frame f;
  f.title = "Overview";
  auto html = pages::overview(f, status, json::object{}, json::object{});
  CHECK(html.find("Sforce-Limit-Info: api-usage=18/5000") != std::string::npos);
  CHECK(html.find("<meter min=\"0\" max=\"5000\"") != std::string::npos);
  CHECK(html.find(">24 h<") != std::string::npos);
  CHECK(html.find("<td class=\"num\">12</td>") != std::string::npos);
  CHECK(html.find("id=\"cluster-leader\">a<") != std::string::npos);
  CHECK(html.find("style=") == std::string::npos);  // the CSP forbids inline style
}

TEST_CASE("record inspector: payload, mapped values, provenance and the writes with their exchange", "[console]") {
  auto rec = json::parse(R"({"connector":"crm","object":"Contact","id":"003","deleted":false,"profile":"p1",
    "payload":{"Email":"a@example.com"},"mapping":{"file":"Contact.in.yaml","mapped":{"email":"a@example.com"},"error":null},
    "provenance":[{"attribute":"email","value":"a@example.com","decided_by":"most_recent","supplied":true,"sources":["crm:Contact:003"]}],
    "writes":[{"at":"t","destination":"hub:contacts:9","field":"email","before":null,"after":"a@example.com",
      "attribute":"email","rule":"most_recent","outcome":"written","request_id":"r1",
      "request":{"headers":{"Authorization":"<redacted>"},"body":{"email":"a@example.com"}},
      "response":{"outcome":"written","answer":"200","request_id":"r1"}}]})");
  pages::frame f;
  auto html = pages::record_inspector(f, "crm", "Contact", "003", &rec);
  CHECK(html.find("id=\"payload\"") != std::string::npos);
  CHECK(html.find("Contact.in.yaml") != std::string::npos);
  CHECK(html.find("class=\"supplied\"") != std::string::npos);
  CHECK(html.find("&quot;Authorization&quot;: &quot;&lt;redacted&gt;&quot;") != std::string::npos);
  CHECK(html.find("class=\"request\"") != std::string::npos);
  CHECK(html.find("class=\"response\"") != std::string::npos);
}

TEST_CASE("people: explain shows Split per link and Restore per split identifier, for the write scope only",
          "[console]") {
  auto person = json::parse(R"({"id":"p1","golden":{},"kpis":{},"records":[],"timeline":[],"timeline_total":0,
    "edges":[{"from":{"system":"crm","object":"Contact","id":"1"},"to":{"system":"hub","object":"contacts","id":"2"},
              "rule":"email","attribute":"email","value":"a@example.com","at":"t"}],
    "ignored":[{"record":{"system":"crm","object":"Contact","id":"3"},"attribute":"email","value":"b@example.com","reason":"split"}],
    "conflicts":[]})");
  pages::frame f;
  f.csrf = std::string(64, 'c');
  f.can_write = true;
  auto html = pages::people(f, "", nullptr, &person);
  CHECK(html.find(">Split</button>") != std::string::npos);
  CHECK(html.find(">Restore</button>") != std::string::npos);
  CHECK(html.find("name=\"record\" value=\"crm:Contact:1\"") != std::string::npos);
  f.can_write = false;
  auto read_only = pages::people(f, "", nullptr, &person);
  CHECK(read_only.find(">Split</button>") == std::string::npos);
  CHECK(read_only.find("id=\"links\"") != std::string::npos);
}

TEST_CASE("analytics: skeleton without reports, charts with numbers and CSV with them", "[console]") {
  pages::frame f;
  auto skeleton = pages::analytics(f, nullptr, "no history yet");
  CHECK(skeleton.find("no history yet") != std::string::npos);
  CHECK(skeleton.find("<svg") == std::string::npos);
  // The shape of `omnisyncctl report NAME --json` (daemon/analytics/reports.hpp, to_json).
  auto reports = json::parse(R"({"funnel":{"report":"funnel","tables":{"stages":{"columns":["stage","strict","any_order"],
                                 "rows":[["lead",10,12],["customer",4,5]]}}}})");
  auto html = pages::analytics(f, &reports, {});
  CHECK(html.find("<svg") != std::string::npos);
  CHECK(html.find("id=\"funnel-stages-table\"") != std::string::npos);
  CHECK(html.find(">customer</td>") != std::string::npos);
  CHECK(html.find("href=\"/analytics/funnel.csv\"") != std::string::npos);
  CHECK(html.find("style=") == std::string::npos);
  CHECK(pages::report_csv(reports.as_object().at("funnel")) == "# table stages\nstage,strict,any_order\nlead,10,12\ncustomer,4,5\n");
}

TEST_CASE("analytics: funnel as horizontal bars with conversions, retention as a heatmap with its numbers, lines",
          "[console]") {
  pages::frame f;
  auto reports = json::parse(R"({
    "funnel":{"tables":{"stages":{"columns":["stage","entered_any_order","reached_in_order","conversion_in_order",
      "conversion_any_order","median_days_in_stage","time_in_stage_samples"],
      "rows":[["awareness",10,10,null,null,2.5,4],["conversion",6,5,0.5,0.6,null,0]]}}},
    "retention":{"tables":{"cohorts":{"columns":["cohort","size","active_0","active_1"],
      "rows":[["2026-01",4,4,3],["2026-02",2,2,0]]}}},
    "satisfaction":{"tables":{"trend":{"columns":["period","nps","nps_samples","csat_average","csat_samples",
      "ces_average","ces_samples"],"rows":[["2026-01",25,4,0.7,2,null,0],["2026-02",-100,1,null,0,null,0],
      ["total",0,5,0.7,2,null,0]]}}},
    "segment_size":{"tables":{"sizes":{"columns":["period","segment","size","entered","exited"],
      "rows":[["2026-01","vip",2,2,0],["2026-02","vip",2,1,1],["2026-01","churn",1,1,0]]}}}})");
  auto html = pages::analytics(f, &reports, {});
  // Funnel: one row of bars per stage, the conversion written between the stages.
  CHECK(html.find("id=\"funnel-stages-chart\"") != std::string::npos);
  CHECK(html.find("conversion 50.0% in order, 60.0% in any order") != std::string::npos);
  CHECK(html.find("<title>reached in order, conversion: 5</title>") != std::string::npos);
  // Retention: a cell per cohort and period, its number written in it.
  CHECK(html.find("<title>2026-01, +1: 3</title>") != std::string::npos);
  CHECK(html.find(">3</text>") != std::string::npos);
  // Satisfaction: NPS as a line (the total row is no point), below zero too; CSAT in a chart of its own.
  CHECK(html.find("id=\"satisfaction-trend-nps-chart\"") != std::string::npos);
  CHECK(html.find("id=\"satisfaction-trend-csat-chart\"") != std::string::npos);
  CHECK(html.find("<title>nps, 2026-02: -100</title>") != std::string::npos);
  CHECK(html.find("<title>nps, total") == std::string::npos);
  // Segment sizes: a line per segment.
  CHECK(html.find("<title>churn, 2026-01: 1</title>") != std::string::npos);
  CHECK(html.find("<title>vip, 2026-02: 2</title>") != std::string::npos);
  // Every table once, the numbers as they came.
  CHECK(html.find("id=\"retention-cohorts-table\"") != std::string::npos);
  CHECK(html.find("id=\"retention-cohorts-table\"", html.find("id=\"retention-cohorts-table\"") + 1) == std::string::npos);
  CHECK(html.find("style=") == std::string::npos);
  CHECK(html.find("<script src=\"http") == std::string::npos);  // no third-party script (the layout's own is /assets)
}

TEST_CASE("svg: nice axis maxima and an empty chart says so", "[console]") {
  CHECK(svg::nice_ceiling(0) == 1);
  CHECK(svg::nice_ceiling(7) == 10);
  CHECK(svg::nice_ceiling(12) == 20);
  CHECK(svg::nice_ceiling(230) == 250);
  svg::bar_chart empty;
  empty.id = "e";
  empty.title = "Empty";
  CHECK(svg::render(empty).find("No data yet") != std::string::npos);
}
