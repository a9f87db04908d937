// An open-loop HTTP/1.1 load generator for benchmarks: request n is due at start + n / RATE and is sent then,
// whatever the answers to earlier requests (pipelined on CONNS keep-alive connections, request n on connection
// n % CONNS), so a slow server shows up as latency and never lowers the offered rate (no coordinated omission:
// the time recorded for a request is when it was due). wrk cannot do this (its delay() runs after each answer),
// and a Python client is itself the bottleneck at thousands of requests per second.
//
// Each request is METHOD, a path and a body made from templates in which `{id}` becomes FIRST + (n * 7919) % COUNT
// (the load's records, visited in a scattered order) and `{n}` becomes n zero-padded to 7 digits (so each request
// carries a distinct value). Plain sockets and a sender thread plus one reader thread per connection: the answers
// are read as they come (Content-Length bodies; the simulator's admin API answers so).
//
//   c++ -O2 -std=c++20 -pthread bench/lib/open_loop.cpp -o open_loop
//   ./open_loop HOST PORT RATE SECONDS CONNS FIRST COUNT METHOD PATH_TEMPLATE BODY_TEMPLATE > requests.tsv
//
// Output, one line per request: n, id, due (epoch ms, wall clock: comparable with the simulator's timestamps),
// sent − due (ms), answered − due (ms; -1: no answer), status. A summary goes to stderr.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <strings.h>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using steady = std::chrono::steady_clock;

struct request_record {
  std::int64_t id = 0;
  double sent_ms = -1, answered_ms = -1;  // after due
  int status = 0;
};

struct connection {
  int fd = -1;
  std::mutex mu;
  std::deque<std::size_t> waiting;  // requests sent and not answered yet, in order
};

std::string replace_all(std::string s, const std::string& what, const std::string& with) {
  for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + with.size())) s.replace(at, what.size(), with);
  return s;
}

int connect_to(const char* host, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::inet_pton(AF_INET, host, &a.sin_addr) != 1 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::perror("open_loop: connect");
    std::exit(1);
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 11) {
    std::fprintf(stderr, "usage: open_loop HOST PORT RATE SECONDS CONNS FIRST COUNT METHOD PATH_TEMPLATE BODY_TEMPLATE\n");
    return 2;
  }
  const char* host = argv[1];
  const int port = std::atoi(argv[2]);
  const double rate = std::atof(argv[3]);
  const double seconds = std::atof(argv[4]);
  const int conns = std::max(1, std::atoi(argv[5]));
  const std::int64_t first = std::atoll(argv[6]), count = std::max<std::int64_t>(1, std::atoll(argv[7]));
  const std::string method = argv[8], path_t = argv[9], body_t = argv[10];
  const auto total = static_cast<std::size_t>(rate * seconds);

  std::vector<request_record> recs(total);
  std::vector<connection> cs(static_cast<std::size_t>(conns));
  for (auto& c : cs) c.fd = connect_to(host, port);
  std::atomic<std::size_t> answered{0};
  const auto t0 = steady::now() + std::chrono::milliseconds(50);
  const double wall0_ms =
      std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch()).count() +
      std::chrono::duration<double, std::milli>(t0 - steady::now()).count();
  auto since_due = [&](std::size_t n) {
    const auto due = t0 + std::chrono::duration<double>(static_cast<double>(n) / rate);
    return std::chrono::duration<double, std::milli>(steady::now() - due).count();
  };

  std::vector<std::thread> readers;
  for (auto& c : cs)
    readers.emplace_back([&, cp = &c] {
      std::string buf;
      char chunk[65536];
      for (;;) {
        // One answer: headers, then Content-Length bytes of body.
        std::size_t head_end;
        while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
          const auto got = ::read(cp->fd, chunk, sizeof chunk);
          if (got <= 0) return;
          buf.append(chunk, static_cast<std::size_t>(got));
        }
        std::size_t length = 0;
        for (auto at = buf.find("\r\n"); at < head_end; at = buf.find("\r\n", at + 2)) {
          if (strncasecmp(buf.data() + at + 2, "content-length:", 15) == 0) length = std::strtoull(buf.data() + at + 17, nullptr, 10);
        }
        while (buf.size() < head_end + 4 + length) {
          const auto got = ::read(cp->fd, chunk, sizeof chunk);
          if (got <= 0) return;
          buf.append(chunk, static_cast<std::size_t>(got));
        }
        const int status = std::atoi(buf.c_str() + 9);  // "HTTP/1.1 200 ..."
        buf.erase(0, head_end + 4 + length);
        std::size_t n;
        {
          std::lock_guard lk(cp->mu);
          if (cp->waiting.empty()) continue;
          n = cp->waiting.front();
          cp->waiting.pop_front();
        }
        recs[n].answered_ms = since_due(n);
        recs[n].status = status;
        if (answered.fetch_add(1) + 1 == total) return;
      }
    });

  std::size_t late = 0;  // sent more than 10 ms after due (the sender fell behind: the offered rate was not met)
  for (std::size_t n = 0; n < total; ++n) {
    std::this_thread::sleep_until(t0 + std::chrono::duration<double>(static_cast<double>(n) / rate));
    const std::int64_t id = first + static_cast<std::int64_t>((n * 7919) % static_cast<std::size_t>(count));
    char num[32];
    std::snprintf(num, sizeof num, "%07zu", n);
    const auto path = replace_all(replace_all(path_t, "{id}", std::to_string(id)), "{n}", num);
    const auto body = replace_all(replace_all(body_t, "{id}", std::to_string(id)), "{n}", num);
    const std::string req = method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\n"
                            "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    auto& c = cs[n % cs.size()];
    recs[n].id = id;
    {
      std::lock_guard lk(c.mu);
      c.waiting.push_back(n);
    }
    for (std::size_t off = 0; off < req.size();) {
      const auto w = ::write(c.fd, req.data() + off, req.size() - off);
      if (w <= 0) {
        std::perror("open_loop: write");
        return 1;
      }
      off += static_cast<std::size_t>(w);
    }
    recs[n].sent_ms = since_due(n);
    if (recs[n].sent_ms > 10) ++late;
  }
  // Answers for up to 30 s after the last request was due.
  const auto give_up = steady::now() + std::chrono::seconds(30);
  while (answered.load() < total && steady::now() < give_up) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  for (auto& c : cs) ::shutdown(c.fd, SHUT_RDWR);
  for (auto& r : readers) r.join();

  std::size_t ok = 0;
  std::vector<double> lat;
  for (std::size_t n = 0; n < total; ++n) {
    const auto& r = recs[n];
    std::printf("%zu\t%lld\t%.1f\t%.2f\t%.2f\t%d\n", n, static_cast<long long>(r.id), wall0_ms + static_cast<double>(n) * 1000.0 / rate,
                r.sent_ms, r.answered_ms, r.status);
    if (r.status >= 200 && r.status < 300) ++ok;
    if (r.answered_ms >= 0) lat.push_back(r.answered_ms);
  }
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) { return lat.empty() ? -1.0 : lat[static_cast<std::size_t>(p / 100 * static_cast<double>(lat.size() - 1))]; };
  std::fprintf(stderr, "open_loop: %zu requests due over %.0f s (%.0f/s), %zu sent more than 10 ms late, %zu answered 2xx; "
               "answer after due p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
               total, seconds, rate, late, ok, pct(50), pct(99), lat.empty() ? -1.0 : lat.back());
  return 0;
}
