#pragma once
// A profile book fed with raw vendor records through the shipped inbound mappings (Salesforce Contact as connector
// "sf", HubSpot contacts as "hs"), remembering what a store would keep (payload, stamp, facts) so tests can replay
// it; and two record builders. Shared by the book-facts and propagation tests.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "daemon/profile/book.hpp"
#include "daemon/profile/value_json.hpp"
#include "mapping/canonical.hpp"
#include "mapping/mapping.hpp"

namespace omnisync::test::profile {

namespace fs = std::filesystem;
using namespace omnisync::profile;
namespace mapping = omnisync::mapping;

namespace fs = std::filesystem;

inline std::shared_ptr<const mapping::plan> shipped(const char* rel) {
  omnisync::config::diagnostics d;
  auto p = mapping::load_mapping_file(fs::path(OMNISYNC_SOURCE_DIR) / "config" / "mappings" / rel,
                                      mapping::default_canonical_attributes(), d);
  INFO(d.format());
  REQUIRE(p != nullptr);
  return p;
}

struct stored {
  std::string system, object, id, json;
  std::int64_t ts = 0;
  std::string facts;
};

/// A book fed with raw vendor records through the shipped inbound mappings, remembering what a store would keep.
struct fed_book {
  std::shared_ptr<const mapping::plan> sf = shipped("salesforce/Contact.in.yaml");
  std::shared_ptr<const mapping::plan> hs = shipped("hubspot/contacts.in.yaml");
  std::shared_ptr<const settings> rules = std::make_shared<settings>();
  book b{rules};
  fed_book() = default;
  explicit fed_book(std::shared_ptr<const settings> s) : rules(std::move(s)), b(rules) {}
  std::vector<stored> store;

  const mapping::plan& plan_of(const std::string& system) { return system == "sf" ? *sf : *hs; }

  void apply(const std::string& system, const std::string& id, std::int64_t ts, const std::string& json,
             std::vector<announced_value> announced = {}) {
    auto p = system == "sf" ? sf : hs;
    mapping::evaluator ev(p);
    mapping::record_error err;
    const auto* m = ev.apply(json, err);
    INFO(err.format());
    REQUIRE(m != nullptr);
    std::set<profile_id> affected;
    record_meta meta(system, p->object(), id, 1, ts, false);
    b.apply(meta, *p, m, affected);
    if (!announced.empty()) b.announce(system, p->object(), id, announced, affected);
    auto it = std::find_if(store.begin(), store.end(), [&](const stored& s) { return s.system == system && s.id == id; });
    if (it == store.end()) it = store.insert(store.end(), stored{system, p->object(), id, "", 0, ""});
    it->json = json;
    it->ts = ts;
    it->facts = b.facts(system, p->object(), id);
  }

  std::string golden(const std::string& query, const char* attribute) const { return golden_in(b, query, attribute); }
  static std::string golden_in(const book& bk, const std::string& query, const char* attribute) {
    auto pid = bk.find(query);
    REQUIRE(pid.has_value());
    auto g = bk.golden_of(*pid, attribute);
    if (!g) return "(none)";
    return boost::json::serialize(to_json(g->value));
  }

  /// A new book from the stored records and facts, applied in the given order (a rebuild).
  std::unique_ptr<book> rebuild(std::vector<stored> order) {
    auto nb = std::make_unique<book>(rules);
    for (const auto& r : order) {
      auto p = r.system == "sf" ? sf : hs;
      mapping::evaluator ev(p);
      mapping::record_error err;
      const auto* m = ev.apply(r.json, err);
      REQUIRE(m != nullptr);
      std::set<profile_id> affected;
      record_meta meta(r.system, r.object, r.id, 1, r.ts, false);
      meta.replay = true;
      meta.stored_facts = r.facts;
      nb->apply(meta, *p, m, affected);
    }
    return nb;
  }
};

inline std::string sf_contact(const char* phone, const char* first = "Ann") {
  return std::string(R"({"Id":"003A","Email":"ann@example.com","FirstName":")") + first +
         R"(","LastName":"Lee","Phone":)" + (phone ? "\"" + std::string(phone) + "\"" : "null") +
         R"(,"SystemModstamp":"2026-01-01T00:00:00.000Z"})";
}
inline std::string hs_contact(const char* phone, const char* first = "Ann") {
  return std::string(R"({"id":"901","properties":{"email":"ann@example.com","firstname":")") + first +
         R"(","lastname":"Lee","phone":)" + (phone ? "\"" + std::string(phone) + "\"" : "null") + "}}";
}


}  // namespace omnisync::test::profile
