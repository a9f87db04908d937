// omnisyncd writing JSON logs (`daemon.log.format: json`) against omnisync-sim: every line it writes is one JSON
// object with time, level, component and message; a poll line carries the connector and object as fields; a
// write the vendor refuses (an outbound field HubSpot does not have) is logged with the vendor's error code; a
// control command refused by the daemon is logged with the refusal's code. And `status` (what operators read
// beside the logs): the KPIs' currency and scales, sections with units, numbers written plainly.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/integration/pipeline/pipeline_support.hpp"
#include "tests/integration/sim/sim_http.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using omnisync::test::sim::running_sim;
using namespace omnisync::test::pipeline;

namespace {

std::string field(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

TEST_CASE("json logs: every line parses, poll lines name connector and object, refusals carry a code",
          "[pipeline][logs]") {
  running_sim sim({"--size", "20"});
  lift_limits(sim);
  daemon_run d;
  const auto maps = copy_shipped_mappings(d.dir.path());
  {
    std::ofstream out(maps / "hubspot" / "contacts.out.yaml", std::ios::app);
    out << unknown_hubspot_property;
  }
  std::string text = daemon_config(free_port(), "dead_letters: { retries: 0 }\n", "debug") +
                     hubspot_block(sim, "contacts") + zendesk_block(sim, "users");
  text = with_mappings(text, maps);
  const std::string level_line = "  log: { level: debug }";
  text.replace(text.find(level_line), level_line.size(), "  log: { level: debug, format: json }");
  d.dir.write("omnisync.yaml", text);
  d.start();

  REQUIRE(eventually([&] { return d.status().at("store").at("dead_letters").as_int64() > 0; }, 60s));
  auto refused = d.ctl({"pause", "no-such-connector"});
  CHECK(refused.exit_code == 2);
  CHECK(d.stop() == 0);

  const std::string logs = d.proc->stderr_text();
  std::istringstream in(logs);
  std::string line;
  std::size_t lines = 0;
  bool poll_line = false, write_refusal = false, command_refusal = false, secret_seen = false;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    ++lines;
    json::error_code ec;
    auto v = json::parse(line, ec);
    INFO(line);
    REQUIRE_FALSE(ec);
    REQUIRE(v.is_object());
    const auto& o = v.as_object();
    CHECK(!field(o, "time").empty());
    CHECK(!field(o, "level").empty());
    CHECK(!field(o, "component").empty());
    CHECK(o.contains("message"));
    const std::string msg = field(o, "message");
    secret_seen = secret_seen || line.find("pat-test-token") != std::string::npos;
    if (msg.find("page polled") != std::string::npos && field(o, "connector") == "hs" &&
        field(o, "object") == "contacts")
      poll_line = true;
    if (msg.find("refused") != std::string::npos && field(o, "connector") == "hs" && field(o, "object") == "contacts" &&
        !field(o, "error").empty() && field(o, "error") != "rejected") {
      write_refusal = true;
      CHECK(field(o, "level") == "warning");
    }
    if (msg.find("control: command pause refused") != std::string::npos && field(o, "error") == "unknown_connector")
      command_refusal = true;
  }
  INFO(logs.substr(0, 20000));
  CHECK(lines > 10);
  CHECK(poll_line);
  CHECK(write_refusal);
  CHECK(command_refusal);
  CHECK_FALSE(secret_seen);  // the private app token is registered with the redactor
}

TEST_CASE("status: the KPIs' currency and scales, sections with units, numbers written plainly", "[pipeline][logs]") {
  running_sim sim({"--size", "5"});
  lift_limits(sim);
  daemon_run d;
  d.dir.write("omnisync.yaml", daemon_config(free_port()) + hubspot_block(sim, "contacts"));
  d.start();
  auto raw = d.ctl({"status", "--json"});
  REQUIRE(raw.exit_code == 0);
  INFO(raw.out);
  // No number in Boost's exponent form (1.02E0, 0E0).
  for (std::size_t i = 1; i + 1 < raw.out.size(); ++i)
    if (raw.out[i] == 'E' && std::isdigit(static_cast<unsigned char>(raw.out[i - 1])) &&
        (std::isdigit(static_cast<unsigned char>(raw.out[i + 1])) || raw.out[i + 1] == '-' || raw.out[i + 1] == '+'))
      FAIL_CHECK("exponent form at " << i);
  auto st = json::parse(raw.out).as_object();
  REQUIRE(st.contains("kpis"));
  const auto& k = st.at("kpis").as_object();
  CHECK(k.at("currency").as_string() == "USD");
  CHECK(k.at("units").at("csat_average").at("unit").as_string() == "fraction 0..1");
  CHECK(k.at("units").at("lifetime_value").at("unit").as_string() == "USD");
  CHECK(k.at("units").at("lifecycle_stage").at("unit").as_string() == "stage");
  auto human = d.ctl({"status"});
  REQUIRE(human.exit_code == 0);
  INFO(human.out);
  CHECK(human.out.find("\nconnectors\n") != std::string::npos);
  CHECK(human.out.find("outbox (writes)") != std::string::npos);
  CHECK(human.out.find("\nKPIs (per profile") != std::string::npos);
  CHECK(human.out.find("amounts in USD") != std::string::npos);
  CHECK(human.out.find("not a percent") != std::string::npos);
  CHECK(d.stop() == 0);
}
