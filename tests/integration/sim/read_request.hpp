#pragma once
/// One HTTP/1.1 request read from a connected socket: its head and a body of Content-Length bytes, each read
/// waiting at most `wait_ms`; whatever came when the peer stopped or went quiet. Shared by the tests' webhook
/// targets (sim_http.cpp's webhook_receiver, test_sim_hubspot.cpp's holding receiver).
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string>

namespace omnisync::test::sim {

struct raw_request {
  std::string data;                          ///< the bytes read
  std::size_t head_end = std::string::npos;  ///< where "\r\n\r\n" starts; npos when the head never completed
};

inline raw_request read_raw_request(int fd, int wait_ms = 5000) {
  raw_request r;
  char buf[8192];
  std::size_t need = std::string::npos;
  while (need == std::string::npos || r.data.size() < need) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, wait_ms) <= 0) break;
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    r.data.append(buf, static_cast<std::size_t>(n));
    if (r.head_end == std::string::npos && (r.head_end = r.data.find("\r\n\r\n")) != std::string::npos) {
      std::string head = r.data.substr(0, r.head_end);
      std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) { return std::tolower(c); });
      std::size_t length = 0;
      if (const auto cl = head.find("content-length:"); cl != std::string::npos)
        length = static_cast<std::size_t>(std::atoll(head.c_str() + cl + 15));
      need = r.head_end + 4 + length;
    }
  }
  return r;
}

}  // namespace omnisync::test::sim
