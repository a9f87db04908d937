// A delay line between Unix sockets, for benchmarks of a server "farther away" than loopback where tc netem is
// not available: every connection to LISTEN is forwarded to TARGET, each chunk of bytes in either direction sent
// DELAY_MS / 2 after it arrived (chunks keep their order and spacing, so pipelined requests are not delayed once
// per chunk): DELAY_MS added to every round trip. Two threads per direction (one reads and stamps, one sleeps
// until the stamp and writes). Run it under real-time scheduling (chrt -f) on a loaded machine, or its wake-ups
// wait for a CPU. Runs until killed.
//
//   c++ -O2 -std=c++20 -pthread bench/lib/delay_proxy.cpp -o delay_proxy
//   chrt -f 20 ./delay_proxy LISTEN_PATH TARGET_PATH DELAY_MS
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

sockaddr_un address_of(const char* path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path, sizeof(a.sun_path) - 1);
  return a;
}

/// One direction of one connection: bytes read from `from` are written to `to` `delay` later.
struct line {
  int from, to;
  clock_type::duration delay;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<clock_type::time_point, std::string>> queue;
  bool done = false;

  void read_loop() {
    std::vector<char> buf(1 << 16);
    for (;;) {
      const ssize_t n = ::recv(from, buf.data(), buf.size(), 0);
      if (n <= 0) break;
      std::lock_guard lk(mu);
      queue.emplace_back(clock_type::now() + delay, std::string(buf.data(), static_cast<std::size_t>(n)));
      cv.notify_one();
    }
    std::lock_guard lk(mu);
    done = true;
    cv.notify_one();
  }

  void write_loop() {
    for (;;) {
      std::pair<clock_type::time_point, std::string> item;
      {
        std::unique_lock lk(mu);
        cv.wait(lk, [this] { return !queue.empty() || done; });
        if (queue.empty()) break;
        item = std::move(queue.front());
        queue.pop_front();
      }
      std::this_thread::sleep_until(item.first);
      const char* p = item.second.data();
      std::size_t left = item.second.size();
      while (left > 0) {
        const ssize_t n = ::send(to, p, left, MSG_NOSIGNAL);
        if (n <= 0) return;
        p += n;
        left -= static_cast<std::size_t>(n);
      }
    }
    ::shutdown(to, SHUT_WR);
  }
};

void start(int from, int to, clock_type::duration delay) {
  auto l = std::make_shared<line>();
  l->from = from;
  l->to = to;
  l->delay = delay;
  std::thread([l] { l->read_loop(); }).detach();
  std::thread([l] { l->write_loop(); }).detach();  // the process runs until killed: nothing to join
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: delay_proxy LISTEN_PATH TARGET_PATH DELAY_MS\n");
    return 2;
  }
  const auto half = std::chrono::duration_cast<clock_type::duration>(
      std::chrono::duration<double, std::milli>(std::atof(argv[3]) / 2));
  ::unlink(argv[1]);
  const int srv = ::socket(AF_UNIX, SOCK_STREAM, 0);
  const auto la = address_of(argv[1]);
  if (::bind(srv, reinterpret_cast<const sockaddr*>(&la), sizeof la) != 0 || ::listen(srv, 64) != 0) {
    std::perror("delay_proxy: listen");
    return 1;
  }
  for (;;) {
    const int c = ::accept(srv, nullptr, nullptr);
    if (c < 0) continue;
    const int up = ::socket(AF_UNIX, SOCK_STREAM, 0);
    const auto ta = address_of(argv[2]);
    if (::connect(up, reinterpret_cast<const sockaddr*>(&ta), sizeof ta) != 0) {
      ::close(c);
      ::close(up);
      continue;
    }
    start(c, up, half);
    start(up, c, half);
  }
}
