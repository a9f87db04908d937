// The SQLite store's statements for acknowledged segment membership (members of sqlite_sql.hpp's state_sql):
// which members omnisync added to a segment's audience at a destination, so that it only ever removes those.
#include "daemon/store/sqlite_sql.hpp"

namespace omnisync::store::sqlite {

void state_sql::membership_put(const std::string& segment, const std::string& connector, const std::string& member,
                               const std::string& profile, const std::string& row, std::int64_t t) {
  // A member acknowledged again keeps its first added_at, takes the newer profile id (when one is given) and the
  // newer row id (always: the old row may be gone with a recreated list).
  c_.prepare("INSERT INTO segment_members_acked(segment, connector, member_id, profile_id, added_at, row_id) "
             "VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(segment, connector, member_id) DO UPDATE SET "
             "profile_id = CASE WHEN excluded.profile_id <> '' THEN excluded.profile_id ELSE profile_id END, "
             "row_id = excluded.row_id")
      .text(1, segment)
      .text(2, connector)
      .text(3, member)
      .text(4, profile)
      .i64(5, t)
      .text(6, row)
      .run();
}

void state_sql::membership_delete(const std::string& segment, const std::string& connector,
                                  const std::string& member) {
  c_.prepare("DELETE FROM segment_members_acked WHERE segment = ?1 AND connector = ?2 AND member_id = ?3")
      .text(1, segment)
      .text(2, connector)
      .text(3, member)
      .run();
}

std::optional<std::string> state_sql::membership_row(const std::string& segment, const std::string& connector,
                                                     const std::string& member) {
  auto q = c_.prepare("SELECT row_id FROM segment_members_acked WHERE segment = ?1 AND connector = ?2 AND member_id = ?3");
  q.text(1, segment).text(2, connector).text(3, member);
  if (!q.step()) return std::nullopt;
  return q.col_text(0);
}

std::int64_t state_sql::membership_count(const std::string& segment, const std::string& connector) {
  auto q = c_.prepare("SELECT count(*) FROM segment_members_acked WHERE segment = ?1 AND connector = ?2");
  q.text(1, segment).text(2, connector);
  return q.step() ? q.col_i64(0) : 0;
}

std::vector<std::pair<std::string, std::string>> state_sql::membership_all(const std::string& segment,
                                                                          const std::string& connector) {
  auto q = c_.prepare("SELECT member_id, profile_id FROM segment_members_acked WHERE segment = ?1 AND connector = ?2 "
                      "ORDER BY member_id");
  q.text(1, segment).text(2, connector);
  std::vector<std::pair<std::string, std::string>> out;
  while (q.step()) out.emplace_back(q.col_text(0), q.col_text(1));
  return out;
}

}  // namespace omnisync::store::sqlite
