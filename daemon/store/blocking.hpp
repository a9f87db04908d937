#pragma once
/// Calling store operations from code that is not a coroutine (tests, command-line tools, start-up checks).
///
/// `wait(op)` runs one operation to completion on a private io_context in the calling thread and returns its
/// result, e.g. `auto v = store::wait(s->meta_get("instance_id"));`. Do not call it from inside an
/// io_context's thread that the operation itself needs; daemon code uses `co_await` instead.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>
#include <optional>
#include <utility>

#include "daemon/store/store.hpp"

namespace omnisync::store {

template <class T>
omnisync::result<T> wait(task<T> op) {
  boost::asio::io_context ctx;
  std::optional<omnisync::result<T>> out;
  std::exception_ptr failure;
  boost::asio::co_spawn(
      ctx,
      [&out, op = std::move(op)]() mutable -> boost::asio::awaitable<void> {
        out.emplace(co_await std::move(op));
      },
      [&failure](std::exception_ptr e) { failure = e; });
  ctx.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*out);
}

}  // namespace omnisync::store
