// Fuzzes the readers' page parsers: a connector polls a local HTTP server that answers with the input as the
// vendor's JSON page (status 200), so the page arrives through the adapter's real reading code (json_api, the
// vendor's page and record parsing, the cursor it builds). The first byte picks the vendor, the second the
// object; the rest is the answer body. A page that parses is followed by one more poll with the cursor it
// returned (answered with the same body), so cursors built from outside data are used too. Salesforce's token
// and describe calls get fixed answers, so its query pages are reached.
//
// The server is plain blocking threads (one per connection, keep-alive): the adapters speak HTTP/1.1 to base_url
// like to any vendor. Logging is off: refusals of malformed pages are expected.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/fuzz/fuzz_support.hpp"

namespace {
namespace fz = omnisync::fuzz;

/// Answers every request on 127.0.0.1:<port> with the current body (Salesforce token/describe: fixed answers).
class page_server {
 public:
  page_server() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0) std::abort();
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    std::thread([this] { serve(); }).detach();  // lives as long as the fuzzing process
  }
  int port() const { return port_; }
  void set_body(std::string b) {
    std::lock_guard lk(mu_);
    body_ = std::move(b);
  }

 private:
  std::string answer_for(const std::string& head) {
    const auto sp = head.find(' ');
    const std::string target = head.substr(sp + 1, head.find(' ', sp + 1) - sp - 1);
    if (target.find("/oauth2/token") != std::string::npos)
      return R"({"access_token":"00Dfuzz!token","instance_url":"http://127.0.0.1:)" + std::to_string(port_) +
             R"(","token_type":"Bearer","issued_at":"1767225600000","id":"x"})";
    if (target.find("/describe") != std::string::npos)
      return R"({"name":"Contact","fields":[)"
             R"({"name":"Id","type":"id","length":18,"nillable":false,"updateable":false,"createable":false,"calculated":false},)"
             R"({"name":"Email","type":"email","length":80,"nillable":true,"updateable":true,"createable":true,"calculated":false},)"
             R"({"name":"LastName","type":"string","length":80,"nillable":false,"updateable":true,"createable":true,"calculated":false},)"
             R"({"name":"HasOptedOutOfEmail","type":"boolean","nillable":false,"updateable":true,"createable":true,"calculated":false},)"
             R"({"name":"SystemModstamp","type":"datetime","nillable":false,"updateable":false,"createable":false,"calculated":false}]})";
    std::lock_guard lk(mu_);
    return body_;
  }
  void serve() {
    for (;;) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      const int one = 1;  // no Nagle: an answer must not wait for the client's delayed ACK
      ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      std::thread([this, c] { exchange(c); }).detach();
    }
  }
  /// One connection: requests answered in order until the client closes it.
  void exchange(int c) {
    std::string in;
    char buf[65536];
    for (;;) {
      auto end = in.find("\r\n\r\n");
      while (end == std::string::npos) {
        const auto n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        in.append(buf, static_cast<std::size_t>(n));
        end = in.find("\r\n\r\n");
      }
      if (end == std::string::npos) break;
      const std::string head = in.substr(0, end);
      std::size_t length = 0;
      for (const char* k : {"Content-Length: ", "content-length: "})
        if (auto p = head.find(k); p != std::string::npos) length = std::strtoul(head.c_str() + p + 16, nullptr, 10);
      while (in.size() < end + 4 + length) {
        const auto n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        in.append(buf, static_cast<std::size_t>(n));
      }
      if (in.size() < end + 4 + length) break;
      in.erase(0, end + 4 + length);
      const std::string body = answer_for(head);
      const std::string out = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body;
      if (::write(c, out.data(), out.size()) != static_cast<ssize_t>(out.size())) break;
    }
    ::close(c);
  }
  int fd_ = -1;
  int port_ = 0;
  std::mutex mu_;
  std::string body_;
};

struct vendor {
  const char* name;
  std::string block;
  std::vector<const char*> objects;
};

std::vector<vendor> vendors(int port) {
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  const std::string quick = "    settle_lag: 0s\n    sync: { max_attempts: 1 }\n";
  return {
      {"zd", "    kind: zendesk\n    base_url: " + url + "\n    auth: { email: a@example.com, api_token: t }\n" +
                 "    objects: [users, tickets, satisfaction_ratings]\n" + quick +
                 "    rate_limit: { per_minute: 1000000, exports_per_minute: 100000, "
                 "user_exports_per_minute: 100000 }\n",
       {"users", "tickets", "satisfaction_ratings"}},
      {"hs", "    kind: hubspot\n    base_url: " + url + "\n    auth: { private_app_token: t }\n" +
                 "    objects: [contacts, companies, deals]\n" + quick +
                 "    rate_limit: { per_10s: 1000000, search_per_second: 10000 }\n",
       {"contacts", "companies", "deals"}},
      {"ic", "    kind: intercom\n    base_url: " + url + "\n    auth: { access_token: t }\n" +
                 "    sync: { max_attempts: 1 }\n    rate_limit: { per_minute: 10000000 }\n",
       {"contacts", "conversations"}},
      {"ac", "    kind: activecampaign\n    base_url: " + url + "\n    auth: { api_token: t }\n" +
                 "    sync: { max_attempts: 1 }\n    rate_limit: { per_second: 100000 }\n",
       {"contacts"}},
      {"sf", "    kind: salesforce\n    login_url: " + url + "\n" +
                 "    auth: { flow: client_credentials, client_id: c, client_secret: s }\n" +
                 "    objects: [Contact]\n" + quick,
       {"Contact"}},
  };
}

struct fixture {
  boost::asio::io_context io;
  page_server server;
  std::vector<vendor> list = vendors(server.port());
  std::vector<std::unique_ptr<omnisync::adapters::connector>> connectors;
  fixture() {
    spdlog::set_level(spdlog::level::off);
    for (const auto& v : list) connectors.push_back(fz::make_connector(io, v.name, v.block));
  }
  omnisync::result<omnisync::adapters::page> poll(omnisync::adapters::connector& c, omnisync::adapters::page_request r) {
    std::optional<omnisync::result<omnisync::adapters::page>> out;
    boost::asio::co_spawn(
        io, [&c, r, &out]() -> boost::asio::awaitable<void> { out.emplace(co_await c.poll(r)); },
        boost::asio::detached);
    io.restart();
    io.run();
    if (!out) std::abort();  // a poll must finish: every call is answered at once
    return std::move(*out);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fixture f;
  if (size < 2) return 0;
  const std::size_t v = data[0] % f.list.size();
  const auto& objects = f.list[v].objects;
  const std::string object = objects[data[1] % objects.size()];
  f.server.set_body(std::string(fz::text(data + 2, size - 2)));
  auto& c = *f.connectors[v];
  auto first = f.poll(c, omnisync::adapters::page_request(object, std::nullopt));
  if (first && first->cursor) (void)f.poll(c, omnisync::adapters::page_request(object, first->cursor));
  return 0;
}
