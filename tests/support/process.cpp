#include "tests/support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace omnisync::test {
namespace {

using clock_type = std::chrono::steady_clock;

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::vector<std::string> build_env(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) merged[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : extra) merged[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : merged) out.push_back(k + "=" + v);
  return out;
}

/// `own_group`: the child leads a new process group (its pgid is its pid), so that everything it starts can be
/// signalled at once with kill(-pid, sig).
pid_t spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env, int in_fd,
            int out_fd, int err_fd, bool own_group = false) {
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  if (own_group) {
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (in_fd >= 0) posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
  else posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  auto env_strings = build_env(env);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0], &fa, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw std::runtime_error("cannot spawn " + argv[0] + ": " + std::strerror(rc));
  return pid;
}

void make_pipe(int fds[2]) {
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
}

}  // namespace

std::string binary(const std::string& name) {
  static std::mutex m;
  static std::map<std::string, std::string> cache;
  std::lock_guard lock(m);
  if (auto it = cache.find(name); it != cache.end()) return it->second;
  namespace fs = std::filesystem;
  for (auto it = fs::recursive_directory_iterator(OMNISYNC_BINARY_DIR); it != fs::recursive_directory_iterator();
       ++it) {
    if (it->is_directory() && (it->path().filename() == "CMakeFiles" || it->path().filename() == "node_modules")) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && it->path().filename() == name && ::access(it->path().c_str(), X_OK) == 0) {
      cache[name] = it->path().string();
      return cache[name];
    }
  }
  throw std::runtime_error("program not built: " + name);
}

namespace {

/// The process group a run() child leads: the child's exit, and ending the whole group (SIGTERM to every member,
/// SIGKILL after a grace). The leader is reaped as soon as it exits; its pid stays the group's id while any member
/// lives (Linux does not hand out a pid that is still some group's id), so kill(-pgid) reaches only the group.
class process_group {
 public:
  explicit process_group(pid_t pgid) : pgid_(pgid) {}

  /// True once the leader has exited (reaps it, keeping its status).
  bool leader_exited() {
    if (!status_) {
      int st = 0;
      if (::waitpid(pgid_, &st, WNOHANG) == pgid_) status_ = decode_status(st);
    }
    return status_.has_value();
  }
  std::optional<int> status() const { return status_; }
  /// The leader was already reaped elsewhere (process::wait): only the rest of the group is left to end.
  void mark_reaped(int status) { status_ = status; }
  /// Any member left that has not exited: a zombie does not count (it holds no pipe, and whoever inherited it may
  /// reap it late: this machine's pid 1 takes over a second), so /proc is read rather than kill(-pgid, 0) asked.
  bool alive() const {
    if (::kill(-pgid_, 0) != 0) return false;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
      const auto name = e.path().filename().string();
      if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::ifstream f(e.path() / "stat");
      std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so parse after the last ')'.
      const auto close = stat.rfind(')');
      if (close == std::string::npos) continue;
      std::istringstream rest(stat.substr(close + 1));
      char state = 0;
      long ppid = 0, pgrp = 0;
      if (rest >> state >> ppid >> pgrp && pgrp == pgid_ && state != 'Z' && state != 'X') return true;
    }
    return ec ? true : false;  // no /proc: assume a member is left, so the group is still ended
  }
  /// SIGTERM to every member now, SIGKILL from step() once `grace` has passed.
  void terminate(std::chrono::milliseconds grace) {
    if (terminated_) return;
    terminated_ = true;
    ::kill(-pgid_, SIGTERM);
    kill_at_ = clock_type::now() + grace;
  }
  void step() {
    if (terminated_ && !killed_ && clock_type::now() >= kill_at_) {
      killed_ = true;
      ::kill(-pgid_, SIGKILL);
    }
  }
  /// Blocks until the leader is reaped (after SIGKILL to the group if it takes longer than `grace`).
  int finish(std::chrono::milliseconds grace) {
    const auto give_up = clock_type::now() + grace;
    while (!leader_exited()) {
      if (clock_type::now() >= give_up) terminate(std::chrono::milliseconds(0));
      step();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return *status_;
  }

 private:
  pid_t pgid_;
  std::optional<int> status_;
  bool terminated_ = false;
  bool killed_ = false;
  clock_type::time_point kill_at_{};
};

}  // namespace

run_result run(const std::vector<std::string>& argv, const std::string& input, std::chrono::milliseconds timeout,
               const std::map<std::string, std::string>& env) {
  constexpr auto grace = std::chrono::seconds(2);               // between SIGTERM and SIGKILL
  constexpr auto drain = std::chrono::milliseconds(500);        // for the pipes' EOF once the child has exited
  constexpr auto give_up_reading = std::chrono::seconds(3);     // after drain + grace: a holder outside the group
  int in[2], out[2], err[2];
  make_pipe(in);
  make_pipe(out);
  make_pipe(err);
  // The child leads its own process group, and the group is what ends: on timeout every member gets SIGTERM (a
  // script's trap can stop its daemons), then SIGKILL; after the child exits, whatever it left in the group is
  // ended too. So a script's daemons neither outlive it nor keep its stdout open, which would keep us reading.
  process_group group(spawn(argv, env, in[0], out[1], err[1], /*own_group=*/true));
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  // stdin is fed from this loop, non-blocking: a child that writes a lot before reading cannot deadlock us, and
  // one that never reads cannot hold us.
  if (!input.empty()) ::signal(SIGPIPE, SIG_IGN);  // a reader that exits early: EPIPE, not our death
  ::fcntl(in[1], F_SETFL, O_NONBLOCK);
  if (input.empty()) { ::close(in[1]); in[1] = -1; }

  run_result r;
  const auto deadline = clock_type::now() + timeout;
  std::optional<clock_type::time_point> drain_until;  // set when the child has exited
  size_t fed = 0;
  pollfd fds[3] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}, {in[1], POLLOUT, 0}};
  char buf[65536];
  for (;;) {
    const auto now = clock_type::now();
    const bool exited = group.leader_exited();
    if (!exited && !r.timed_out && now >= deadline) {
      r.timed_out = true;
      group.terminate(grace);
    }
    if (exited && !drain_until) drain_until = now + drain;
    if (drain_until && now >= *drain_until && group.alive()) group.terminate(grace);  // what the child left behind
    group.step();
    const bool reading = fds[0].fd >= 0 || fds[1].fd >= 0;
    if (exited && !reading && !group.alive()) break;
    if (drain_until && now >= *drain_until + grace + give_up_reading) {  // a process that left the group (setsid) holds a pipe
      r.err += "\n[run: stopped reading: a process outside the child's group still holds its stdout or stderr]\n";
      break;
    }
    auto wait = std::chrono::milliseconds(reading ? 50 : 5);
    if (!exited && !r.timed_out)
      wait = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now),
                        std::chrono::milliseconds(1), wait);
    int rc = ::poll(fds, 3, static_cast<int>(wait.count()));
    if (rc < 0 && errno == EINTR) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
        ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
        if (n > 0) (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
        else if (n == 0 || errno != EINTR) { ::close(fds[i].fd); fds[i].fd = -1; }
      }
    }
    if (fds[2].fd >= 0 && (fds[2].revents & (POLLOUT | POLLHUP | POLLERR))) {
      ssize_t n = ::write(fds[2].fd, input.data() + fed, input.size() - fed);
      if (n > 0) fed += static_cast<size_t>(n);
      if (fed == input.size() || (n < 0 && errno != EAGAIN && errno != EINTR)) { ::close(fds[2].fd); fds[2].fd = -1; }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) ::close(f.fd);
  r.exit_code = group.finish(grace);
  return r;
}

process::process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env) {
  int out[2], err[2];
  make_pipe(out);
  make_pipe(err);
  make_pipe(wake_);
  // The child leads its own process group (as run()'s does), so that the destructor ends whatever it started too.
  pid_ = spawn(argv, env, -1, out[1], err[1], /*own_group=*/true);
  ::close(out[1]);
  ::close(err[1]);
  out_fd_ = out[0];
  err_fd_ = err[0];
  ::fcntl(out_fd_, F_SETFL, O_NONBLOCK);
  ::fcntl(err_fd_, F_SETFL, O_NONBLOCK);
  drainer_ = std::thread([this] { drain(); });
}

process::~process() {
  // The whole group ends: SIGTERM (a script's trap can stop its daemons), SIGKILL after a short grace, and then
  // whatever the child left in the group (a background process outliving it) the same way.
  if (pid_ > 0) {
    process_group group(pid_);
    if (exit_code_) group.mark_reaped(*exit_code_);
    if (!exit_code_ || group.alive()) {
      group.terminate(std::chrono::milliseconds(500));
      group.finish(std::chrono::seconds(5));
      const auto give_up = clock_type::now() + std::chrono::seconds(5);
      while (group.alive() && clock_type::now() < give_up) {
        group.step();
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
  }
  const char stop = 1;
  [[maybe_unused]] auto n = ::write(wake_[1], &stop, 1);
  if (drainer_.joinable()) drainer_.join();
  for (int fd : {out_fd_, err_fd_, wake_[0], wake_[1]})
    if (fd >= 0) ::close(fd);
}

void process::read_available() {
  char buf[65536];
  for (int i = 0; i < 2; ++i) {
    const int fd = i == 0 ? out_fd_ : err_fd_;
    bool& eof = i == 0 ? out_eof_ : err_eof_;
    while (!eof) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? out_buf_ : err_buf_).append(buf, static_cast<size_t>(n));
      } else if (n == 0) {
        eof = true;  // the fd stays open until the destructor: the reader thread may be polling it
      } else {
        if (errno != EINTR) break;  // EAGAIN: nothing more now
      }
    }
  }
}

void process::drain() {
  for (;;) {
    pollfd fds[3] = {{wake_[0], POLLIN, 0}, {-1, POLLIN, 0}, {-1, POLLIN, 0}};
    {
      std::lock_guard lk(mu_);
      if (!out_eof_) fds[1].fd = out_fd_;
      if (!err_eof_) fds[2].fd = err_fd_;
    }
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[0].revents) return;  // the destructor
    {
      std::lock_guard lk(mu_);
      read_available();
    }
    grew_.notify_all();
  }
}

std::optional<std::string> process::read_stdout_line(std::chrono::milliseconds timeout) {
  const auto deadline = clock_type::now() + timeout;
  std::unique_lock lk(mu_);
  for (;;) {
    if (auto nl = out_buf_.find('\n'); nl != std::string::npos) {
      std::string line = out_buf_.substr(0, nl);
      out_buf_.erase(0, nl + 1);
      return line;
    }
    if (out_eof_) return std::nullopt;
    if (grew_.wait_until(lk, deadline) == std::cv_status::timeout) {
      read_available();
      if (out_buf_.find('\n') == std::string::npos) return std::nullopt;
    }
  }
}

bool process::wait_stderr_contains(const std::string& needle, std::chrono::milliseconds timeout) {
  const auto deadline = clock_type::now() + timeout;
  std::unique_lock lk(mu_);
  for (;;) {
    if (err_buf_.find(needle) != std::string::npos) return true;
    if (err_eof_) return false;
    if (grew_.wait_until(lk, deadline) == std::cv_status::timeout) {
      read_available();
      return err_buf_.find(needle) != std::string::npos;
    }
  }
}

std::string process::stderr_text() {
  std::lock_guard lk(mu_);
  read_available();  // what the child wrote before this call, whether or not the reader thread has run since
  return err_buf_;
}

std::string process::stdout_text() {
  std::lock_guard lk(mu_);
  read_available();
  return out_buf_;
}

void process::signal(int sig) {
  if (pid_ > 0 && !exit_code_) ::kill(pid_, sig);
}

bool process::running() {
  if (exit_code_ || pid_ <= 0) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) { exit_code_ = decode_status(status); return false; }
  return true;
}

std::optional<int> process::wait(std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  while (running()) {
    if (clock_type::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return exit_code_;
}

}  // namespace omnisync::test
