// The PostgreSQL store's statements for acknowledged segment membership (members of pg_sql.hpp's state_sql);
// the same as sqlite_membership_sql.cpp in PostgreSQL's dialect.
#include "daemon/store/pg_sql.hpp"

namespace omnisync::store::pg {

void state_sql::membership_put(const std::string& segment, const std::string& connector, const std::string& member,
                               const std::string& profile, const std::string& row, std::int64_t t) {
  c_.exec("INSERT INTO segment_members_acked(segment, connector, member_id, profile_id, added_at, row_id) "
          "VALUES($1, $2, $3, $4, $5, $6) ON CONFLICT(segment, connector, member_id) DO UPDATE SET "
          "profile_id = CASE WHEN excluded.profile_id <> '' THEN excluded.profile_id "
          "ELSE segment_members_acked.profile_id END, row_id = excluded.row_id",
          segment, connector, member, profile, t, row);
}

void state_sql::membership_delete(const std::string& segment, const std::string& connector,
                                  const std::string& member) {
  c_.exec("DELETE FROM segment_members_acked WHERE segment = $1 AND connector = $2 AND member_id = $3", segment,
          connector, member);
}

std::optional<std::string> state_sql::membership_row(const std::string& segment, const std::string& connector,
                                                     const std::string& member) {
  auto r = c_.exec("SELECT row_id FROM segment_members_acked WHERE segment = $1 AND connector = $2 AND member_id = $3",
                   segment, connector, member);
  if (r.rows() == 0) return std::nullopt;
  return r.text(0, 0);
}

std::int64_t state_sql::membership_count(const std::string& segment, const std::string& connector) {
  auto r = c_.exec("SELECT count(*) FROM segment_members_acked WHERE segment = $1 AND connector = $2", segment,
                   connector);
  return r.rows() > 0 ? r.i64(0, 0) : 0;
}

std::vector<std::pair<std::string, std::string>> state_sql::membership_all(const std::string& segment,
                                                                          const std::string& connector) {
  auto r = c_.exec("SELECT member_id, profile_id FROM segment_members_acked WHERE segment = $1 AND connector = $2 "
                   "ORDER BY member_id",
                   segment, connector);
  std::vector<std::pair<std::string, std::string>> out;
  for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.text(i, 0), r.text(i, 1));
  return out;
}

}  // namespace omnisync::store::pg
