#include "tests/support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
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

pid_t spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env, int in_fd,
            int out_fd, int err_fd) {
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
  int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
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

run_result run(const std::vector<std::string>& argv, const std::string& input, std::chrono::milliseconds timeout,
               const std::map<std::string, std::string>& env) {
  int in[2], out[2], err[2];
  make_pipe(in);
  make_pipe(out);
  make_pipe(err);
  pid_t pid = spawn(argv, env, in[0], out[1], err[1]);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  // Feed stdin from a thread so a child that writes a lot before reading cannot deadlock us.
  std::thread feeder([fd = in[1], input] {
    ::signal(SIGPIPE, SIG_IGN);
    size_t off = 0;
    while (off < input.size()) {
      ssize_t n = ::write(fd, input.data() + off, input.size() - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    ::close(fd);
  });
  run_result r;
  auto deadline = clock_type::now() + timeout;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  bool killed = false;
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now()).count();
    if (left <= 0 && !killed) {
      ::kill(pid, SIGKILL);
      killed = true;
      left = 1000;
    }
    int rc = ::poll(fds, 2, static_cast<int>(std::max<long>(left, 1)));
    if (rc < 0 && errno == EINTR) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
        ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
        if (n > 0) (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
        else { ::close(fds[i].fd); fds[i].fd = -1; --open_fds; }
      }
    }
  }
  feeder.join();
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.exit_code = decode_status(status);
  return r;
}

process::process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env) {
  int out[2], err[2];
  make_pipe(out);
  make_pipe(err);
  pid_ = spawn(argv, env, -1, out[1], err[1]);
  ::close(out[1]);
  ::close(err[1]);
  out_fd_ = out[0];
  err_fd_ = err[0];
  ::fcntl(out_fd_, F_SETFL, O_NONBLOCK);
  ::fcntl(err_fd_, F_SETFL, O_NONBLOCK);
}

process::~process() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    wait(std::chrono::seconds(5));
  }
  if (out_fd_ >= 0) ::close(out_fd_);
  if (err_fd_ >= 0) ::close(err_fd_);
}

void process::pump(std::chrono::milliseconds timeout) {
  pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
  int rc = ::poll(fds, 2, static_cast<int>(timeout.count()));
  if (rc <= 0) return;
  char buf[65536];
  for (int i = 0; i < 2; ++i) {
    if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    for (;;) {
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) { (i == 0 ? out_buf_ : err_buf_).append(buf, static_cast<size_t>(n)); continue; }
      if (n == 0) { ::close(fds[i].fd); (i == 0 ? out_fd_ : err_fd_) = -1; }
      break;
    }
  }
}

std::optional<std::string> process::read_stdout_line(std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    if (auto nl = out_buf_.find('\n'); nl != std::string::npos) {
      std::string line = out_buf_.substr(0, nl);
      out_buf_.erase(0, nl + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (left.count() <= 0 || (out_fd_ < 0 && err_fd_ < 0)) return std::nullopt;
    if (out_fd_ < 0) return std::nullopt;
    pump(std::min(left, std::chrono::milliseconds(100)));
  }
}

bool process::wait_stderr_contains(const std::string& needle, std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    if (err_buf_.find(needle) != std::string::npos) return true;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (left.count() <= 0) return false;
    if (err_fd_ < 0 && out_fd_ < 0) return false;
    pump(std::min(left, std::chrono::milliseconds(100)));
  }
}

std::string process::stderr_text() {
  pump(std::chrono::milliseconds(0));
  return err_buf_;
}

std::string process::stdout_text() {
  pump(std::chrono::milliseconds(0));
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
    pump(std::chrono::milliseconds(20));  // keep the pipes drained so the child never blocks on a full pipe
  }
  return exit_code_;
}

}  // namespace omnisync::test
