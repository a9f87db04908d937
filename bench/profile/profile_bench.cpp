// Identity resolution at scale: N synthetic source records from Salesforce, HubSpot and Zendesk (about 30% of them
// belonging to people present in more than one system) resolved into profiles, timed, with peak RSS; and a naive
// baseline (std::map grouping by lower-cased e-mail only) on the same records.
//
//   profile_bench --records N --mode live|shuffled|naive|generate
//
// live:      records arrive in a random order, first_seen = arrival position (what the daemon does: every record
//            takes the append fast path).
// shuffled:  the same records arrive in another random order with first_seen drawn independently of it (a rebuild
//            from an unordered source: most records arrive "in the past" and recompute their region).
// naive:     the baseline.
// generate:  only generates the records (the generator's share of every timing).
// Prints one JSON line. Records are generated on the fly from their index, so the input costs no memory.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "bench/profile/population.hpp"
#include "daemon/profile/resolver.hpp"

using omnisync::profile::identity_key;
using omnisync::profile::profile_id;
using omnisync::profile::resolver;
using omnisync::profile::source_record;
using omnisync::bench::mix;
using omnisync::bench::objects;
using omnisync::bench::population;
using omnisync::bench::systems;

namespace {

// One generated record; its strings live in this object's buffers.
struct generated {
  char id[32], email[96], phone[32], ext_attr[40];
  identity_key keys[3];
  std::size_t nkeys = 0;
  unsigned sys = 0;
};

// Deterministic per person: whether it has a phone (70%), whether its non-Salesforce records drop the e-mail
// (10% of those with a phone: they still match by phone), a generic address (1% of single-system people), or
// an address shared with another Salesforce-only person (0.5%: two different records of one system, never merged).
void generate(const population& pop, std::uint64_t i, generated& g) {
  std::uint64_t person;
  pop.locate(i, person, g.sys);
  const std::uint64_t h = mix(person ^ 0x5eed);
  const bool has_phone = h % 10 < 7;
  const bool drop_email = has_phone && g.sys != 0 && (h >> 8) % 10 == 0;
  const bool single = person >= pop.n3 + pop.n2;
  const bool generic = single && (h >> 16) % 100 == 0;
  const bool shared_sf = single && g.sys == 0 && (h >> 24) % 200 == 0;
  switch (g.sys) {
    case 0: std::snprintf(g.id, sizeof g.id, "003%015llX", static_cast<unsigned long long>(i)); break;
    case 1: std::snprintf(g.id, sizeof g.id, "%llu", static_cast<unsigned long long>(100000 + i)); break;
    default: std::snprintf(g.id, sizeof g.id, "%llu", static_cast<unsigned long long>(20000000 + i)); break;
  }
  g.nkeys = 0;
  std::snprintf(g.ext_attr, sizeof g.ext_attr, "external_ids.%s", systems[g.sys]);
  g.keys[g.nkeys++] = identity_key{g.ext_attr, g.id};
  if (!drop_email) {
    const std::uint64_t who = person;
    if (generic)
      std::snprintf(g.email, sizeof g.email, "info@company%llu.com", static_cast<unsigned long long>(person % 150));
    else if (shared_sf)  // about two Salesforce-only people per address (a household, a shared mailbox)
      std::snprintf(g.email, sizeof g.email, "shared%llu@family.example",
                    static_cast<unsigned long long>((h >> 32) % (pop.n1 / 1200 + 1)));
    else if (g.sys == 0)  // Salesforce: as typed, capitals
      std::snprintf(g.email, sizeof g.email, "First.Last%llu@Domain%llu.COM", static_cast<unsigned long long>(who),
                    static_cast<unsigned long long>(who % 1000));
    else if (g.sys == 1)
      std::snprintf(g.email, sizeof g.email, "first.last%llu@domain%llu.com", static_cast<unsigned long long>(who),
                    static_cast<unsigned long long>(who % 1000));
    else  // Zendesk: stray spaces
      std::snprintf(g.email, sizeof g.email, " FIRST.last%llu@domain%llu.com ", static_cast<unsigned long long>(who),
                    static_cast<unsigned long long>(who % 1000));
    g.keys[g.nkeys++] = identity_key{"email", g.email};
  }
  if (has_phone) {
    const std::uint64_t num = 2000000000ull + person % 7000000000ull;  // 10 digits, unique per person
    const unsigned a = static_cast<unsigned>(num / 10000000), b = static_cast<unsigned>(num / 10000 % 1000),
                   c = static_cast<unsigned>(num % 10000);
    if (g.sys == 0)
      std::snprintf(g.phone, sizeof g.phone, "+1 (%03u) %03u-%04u", a, b, c);
    else if (g.sys == 1)
      std::snprintf(g.phone, sizeof g.phone, "+1%03u%03u%04u", a, b, c);
    else
      std::snprintf(g.phone, sizeof g.phone, "+1.%03u.%03u.%04u", a, b, c);
    g.keys[g.nkeys++] = identity_key{"phone", g.phone};
  }
}

// Profiles the data is built to have: one per person. Generic addresses must not merge single-system strangers,
// Salesforce people sharing an address must stay apart (same object), and people whose HubSpot/Zendesk records
// carry no address must still be found through their phone.
std::uint64_t expected_profiles(const population& pop) { return pop.persons(); }

long peak_rss_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return 0;
}

std::vector<std::uint32_t> permutation(std::uint64_t n, std::uint64_t seed) {
  std::vector<std::uint32_t> p(n);
  std::iota(p.begin(), p.end(), 0u);
  std::shuffle(p.begin(), p.end(), std::mt19937_64(seed));
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t n = 1000000;
  std::string mode = "live";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--records") == 0) n = std::strtoull(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--mode") == 0) mode = argv[i + 1];
  }
  const population pop(n);
  // Arrival orders are permutations of record indexes (4 bytes per record, allocated before timing starts).
  const std::vector<std::uint32_t> order = permutation(n, mode == "shuffled" ? 2 : 1);
  std::vector<std::uint32_t> first_seen;
  if (mode == "shuffled") {
    // first_seen drawn independently of the arrival order: the same records, the same first_seen as in "live"
    // (where first_seen = position in the live order), arriving in a different order.
    const std::vector<std::uint32_t> live = permutation(n, 1);
    first_seen.resize(n);
    for (std::uint32_t pos = 0; pos < n; ++pos) first_seen[live[pos]] = pos;
  }
  generated g;
  std::uint64_t fingerprint = 0, profiles = 0, groups = 0;
  const auto t0 = std::chrono::steady_clock::now();
  std::string extra;
  if (mode == "generate") {
    for (std::uint64_t k = 0; k < n; ++k) {
      generate(pop, order[k], g);
      fingerprint += g.nkeys;
    }
  } else if (mode == "naive") {
    // Group by lower-cased trimmed e-mail in a std::map; records without an e-mail are groups of their own.
    std::map<std::string, std::vector<std::uint32_t>> by_email;
    std::string key;
    for (std::uint64_t k = 0; k < n; ++k) {
      generate(pop, order[k], g);
      const identity_key* email = nullptr;
      for (std::size_t j = 0; j < g.nkeys; ++j)
        if (g.keys[j].attribute == "email") email = &g.keys[j];
      if (!email) {
        ++groups;
        continue;
      }
      key.clear();
      for (char c : email->value)
        if (c != ' ') key.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
      by_email[key].push_back(order[k]);
    }
    groups += by_email.size();
    profiles = groups;
  } else {
    resolver res;
    for (std::uint64_t k = 0; k < n; ++k) {
      const std::uint32_t i = order[k];
      generate(pop, i, g);
      const std::int64_t seen = mode == "shuffled" ? first_seen[i] : static_cast<std::int64_t>(k);
      res.observe(source_record{systems[g.sys], objects[g.sys], g.id, seen, seen,
                                std::span<const identity_key>(g.keys, g.nkeys)});
    }
    const auto t_resolved = std::chrono::steady_clock::now();
    profiles = res.profile_count();
    // Order-independent fingerprint of the whole resolution: the same in live and shuffled runs.
    res.for_each_record([&fingerprint](std::string_view s, std::string_view o, std::string_view id, profile_id p) {
      std::uint64_t h = 1469598103934665603ull;
      for (std::string_view part : {s, o, id})
        for (unsigned char c : part) h = (h ^ c) * 1099511628211ull;
      fingerprint += mix(h ^ p.value);
    });
    const auto st = res.stats();
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  ",\"resolve_seconds\":%.3f,\"links\":%zu,\"identifiers\":%zu,\"edges\":%zu,\"conflicts\":%zu,"
                  "\"fast_inserts\":%zu,\"recomputes\":%zu,\"recomputed_records\":%zu,\"resolver_mb\":%.1f,"
                  "\"id_collisions\":%zu",
                  std::chrono::duration<double>(t_resolved - t0).count(), st.links, st.identifiers, st.edges,
                  st.conflicts, st.fast_inserts, st.recomputes, st.recomputed_records,
                  static_cast<double>(st.memory_bytes) / 1048576.0, st.id_collisions);
    extra = buf;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("{\"mode\":\"%s\",\"records\":%llu,\"seconds\":%.3f,\"profiles\":%llu,\"expected_profiles\":%llu,"
              "\"persons_multi_system\":%llu,\"fingerprint\":\"%016llx\",\"peak_rss_mb\":%.1f%s}\n",
              mode.c_str(), static_cast<unsigned long long>(n), secs, static_cast<unsigned long long>(profiles),
              static_cast<unsigned long long>(expected_profiles(pop)),
              static_cast<unsigned long long>(pop.n2 + pop.n3), static_cast<unsigned long long>(fingerprint),
              static_cast<double>(peak_rss_kb()) / 1024.0, extra.c_str());
  return 0;
}
