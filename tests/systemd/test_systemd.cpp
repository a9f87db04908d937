// The systemd unit: hardened (exposure <= 2.0 offline) and clean under `systemd-analyze verify` once installed.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <regex>
#include <string>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using omnisync::test::run;

namespace {
const std::string build_dir = OMNISYNC_BINARY_DIR;

bool have_systemd_analyze() { return run({"sh", "-c", "command -v systemd-analyze"}).exit_code == 0; }
}  // namespace

TEST_CASE("systemd: the unit's offline security exposure is at most 2.0", "[systemd]") {
  if (!have_systemd_analyze()) {
    WARN("systemd-analyze not installed; skipped");
    return;
  }
  auto r = run({"systemd-analyze", "security", "--offline=true", build_dir + "/systemd/omnisync.service"});
  INFO(r.out << r.err);
  std::smatch m;
  static const std::regex overall(R"(Overall exposure level for omnisync\.service: ([0-9]+\.[0-9]+))");
  auto text = r.out + r.err;
  REQUIRE(std::regex_search(text, m, overall));
  double score = std::stod(m[1]);
  CHECK(score <= 2.0);
}

TEST_CASE("systemd: verify is clean on a DESTDIR install, and notices a missing binary", "[systemd]") {
  if (!have_systemd_analyze()) {
    WARN("systemd-analyze not installed; skipped");
    return;
  }
  omnisync::test::temp_dir dest;
  const std::map<std::string, std::string> env{{"DESTDIR", dest.path().string()}};
  for (const char* dir : {"/systemd", "/daemon/app", "/daemon/ctl"}) {
    auto r = run({OMNISYNC_CMAKE_COMMAND, "--install", build_dir + dir, "--prefix", "/usr"}, "",
                 std::chrono::seconds(60), env);
    INFO(dir << ": " << r.out << r.err);
    REQUIRE(r.exit_code == 0);
  }
  const auto unit = dest / "usr/lib/systemd/system/omnisync.service";
  REQUIRE(std::filesystem::exists(unit));
  CHECK(std::filesystem::exists(dest / "usr/lib/sysusers.d/omnisync.conf"));
  CHECK(std::filesystem::exists(dest / "usr/lib/tmpfiles.d/omnisync.conf"));
  const auto text = omnisync::test::read_file(unit);
  CHECK(text.find("ExecStart=/usr/bin/omnisyncd -c /etc/omnisync/omnisync.yaml") != std::string::npos);
  CHECK(text.find("ExecReload=/usr/bin/omnisyncctl") != std::string::npos);
  CHECK(text.find("Type=notify") != std::string::npos);

  // --recursive-errors=no: judge this unit, not the (absent) units of the host it would pull in at boot.
  // --man=no: verify looks up Documentation='s man pages with the host's man, not in --root; that they are
  // installed is tests/packaging's check (packaging_install), and scripts/check-package.sh verifies with man.
  const std::vector<std::string> verify{"systemd-analyze", "verify", "--recursive-errors=no", "--man=no",
                                        "--root=" + dest.path().string(), unit.string()};
  auto clean = run(verify);
  INFO(clean.out << clean.err);
  CHECK(clean.exit_code == 0);
  CHECK(clean.out.empty());
  CHECK(clean.err.empty());

  // The same check fails when ExecReload's program is missing: it really looks inside the tree.
  std::filesystem::remove(dest / "usr/bin/omnisyncctl");
  auto broken = run(verify);
  CHECK(broken.exit_code != 0);
  CHECK(broken.err.find("omnisyncctl") != std::string::npos);
}

TEST_CASE("systemd: sysusers and tmpfiles name the omnisync user and folders", "[systemd]") {
  auto sysusers = omnisync::test::read_file(std::string(OMNISYNC_SOURCE_DIR) + "/systemd/omnisync.sysusers");
  CHECK(std::regex_search(sysusers, std::regex(R"(^u omnisync )", std::regex::multiline)));
  auto tmpfiles = omnisync::test::read_file(std::string(OMNISYNC_SOURCE_DIR) + "/systemd/omnisync.tmpfiles");
  CHECK(tmpfiles.find("d /var/lib/omnisync 0750 omnisync omnisync") != std::string::npos);
  CHECK(tmpfiles.find("d /run/omnisync 0750 omnisync omnisync") != std::string::npos);
  if (run({"sh", "-c", "command -v systemd-sysusers"}).exit_code == 0) {
    omnisync::test::temp_dir root;
    std::filesystem::create_directories(root / "etc");
    auto r = run({"systemd-sysusers", "--root=" + root.path().string(),
                  std::string(OMNISYNC_SOURCE_DIR) + "/systemd/omnisync.sysusers"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(omnisync::test::read_file(root / "etc/passwd").find("omnisync:") != std::string::npos);
  }
}
