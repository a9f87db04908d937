#include "sim/core/daemon_config.hpp"

#include <boost/json.hpp>

namespace omnisync::sim {

std::string daemon_config(const boost::json::value& endpoints, const std::string& mappings_dir) {
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
         "mappings_dir: " + mappings_dir + "\n"
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
