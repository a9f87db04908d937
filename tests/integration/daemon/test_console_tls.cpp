// The console's TLS pair on reload, with the real omnisyncd and omnisyncctl: a renewed certificate (the files
// replaced in place) is served to new connections after `omnisyncctl reload`; a pair that does not load (a key that
// is not the certificate's) rejects the reload with the reason, and the console goes on serving the pair it had.
#include <catch2/catch.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace asio = boost::asio;
namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using omnisync::test::binary;
using omnisync::test::process;
using omnisync::test::run;
using omnisync::test::temp_dir;

namespace {

void make_pair(const temp_dir& dir, const std::string& name) {
  const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -keyout " +
                          (dir / (name + ".key")).string() + " -out " + (dir / (name + ".pem")).string() +
                          " 2>/dev/null";
  REQUIRE(std::system(cmd.c_str()) == 0);
}

/// Whether a client that trusts only `ca` completes a TLS handshake with 127.0.0.1:`port`.
bool handshake_trusting(const fs::path& ca, int port) {
  asio::io_context c;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.load_verify_file(ca.string());
  ctx.set_verify_mode(asio::ssl::verify_peer);
  asio::ssl::stream<asio::ip::tcp::socket> s(c, ctx);
  s.next_layer().connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  boost::system::error_code ec;
  s.handshake(asio::ssl::stream_base::client, ec);
  return !ec;
}

}  // namespace

TEST_CASE("omnisyncd: reload reads the console's TLS pair again, a bad pair is refused and the old one stays",
          "[daemon][console]") {
  temp_dir dir;
  make_pair(dir, "a");
  make_pair(dir, "b");
  fs::copy_file(dir / "a.pem", dir / "cert.pem");
  fs::copy_file(dir / "a.key", dir / "key.pem");
  dir.write("secret.txt", "not-a-real-token\n");
  dir.write("token.txt", "console-read-token-0123456789\n");
  dir.write("omnisync.yaml",
            "http:\n  listen: 127.0.0.1:0\n"
            "console:\n  listen: 127.0.0.1:0\n  token_file: token.txt\n  tls: { cert: cert.pem, key: key.pem }\n"
            "connectors:\n  desk:\n    kind: zendesk\n    base_url: http://127.0.0.1:9/\n"
            "    auth: { email: ops@example.com, api_token_file: secret.txt }\n    poll_interval: 15s\n");
  const auto sock = (dir / "control.sock").string();
  process d({binary("omnisyncd"), "-c", (dir / "omnisync.yaml").string(), "--state-dir", (dir / "state").string(),
             "--control-socket", sock});
  INFO(d.stderr_text());
  REQUIRE(d.wait_stderr_contains("running: config", 15s));
  auto ctl = [&](std::vector<std::string> args) {
    std::vector<std::string> argv{binary("omnisyncctl"), "--socket", sock};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, "", 20s);
  };
  auto st = ctl({"--json", "status"});
  REQUIRE(st.exit_code == 0);
  const int port = static_cast<int>(json::parse(st.out).at("console").at("port").as_int64());
  REQUIRE(port > 0);
  CHECK(handshake_trusting(dir / "a.pem", port));

  // A renewal gone wrong: the new certificate with the old key. Refused; the old pair is still served.
  fs::copy_file(dir / "b.pem", dir / "cert.pem", fs::copy_options::overwrite_existing);
  auto bad = ctl({"reload"});
  INFO(bad.out + bad.err);
  CHECK(bad.exit_code == 1);
  CHECK((bad.out + bad.err).find("console.tls: cannot load the TLS certificate") != std::string::npos);
  CHECK(handshake_trusting(dir / "a.pem", port));
  CHECK_FALSE(handshake_trusting(dir / "b.pem", port));

  // The renewal completed: the new pair is served to new connections.
  fs::copy_file(dir / "b.key", dir / "key.pem", fs::copy_options::overwrite_existing);
  auto good = ctl({"reload"});
  INFO(good.out + good.err);
  CHECK(good.exit_code == 0);
  CHECK(handshake_trusting(dir / "b.pem", port));
  CHECK_FALSE(handshake_trusting(dir / "a.pem", port));

  d.signal(SIGTERM);
  auto code = d.wait(10s);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
}
