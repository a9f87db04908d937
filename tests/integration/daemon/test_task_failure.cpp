// What an exception that ends one of omnisyncd's services does, with the real daemon: the control server, the
// webhook/metrics listener, the console, the signal loop and the watchdog loop are each made to throw through the
// test-only failpoint `task_throw <task>` (OMNISYNC_TEST_FAILPOINTS, daemon/sync/failpoint.hpp: nothing from
// outside can make them throw). Each time the daemon stops by itself with exit 1 and one critical line naming
// the task, so that systemd's Restart=on-failure starts it again whole rather than leave it half-dead.
#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using omnisync::test::binary;
using omnisync::test::process;
using omnisync::test::temp_dir;

namespace {

const std::string config_text =
    "http:\n"
    "  listen: 127.0.0.1:0\n"
    "daemon:\n"
    "  shutdown_timeout: 3s\n"
    "console:\n"
    "  listen: 127.0.0.1:0\n"
    "  token_file: token.txt\n"
    "connectors:\n"
    "  desk:\n"
    "    kind: zendesk\n"
    "    base_url: http://127.0.0.1:9/\n"
    "    auth: { email: ops@example.com, api_token_file: secret.txt }\n"
    "    poll_interval: 15s\n";

/// A daemon started with failpoint `task_throw <word> -` set; waits for its exit and returns it.
struct failing_daemon {
  temp_dir dir;
  std::unique_ptr<process> proc;

  explicit failing_daemon(const std::string& word, std::map<std::string, std::string> env = {}) {
    dir.write("secret.txt", "not-a-real-token\n");
    dir.write("token.txt", "console-read-token-0123456789\n");
    dir.write("omnisync.yaml", config_text);
    dir.write("failpoints", "task_throw " + word + " -\n");
    env["OMNISYNC_TEST_FAILPOINTS"] = (dir / "failpoints").string();
    proc = std::make_unique<process>(
        std::vector<std::string>{binary("omnisyncd"), "-c", (dir / "omnisync.yaml").string(), "--state-dir",
                                 (dir / "state").string(), "--control-socket", (dir / "control.sock").string()},
        env);
  }
};

}  // namespace

TEST_CASE("omnisyncd: a service that ends with an exception stops the daemon with exit 1 and a critical line",
          "[daemon][failure]") {
  struct service_case {
    std::string word, task;
    std::map<std::string, std::string> env;
  };
  const std::vector<service_case> cases{
      {"control_server", "control server", {}},
      {"http_listener", "http listener", {}},
      {"console", "console", {}},
      {"signals", "signals", {}},
      // The watchdog loop runs only under systemd's WatchdogSec (WATCHDOG_USEC); its keep-alives go nowhere here.
      {"watchdog", "watchdog", {{"WATCHDOG_USEC", "10000000"}}},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.task) {
      failing_daemon d(c.word, c.env);
      auto code = d.proc->wait(20s);
      const auto err = d.proc->stderr_text();
      INFO(err);
      REQUIRE(code.has_value());
      CHECK(*code == 1);
      // It had started: the failure is the running service's, not a start-up step's.
      CHECK(err.find("running: config") != std::string::npos);
      CHECK(err.find("critical app: task " + c.task + " ended with an exception: failpoint task_throw: " + c.task +
                     "; stopping the daemon (exit 1)") != std::string::npos);
      CHECK(err.find("stopped") != std::string::npos);  // an orderly stop, the store closed
    }
  }
}

TEST_CASE("omnisyncd: without the failpoint the same daemon runs and stops with exit 0", "[daemon][failure]") {
  failing_daemon d("no_such_task");
  REQUIRE(d.proc->wait_stderr_contains("running: config", 10s));
  CHECK_FALSE(d.proc->wait(1500ms).has_value());  // still running
  d.proc->signal(SIGTERM);
  auto code = d.proc->wait(10s);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
}
