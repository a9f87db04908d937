#pragma once
/// Identity resolution: which source records (system, object, id) belong to the same person.
///
/// Records arrive one at a time with their identity keys (normalised email, E.164 phone, ids kept in other
/// systems, ...). Each arriving record links to, creates or merges profiles, under declared match rules and merge
/// protection (ids of one system never mix, generic addresses never match, caps per system and per identifier).
/// Every link is kept as an edge (which identifier joined which records, when, by which rule) and every refused
/// merge as a conflict, so `explain` can show why a profile looks the way it does, and `split` can undo a link.
///
/// The outcome is a function of the set of records, their `first_seen` values, the split decisions and the
/// config, never of arrival order: see README.md ("Determinism") for the rule and why it holds.
///
/// Thread safety: none. One resolver is owned by one strand; even const members compress union-find paths.
#include <compare>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace omnisync::profile {

/// How an identity value is normalised before comparing.
enum class normalizer : std::uint8_t {
  exact,             ///< byte-exact (vendor ids)
  email,             ///< trimmed, ASCII lower-case; values without '@' are not identifiers
  phone,             ///< E.164 as given, formatting removed (spaces, dashes, dots, brackets); fewer than 6 digits: ignored
  case_insensitive,  ///< trimmed, ASCII lower-case
  profile_ref,       ///< an omnisync profile id as written into a system ("p" + 16 hex digits); others: ignored
};

/// One deterministic match rule: records holding the same normalised value of `attribute` are the same person.
struct match_rule {
  std::string name;       ///< shown in explanations, e.g. "email"
  std::string attribute;  ///< canonical attribute ("email"), or a family ending in ".*" ("external_ids.*")
  normalizer norm = normalizer::exact;
  /// A profile holds at most one value of each such attribute: two profiles holding different ids of one system
  /// (e.g. external_ids.salesforce) are never merged.
  bool exclusive = false;
  std::vector<std::string> blocked_values;  ///< normalised values that never match (a shared office phone)
};

/// The identity section of the config (the config reader fills it; defaults() is the shipped set).
struct resolver_config {
  std::vector<match_rule> rules;  ///< in priority order (explanations and tie-breaks follow it)
  /// E-mail local parts (before '@', any "+tag" removed, lower-case) that never match: shared mailboxes.
  std::vector<std::string> generic_local_parts;
  /// Never merge two records of the same (system, object): they are different records by the vendor's own ids.
  bool one_record_per_object = true;
  /// A profile links at most this many records of one system.
  unsigned max_records_per_system = 5;
  /// An identifier held by more records than this matches nothing (a value this shared is not a person's).
  unsigned max_records_per_identifier = 50;

  /// external ids (exclusive), then email, then phone; the shipped generic-address list.
  static resolver_config defaults();
  /// The rule every config has, added when the config does not name it: records holding the same omnisync
  /// profile id (written into each system, read back as `omnisync_id`) are one person — so a record keeps its
  /// profile when its e-mail and phone change. Not exclusive: profiles merged later hold two such ids for a while.
  static match_rule profile_id_rule();
};

/// A stable profile id: "p" + 16 hex digits, derived from the profile's founding record (README.md).
struct profile_id {
  std::uint64_t value = 0;
  std::string str() const;
  static std::optional<profile_id> parse(std::string_view text);
  friend auto operator<=>(const profile_id&, const profile_id&) = default;
};

/// One identity key of an arriving record, e.g. {"email", "Ann@Example.com"}; views into the caller's memory.
struct identity_key {
  std::string_view attribute;
  std::string_view value;
};

/// A source record as the resolver sees it. Views: the resolver copies what it keeps.
struct source_record {
  std::string_view system;  ///< connector name
  std::string_view object;
  std::string_view id;
  /// When omnisync first saw this record (ms since epoch), kept durably by the store: it orders records for
  /// profile ids and tie-breaks, so a rebuild must pass the same value. 0 when unknown (then keys order alone).
  std::int64_t first_seen = 0;
  /// When this observation happened (ms); stamps new links. 0: first_seen.
  std::int64_t observed_at = 0;
  std::span<const identity_key> keys;
};

/// A source record named by strings (owning).
struct record_ref {
  std::string system, object, id;
  std::string key() const { return system + ":" + object + ":" + id; }
  friend bool operator==(const record_ref&, const record_ref&) = default;
};

/// Names one link (a record's identifier) for split and restore, as `explain` shows it.
struct link_ref {
  record_ref record;
  std::string attribute;
  std::string value;  ///< normalised or not: it is normalised again
};

/// An accepted link: `from` joined the profile through `to`, both holding attribute = value.
struct edge_info {
  record_ref from, to;
  std::string rule, attribute, value;
  std::int64_t at = 0;  ///< when the later of the two records first carried the identifier
};

enum class conflict_reason : std::uint8_t {
  exclusive_id,  ///< the two sides hold different values of an exclusive attribute (detail: the attribute)
  same_object,   ///< both sides hold a record of the same system and object (detail: "system:object")
  system_cap,    ///< together they would exceed max_records_per_system (detail: the system)
};
std::string_view to_string(conflict_reason r) noexcept;

/// A refused merge: `record` shares attribute = value with `other`, but their profiles may not merge.
struct conflict_info {
  record_ref record, other;
  std::string rule, attribute, value;
  conflict_reason reason{};
  std::string detail;
};

enum class ignored_reason : std::uint8_t {
  generic,    ///< a generic e-mail address (info@, noreply@, ...)
  blocked,    ///< a blocked value of the rule
  split,      ///< removed by `split`
  saturated,  ///< held by more than max_records_per_identifier records
};
std::string_view to_string(ignored_reason r) noexcept;

/// An identifier a member holds that does not link it to anything, and why.
struct ignored_info {
  record_ref record;
  std::string attribute, value;
  ignored_reason reason{};
};

/// Everything that explains one profile.
struct explanation {
  profile_id id;
  std::vector<record_ref> records;  ///< founding record first, then in (first_seen, key) order
  std::vector<edge_info> edges;
  std::vector<conflict_info> conflicts;  ///< refused merges with records of other profiles
  std::vector<ignored_info> ignored;
};

/// What an operation changed, for the caller that recomputes golden values and KPIs.
struct change {
  std::optional<profile_id> profile;  ///< the record's profile afterwards (none after forget)
  std::vector<profile_id> retired;    ///< ids that no longer exist (merged away, or split off and renamed)
  std::vector<profile_id> touched;    ///< existing profiles whose members may have changed
  bool recomputed = false;            ///< a region was recomputed (rather than the append fast path)
};

struct resolver_stats {
  std::size_t records = 0, profiles = 0, identifiers = 0, links = 0, edges = 0, conflicts = 0;
  std::size_t fast_inserts = 0, recomputes = 0, recomputed_records = 0;
  std::size_t ignored_keys = 0;  ///< keys with no rule, or values not usable as identifiers
  std::size_t id_collisions = 0; ///< two founders hashing to one profile id (expected: 0)
  std::size_t memory_bytes = 0;  ///< bytes held by the resolver's tables (approximate)
  /// memory_bytes by table ("record ids", "identifiers", "records", "links", ...), for the book benchmark.
  std::vector<std::pair<std::string, std::size_t>> memory_parts;
};

/// The identity graph. Movable, not copyable.
class resolver {
 public:
  explicit resolver(resolver_config cfg = resolver_config::defaults());
  ~resolver();
  resolver(resolver&&) noexcept;
  resolver& operator=(resolver&&) noexcept;

  /// Adds or updates a record with its current identity keys (a record's keys replace its previous ones). Keys
  /// whose attribute no rule names are ignored. Returns the record's profile (nullopt: its id is unusable, e.g.
  /// longer than 4096 bytes). `out`, when given, receives what changed.
  std::optional<profile_id> observe(const source_record& rec, change* out = nullptr);
  /// Removes a record (deleted at the source). Its profile is recomputed without it.
  change forget(std::string_view system, std::string_view object, std::string_view id);

  /// Removes one link: the record no longer uses this identifier to match (kept across rebuilds by the caller
  /// storing the split). Its component is recomputed; nullopt when the record does not hold the identifier.
  std::optional<change> split(const link_ref& link);
  /// Undoes a split.
  std::optional<change> restore(const link_ref& link);
  /// Registers a stored split before its record is observed (a rebuild loads its splits first). On a record
  /// already present this is split(). False when no rule covers the attribute or the value is unusable.
  bool preload_split(const link_ref& link);
  /// The splits in force, to store and replay on a rebuild.
  std::vector<link_ref> splits() const;

  std::optional<profile_id> profile_of(std::string_view system, std::string_view object, std::string_view id) const;
  /// The profile holding attribute = value (normalised by its rule), e.g. to attach a timeline event.
  std::optional<profile_id> find(std::string_view attribute, std::string_view value) const;
  /// Why a destination that matches records by `value` (an upsert by e-mail, say) could land a write for `owner`
  /// on somebody else's record: the value is a generic address, a blocked value, held by too many records, or
  /// held by a record of another profile. nullopt when no rule makes it a risk (or only `owner` holds it).
  std::optional<std::string> match_risk(profile_id owner, std::string_view value) const;
  /// The first key (in the given order) that finds a profile: how an event's person keys resolve.
  std::optional<profile_id> resolve(std::span<const identity_key> person) const;
  bool contains(profile_id id) const;
  std::vector<record_ref> members(profile_id id) const;
  std::optional<explanation> explain(profile_id id) const;

  /// Calls fn for every live record with its profile (in no particular order).
  void for_each_record(const std::function<void(std::string_view system, std::string_view object,
                                                std::string_view id, profile_id)>& fn) const;
  std::size_t profile_count() const noexcept;
  /// A dense handle (0, 1, 2, ...) of a record the resolver has seen, for tables kept beside it (the profile book
  /// keeps its person records by it instead of a second index of record keys): stable for the resolver's
  /// lifetime, also after forget. `no_handle` when the record was never observed or its id is unusable.
  static constexpr std::uint32_t no_handle = 0xffffffffu;
  std::uint32_t handle_of(std::string_view system, std::string_view object, std::string_view id) const;
  /// The id of the identifier attribute = `value` exactly as given (already normalised: no rule is applied), for
  /// tables that keep the text once, here (the profile book's packed records); no_handle when there is none.
  /// Identifiers are never dropped, so the id and its text stay valid for the resolver's lifetime.
  std::uint32_t identifier_id(std::string_view attribute, std::string_view value) const;
  /// The value of an identifier from identifier_id.
  std::string_view identifier_text(std::uint32_t id) const;
  /// The first_seen a record was last observed with (0 for a placeholder); handle from handle_of.
  std::int64_t first_seen_of(std::uint32_t handle) const;
  resolver_stats stats() const;
  const resolver_config& config() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace omnisync::profile
