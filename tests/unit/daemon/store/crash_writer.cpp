// store_crash_writer STATE_DIR BATCH_SIZE: appends batches of records (each with the cursor that covers it)
// and one inbox event per batch, forever, printing "committed N" after batch N is durable. The crash test
// kills it with SIGKILL at arbitrary points and then checks what the store holds.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "daemon/store/blocking.hpp"
#include "daemon/store/store.hpp"

using namespace omnisync::store;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: store_crash_writer STATE_DIR BATCH_SIZE\n";
    return 2;
  }
  // stdout carries the protocol with the test; logs go to stderr.
  spdlog::set_default_logger(spdlog::stderr_logger_mt("crash_writer"));
  options o;
  o.state_dir = argv[1];
  const int batch_size = std::atoi(argv[2]);
  std::string why;
  auto opened = open_store(o, &why);
  if (!opened) {
    std::cerr << "open failed: " << why << "\n";
    return 1;
  }
  auto& s = **opened;
  auto cur = wait(s.cursor_get("crm", "contact"));
  if (!cur) return 1;
  long next = *cur ? std::stol(**cur) + 1 : 1;
  const std::string filler(512, 'x');  // bigger pages: the kill lands inside a write more often
  std::cout << "ready " << next << std::endl;
  for (long b = next;; ++b) {
    record_batch batch{"crm", "contact", {}, std::to_string(b), {}};
    for (int k = 0; k < batch_size; ++k) {
      batch.records.push_back({"b" + std::to_string(b) + "-" + std::to_string(k),
                               R"({"batch":)" + std::to_string(b) + R"(,"fill":")" + filler + "\"}",
                               timestamp(std::chrono::milliseconds(b)), false});
    }
    auto r = wait(s.append_records(std::move(batch)));
    if (!r) {
      std::cerr << "append failed: " << r.error().message() << "\n";
      return 1;
    }
    auto e = wait(s.inbox_append({"crm", "e" + std::to_string(b), timestamp(std::chrono::milliseconds(b)), "{}",
                                  "event " + std::to_string(b)}));
    if (!e) {
      std::cerr << "inbox append failed: " << e.error().message() << "\n";
      return 1;
    }
    std::cout << "committed " << b << std::endl;
  }
}
