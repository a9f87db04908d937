#pragma once
/// A secret value (token, password, key) resolved from a file, an environment variable or a systemd
/// credential. It never prints itself: formatting, logging and `status` show `<secret from SOURCE>`.
#include <string>
#include <utility>

namespace omnisync::config {

class secret {
 public:
  secret() = default;
  secret(std::string value, std::string source) : value_(std::move(value)), source_(std::move(source)) {}

  /// The secret itself. Call only where it is used (an HTTP header, an HMAC key); never log the result.
  const std::string& reveal() const noexcept { return value_; }
  /// Where it came from, safe to show: "file /etc/omnisync/hubspot.secret", "env HUBSPOT_TOKEN".
  const std::string& source() const noexcept { return source_; }
  bool empty() const noexcept { return value_.empty(); }
  std::string redacted() const { return "<secret from " + source_ + ">"; }

 private:
  std::string value_;
  std::string source_;
};

}  // namespace omnisync::config
