#pragma once
/// Helpers for the vendor simulator tests over real HTTP: start `omnisync-sim` (or $OMNISYNC_SIM_BINARY),
/// read its first stdout line, make requests with curl (HTTP or HTTPS with the simulator's CA), and a
/// loopback webhook receiver that records raw requests. Used only by tests; blocking, thread-safe receiver.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/json/value.hpp>

#include "tests/support/process.hpp"

namespace omnisync::test::sim {

struct http_reply {
  int status = 0;
  std::map<std::string, std::string> headers;  ///< names lower-cased
  std::string body;
  boost::json::value json() const;
};

/// A running simulator on port 0; killed when destroyed.
class running_sim {
 public:
  running_sim();
  /// With extra command-line arguments, e.g. {"--size", "2500"}.
  explicit running_sim(const std::vector<std::string>& args);
  const boost::json::value& urls() const { return urls_; }
  /// `service` base URL, e.g. url("hubspot", "http").
  std::string url(const std::string& service, const std::string& scheme = "http") const;
  std::string admin_url() const;
  std::string ca_file() const;
  /// Admin API call; REQUIREs a 2xx status and returns the reply.
  http_reply admin(const std::string& method, const std::string& path, const std::string& body = {});
  /// Sends `sig` and waits up to `timeout`; the exit code (128+signal if killed) or nullopt on timeout.
  std::optional<int> stop(int sig, std::chrono::milliseconds timeout);

 private:
  std::unique_ptr<process> proc_;
  boost::json::value urls_;
};

/// One HTTP exchange through curl. `headers` as "Name: value" lines; `ca_file` for HTTPS.
http_reply http(const std::string& method, const std::string& url, const std::string& body = {},
                const std::vector<std::string>& headers = {}, const std::string& ca_file = {});

struct received_request {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  ///< names lower-cased
  std::string body;
};

/// Accepts HTTP/1.1 requests on 127.0.0.1:<ephemeral>, answers `status` with a tiny body (500 for the first
/// `fail_first` requests, to exercise redelivery), keeps every request.
class webhook_receiver {
 public:
  explicit webhook_receiver(int status = 200, int fail_first = 0);
  ~webhook_receiver();
  webhook_receiver(const webhook_receiver&) = delete;
  webhook_receiver& operator=(const webhook_receiver&) = delete;

  std::string url() const;
  /// Waits until a request matching `pred` arrives; returns it or throws after `timeout`.
  received_request wait_for(const std::function<bool(const received_request&)>& pred,
                            std::chrono::milliseconds timeout = std::chrono::seconds(10));
  std::vector<received_request> received();

 private:
  void serve();
  int fd_ = -1;
  int port_ = 0;
  int status_;
  int fail_first_;
  bool stop_ = false;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<received_request> received_;
  std::thread thread_;
};

}  // namespace omnisync::test::sim
