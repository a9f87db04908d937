#pragma once
// The synthetic population the profile benchmarks share (profile_bench: the resolver alone; book_bench: the whole
// profile book): N source records from Salesforce, HubSpot and Zendesk, 30% of them belonging to people present
// in more than one system. Record i is generated from its index alone, so the input costs no memory.
#include <cstdint>

namespace omnisync::bench {

inline std::uint64_t mix(std::uint64_t x) {  // splitmix64: a cheap, well-spread hash for deterministic choices
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

inline const char* const systems[] = {"salesforce", "hubspot", "zendesk"};
inline const char* const objects[] = {"Contact", "contacts", "users"};

// The population: n3 people in all three systems, n2 in two, n1 in one; 2*n2 + 3*n3 = 30% of the records.
struct population {
  std::uint64_t n, n1, n2, n3;
  explicit population(std::uint64_t records) : n(records) {
    n3 = records * 3 / 100;
    n2 = (records * 30 / 100 - 3 * n3) / 2;
    n1 = records - 2 * n2 - 3 * n3;
  }
  std::uint64_t persons() const { return n1 + n2 + n3; }
  // Record i -> (person, system).
  void locate(std::uint64_t i, std::uint64_t& person, unsigned& sys) const {
    if (i < 3 * n3) {
      person = i / 3;
      sys = static_cast<unsigned>(i % 3);
    } else if (i < 3 * n3 + 2 * n2) {
      const std::uint64_t j = i - 3 * n3;
      person = n3 + j / 2;
      static const unsigned pairs[3][2] = {{0, 1}, {0, 2}, {1, 2}};
      sys = pairs[mix(person) % 3][j % 2];
    } else {
      person = n3 + n2 + (i - 3 * n3 - 2 * n2);
      sys = static_cast<unsigned>(mix(person) % 3);
    }
  }
};

}  // namespace omnisync::bench
