// The whole profile book at scale: N generated vendor records (Salesforce Contacts, HubSpot contacts, Zendesk
// users; the population of profile_bench, about 30% of the records belonging to people in two or three systems)
// mapped with the shipped inbound mappings and applied to one `book` as a rebuild applies stored records. Reports
// build time, bytes per record (RSS grown by the build / N), and the time to answer
// `profile get` (find + view + explain, what the daemon's handler calls) for profiles never asked before ("cold":
// nothing of theirs in the CPU caches) and the same profiles asked again ("warm").
//
//   book_bench --records N [--queries Q] [--mappings DIR] [--mode rebuild|live]
//
// rebuild: records applied as a start-up rebuild does (facts from the store; no golden values computed per record).
// live:    as records arriving from polls do (each one's profile's golden values computed before it changes).
// Prints one JSON line.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "bench/profile/population.hpp"
#include "daemon/profile/book.hpp"
#include "mapping/canonical.hpp"
#include "mapping/mapping.hpp"

namespace {

using omnisync::bench::mix;
using omnisync::bench::objects;
using omnisync::bench::population;
using omnisync::bench::systems;
namespace profile = omnisync::profile;
namespace mapping = omnisync::mapping;
using clock_type = std::chrono::steady_clock;

long status_kb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::size_t n = std::strlen(field);
  while (std::getline(in, line))
    if (line.compare(0, n, field) == 0) return std::strtol(line.c_str() + n + 1, nullptr, 10);
  return 0;
}

const char* const first_names[] = {"James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda",
                                   "William", "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica",
                                   "Thomas", "Sarah", "Charles", "Karen", "Anna", "Luis", "Mei", "Olu", "Sven"};
const char* const sf_stages[] = {"Lead", "MQL", "SQL", "Customer", "Evangelist"};
const char* const hs_stages[] = {"subscriber", "lead", "marketingqualifiedlead", "opportunity", "customer"};

// The e-mail of a person as each system holds it (casing and spacing differ, as in profile_bench).
void email_of(std::uint64_t person, unsigned sys, char* out, std::size_t size) {
  const auto p = static_cast<unsigned long long>(person), d = static_cast<unsigned long long>(person % 1000);
  if (sys == 0) std::snprintf(out, size, "First.Last%llu@Domain%llu.COM", p, d);
  else if (sys == 1) std::snprintf(out, size, "first.last%llu@domain%llu.com", p, d);
  else std::snprintf(out, size, "first.LAST%llu@domain%llu.com", p, d);
}

// Record i as its vendor's API returns it; `id` receives its id.
std::string vendor_json(const population& pop, std::uint64_t i, unsigned& sys, std::string& id) {
  std::uint64_t person;
  pop.locate(i, person, sys);
  const std::uint64_t h = mix(person ^ 0x5eed);
  const bool has_phone = h % 10 < 7;
  const bool drop_email = has_phone && sys != 0 && (h >> 8) % 10 == 0;
  char email[96] = "", phone[40] = "", buf[1024], idbuf[32];
  if (!drop_email) email_of(person, sys, email, sizeof email);
  if (has_phone) {
    const std::uint64_t num = 2000000000ull + person % 7000000000ull;
    std::snprintf(phone, sizeof phone, "+1 (%03u) %03u-%04u", static_cast<unsigned>(num / 10000000),
                  static_cast<unsigned>(num / 10000 % 1000), static_cast<unsigned>(num % 10000));
  }
  const char* first = first_names[h % std::size(first_names)];
  const auto last = static_cast<unsigned long long>(person % 5000);
  const auto company = static_cast<unsigned long long>((h >> 20) % 20000);
  const unsigned score = static_cast<unsigned>((h >> 40) % 100);
  const unsigned day = 1 + static_cast<unsigned>(i % 28), sec = static_cast<unsigned>(i % 60);
  switch (sys) {
    case 0:
      std::snprintf(idbuf, sizeof idbuf, "003%015llX", static_cast<unsigned long long>(i));
      std::snprintf(buf, sizeof buf,
                    R"({"attributes":{"type":"Contact"},"Id":"%s","Email":%s%s%s,"FirstName":"%s","LastName":"Last%llu",)"
                    R"("MobilePhone":%s%s%s,"Account":{"Name":"Company %llu"},"Lifecycle_Stage__c":"%s",)"
                    R"("Lead_Score__c":%u,"HasOptedOutOfEmail":false,"SystemModstamp":"2026-11-%02uT10:00:%02u.000+0000",)"
                    R"("Omnisync_Id__c":null})",
                    idbuf, *email ? "\"" : "", *email ? email : "null", *email ? "\"" : "", first, last,
                    *phone ? "\"" : "", *phone ? phone : "null", *phone ? "\"" : "", company,
                    sf_stages[(h >> 12) % 5], score, day, sec);
      break;
    case 1:
      std::snprintf(idbuf, sizeof idbuf, "%llu", static_cast<unsigned long long>(100000 + i));
      std::snprintf(buf, sizeof buf,
                    R"({"id":"%s","properties":{"email":%s%s%s,"firstname":"%s","lastname":"Last%llu","phone":%s%s%s,)"
                    R"("company":"Company %llu","lifecyclestage":"%s","hubspotscore":"%u","hs_tag_names":"%s",)"
                    R"("lastmodifieddate":"2026-11-%02uT10:00:%02u.000Z"},"updatedAt":"2026-11-%02uT10:00:%02u.000Z"})",
                    idbuf, *email ? "\"" : "", *email ? email : "null", *email ? "\"" : "", first, last,
                    *phone ? "\"" : "", *phone ? phone : "null", *phone ? "\"" : "", company,
                    hs_stages[(h >> 12) % 5], score, (h >> 16) % 3 ? "newsletter" : "vip;newsletter", day, sec, day, sec);
      break;
    default:
      std::snprintf(idbuf, sizeof idbuf, "%llu", static_cast<unsigned long long>(20000000 + i));
      std::snprintf(buf, sizeof buf,
                    R"({"id":%s,"email":%s%s%s,"name":"%s Last%llu","phone":%s%s%s,"tags":["%s"],)"
                    R"("updated_at":"2026-11-%02uT10:00:%02uZ","external_id":null})",
                    idbuf, *email ? "\"" : "", *email ? email : "null", *email ? "\"" : "", first, last,
                    *phone ? "\"" : "", *phone ? phone : "null", *phone ? "\"" : "",
                    (h >> 16) % 3 ? "customer" : "vip", day, sec);
      break;
  }
  id = idbuf;
  return buf;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t n = 1000000, queries = 200;
  std::string dir = OMNISYNC_SOURCE_DIR "/config/mappings", mode = "rebuild";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--records") == 0) n = std::strtoull(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--queries") == 0) queries = std::strtoull(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--mappings") == 0) dir = argv[i + 1];
    if (std::strcmp(argv[i], "--mode") == 0) mode = argv[i + 1];
  }
  const char* files[] = {"salesforce/Contact.in.yaml", "hubspot/contacts.in.yaml", "zendesk/users.in.yaml"};
  std::vector<std::shared_ptr<const mapping::plan>> plans;
  std::vector<std::unique_ptr<mapping::evaluator>> evals;
  for (const char* f : files) {
    omnisync::config::diagnostics d;
    auto p = mapping::load_mapping_file(dir + "/" + f, mapping::default_canonical_attributes(), d);
    if (!p) {
      std::fprintf(stderr, "%s", d.format().c_str());
      return 1;
    }
    plans.push_back(p);
    evals.push_back(std::make_unique<mapping::evaluator>(p));
  }
  const population pop(n);
  auto settings = std::make_shared<profile::settings>();
  profile::book b(settings);
  const long rss_before = status_kb("VmRSS:");
  std::set<profile::profile_id> affected;
  std::string id;
  std::uint64_t failed = 0;
  const auto t0 = clock_type::now();
  for (std::uint64_t i = 0; i < n; ++i) {
    unsigned sys = 0;
    const std::string json = vendor_json(pop, i, sys, id);
    mapping::record_error err;
    const auto* m = evals[sys]->apply(json, err);
    if (!m) {
      if (failed++ == 0) std::fprintf(stderr, "record %llu: %s\n%s\n", static_cast<unsigned long long>(i),
                                      err.format().c_str(), json.c_str());
      continue;
    }
    // first_seen = position: the order the store hands a rebuild its records in.
    profile::record_meta meta(systems[sys], objects[sys], id, static_cast<std::int64_t>(i) + 1,
                              1700000000000 + static_cast<std::int64_t>(i), false);
    meta.replay = mode == "rebuild";
    b.apply(meta, *plans[sys], m, affected);
    affected.clear();
  }
  const double build_s = std::chrono::duration<double>(clock_type::now() - t0).count();
  const long rss_after = status_kb("VmRSS:");
  const auto st = b.stats();

  // profile get, as the daemon's handler answers it: find + view + explain. Cold: profiles not asked before,
  // spread over the whole book; warm: each asked again at once, 5 times.
  std::vector<double> cold, warm;
  std::uint64_t answered = 0;
  char email[96];
  for (std::uint64_t q = 0; q < queries; ++q) {
    std::uint64_t person = mix(q * 7919 + 13) % pop.persons();
    // A person whose HubSpot/Zendesk records carry no e-mail and who has no Salesforce record cannot be found by
    // e-mail: the next one is asked.
    while (mix(person ^ 0x5eed) % 10 < 7 && (mix(person ^ 0x5eed) >> 8) % 10 == 0) person = (person + 1) % pop.persons();
    email_of(person, 1, email, sizeof email);
    auto ask = [&] {
      const auto s = clock_type::now();
      if (auto pid = b.find(email)) {
        auto v = b.view(*pid);
        auto why = b.explain(*pid);
        if (v && why && !v->members.empty()) ++answered;
      }
      return std::chrono::duration<double, std::micro>(clock_type::now() - s).count();
    };
    cold.push_back(ask());
    for (int k = 0; k < 5; ++k) warm.push_back(ask());
  }
  // Bytes per record by part (book_stats::memory_parts): what the tables hold, not what malloc returned to RSS.
  std::string parts;
  for (const auto& [name, bytes] : st.memory_parts) {
    char item[160];
    std::snprintf(item, sizeof item, "%s\"%s\":%.1f", parts.empty() ? "" : ",", name.c_str(),
                  static_cast<double>(bytes) / static_cast<double>(n));
    parts += item;
  }
  std::printf("{\"mode\":\"%s\",\"records\":%llu,\"mapping_failures\":%llu,\"build_seconds\":%.2f,\"profiles\":%zu,"
              "\"book_records\":%zu,\"rss_before_mb\":%.1f,\"rss_after_mb\":%.1f,\"peak_rss_mb\":%.1f,"
              "\"bytes_per_record\":%.1f,\"queries\":%llu,\"answered\":%llu,"
              "\"get_cold_us\":%.1f,\"get_warm_us\":%.1f,\"parts\":{%s}}\n",
              mode.c_str(), static_cast<unsigned long long>(n), static_cast<unsigned long long>(failed), build_s,
              st.profiles, st.records, rss_before / 1024.0, rss_after / 1024.0, status_kb("VmHWM:") / 1024.0,
              (rss_after - rss_before) * 1024.0 / static_cast<double>(n),
              static_cast<unsigned long long>(queries), static_cast<unsigned long long>(answered), median(cold),
              median(warm), parts.c_str());
  return failed == n ? 1 : 0;
}
