#pragma once
/// The people every vendor simulator draws from: person p has the same name in Salesforce, HubSpot, Zendesk,
/// ActiveCampaign and Intercom (each vendor decides which people it holds and how it spells their emails and
/// phones), so identity resolution sees real overlap. Header-only so the vendor libraries need no link to
/// sim/core.
#include <array>
#include <cstdint>
#include <string>

namespace omnisync::sim {

/// SplitMix64 finaliser: the deterministic hash all seeded data derives from.
inline std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

struct person_name {
  std::string first;
  std::string last;
};

/// Person `p`'s name for data set `seed`.
inline person_name person(std::uint64_t seed, std::int64_t p) {
  static constexpr std::array<const char*, 12> first = {"Ann",  "Bob",   "Chloe", "Dmitri", "Eva",  "Farah",
                                                         "Goro", "Hanna", "Ivan",  "Jia",    "Kofi", "Lena"};
  static constexpr std::array<const char*, 10> last = {"Lee",    "Novak",  "Okafor", "Silva", "Schmidt",
                                                        "Tanaka", "Haddad", "Brown",  "Rossi", "Kowalski"};
  const std::uint64_t h = mix(seed ^ (0x5EED000000ULL + static_cast<std::uint64_t>(p)));
  return {first[h % first.size()], last[(h >> 8) % last.size()]};
}

}  // namespace omnisync::sim
