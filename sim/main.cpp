// omnisync-sim: simulators of the vendors' APIs on loopback, for tests, the demo and benchmarks.
// The first stdout line is a JSON object with every service's base URLs, the admin URL and the CA file.
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json/serialize.hpp>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "sim/core/daemon_config.hpp"
#include "sim/core/server.hpp"
#include "sim/core/service.hpp"
#include "sim/core/tls.hpp"

int main(int argc, char** argv) {
  CLI::App app{"omnisync-sim — simulated Salesforce, HubSpot, Zendesk, ActiveCampaign and Intercom APIs",
               "omnisync-sim"};
  std::string config_file, state_dir, host = "127.0.0.1";
  std::uint64_t seed = 42;
  std::size_t size = 1000;
  unsigned short admin_port = 0;
  unsigned threads = 2;
  app.add_option("--config,-c", config_file, "YAML file: seed, size, host, admin_port, ports: {service: [http, https]}");
  app.add_option("--seed", seed, "Data set seed")->capture_default_str();
  app.add_option("--size", size, "Seeded people per vendor (generated lazily)")->capture_default_str();
  app.add_option("--host", host, "Address to listen on")->capture_default_str();
  app.add_option("--admin-port", admin_port, "Admin API port (0: any free port)")->capture_default_str();
  app.add_option("--state-dir", state_dir, "Where the CA and certificate are written (default: a temp dir)");
  app.add_option("--threads", threads, "I/O threads")->capture_default_str();
  std::string write_config, mappings_dir = OMNISYNC_DEFAULT_MAPPINGS_DIR;
  app.add_option("--write-config", write_config,
                 "Once listening, write an omnisync.yaml for these simulators to FILE: every vendor with its URL, the "
                 "CA file and credentials the simulators accept (omnisyncd -c FILE runs against them)")
      ->type_name("FILE");
  app.add_option("--mappings-dir", mappings_dir, "The mappings_dir that config names")
      ->capture_default_str()
      ->type_name("DIR");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  omnisync::sim::server_options so;
  so.host = host;
  so.admin_port = admin_port;
  try {
    if (!config_file.empty()) {
      YAML::Node y = YAML::LoadFile(config_file);
      for (const auto& kv : y) {
        auto k = kv.first.as<std::string>();
        if (k == "seed") seed = kv.second.as<std::uint64_t>();
        else if (k == "size") size = kv.second.as<std::size_t>();
        else if (k == "host") so.host = kv.second.as<std::string>();
        else if (k == "admin_port") so.admin_port = kv.second.as<unsigned short>();
        else if (k == "ports")
          for (const auto& p : kv.second)
            so.ports[p.first.as<std::string>()] = {p.second[0].as<unsigned short>(), p.second[1].as<unsigned short>()};
        else {
          std::cerr << config_file << ":" << kv.first.Mark().line + 1 << ":" << kv.first.Mark().column + 1
                    << ": unknown key \"" << k << "\" (expected seed, size, host, admin_port, ports)\n";
          return 78;
        }
      }
    }
  } catch (const YAML::Exception& e) {
    std::cerr << config_file << ": " << e.what() << "\n";
    return 78;
  }

  std::filesystem::path dir = state_dir;
  bool temp = dir.empty();
  if (temp) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "omnisync-sim-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) {
      std::cerr << "omnisync-sim: cannot create a temp dir\n";
      return 1;
    }
    dir = tmpl;
  }
  try {
    so.tls = omnisync::sim::make_tls_files(dir);
    auto clock = std::make_shared<omnisync::sim::sim_clock>();
    boost::asio::io_context io;
    auto services = omnisync::sim::make_services({seed, size, clock});
    omnisync::sim::server server(io.get_executor(), so, services, clock);
    server.start();
    if (!write_config.empty()) {  // before the first line: once it is printed, the file is complete
      const std::string tokens = (std::filesystem::absolute(write_config).parent_path() / "console").string();
      omnisync::sim::write_console_tokens(tokens);
      std::ofstream out(write_config, std::ios::trunc);
      out << omnisync::sim::daemon_config(server.endpoints(), mappings_dir, tokens);
      if (!out.flush()) throw std::runtime_error("cannot write " + write_config);
    }
    std::cout << boost::json::serialize(server.endpoints()) << std::endl;
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](auto, int) {
      server.stop();
      io.stop();
    });
    std::vector<std::thread> pool;
    for (unsigned i = 1; i < std::max(1u, threads); ++i) pool.emplace_back([&] { io.run(); });
    io.run();
    for (auto& t : pool) t.join();
  } catch (const std::exception& e) {
    std::cerr << "omnisync-sim: " << e.what() << "\n";
    return 1;
  }
  if (temp) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  return 0;
}
