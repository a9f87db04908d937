#pragma once
/// Turns what the profile book decides into rows of the append-only history (daemon/store/history.hpp): a
/// profile's lifecycle stage moving, or one of its KPIs changing value. The pipeline asks it, after a page of
/// records went through the book, for the rows of the profiles the page affected; the rows go into the same store
/// transaction as the page's records (record_batch::history), so a crash loses both or neither, and a page costs no
/// extra transaction.
///
/// It remembers each profile's last stage and KPI values to compare with (as text: about 250 bytes a profile with
/// the map node; packing them into numbers would take it under 64). After a rebuild of the book (start-up,
/// reload, leadership) the snapshots are taken again from the book without writing rows: a restart invents no
/// transitions. Once per store (meta key `history.seeded`), profiles
/// that existed before the history did get their current stage and KPIs as initial rows (from "") at the time
/// their earliest record was first seen, with the cause `{"seed":true}`.
///
/// Thread safety: none; the pipeline calls it under its book lock, in its turnstile.
#include <cstdint>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "daemon/profile/book.hpp"
#include "daemon/store/store.hpp"

namespace omnisync::sync::detail {

/// The KPIs whose changes are kept (kind "kpi", subject = the name), in this order.
const std::vector<std::string>& tracked_kpis();

class history_writer {
 public:
  /// Rows for the profiles in `affected` whose stage or KPIs differ from their snapshots; snapshots updated.
  /// `recs`: the page's records of `system`/`object` (the first one a profile holds is its cause, and its
  /// modification time the rows' time; else the page's first); `run`: the run the page belongs to (0: none);
  /// `now` stamps rows whose cause has no time.
  std::vector<store::history_entry> changes(const profile::book& b, const std::set<profile::profile_id>& affected,
                                            const std::string& system, const std::string& object,
                                            const std::vector<store::source_record>& recs, std::int64_t run,
                                            omnisync::timestamp now);
  /// Snapshots every profile of a freshly built book, writing nothing. With `seed`, returns the initial rows of
  /// every profile (see above).
  std::vector<store::history_entry> reset(const profile::book& b, bool seed);
  std::size_t size() const noexcept { return known_.size(); }

 private:
  struct snapshot {
    std::uint32_t stage = 0;  ///< index into stages_ (0: "")
    std::vector<std::string> kpis;
  };
  snapshot snap(const profile::kpi_values& k);
  std::uint32_t stage_id(const std::string& s);

  std::unordered_map<std::uint64_t, snapshot> known_;
  std::vector<std::string> stages_{""};
};

/// A KPI value as history text: "" for none (and for zero counts and sums: a new profile's zero LTV is not news).
std::string kpi_text(double v);

}  // namespace omnisync::sync::detail
