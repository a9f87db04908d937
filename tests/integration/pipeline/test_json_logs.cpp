// omnisyncd writing JSON logs (`daemon.log.format: json`) against omnisync-sim: every line it writes is one JSON
// object with time, level, component and message; a poll line carries the connector and object as fields; a
// write the vendor refuses (an outbound field HubSpot does not have) is logged with the vendor's error code; a
// control command refused by the daemon is logged with the refusal's code.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

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
  const auto maps = d.dir / "mappings";
  fs::copy(OMNISYNC_SOURCE_DIR "/config/mappings", maps, fs::copy_options::recursive);
  {
    std::ofstream out(maps / "hubspot" / "contacts.out.yaml", std::ios::app);
    out << "  omnisync_nickname:   { from: _profile_id }   # no such HubSpot property\n";
  }
  std::string text = daemon_config(free_port(), "dead_letters: { retries: 0 }\n", "debug") +
                     hubspot_block(sim, "contacts") + zendesk_block(sim, "users");
  const std::string shipped_dir = "mappings_dir: " OMNISYNC_SOURCE_DIR "/config/mappings";
  text.replace(text.find(shipped_dir), shipped_dir.size(), "mappings_dir: " + maps.string());
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
