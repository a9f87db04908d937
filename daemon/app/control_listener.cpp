#include "daemon/app/control_listener.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "daemon/app/logging.hpp"
#include "daemon/app/task_group.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
using stream = asio::local::stream_protocol;
using namespace asio::experimental::awaitable_operators;

namespace omnisync::app {

struct control_listener::impl : std::enable_shared_from_this<impl> {
  impl(asio::any_io_executor ex, settings s, std::map<std::string, command_fn> c)
      : exec(ex), cfg(std::move(s)), commands(std::move(c)), acceptor(ex),
        tasks(ex, [](const std::string& t, const std::string& what) {
          logger("control")->error("{} ended with an exception: {}", t, what);
        }) {}

  asio::any_io_executor exec;
  settings cfg;
  std::map<std::string, command_fn> commands;
  stream::acceptor acceptor;
  task_group tasks;
  std::optional<gid_t> group_id;

  bool allowed(int fd, std::string& who) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
    who = "uid " + std::to_string(cred.uid) + " pid " + std::to_string(cred.pid);
    if (cred.uid == 0 || cred.uid == ::geteuid()) return true;
    if (!group_id) return false;
    if (cred.gid == *group_id) return true;
    if (passwd* pw = ::getpwuid(cred.uid)) {
      int n = 64;
      std::vector<gid_t> groups(static_cast<std::size_t>(n));
      if (::getgrouplist(pw->pw_name, pw->pw_gid, groups.data(), &n) == -1) {
        groups.resize(static_cast<std::size_t>(n));
        ::getgrouplist(pw->pw_name, pw->pw_gid, groups.data(), &n);
      }
      for (int i = 0; i < n; ++i)
        if (groups[static_cast<std::size_t>(i)] == *group_id) return true;
    }
    return false;
  }

  static std::string error_line(const json::value& id, const std::string& code, const std::string& message) {
    json::object o{{"id", id}, {"ok", false}, {"error", json::object{{"code", code}, {"message", message}}}};
    return json::serialize(o) + "\n";
  }

  asio::awaitable<std::string> handle(std::string_view line) {
    json::error_code ec;
    auto v = json::parse(line, ec);
    if (ec || !v.is_object()) co_return error_line(nullptr, "bad_request", "expected one JSON object per line");
    auto& req = v.as_object();
    json::value id = req.contains("id") ? req.at("id") : json::value(nullptr);
    auto ver = req.if_contains("v");
    if (!ver || !ver->is_int64() || ver->as_int64() != 1)
      co_return error_line(id, "unsupported_version", "this daemon speaks protocol version 1 (\"v\":1)");
    auto cmd = req.if_contains("cmd");
    if (!cmd || !cmd->is_string()) co_return error_line(id, "bad_request", "missing \"cmd\"");
    std::string name(cmd->as_string());
    auto it = commands.find(name);
    if (it == commands.end()) co_return error_line(id, "unknown_command", "unknown command \"" + name + "\"");
    json::object args;
    if (auto a = req.if_contains("args"); a && a->is_object()) args = a->as_object();
    command_reply r;
    try {
      r = co_await it->second(std::move(args));
    } catch (const std::exception& e) {
      logger("control")->error("command {} failed: {}", name, e.what());
      r = command_reply::failure("internal", e.what());
    }
    if (!r.ok) co_return error_line(id, r.code, redact(r.message));
    json::object o{{"id", id}, {"ok", true}, {"result", std::move(r.result)}};
    co_return redact(json::serialize(o)) + "\n";
  }

  asio::awaitable<void> serve(std::shared_ptr<stream::socket> sock) {
    auto self = shared_from_this();
    std::string who;
    if (!allowed(sock->native_handle(), who)) {
      logger("control")->warn("refused control connection from {}: not root, the daemon's user or group {}", who,
                              cfg.group.empty() ? "(none configured)" : cfg.group);
      auto line = error_line(nullptr, "permission_denied", "not allowed to use this control socket");
      co_await asio::async_write(*sock, asio::buffer(line), asio::as_tuple(asio::use_awaitable));
      co_return;
    }
    std::string buf;
    asio::steady_timer idle(sock->get_executor());
    for (;;) {
      idle.expires_after(cfg.idle_timeout);
      auto result = co_await (
          asio::async_read_until(*sock, asio::dynamic_buffer(buf, cfg.max_line), '\n',
                                 asio::as_tuple(asio::use_awaitable)) ||
          idle.async_wait(asio::as_tuple(asio::use_awaitable)));
      if (result.index() == 1) co_return;  // idle
      auto [ec, n] = std::get<0>(result);
      if (ec == asio::error::not_found) {
        auto line = error_line(nullptr, "line_too_long", "request longer than " + std::to_string(cfg.max_line) + " bytes");
        co_await asio::async_write(*sock, asio::buffer(line), asio::as_tuple(asio::use_awaitable));
        co_return;
      }
      if (ec) co_return;
      std::string line = buf.substr(0, n - 1);
      buf.erase(0, n);
      auto answer = co_await handle(line);
      auto [wec, wn] = co_await asio::async_write(*sock, asio::buffer(answer), asio::as_tuple(asio::use_awaitable));
      if (wec) co_return;
    }
  }

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    for (;;) {
      auto sock = std::make_shared<stream::socket>(exec);
      auto [ec] = co_await acceptor.async_accept(*sock, asio::as_tuple(asio::use_awaitable));
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec) {
        logger("control")->warn("accept failed: {}", ec.message());
        continue;
      }
      tasks.spawn("control connection", [self, sock]() { return self->serve(sock); });
    }
  }
};

control_listener::control_listener(asio::any_io_executor ex, settings s, std::map<std::string, command_fn> commands)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(s), std::move(commands))) {}

control_listener::~control_listener() = default;

std::optional<std::string> control_listener::start() {
  auto& cfg = impl_->cfg;
  const std::string path = cfg.socket.string();
  if (!cfg.group.empty()) {
    group* g = ::getgrnam(cfg.group.c_str());
    if (!g) return "control group \"" + cfg.group + "\" does not exist";
    impl_->group_id = g->gr_gid;
  }
  boost::system::error_code ec;
  if (std::filesystem::exists(std::filesystem::symlink_status(cfg.socket))) {
    stream::socket probe(impl_->exec);
    probe.connect(stream::endpoint(path), ec);
    if (!ec) return "control socket " + path + " is in use by another process (is omnisyncd already running?)";
    ::unlink(path.c_str());
  }
  impl_->acceptor.open(stream(), ec);
  if (!ec) impl_->acceptor.bind(stream::endpoint(path), ec);
  if (ec) return "cannot create control socket " + path + ": " + ec.message();
  impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return "cannot listen on control socket " + path + ": " + ec.message();
  ::chmod(path.c_str(), 0660);
  if (impl_->group_id && ::chown(path.c_str(), static_cast<uid_t>(-1), *impl_->group_id) != 0)
    logger("control")->warn("cannot give control socket to group {}: {}", cfg.group, std::strerror(errno));
  impl_->tasks.spawn("control accept loop", [self = impl_]() { return self->accept_loop(); });
  logger("control")->info("listening on {}", path);
  return std::nullopt;
}

asio::awaitable<void> control_listener::stop(std::chrono::milliseconds timeout) {
  auto self = impl_;
  // Cancelling the tasks ends the accept loop and every connection's pending read; commands already running
  // finish their reply first (bounded by the timeout).
  self->tasks.cancel();
  if (!co_await self->tasks.wait_all(timeout))
    logger("control")->warn("{} control connection(s) still busy after {} ms", self->tasks.size(), timeout.count());
  boost::system::error_code ignored;
  self->acceptor.close(ignored);
  ::unlink(self->cfg.socket.string().c_str());
}

}  // namespace omnisync::app
