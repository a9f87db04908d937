#pragma once
/// A child process for integration tests: spawned with arguments and extra environment, stdout and stderr
/// captured through pipes, signalled, waited with a timeout. A thread of the object's own reads both pipes for as
/// long as the child lives, so a chatty child never blocks on a full pipe while the test is busy elsewhere (a
/// daemon stalled in write(2) to stderr looks like a hung daemon); the readers below wait with deadlines.
/// The child leads a process group of its own; when the object dies the whole group gets SIGTERM, then SIGKILL
/// 0.5 s later, so a failing test leaves behind neither the child nor anything it started.
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace omnisync::test {

/// Path of a program built by this project, e.g. binary("omnisyncd") -> <build>/daemon/app/omnisyncd.
/// Looks up the build tree recursively once and caches the result; throws when not found.
std::string binary(const std::string& name);

struct run_result {
  int exit_code = -1;  ///< exit status, or 128+signal when killed by a signal
  bool timed_out = false;  ///< the timeout passed and the child's process group was ended
  std::string out;
  std::string err;
};

/// Runs a program to completion (stdin from `input`). The program leads a process group of its own; after
/// `timeout` the whole group gets SIGTERM, then SIGKILL 2 s later (`timed_out` is set), and once the program has
/// exited, whatever it left running in the group is ended the same way. Never waits on a pipe that a left-behind
/// process holds: a few seconds after the program's exit, reading stops.
run_result run(const std::vector<std::string>& argv, const std::string& input = {},
               std::chrono::milliseconds timeout = std::chrono::seconds(60),
               const std::map<std::string, std::string>& env = {});

class process {
 public:
  process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {});
  ~process();
  process(const process&) = delete;
  process& operator=(const process&) = delete;

  pid_t pid() const noexcept { return pid_; }

  /// Next full line from stdout (without '\n'); nullopt on timeout or EOF.
  std::optional<std::string> read_stdout_line(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// Waits until stderr (accumulated) contains `needle`; true when found before the timeout.
  bool wait_stderr_contains(const std::string& needle, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// Everything read from stderr so far (drains what is available now).
  std::string stderr_text();
  /// Everything read from stdout so far, lines already returned excluded (drains what is available now).
  std::string stdout_text();

  /// Sends `sig` to the child alone (not its group).
  void signal(int sig);
  /// Waits for exit; returns the exit code (128+signal when killed) or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  bool running();

 private:
  /// Reads what both pipes hold now, without blocking; marks a pipe's end. Under mu_.
  void read_available();
  /// The reader thread: waits on both pipes (and on wake_ at destruction), reads under mu_, notifies.
  void drain();
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::mutex mu_;
  std::condition_variable grew_;
  std::string out_buf_;
  std::string err_buf_;
  bool out_eof_ = false, err_eof_ = false;
  std::thread drainer_;
  std::optional<int> exit_code_;
};

}  // namespace omnisync::test
