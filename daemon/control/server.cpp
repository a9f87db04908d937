#include "daemon/control/server.hpp"

#include "daemon/control/request.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "core/json_text.hpp"
#include "core/log_fields.hpp"

namespace omnisync::control {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using local = asio::local::stream_protocol;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

std::string error_line(const json::value& id, std::string_view code, std::string_view message) {
  json::object o;
  o["id"] = id;
  o["ok"] = false;
  o["error"] = json::object{{"code", code}, {"message", message}};
  return to_json_text(o) + "\n";
}

/// The peer's supplementary groups as the kernel recorded them when it connected (SO_PEERGROUPS). Not read from
/// /proc/<pid>/status: under systemd's ProtectProc=invisible another user's /proc entries are hidden from the
/// daemon (an operator admitted by a supplementary group would be refused), and a pid can be reused.
/// "uid N (name)" for the audit log; "uid N" when the user has no name.
std::string user_text(uid_t uid) {
  std::string out = "uid " + std::to_string(uid);
  passwd pw{}, *found = nullptr;
  std::vector<char> buf(4096);
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found && found->pw_name)
    out += std::string(" (") + found->pw_name + ")";
  return out;
}

std::vector<gid_t> peer_groups(int fd) {
  std::vector<gid_t> groups(64);
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto len = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &len) == 0) {
      groups.resize(len / sizeof(gid_t));
      return groups;
    }
    if (errno != ERANGE) break;
    groups.resize(len / sizeof(gid_t) + 1);  // ERANGE: len is the size needed
  }
  return {};
}

std::optional<gid_t> group_id(const std::string& name) {
  if (name.empty()) return std::nullopt;
  std::vector<char> buf(16384);
  group g{}, *res = nullptr;
  if (getgrnam_r(name.c_str(), &g, buf.data(), buf.size(), &res) != 0 || !res) return std::nullopt;
  return res->gr_gid;
}

class connection_events final : public event_sink {
 public:
  connection_events(local::socket& s, json::value id, std::string caller)
      : socket_(s), id_(std::move(id)), caller_(std::move(caller)) {}
  std::string caller() const override { return caller_; }
  asio::awaitable<bool> emit(json::object event) override {
    if (broken_) co_return false;
    json::object o;
    o["id"] = id_;
    o["event"] = std::move(event);
    std::string line = to_json_text(o) + "\n";
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(line), tuple_awaitable);
    if (ec) broken_ = true;
    co_return !broken_;
  }
  bool broken() const { return broken_; }

 private:
  local::socket& socket_;
  json::value id_;
  std::string caller_;  // "uid N (name)" (SO_PEERCRED)
  bool broken_ = false;
};

}  // namespace

struct server::impl : std::enable_shared_from_this<impl> {
  asio::any_io_executor ex;
  asio::strand<asio::any_io_executor> strand;
  server_options opts;
  local::acceptor acceptor;
  std::optional<gid_t> allowed_gid;
  std::mutex mutex;
  std::shared_ptr<const command_table> commands;
  std::atomic<bool> stopping{false};
  std::atomic<unsigned> active{0};
  std::uint64_t next_id = 0;
  std::unordered_map<std::uint64_t, std::weak_ptr<local::socket>> conns;

  impl(asio::any_io_executor e, server_options o, std::shared_ptr<const command_table> c)
      : ex(std::move(e)), strand(asio::make_strand(ex)), opts(std::move(o)), acceptor(strand), commands(std::move(c)) {}

  std::shared_ptr<const command_table> current_commands() {
    std::lock_guard lock(mutex);
    return commands;
  }

  bool peer_allowed(local::socket& s, std::string& who, std::string& uid) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(s.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
    who = "uid " + std::to_string(cred.uid) + " pid " + std::to_string(cred.pid);
    uid = user_text(cred.uid);
    if (cred.uid == 0 || cred.uid == ::geteuid()) return true;
    if (allowed_gid) {
      if (cred.gid == *allowed_gid) return true;
      for (gid_t g : peer_groups(s.native_handle()))
        if (g == *allowed_gid) return true;
    }
    return false;
  }

  /// One request line → the reply line (events are written by the handler as it runs).
  asio::awaitable<std::string> handle_line(local::socket& s, std::string_view line, std::string caller) {
    auto parsed = parse_request(line, protocol_version);
    if (auto* bad = std::get_if<request_error>(&parsed)) co_return error_line(bad->id, bad->code, bad->message);
    auto& req = std::get<request>(parsed);
    json::value id = req.id;
    json::object args = std::move(req.args);
    const std::string cmd = req.cmd;
    auto table = current_commands();
    const handler* h = table->find(cmd);
    if (!h) co_return error_line(id, "unknown_command", "unknown command \"" + cmd + "\"");
    connection_events events(s, id, std::move(caller));
    std::optional<reply> r;
    try {
      r.emplace(co_await (*h)(std::move(args), events));
    } catch (const std::exception& e) {
      log_with(spdlog::level::err, log_fields{{}, {}, {}, {}, "internal_error"}, "control: command {} failed: {}", cmd,
               e.what());
      co_return error_line(id, "internal_error", "the command failed inside the daemon; see its log");
    }
    if (!r->ok()) {
      // A refusal (bad arguments, an unknown connector, a failed reload): the caller gets it, the log keeps it
      // with its code.
      const std::string code = r->code();
      log_with(spdlog::level::info, log_fields{{}, {}, {}, {}, code}, "control: command {} refused: {}", cmd,
               r->message());
      co_return error_line(id, r->code(), r->message());
    }
    json::object o;
    o["id"] = id;
    o["ok"] = true;
    o["result"] = r->result();
    co_return to_json_text(o) + "\n";  // numbers written plainly (1.02, not 1.02E0)
  }

  asio::awaitable<void> session(std::shared_ptr<local::socket> s) {
    using namespace asio::experimental::awaitable_operators;
    std::string who, uid;
    if (!peer_allowed(*s, who, uid)) {
      log_with(spdlog::level::warn, log_fields{{}, {}, {}, {}, "permission_denied"},
               "control: refused a client ({}): not root, not the daemon's user, not in group '{}'", who, opts.group);
      auto line = error_line(nullptr, "permission_denied", "you are not allowed to control this daemon");
      co_await asio::async_write(*s, asio::buffer(line), tuple_awaitable);
      co_return;
    }
    std::string buffer;
    asio::steady_timer idle(s->get_executor());
    for (;;) {
      idle.expires_after(opts.idle_timeout);
      auto raced = co_await (asio::async_read_until(*s, asio::dynamic_buffer(buffer, opts.max_line + 1), '\n',
                                                    tuple_awaitable) ||
                             idle.async_wait(tuple_awaitable));
      if (raced.index() == 1) break;  // idle too long
      auto [ec, n] = std::get<0>(raced);
      if (ec == asio::error::not_found || (ec && buffer.size() > opts.max_line)) {
        auto line = error_line(nullptr, "line_too_long",
                               "a request line may be at most " + std::to_string(opts.max_line) + " bytes");
        co_await asio::async_write(*s, asio::buffer(line), tuple_awaitable);
        break;
      }
      if (ec) break;  // EOF or error
      std::string line = buffer.substr(0, n - 1);
      buffer.erase(0, n);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      std::string answer = co_await handle_line(*s, line, uid);
      auto [wec, wn] = co_await asio::async_write(*s, asio::buffer(answer), tuple_awaitable);
      if (wec || stopping) break;
    }
    boost::system::error_code ignored;
    s->shutdown(local::socket::shutdown_both, ignored);
  }

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    for (;;) {
      auto [ec, sock] = co_await acceptor.async_accept(asio::make_strand(ex), tuple_awaitable);
      if (ec) {
        if (stopping || ec == asio::error::operation_aborted || !acceptor.is_open()) break;
        spdlog::warn("control: accept failed: {}", ec.message());
        asio::steady_timer pause(ex, std::chrono::milliseconds(50));
        co_await pause.async_wait(tuple_awaitable);
        continue;
      }
      auto s = std::make_shared<local::socket>(std::move(sock));
      std::uint64_t id;
      {
        std::lock_guard lock(mutex);
        id = ++next_id;
        conns[id] = s;
      }
      ++active;
      asio::co_spawn(s->get_executor(), session(s), [self, id](std::exception_ptr e) {
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            spdlog::error("control: connection failed: {}", ex.what());
          }
        }
        {
          std::lock_guard lock(self->mutex);
          self->conns.erase(id);
        }
        --self->active;
      });
    }
    auto deadline = std::chrono::steady_clock::now() + opts.stop_timeout;
    asio::steady_timer wait(ex);
    while (active.load() > 0 && std::chrono::steady_clock::now() < deadline) {
      wait.expires_after(std::chrono::milliseconds(20));
      co_await wait.async_wait(tuple_awaitable);
    }
  }
};

server::server(boost::asio::any_io_executor ex, server_options options, std::shared_ptr<const command_table> commands)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(options), std::move(commands))) {}

server::~server() {
  stop();
  boost::system::error_code ec;
  if (impl_->acceptor.is_open()) std::filesystem::remove(impl_->opts.socket_path, ec);
}

omnisync::result<void> server::start() {
  auto& o = impl_->opts;
  namespace fs = std::filesystem;
  if (o.socket_path.native().size() >= sizeof(sockaddr_un{}.sun_path)) {
    spdlog::error("control: socket path {} is too long (at most {} bytes)", o.socket_path.string(),
                  sizeof(sockaddr_un{}.sun_path) - 1);
    return errc::invalid_input;
  }
  if (!o.group.empty()) {
    impl_->allowed_gid = group_id(o.group);
    if (!impl_->allowed_gid) {
      spdlog::error("control: group '{}' does not exist", o.group);
      return errc::invalid_input;
    }
  }
  std::error_code fec;
  if (fs::exists(fs::symlink_status(o.socket_path, fec))) {
    // Someone listening there? Then another daemon runs: refuse. Otherwise the file is stale: remove it.
    boost::asio::io_context probe_ctx;
    local::socket probe(probe_ctx);
    boost::system::error_code cec;
    probe.connect(local::endpoint(o.socket_path.string()), cec);
    if (!cec) {
      spdlog::error("control: another process is listening on {}", o.socket_path.string());
      return errc::fail;
    }
    fs::remove(o.socket_path, fec);
  }
  boost::system::error_code ec;
  auto& a = impl_->acceptor;
  // Create the socket file with no access for others from the first instant, then set the final mode.
  mode_t old = ::umask(0117);
  a.open(local(), ec);
  if (!ec) a.bind(local::endpoint(o.socket_path.string()), ec);
  ::umask(old);
  if (!ec) a.listen(64, ec);
  if (ec) {
    spdlog::error("control: cannot listen on {}: {}", o.socket_path.string(), ec.message());
    boost::system::error_code ignored;
    a.close(ignored);
    return errc::fail;
  }
  if (impl_->allowed_gid && ::chown(o.socket_path.c_str(), static_cast<uid_t>(-1), *impl_->allowed_gid) != 0)
    spdlog::warn("control: cannot give {} to group '{}': {}", o.socket_path.string(), o.group, std::strerror(errno));
  if (::chmod(o.socket_path.c_str(), o.mode) != 0)
    spdlog::warn("control: cannot chmod {}: {}", o.socket_path.string(), std::strerror(errno));
  return {};
}

boost::asio::awaitable<void> server::run() {
  auto self = impl_;
  co_await boost::asio::co_spawn(self->strand, self->accept_loop(), boost::asio::use_awaitable);
}

void server::stop() {
  auto self = impl_;
  if (self->stopping.exchange(true)) return;
  boost::asio::post(self->strand, [self] {
    boost::system::error_code ignored;
    self->acceptor.close(ignored);
  });
  std::vector<std::shared_ptr<local::socket>> open;
  {
    std::lock_guard lock(self->mutex);
    for (auto& [id, w] : self->conns)
      if (auto s = w.lock()) open.push_back(std::move(s));
  }
  for (auto& s : open)
    boost::asio::post(s->get_executor(), [s] {
      boost::system::error_code ignored;
      s->cancel(ignored);
    });
}

void server::set_commands(std::shared_ptr<const command_table> commands) {
  std::lock_guard lock(impl_->mutex);
  impl_->commands = std::move(commands);
}

}  // namespace omnisync::control
