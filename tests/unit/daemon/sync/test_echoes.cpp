// The echo register (daemon/sync/echoes.hpp): which webhook-reported changes are omnisync's own write coming back.
#include <catch2/catch.hpp>

#include "daemon/sync/echoes.hpp"

using omnisync::sync::detail::echo_register;

namespace {

/// A write of name and a custom field to Zendesk user 7, computed at 10,000 ms, sent at 10,400, answered at 12,100.
void with_one_write(echo_register& r) {
  r.computing(1, "zd", "users", "7", R"({"name":"Ann Lee","user_fields":{"lifetime_value":12}})", 10'000);
  r.sending(1, 10'400);
  r.settled(1, true, 12'100);
}

}  // namespace

TEST_CASE("echoes: a change equal to what the write sent, within its lifetime, is its echo", "[echoes]") {
  echo_register r(60'000);
  with_one_write(r);
  CHECK(r.is_echo("zd", "users", "7", R"({"name":"Ann Lee"})", 11'000, 13'000));
  CHECK(r.is_echo("zd", "users", "7", R"({"user_fields":{"lifetime_value":12.0}})", 10'000, 13'000));  // seconds
}

TEST_CASE("echoes: a person's edit is never an echo", "[echoes]") {
  echo_register r(60'000);
  with_one_write(r);
  // Another value of a field the write sent, another field, another record, another system.
  CHECK_FALSE(r.is_echo("zd", "users", "7", R"({"name":"Ann Leigh"})", 11'000, 13'000));
  CHECK_FALSE(r.is_echo("zd", "users", "7", R"({"phone":"+16465550101"})", 11'000, 13'000));
  CHECK_FALSE(r.is_echo("zd", "users", "7", R"({"name":"Ann Lee","phone":"+16465550101"})", 11'000, 13'000));
  CHECK_FALSE(r.is_echo("zd", "users", "8", R"({"name":"Ann Lee"})", 11'000, 13'000));
  CHECK_FALSE(r.is_echo("hs", "users", "7", R"({"name":"Ann Lee"})", 11'000, 13'000));
  // Nothing reported: nothing to recognise.
  CHECK_FALSE(r.is_echo("zd", "users", "7", R"({})", 11'000, 13'000));
}

TEST_CASE("echoes: only within the write's lifetime", "[echoes]") {
  echo_register r(60'000);
  with_one_write(r);
  CHECK_FALSE(r.is_echo("zd", "users", "7", R"({"name":"Ann Lee"})", 8'000, 13'000));   // before it was sent
  CHECK_FALSE(r.is_echo("zd", "users", "7", R"({"name":"Ann Lee"})", 14'000, 15'000));  // after its answer
  // Not yet answered: up to now.
  echo_register open(60'000);
  open.computing(2, "zd", "users", "9", R"({"name":"Bo"})", 20'000);
  CHECK_FALSE(open.is_echo("zd", "users", "9", R"({"name":"Bo"})", 20'000, 20'500));  // not sent yet
  open.sending(2, 20'100);
  CHECK(open.is_echo("zd", "users", "9", R"({"name":"Bo"})", 20'000, 20'500));
}

TEST_CASE("echoes: a record taken in since the write was computed is re-read", "[echoes]") {
  echo_register r(60'000);
  with_one_write(r);
  // A poll (or another event's re-read) stored the record: it may hold an edit the write overwrote, which only
  // the echo's re-read shows.
  r.taken_in("zd", "users", "7", R"({"id":7,"name":"Ann Leigh","user_fields":{"lifetime_value":12}})");
  CHECK_FALSE(r.is_echo("zd", "users", "7", R"({"name":"Ann Lee"})", 11'000, 13'000));
}

TEST_CASE("echoes: a record read holding every value the write sent still vouches for its echoes", "[echoes]") {
  echo_register r(60'000);
  with_one_write(r);
  // Read after the write landed (a poll): the book holds what the echo reports.
  r.taken_in("zd", "users", "7", R"({"id":7,"name":"Ann Lee","phone":"1","user_fields":{"lifetime_value":12.0}})");
  CHECK(r.is_echo("zd", "users", "7", R"({"name":"Ann Lee"})", 11'000, 13'000));
}

TEST_CASE("echoes: a refused or failed write is forgotten, a written one pruned after its keep", "[echoes]") {
  echo_register r(60'000);
  r.computing(3, "zd", "users", "5", R"({"name":"Cy"})", 1'000);
  r.sending(3, 1'000);
  r.settled(3, false, 2'000);
  CHECK_FALSE(r.is_echo("zd", "users", "5", R"({"name":"Cy"})", 1'000, 2'000));
  CHECK(r.size() == 0);
  r.computing(4, "zd", "users", "5", R"({"name":"Cy"})", 3'000);
  r.sending(4, 3'000);
  r.settled(4, true, 4'000);
  CHECK(r.size() == 1);
  r.computing(5, "zd", "users", "6", R"({"name":"Di"})", 50'000);  // pruning runs as writes are noted
  CHECK(r.size() == 2);
  r.computing(6, "zd", "users", "6", R"({"name":"Di"})", 126'000);  // user 5's write answered 122 s ago: gone
  CHECK(r.size() == 1);
  CHECK_FALSE(r.is_echo("zd", "users", "5", R"({"name":"Cy"})", 3'000, 126'000));
}
