#include "tests/integration/sim/sim_http.hpp"
#include "tests/integration/sim/read_request.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <stdexcept>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

namespace omnisync::test::sim {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  const auto e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// Splits "HTTP/1.1 200 OK\r\nA: b\r\n" into status and lower-cased headers.
void parse_head(const std::string& head, int& status, std::map<std::string, std::string>& headers) {
  std::size_t pos = head.find("\r\n");
  const std::string first = head.substr(0, pos);
  if (const auto sp = first.find(' '); sp != std::string::npos) status = std::atoi(first.c_str() + sp + 1);
  while (pos != std::string::npos && pos + 2 < head.size()) {
    const auto next = head.find("\r\n", pos + 2);
    const std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
    if (const auto colon = line.find(':'); colon != std::string::npos) {
      headers[lower(line.substr(0, colon))] = trim(line.substr(colon + 1));
    }
    pos = next;
  }
}

}  // namespace

boost::json::value http_reply::json() const { return boost::json::parse(body); }

running_sim::running_sim() : running_sim(std::vector<std::string>{}) {}

running_sim::running_sim(const std::vector<std::string>& args) {
  const char* override_path = std::getenv("OMNISYNC_SIM_BINARY");
  const std::string bin = override_path != nullptr ? override_path : binary("omnisync-sim");
  std::vector<std::string> argv{bin};
  argv.insert(argv.end(), args.begin(), args.end());
  proc_ = std::make_unique<process>(argv);
  const auto line = proc_->read_stdout_line(std::chrono::seconds(20));
  if (!line) throw std::runtime_error("omnisync-sim printed no first line: " + proc_->stderr_text());
  urls_ = boost::json::parse(*line);
}

std::string running_sim::url(const std::string& service, const std::string& scheme) const {
  return std::string(urls_.at(service).at(scheme).as_string());
}

std::string running_sim::admin_url() const { return std::string(urls_.at("admin").as_string()); }

std::optional<int> running_sim::stop(int sig, std::chrono::milliseconds timeout) {
  proc_->signal(sig);
  return proc_->wait(timeout);
}

std::string running_sim::ca_file() const {
  const auto* ca = urls_.as_object().if_contains("ca_file");
  return ca != nullptr && ca->is_string() ? std::string(ca->get_string()) : std::string();
}

http_reply running_sim::admin(const std::string& method, const std::string& path, const std::string& body) {
  auto r = http(method, admin_url() + path, body, body.empty() ? std::vector<std::string>{}
                                                               : std::vector<std::string>{"Content-Type: application/json"});
  INFO(method << " " << path << " -> " << r.status << " " << r.body);
  REQUIRE(r.status >= 200);
  REQUIRE(r.status < 300);
  return r;
}

http_reply http(const std::string& method, const std::string& url, const std::string& body,
                const std::vector<std::string>& headers, const std::string& ca_file) {
  std::vector<std::string> argv = {"curl", "-sS", "-i", "--max-time", "20", "-X", method, "-H", "Expect:"};
  if (method == "HEAD") argv = {"curl", "-sS", "-I", "--max-time", "20", "-H", "Expect:"};
  for (const auto& h : headers) {
    argv.push_back("-H");
    argv.push_back(h);
  }
  if (!ca_file.empty()) {
    argv.push_back("--cacert");
    argv.push_back(ca_file);
  }
  if (!body.empty()) {
    argv.push_back("--data-binary");
    argv.push_back("@-");
  }
  argv.push_back(url);
  const auto res = run(argv, body, std::chrono::seconds(30));
  if (res.exit_code != 0) throw std::runtime_error("curl failed (" + std::to_string(res.exit_code) + "): " + res.err);
  http_reply reply;
  std::string out = res.out;
  // Skip interim 1xx responses.
  for (;;) {
    const auto end = out.find("\r\n\r\n");
    if (end == std::string::npos) throw std::runtime_error("bad curl output: " + out);
    reply = http_reply{};
    parse_head(out.substr(0, end + 2), reply.status, reply.headers);
    out = out.substr(end + 4);
    if (reply.status >= 200) break;
  }
  reply.body = out;
  return reply;
}

webhook_receiver::webhook_receiver(int status, int fail_first) : status_(status), fail_first_(fail_first) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 16) != 0) {
    throw std::runtime_error("webhook_receiver: cannot listen");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { serve(); });
}

webhook_receiver::~webhook_receiver() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  ::shutdown(fd_, SHUT_RDWR);
  thread_.join();
  ::close(fd_);
}

std::string webhook_receiver::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

void webhook_receiver::serve() {
  for (;;) {
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, 100);
    {
      std::lock_guard lock(mutex_);
      if (stop_) return;
    }
    if (ready <= 0) continue;
    const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    // One request per connection (we answer Connection: close).
    const auto [data, head_end] = read_raw_request(c);
    received_request req;
    if (head_end != std::string::npos) {
      const std::string first = data.substr(0, data.find("\r\n"));
      const auto sp1 = first.find(' ');
      const auto sp2 = first.find(' ', sp1 + 1);
      req.method = first.substr(0, sp1);
      req.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
      int ignored = 0;
      parse_head(data.substr(0, head_end + 2), ignored, req.headers);
      req.body = data.substr(head_end + 4);
    }
    int status = status_;
    {
      std::lock_guard lock(mutex_);
      if (fail_first_ > 0 && !req.method.empty()) {
        --fail_first_;
        status = 500;
      }
    }
    const std::string reply = "HTTP/1.1 " + std::to_string(status) + " OK\r\nContent-Type: text/plain\r\n"
                              "Content-Length: 2\r\nConnection: close\r\n\r\nok";
    [[maybe_unused]] const auto written = ::write(c, reply.data(), reply.size());
    ::close(c);
    if (!req.method.empty()) {
      std::lock_guard lock(mutex_);
      received_.push_back(std::move(req));
      cv_.notify_all();
    }
  }
}

received_request webhook_receiver::wait_for(const std::function<bool(const received_request&)>& pred,
                                            std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  received_request found;
  const bool ok = cv_.wait_for(lock, timeout, [&] {
    for (const auto& r : received_) {
      if (pred(r)) {
        found = r;
        return true;
      }
    }
    return false;
  });
  if (!ok) throw std::runtime_error("webhook_receiver: no matching request within timeout (" +
                                    std::to_string(received_.size()) + " received)");
  return found;
}

std::vector<received_request> webhook_receiver::received() {
  std::lock_guard lock(mutex_);
  return received_;
}

}  // namespace omnisync::test::sim
