// connection_slots on its own (the listeners' use of it is tested against real sockets in test_listener and
// test_console_server): room below the limit; at the limit the longest-waiting connection is closed — never one
// busy with a request, never the same one twice — and a newcomer is refused only when all are busy.
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <thread>

#include "core/connection_slots.hpp"

using omnisync::connection_slots;
using admission = connection_slots::admission;

namespace {

/// Open connections by name, each with its waiting mark and how often it was asked to close.
struct fake_connections {
  connection_slots& slots;
  std::map<std::string, std::shared_ptr<connection_slots::waiting_mark>> marks;
  std::map<std::string, int> closed;
  std::map<std::string, std::uint64_t> ids;
  void open(const std::string& name) {
    auto m = std::make_shared<connection_slots::waiting_mark>();
    marks[name] = m;
    closed[name] = 0;
    ids[name] = slots.add([this, name] { ++closed[name]; }, m);
  }
};

/// Steady-clock ticks pass between two marks (their order is the clock's).
void tick() { std::this_thread::sleep_for(std::chrono::microseconds(50)); }

}  // namespace

TEST_CASE("connection slots: the longest-waiting connection makes room, busy ones never, full when all are busy",
          "[core][http]") {
  connection_slots slots(3);
  fake_connections c{slots};
  CHECK(slots.admit() == admission::room);
  c.open("a");
  c.open("b");
  CHECK(slots.admit() == admission::room);
  c.open("c");
  CHECK(slots.active() == 3);

  // All three busy (working on a request): a newcomer is refused, nobody is closed.
  for (auto& [n, m] : c.marks) m->working();
  CHECK(slots.admit() == admission::full);
  CHECK(slots.refused() == 1);
  CHECK(c.closed == std::map<std::string, int>{{"a", 0}, {"b", 0}, {"c", 0}});

  // b waits first, then c: b goes, then c (b, being closed, is not chosen again), then none is left to shed.
  c.marks["b"]->waiting();
  tick();
  c.marks["c"]->waiting();
  CHECK(slots.admit() == admission::shed);
  CHECK(c.closed["b"] == 1);
  CHECK(slots.admit() == admission::shed);
  CHECK(c.closed["c"] == 1);
  CHECK(slots.admit() == admission::full);
  CHECK(c.closed == std::map<std::string, int>{{"a", 0}, {"b", 1}, {"c", 1}});
  CHECK(slots.shed() == 2);
  CHECK(slots.refused() == 2);

  // Gone: room again, and the ids are not reused.
  slots.remove(c.ids["b"]);
  slots.remove(c.ids["b"]);  // twice is harmless
  CHECK(slots.active() == 2);
  CHECK(slots.admit() == admission::room);
  c.open("d");
  CHECK(c.ids["d"] != c.ids["b"]);

  // A connection waiting again after its request is a candidate again; close_all reaches every open one.
  slots.remove(c.ids["c"]);
  c.open("e");
  c.marks["a"]->waiting();
  CHECK(slots.admit() == admission::shed);
  CHECK(c.closed["a"] == 1);
  slots.close_all();
  CHECK(c.closed["a"] == 2);
  CHECK(c.closed["d"] == 1);
  CHECK(c.closed["e"] == 1);
  CHECK(c.closed["b"] == 1);  // removed: not reached
}
