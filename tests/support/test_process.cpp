// run() and `process` (tests/support/process.hpp) with real children: the timeout ends the child's whole process
// group, and a process the child leaves behind holding its stdout neither keeps run() reading nor outlives it;
// `process`'s destructor ends the group too. Each left-behind process is a `sleep 600` renamed to a marker unique
// to this run (bash `exec -a`), found through /proc.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace std::chrono_literals;
using omnisync::test::run;

namespace {

std::string unique_marker() {
  std::random_device rd;
  return "omnisync-run-marker-" + std::to_string(::getpid()) + "-" + std::to_string(rd());
}

/// Whether process `pid` is alive and still the marked sleep (not a zombie, whose cmdline is empty, nor a new
/// process that reused the pid).
bool marked_alive(pid_t pid, const std::string& marker) {
  // read(2), not a stream: reading the cmdline of a process that is exec'ing or exiting can fail (ESRCH), which
  // libstdc++'s filebuf turns into an exception. A failed read counts as "not seen alive now".
  const int fd = ::open(("/proc/" + std::to_string(pid) + "/cmdline").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  std::string cmdline;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) {
      ::close(fd);
      if (n < 0) return false;
      break;
    }
    cmdline.append(buf, static_cast<std::size_t>(n));
  }
  return cmdline.find(marker) != std::string::npos;
}

/// Waits up to `timeout` for the marked process to show as alive: `$!` is echoed as soon as the subshell is forked,
/// and while it execs the renamed sleep its /proc cmdline reads empty for a moment (the new image's arguments are
/// not set up yet), so a single look right after the echo can miss it.
bool alive_within(pid_t pid, const std::string& marker, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!marked_alive(pid, marker)) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

/// Waits up to `timeout` for the marked process to be gone (SIGKILL is delivered at once, the exit is not).
bool gone_within(pid_t pid, const std::string& marker, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (marked_alive(pid, marker)) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

/// The left-behind sleep's pid, from the script's first stdout line.
pid_t first_line_pid(const std::string& out) {
  const auto nl = out.find('\n');
  return nl == std::string::npos ? -1 : static_cast<pid_t>(std::stol(out.substr(0, nl)));
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("run: on timeout the child's whole process group ends, a background sleep holding stdout included",
          "[support][process]") {
  const auto marker = unique_marker();
  // The background sleep inherits stdout (the pipe run() reads) and would hold it open for 10 minutes; the script
  // itself sleeps past the 1 s timeout.
  const std::string script = "(exec -a " + marker + " sleep 600) & echo $!; sleep 300";
  const auto t0 = std::chrono::steady_clock::now();
  auto r = run({"bash", "-c", script}, "", 1s);
  const double took = seconds_since(t0);
  INFO("out: " << r.out << "\nerr: " << r.err << "\ntook " << took << " s");
  const pid_t sleeper = first_line_pid(r.out);
  REQUIRE(sleeper > 0);
  CHECK(r.timed_out);
  CHECK(r.exit_code == 128 + SIGTERM);  // bash without a trap dies of the first signal
  CHECK(took < 6.0);                    // 1 s timeout, SIGTERM, at most 2 s grace before SIGKILL, then EOF
  const bool gone = gone_within(sleeper, marker, 3s);
  if (!gone) ::kill(sleeper, SIGKILL);  // leave nothing behind even when the check fails
  CHECK(gone);
}

TEST_CASE("run: on timeout the group gets SIGTERM first, so a script's trap can stop what it started",
          "[support][process]") {
  const auto marker = unique_marker();
  // The trap ignores nothing: it reports and exits 0. A trap that hangs would meet SIGKILL after the grace.
  const std::string script = "trap 'echo cleaned up; exit 0' TERM; (exec -a " + marker +
                             " sleep 600) & echo $!; sleep 300 & wait";
  auto r = run({"bash", "-c", script}, "", 1s);
  INFO("out: " << r.out << "\nerr: " << r.err);
  const pid_t sleeper = first_line_pid(r.out);
  REQUIRE(sleeper > 0);
  CHECK(r.timed_out);
  CHECK(r.out.find("cleaned up") != std::string::npos);
  CHECK(r.exit_code == 0);
  const bool gone = gone_within(sleeper, marker, 3s);
  if (!gone) ::kill(sleeper, SIGKILL);
  CHECK(gone);
}

TEST_CASE("run: a child that exits leaving a process on its stdout returns at once with its own status",
          "[support][process]") {
  const auto marker = unique_marker();
  const std::string script = "(exec -a " + marker + " sleep 600) & echo $!; echo bye >&2; exit 3";
  const auto t0 = std::chrono::steady_clock::now();
  auto r = run({"bash", "-c", script}, "", 30s);
  const double took = seconds_since(t0);
  INFO("out: " << r.out << "\nerr: " << r.err << "\ntook " << took << " s");
  const pid_t sleeper = first_line_pid(r.out);
  REQUIRE(sleeper > 0);
  CHECK_FALSE(r.timed_out);
  CHECK(r.exit_code == 3);
  CHECK(r.err.find("bye") != std::string::npos);
  CHECK(took < 5.0);  // 0.5 s for the pipes' EOF, then the left-behind sleep gets SIGTERM
  const bool gone = gone_within(sleeper, marker, 3s);
  if (!gone) ::kill(sleeper, SIGKILL);
  CHECK(gone);
}

TEST_CASE("run: stdin larger than a pipe is fed while stdout is read, and the exit status comes back",
          "[support][process]") {
  std::string input;
  for (int i = 0; input.size() < (4u << 20); ++i) input += "line " + std::to_string(i) + "\n";
  const auto t0 = std::chrono::steady_clock::now();
  auto r = run({"sh", "-c", "cat; echo done >&2; exit 4"}, input, 30s);
  INFO("err: " << r.err);
  CHECK_FALSE(r.timed_out);
  CHECK(r.exit_code == 4);
  CHECK(r.out == input);
  CHECK(r.err == "done\n");
  CHECK(seconds_since(t0) < 10.0);

  // A child that never reads its stdin: the unread input neither blocks run() nor kills it with SIGPIPE.
  auto quick = run({"sh", "-c", "exit 0"}, input, 30s);
  CHECK(quick.exit_code == 0);
  CHECK_FALSE(quick.timed_out);
}

TEST_CASE("process: its destructor ends the child's whole process group, a background sleep included",
          "[support][process]") {
  const auto marker = unique_marker();
  // The script starts the marked sleep in the background and keeps running; the object dies while both run.
  auto p = std::make_unique<omnisync::test::process>(
      std::vector<std::string>{"bash", "-c", "(exec -a " + marker + " sleep 600) & echo $!; sleep 300"});
  const auto line = p->read_stdout_line(10s);
  REQUIRE(line.has_value());
  const auto sleeper = static_cast<pid_t>(std::stol(*line));
  REQUIRE(alive_within(sleeper, marker, 5s));
  const auto t0 = std::chrono::steady_clock::now();
  p.reset();
  const double took = seconds_since(t0);
  INFO("destructor took " << took << " s");
  CHECK(took < 4.0);  // SIGTERM to the group, at most 0.5 s grace before SIGKILL
  const bool gone = gone_within(sleeper, marker, 3s);
  if (!gone) ::kill(sleeper, SIGKILL);  // leave nothing behind even when the check fails
  CHECK(gone);
}

TEST_CASE("process: a child already waited for still has what it left in its group ended by the destructor",
          "[support][process]") {
  const auto marker = unique_marker();
  auto p = std::make_unique<omnisync::test::process>(
      std::vector<std::string>{"bash", "-c", "(exec -a " + marker + " sleep 600) & echo $!; exit 5"});
  const auto line = p->read_stdout_line(10s);
  REQUIRE(line.has_value());
  const auto sleeper = static_cast<pid_t>(std::stol(*line));
  CHECK(p->wait(10s) == 5);
  REQUIRE(alive_within(sleeper, marker, 5s));
  p.reset();
  const bool gone = gone_within(sleeper, marker, 3s);
  if (!gone) ::kill(sleeper, SIGKILL);
  CHECK(gone);
}

TEST_CASE("process: a child writing far more than a pipe holds to stderr never blocks while the test looks away",
          "[support][process]") {
  // 4 MiB to stderr (64 times a pipe's 64 KiB), then a file created. The test reads nothing meanwhile: the
  // object's own reader thread must, or the child blocks in write(2) and the file never comes (a daemon stalled
  // this way answered no control command for 30 s in a test that polled it without reading its log).
  omnisync::test::temp_dir dir;
  const auto done = dir / "written";
  omnisync::test::process p(std::vector<std::string>{
      "bash", "-c", "head -c 4194304 /dev/zero | tr '\\0' x >&2; touch " + done.string() + "; echo written; sleep 300"});
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!std::filesystem::exists(done) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  REQUIRE(std::filesystem::exists(done));
  CHECK(p.read_stdout_line(10s) == std::optional<std::string>("written"));
  CHECK(p.stderr_text().size() == 4194304);
  CHECK(p.wait_stderr_contains("xxxx", 1s));
  CHECK_FALSE(p.wait_stderr_contains("never printed", 200ms));
}
