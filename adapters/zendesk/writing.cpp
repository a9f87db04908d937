// The Zendesk connector's writes: users through create_or_update_many / update_many, followed through the job
// status until it completes; deletions one user at a time.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>

#include "adapters/rest/rest_util.hpp"
#include "adapters/zendesk/connector_impl.hpp"

namespace omnisync::adapters::zendesk {

task<std::vector<write_result>> connector_impl::remove(std::string object, std::vector<write_item> items) {
  if (object != "users") co_return all_results(items, write_result::outcome::rejected,
                                               "the Zendesk connector deletes users only");
  std::vector<write_result> out;
  for (const auto& it : items) {
    write_result w;
    w.outbox_id = it.outbox_id;
    auto res = co_await json_->call_json("DELETE", "/api/v2/users/" + rest::url_encode(it.target_id) + ".json", {}, {});
    if (!res && res.error() != errc::not_found) {
      const auto e = res.error();
      w.status = e == errc::invalid_input || e == errc::fail ? write_result::outcome::rejected
                                                             : write_result::outcome::retry;
      w.error = e.message();
    }
    out.push_back(std::move(w));
  }
  co_return out;
}

task<std::vector<write_result>> connector_impl::write(std::string object, std::vector<write_item> items) {
  if (object != "users") {
    std::vector<write_result> out = all_results(items, write_result::outcome::rejected,
                                                "the Zendesk connector writes users only");
    co_return out;
  }
  // Items naming a user (target_id) are updated by id (update_many): the profile already links that user, who
  // may have been created outside omnisync. The others go through create_or_update_many. A bulk request may
  // not name one user twice: such items go to a later chunk of their kind.
  const std::size_t limit = max_batch(object);
  std::vector<std::vector<write_item>> chunks;
  std::vector<bool> chunk_by_id;
  std::vector<std::set<std::string>> keys;
  std::map<std::int64_t, std::size_t> position;  // outbox id → item index, to answer in the items' order
  for (std::size_t n = 0; n < items.size(); ++n) {
    auto& it = items[n];
    position.emplace(it.outbox_id, n);
    const bool by_id = !it.target_id.empty();
    const std::string& key = by_id ? it.target_id : it.record_key;
    std::size_t i = 0;
    while (i < chunks.size() && (chunk_by_id[i] != by_id || chunks[i].size() >= limit || keys[i].count(key))) ++i;
    if (i == chunks.size()) {
      chunks.emplace_back();
      chunk_by_id.push_back(by_id);
      keys.emplace_back();
    }
    keys[i].insert(key);
    chunks[i].push_back(std::move(it));
  }
  std::vector<write_result> out;
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    auto part = co_await bulk_users(std::move(chunks[i]), chunk_by_id[i]);
    out.insert(out.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
  }
  std::stable_sort(out.begin(), out.end(), [&](const write_result& a, const write_result& b) {
    return position[a.outbox_id] < position[b.outbox_id];
  });
  co_return out;
}

std::vector<write_result> connector_impl::all_results(const std::vector<write_item>& items, write_result::outcome o,
                                             const std::string& why) {
  std::vector<write_result> out;
  for (const auto& it : items) {
    write_result r;
    r.outbox_id = it.outbox_id;
    r.status = o;
    r.error = why;
    out.push_back(std::move(r));
  }
  return out;
}

asio::awaitable<bool> connector_impl::wait(milliseconds d) {
  if (d.count() <= 0) co_return true;
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  auto [ec] = co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return !ec;
}

asio::awaitable<std::vector<write_result>> connector_impl::bulk_users(std::vector<write_item> items, bool by_id) {
  std::vector<write_result> out;
  std::vector<write_item> sent;
  json::array users;
  for (auto& it : items) {
    auto v = rest::parse_json(it.payload);
    const auto target = by_id ? to_int(it.target_id) : std::nullopt;
    std::string why;
    if (!v || !v->is_object()) why = "payload is not a JSON object";
    else if (by_id && (!target || *target <= 0)) why = "target id " + it.target_id + " is not a Zendesk user id";
    else if (!by_id && it.record_key.empty()) why = "no upsert key value";
    if (!why.empty()) {
      write_result r;
      r.outbox_id = it.outbox_id;
      r.status = write_result::outcome::rejected;
      r.error = std::move(why);
      out.push_back(std::move(r));
      continue;
    }
    json::object user = std::move(v->get_object());
    if (by_id) {
      // An update sends exactly the fields the payload names: the engine sends only what differs (the
      // external_id, omnisync's profile id there, included when the user does not hold it yet).
      user.erase("id");
      user["id"] = *target;
    } else {
      user["external_id"] = it.record_key;
    }
    users.push_back(std::move(user));
    sent.push_back(std::move(it));
  }
  if (sent.empty()) co_return out;
  json::object body;
  body["users"] = std::move(users);
  const std::string method = by_id ? "PUT" : "POST";
  const std::string path = by_id ? "/api/v2/users/update_many.json" : "/api/v2/users/create_or_update_many.json";
  auto res = co_await json_->send(method, path, json::serialize(body), {});
  if (!res) {
    auto r = all_results(sent, write_result::outcome::retry, res.error().message());
    out.insert(out.end(), r.begin(), r.end());
    co_return out;
  }
  if (res->status == 400 || res->status == 422) {
    // The request as a whole was refused: halve it until the refused user is alone.
    if (sent.size() == 1) {
      json_->failure(method, path, *res);
      auto r = all_results(sent, write_result::outcome::rejected, res->body.substr(0, 300));
      out.insert(out.end(), r.begin(), r.end());
      co_return out;
    }
    std::vector<write_item> second(std::make_move_iterator(sent.begin() + static_cast<std::ptrdiff_t>(sent.size() / 2)),
                                   std::make_move_iterator(sent.end()));
    sent.resize(sent.size() / 2);
    auto a = co_await bulk_users(std::move(sent), by_id);
    auto b = co_await bulk_users(std::move(second), by_id);
    out.insert(out.end(), a.begin(), a.end());
    out.insert(out.end(), b.begin(), b.end());
    co_return out;
  }
  if (res->status != 200) {
    // 403: bulk import not enabled for the account; others: nothing was done, try again later.
    json_->failure(method, path, *res);
    auto r = all_results(sent, write_result::outcome::retry, "HTTP " + std::to_string(res->status));
    out.insert(out.end(), r.begin(), r.end());
    co_return out;
  }
  auto v = rest::parse_json(res->body);
  const json::value* job = v && v->is_object() ? v->get_object().if_contains("job_status") : nullptr;
  const std::string job_id = job ? rest::member_text(*job, "id") : std::string();
  if (job_id.empty()) {
    auto r = all_results(sent, write_result::outcome::retry, "no job_status in the answer");
    out.insert(out.end(), r.begin(), r.end());
    co_return out;
  }
  auto finished = co_await follow_job(job_id);
  if (!finished) {
    auto r = all_results(sent, write_result::outcome::retry,
                         "job " + job_id + ": " + finished.error().message());
    out.insert(out.end(), r.begin(), r.end());
    co_return out;
  }
  const std::string status = rest::member_text(*finished, "status");
  if (status != "completed") {
    auto r = all_results(sent, write_result::outcome::retry,
                         "job " + job_id + " " + status + ": " + rest::member_text(*finished, "message"));
    out.insert(out.end(), r.begin(), r.end());
    co_return out;
  }
  std::vector<std::optional<write_result>> done(sent.size());
  if (const auto* rs = finished->as_object().if_contains("results"); rs && rs->is_array()) {
    std::size_t position = 0;
    for (const auto& r : rs->get_array()) {
      const std::size_t at = static_cast<std::size_t>(to_int(rest::member_text(r, "index")).value_or(static_cast<std::int64_t>(position)));
      ++position;
      if (at >= sent.size() || !r.is_object()) continue;
      write_result w;
      w.outbox_id = sent[at].outbox_id;
      const auto* ok = r.get_object().if_contains("success");
      const bool failed = (ok && ok->is_bool() && !ok->get_bool()) || rest::member_text(r, "status") == "Failed" ||
                          r.get_object().contains("error");
      if (failed) {
        w.error = rest::member_text(r, "error");
        if (auto d = rest::member_text(r, "details"); !d.empty()) w.error += ": " + d;
        // "External has already been taken": another user still holds this external id — during an initial
        // sync, one whose profile was just merged or split and whose own update is queued behind this one.
        // Worth a few retries (the engine dead-letters it after sync.max_write_attempts); other refusals are final.
        w.status = w.error.find("already been taken") != std::string::npos ? write_result::outcome::retry
                                                                           : write_result::outcome::rejected;
      } else {
        w.destination_id = rest::member_text(r, "id");
      }
      done[at] = std::move(w);
    }
  }
  // An update refused only because another user holds the external_id it sets (omnisync's profile id, left on
  // a user that moved to another profile): the other fields still belong there — sent again once without it.
  if (by_id) {
    std::vector<write_item> again;
    for (std::size_t i = 0; i < sent.size(); ++i) {
      if (!done[i] || done[i]->status != write_result::outcome::retry ||
          done[i]->error.find("External: has already been taken") == std::string::npos)
        continue;
      auto v = rest::parse_json(sent[i].payload);
      if (!v || !v->is_object() || !v->get_object().erase("external_id")) continue;
      write_item item = sent[i];
      item.payload = json::serialize(*v);
      spdlog::warn("{}: user {}: external_id {} is held by another user; written without it", cfg_.name,
                   item.target_id, item.record_key);
      done[i].reset();
      if (!v->get_object().empty()) {  // the other fields
        again.push_back(std::move(item));
      } else {  // nothing else to write: done (the id stays where it is)
        done[i] = write_result{};
        done[i]->outbox_id = sent[i].outbox_id;
      }
    }
    if (!again.empty()) {
      auto retried = co_await bulk_users(std::move(again), by_id);
      for (auto& r : retried)
        for (std::size_t i = 0; i < sent.size(); ++i)
          if (!done[i] && sent[i].outbox_id == r.outbox_id) done[i] = std::move(r);
    }
  }
  for (std::size_t i = 0; i < sent.size(); ++i) {
    if (done[i]) {
      out.push_back(std::move(*done[i]));
    } else {
      write_result w;
      w.outbox_id = sent[i].outbox_id;
      w.status = write_result::outcome::retry;
      w.error = "job " + job_id + " reported no result for this user";
      out.push_back(std::move(w));
    }
  }
  co_return out;
}

asio::awaitable<omnisync::result<json::value>> connector_impl::follow_job(std::string id) {
  const auto deadline = std::chrono::steady_clock::now() + job_timeout_;
  milliseconds every = std::max(milliseconds(50), job_poll_interval_ / 4);
  for (;;) {
    if (!co_await wait(every)) co_return make_error_code(errc::cancelled);
    every = std::min(job_poll_interval_, every * 2);
    auto res = co_await json_->call_json("GET", "/api/v2/job_statuses/" + rest::url_encode(id) + ".json", {}, {});
    if (!res) co_return res.error();
    const auto* js = res->as_object().if_contains("job_status");
    if (!js || !js->is_object()) co_return make_error_code(errc::invalid_input);
    const std::string status = rest::member_text(*js, "status");
    if (status == "completed" || status == "failed" || status == "killed") {
      json::value done = *js;
      co_return done;
    }
    if (std::chrono::steady_clock::now() >= deadline) co_return make_error_code(errc::timeout);
  }
}

}  // namespace omnisync::adapters::zendesk
