#include "daemon/ctl/client.hpp"

#include <boost/json.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace omnisync::ctl {
namespace {

struct fd_guard {
  int fd = -1;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

bool wait_for(int fd, short events, std::chrono::milliseconds timeout) {
  pollfd p{fd, events, 0};
  for (;;) {
    int rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (rc < 0 && errno == EINTR) continue;
    return rc > 0;
  }
}

}  // namespace

call_result call(const std::string& socket_path, const std::string& cmd, const boost::json::object& args,
                 std::chrono::milliseconds idle_timeout, const event_handler& on_event) {
  call_result out;
  sockaddr_un addr{};
  if (socket_path.size() >= sizeof addr.sun_path) {
    out.message = "socket path is too long: " + socket_path;
    return out;
  }
  fd_guard s{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (s.fd < 0) {
    out.message = std::string("cannot create a socket: ") + std::strerror(errno);
    return out;
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (::connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    out.message = "cannot reach omnisyncd at " + socket_path + ": " + std::strerror(errno) +
                  (errno == ENOENT || errno == ECONNREFUSED ? " (is it running? see --socket)" : "");
    return out;
  }
  boost::json::object req{{"v", 1}, {"id", 1}, {"cmd", cmd}, {"args", args}};
  std::string line = boost::json::serialize(req) + "\n";
  for (size_t off = 0; off < line.size();) {
    if (!wait_for(s.fd, POLLOUT, idle_timeout)) {
      out.message = "timed out sending the request to " + socket_path;
      return out;
    }
    ssize_t n = ::send(s.fd, line.data() + off, line.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      // The daemon may have answered and closed already (e.g. permission_denied): read what it said.
      if (errno == EPIPE || errno == ECONNRESET) break;
      out.message = std::string("cannot send the request: ") + std::strerror(errno);
      return out;
    }
    off += static_cast<size_t>(n);
  }
  std::string buf;
  bool answered_anything = false;
  for (;;) {
    auto nl = buf.find('\n');
    if (nl != std::string::npos) {
      std::string msg = buf.substr(0, nl);
      buf.erase(0, nl + 1);
      answered_anything = true;
      boost::system::error_code ec;
      auto v = boost::json::parse(msg, ec);
      if (ec || !v.is_object()) {
        out.state = call_result::status::protocol_error;
        out.message = "the daemon sent something that is not JSON";
        return out;
      }
      auto& o = v.as_object();
      if (auto* ev = o.if_contains("event"); ev && ev->is_object()) {
        if (on_event) on_event(ev->as_object());
        continue;
      }
      auto* ok = o.if_contains("ok");
      if (!ok || !ok->is_bool()) {
        out.state = call_result::status::protocol_error;
        out.message = "the daemon's answer has no \"ok\"";
        return out;
      }
      if (ok->as_bool()) {
        out.state = call_result::status::ok;
        if (auto* r = o.if_contains("result")) out.result = *r;
        return out;
      }
      out.state = call_result::status::daemon_error;
      if (auto* e = o.if_contains("error"); e && e->is_object()) {
        if (auto* c = e->as_object().if_contains("code"); c && c->is_string()) out.error_code = c->as_string();
        if (auto* m = e->as_object().if_contains("message"); m && m->is_string()) out.message = m->as_string();
      }
      return out;
    }
    if (buf.size() > (64u << 20)) {
      out.state = call_result::status::protocol_error;
      out.message = "the daemon's answer is too long";
      return out;
    }
    if (!wait_for(s.fd, POLLIN, idle_timeout)) {
      out.state = answered_anything ? call_result::status::protocol_error : call_result::status::unreachable;
      out.message = "omnisyncd did not answer within " + std::to_string(idle_timeout.count()) + " ms";
      return out;
    }
    char tmp[65536];
    ssize_t n = ::recv(s.fd, tmp, sizeof tmp, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      out.state = answered_anything ? call_result::status::protocol_error : call_result::status::unreachable;
      out.message = "omnisyncd closed the connection without answering";
      return out;
    }
    buf.append(tmp, static_cast<size_t>(n));
  }
}

}  // namespace omnisync::ctl
