#pragma once
/// What the segment-membership cases of every vendor share (test_<vendor>_adapter_membership.cpp): an audience
/// ensured twice and found the second time, the outcome checks of a membership change, and the 10,000-change run
/// of the hidden [.bench] cases. `Harness` is a connector harness with `c` and `run` (connector_harness.hpp,
/// salesforce_harness.hpp).
#include <catch2/catch.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "adapters/connector.hpp"

namespace omnisync::test::adapters {

/// Ensures `spec`'s audience twice: the second call finds the first one's (by name), not a new one. Its id.
template <class Harness>
std::string ensure_once(Harness& h, const omnisync::adapters::audience_spec& spec) {
  auto id = h.run(h.c->ensure_audience(spec));
  REQUIRE(id.has_value());
  auto again = h.run(h.c->ensure_audience(spec));
  REQUIRE(again.has_value());
  CHECK(*again == *id);
  return *id;
}

/// Every change written, except the one of outbox id `refused` (if any): rejected, with `words` in its error.
inline void check_written(const std::vector<omnisync::adapters::write_result>& results,
                          std::optional<std::int64_t> refused = std::nullopt, const std::string& words = {}) {
  using omnisync::adapters::write_result;
  for (const auto& w : results) {
    if (refused && w.outbox_id == *refused) {
      CHECK(w.status == write_result::outcome::rejected);
      CHECK_THAT(w.error, Catch::Contains(words));
    } else {
      CHECK(w.status == write_result::outcome::written);
    }
  }
}

/// 10,000 membership changes of audience `id`: members `key(1)` to `key(5000)` added, then removed, each change
/// written. The removals carry the row ids the adds answered, as the writer stores and sends them.
template <class Harness>
void change_10000(Harness& h, const omnisync::adapters::audience_spec& spec, const std::string& id,
                  const std::function<std::string(int)>& key) {
  using omnisync::adapters::write_result;
  std::map<std::int64_t, std::string> rows;  // outbox id → row id
  for (bool add : {true, false}) {
    std::vector<omnisync::adapters::membership_item> items;
    for (int i = 1; i <= 5000; ++i) items.push_back({i, key(i), add, add ? std::string() : rows[i]});
    auto r = h.run(h.c->change_membership(spec, id, items));
    REQUIRE(r.has_value());
    for (const auto& w : *r) {
      REQUIRE(w.status == write_result::outcome::written);
      if (add) rows[w.outbox_id] = w.row_id;
    }
  }
}

}  // namespace omnisync::test::adapters
