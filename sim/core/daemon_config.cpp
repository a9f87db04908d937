#include "sim/core/daemon_config.hpp"

#include <boost/json.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>

namespace omnisync::sim {

void write_console_tokens(const std::string& prefix) {
  std::random_device rd;
  for (const char* scope : {".read.token", ".write.token"}) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string token;
    for (int i = 0; i < 40; ++i) token.push_back(hex[rd() % 16]);
    const std::string path = prefix + scope;
    std::filesystem::remove(path);
    const mode_t old = ::umask(077);
    std::ofstream out(path, std::ios::trunc);
    ::umask(old);
    out << token << "\n";
    if (!out.flush()) throw std::runtime_error("cannot write " + path);
  }
}

std::string daemon_config(const boost::json::value& endpoints, const std::string& mappings_dir,
                          const std::string& console_tokens) {
  const auto& e = endpoints.as_object();
  auto url = [&](const char* service) { return std::string(e.at(service).at("https").as_string()); };
  const std::string ca = std::string(e.at("ca_file").as_string());
  auto head = [&](const char* name, const char* url_key, const char* objects) {
    return std::string("  ") + name + ":\n    kind: " + name + "\n    " + url_key + ": " + url(name) +
           "\n    tls: { ca_file: " + ca + " }\n    objects: [" + objects +
           "]\n    poll_interval: 5s\n    settle_lag: 0s\n";
  };
  return "# omnisync.yaml for the simulators omnisync-sim started (written by omnisync-sim --write-config).\n"
         "# Run: omnisyncd -c THIS_FILE --state-dir DIR --control-socket DIR/control.sock\n"
         "http:\n"
         "  listen: 127.0.0.1:0          # any free port: the simulators deliver no webhooks unless told to\n"
         "mappings_dir: " + mappings_dir + "\n" +
         (console_tokens.empty()
              ? std::string()
              : "console:                       # the web console: sign in with the read or the write token\n"
                "  listen: 127.0.0.1:0          # any free port: omnisyncctl status --json | jq .console.port\n"
                "  token_file: " + console_tokens + ".read.token\n"
                "  write_token_file: " + console_tokens + ".write.token\n") +
         "connectors:\n" +
         head("salesforce", "login_url", "Contact") +
         "    auth: { flow: client_credentials, client_id: sim-client, client_secret: sim-secret }\n" +
         head("hubspot", "base_url", "contacts, deals") +
         "    auth: { private_app_token: sim-token }\n" +
         head("zendesk", "base_url", "users, tickets, satisfaction_ratings") +
         "    auth: { email: ops@example.com, api_token: sim-token }\n" +
         head("activecampaign", "base_url", "contacts") +
         "    auth: { api_token: sim-token }\n" +
         head("intercom", "base_url", "contacts, conversations") +
         "    auth: { access_token: sim-token }\n";
}

}  // namespace omnisync::sim
