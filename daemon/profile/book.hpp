#pragma once
/// The profile book: every profile the daemon knows, kept in step with the source records as they are mapped.
///
///   mapped record ─┬─ person record (Contact, users, ...) ─> resolver ─> members ─> survivorship ─> golden values
///                  └─ interaction record (deal, ticket, ...) ─> events ─> attached to the profile its person
///                     keys resolve to ─> timeline ─> KPIs
///
/// The book is derived state: the store keeps the source records (with the time each was first seen) and the
/// split decisions, and the engine rebuilds the book from them at start-up. Because the resolver's outcome does
/// not depend on arrival order (resolver.hpp), a rebuild gives the same profiles with the same ids.
///
/// What it answers: which profiles a record changed (to propagate), the canonical record of a profile (golden
/// values + KPIs + `_profile_id`, the input of every outbound mapping), the destination record a profile already
/// links in a system, and everything `omnisyncctl profile get|explain` prints.
///
/// Thread safety: none; the engine guards its book with a mutex.
#include <boost/json/fwd.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "daemon/profile/kpis.hpp"
#include "daemon/profile/resolver.hpp"
#include "daemon/profile/survivorship.hpp"
#include "mapping/mapping.hpp"

namespace omnisync::profile {

/// What happens to a profile when one of its source records is deleted at the source.
enum class delete_policy : std::uint8_t {
  ignore,  ///< the record stays linked as a tombstone: its values stop counting, nothing is written to it again
  flag,    ///< as ignore, and the profile's `deleted_in` attribute lists the systems (outbound files may map it)
  /// the person is deleted from every writable system once every record of theirs in one system is deleted
  /// there (a merge inside a system, which deletes one of two records, deletes nobody)
  remove,
};

/// The `identity:`, `survivorship:` and `kpis:` sections of omnisync.yaml.
struct settings {
  resolver_config identity = resolver_config::defaults();
  survivorship_rules survivorship = survivorship_rules::defaults();
  kpi_rules kpis = kpi_rules::defaults();
  delete_policy on_delete = delete_policy::ignore;
};

/// A source record's identity in the book.
struct record_meta {
  record_meta(std::string_view s, std::string_view o, std::string_view i, std::int64_t first, std::int64_t ts,
              bool del)
      : system(s), object(o), id(i), first_seen(first), source_ts(ts), deleted(del) {}
  std::string_view system;  ///< connector name
  std::string_view object, id;
  std::int64_t first_seen = 0;  ///< ms; when the store first saw the record
  std::int64_t source_ts = 0;   ///< ms; the vendor's modification time
  bool deleted = false;
  /// A rebuild replays stored records: their facts (see `book::facts`) come from the store as they were decided
  /// when the record arrived, instead of being derived again from what the book holds now.
  bool replay = false;
  std::string_view stored_facts;  ///< replay only
};

/// A value a webhook event announced for one attribute of a record, at the event's time (the record as re-read
/// may be older, or may hold a stale value omnisync wrote after the edit the event reports).
struct announced_value {
  std::string attribute;
  mapping::value value;
  std::int64_t at = 0;  ///< ms; when the change happened, as the vendor says
};

/// One linked record as `profile get` shows it.
struct member_view {
  std::string system, object, id;
  bool deleted = false;
  std::int64_t first_seen = 0, source_ts = 0;
};

/// Everything `omnisyncctl profile get` prints.
struct profile_view {
  profile_id id;
  std::vector<std::pair<std::string, golden_value>> golden;  ///< by attribute name
  kpi_values kpis;
  std::vector<member_view> members;
  std::vector<event> timeline;  ///< oldest first
};

struct book_stats {
  std::size_t profiles = 0, person_profiles = 0, records = 0, interaction_records = 0, events = 0;
  std::size_t unattached_interactions = 0;  ///< events whose person is not (yet) known
  std::size_t merges = 0;                   ///< profiles retired by a merge since start-up
  /// Records not created in a destination because the upsert could land on another person's record (the engine
  /// fills this in; see engine.cpp withhold_create).
  std::size_t withheld_creates = 0;
  /// The distinct (profile, destination) creates withheld, by "connector/object: reason" (propagator fills it).
  std::map<std::string, std::uint64_t> withheld_reasons;
  /// Bytes held by the person records, by part (the identity graph's tables, the person table, the packed
  /// attributes with the allocator's overhead, the codec's tables), for the book benchmark; approximate.
  std::vector<std::pair<std::string, std::size_t>> memory_parts;
};

class book {
 public:
  explicit book(std::shared_ptr<const settings> s);
  ~book();
  book(const book&) = delete;
  book& operator=(const book&) = delete;

  /// Takes in a mapped record (`m` is null for a deleted record) and adds every profile whose golden values,
  /// members or KPIs may have changed to `affected`. Interaction records (their plan declares `events:`) add
  /// events to the profile their person keys resolve to; other records with identity keys are people.
  void apply(const record_meta& r, const mapping::plan& p, const mapping::mapped_record* m,
             std::set<profile_id>& affected);
  /// Takes in what a webhook event announced for a person record already applied: a value newer than the
  /// information the record's own value carries becomes that attribute's value for survivorship (until the
  /// record is read holding it, or a newer change). Profiles that change go to `affected`.
  void announce(std::string_view system, std::string_view object, std::string_view id,
                std::span<const announced_value> values, std::set<profile_id>& affected);
  /// Takes in what omnisync wrote to a destination record and the vendor acknowledged: per attribute, the golden
  /// value written and when its information dates from. When the record is read back holding that value (the
  /// echo), or an event announces it, the value counts as that old information, not as a change made there now;
  /// and a newer value the record held before, which the write overwrote (a person's edit landing between the
  /// write's computation and its arrival), stays in force as that record's value. Kept in memory, bounded.
  void note_written(std::string_view system, std::string_view object, std::string_view id,
                    std::span<const announced_value> values);
  /// What the book knows of a record beyond its payload, as JSON text to store with it (empty: nothing): per
  /// attribute, when its value's information dates from where that is not the record's modification time (a
  /// value copied from another system keeps its source's time; an unchanged value keeps the time it appeared),
  /// which attributes a change cleared, and values events announced. A rebuild passes it back (`replay`).
  std::string facts(std::string_view system, std::string_view object, std::string_view id) const;
  /// A profile's golden value of one attribute, with its provenance.
  std::optional<golden_value> golden_of(profile_id id, std::string_view attribute) const;

  /// When the record was first seen, if the book holds it (the engine keeps that time on re-reads).
  std::optional<std::int64_t> first_seen(std::string_view system, std::string_view object, std::string_view id) const;

  bool contains(profile_id id) const;
  /// Every profile id (in no particular order).
  std::vector<profile_id> profiles() const;
  /// A profile is propagated to people objects only when one of its records is a person (has an e-mail or
  /// phone identity): a company profile does not become a Contact.
  bool is_person(profile_id id) const;
  /// The canonical record of a profile: golden values, KPIs, `_profile_id` (and `deleted_in` under `flag`).
  std::string canonical_json(profile_id id) const;
  /// The same record as a JSON object (cleared first), for readers that look into it (`profile list`).
  void canonical_record(profile_id id, boost::json::object& out) const;
  /// The canonical record of one source record as its own mapping saw it, with the profile id it holds (the
  /// `omnisync_id` read back): what the destination holds now, to compare a write with.
  std::optional<std::string> record_json(std::string_view system, std::string_view object, std::string_view id) const;
  /// The vendor's modification time (ms) of that record as the book last took it in.
  std::optional<std::int64_t> record_modified(std::string_view system, std::string_view object,
                                              std::string_view id) const;
  /// The systems in which every record of the profile is deleted (none: nothing was deleted, or something is
  /// left everywhere).
  std::vector<std::string> gone_from(profile_id id) const;
  /// The profile's live record of (system, object): its id, or nullopt. `deleted` is set when the only one was
  /// deleted at the source (then nothing is written there).
  std::optional<std::string> member_id(profile_id id, std::string_view system, std::string_view object,
                                       bool* deleted = nullptr) const;

  /// Why creating the profile's record in a destination that matches by `value` (an upsert by e-mail) could hit
  /// another person's record there (see resolver::match_risk); nullopt: safe.
  std::optional<std::string> match_risk(profile_id id, std::string_view value) const;
  /// A profile by "p0123…", "system:id" / "system:object:id", or an e-mail / phone.
  std::optional<profile_id> find(std::string_view query) const;
  std::optional<profile_view> view(profile_id id) const;
  /// The profile's KPIs and lifecycle stage as `view` computes them, without copying its timeline (the history of
  /// stage and KPI changes compares them before and after a page). nullopt: no such profile.
  std::optional<kpi_values> kpis(profile_id id) const;
  std::optional<explanation> explain(profile_id id) const;

  /// Removes one link (see resolver::split); the profiles it changed go to `affected`. False when the record
  /// does not hold the identifier.
  bool split(const link_ref& link, std::set<profile_id>& affected);
  bool restore(const link_ref& link, std::set<profile_id>& affected);
  /// A stored split, before the rebuild observes records.
  bool preload_split(const link_ref& link);
  std::vector<link_ref> splits() const;

  book_stats stats() const;
  const settings& config() const noexcept { return *settings_; }

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::shared_ptr<const settings> settings_;
};

/// "system:object:id" of a record.
std::string record_key(std::string_view system, std::string_view object, std::string_view id);

}  // namespace omnisync::profile
