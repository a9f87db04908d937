#pragma once
/// Internal to daemon/store: the job pattern both backends share. An operation becomes a job queued on one of
/// the store's worker threads; the worker runs it against its own connection(s) and hands the result back to
/// the awaiting coroutine on that coroutine's executor (in chunks, see `deliver`). The threads that run jobs
/// (group transactions) are in workers.hpp.
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "daemon/store/store.hpp"

namespace omnisync::store::detail {

namespace asio = boost::asio;
using error_code = boost::system::error_code;

inline std::shared_ptr<spdlog::logger> store_logger() {
  auto l = spdlog::get("store");
  return l ? l : spdlog::default_logger();
}

/// A failure already classified as an omnisync::errc (and logged where it happened), thrown inside the store
/// only and turned into the job's result. Each backend's error type derives from it.
class classified_error : public std::runtime_error {
 public:
  classified_error(error_code ec, std::string message) : std::runtime_error(std::move(message)), code_(ec) {}
  const error_code& code() const noexcept { return code_; }

 private:
  error_code code_;
};

/// Refuses an operation with an error class and a message (invalid input, a stale fence, a lost lease): thrown
/// inside a job, it becomes that job's result. Nothing is logged; the caller sees the class.
[[noreturn]] inline void refuse(omnisync::errc e, std::string message) {
  throw classified_error(omnisync::make_error_code(e), std::move(message));
}
inline void require(bool ok, const char* what) {
  if (!ok) refuse(omnisync::errc::invalid_input, what);
}

/// How a writer job is isolated inside the group transaction. `savepoint`: the job runs in its own SAVEPOINT, so
/// a job that fails after some of its statements rolls back only itself. `single_statement`: the job runs at
/// most one data-changing statement, which is atomic by itself, so the two extra statements per job are skipped
/// (what a failing one does to the transaction is the backend's: see statement_failure in workers.hpp). Inbox
/// appends are the hot case: one INSERT per webhook.
enum class isolation { savepoint, single_statement };

/// One queued operation: `run` executes it on the worker thread (inside the group transaction for writers),
/// `finish` fixes its outcome (its own result, or the group's commit error), and `post_result` /
/// `dispatch_result` hand that outcome to the awaiting coroutine on its executor.
template <class Ctx>
class job {
 public:
  explicit job(isolation iso, std::string order_key = {}) : isolation_(iso), order_key_(std::move(order_key)) {}
  virtual ~job() = default;
  isolation isolation_level() const noexcept { return isolation_; }
  /// Where a worker may reorder this job among neighbouring jobs that have a key (empty: stays in place). The
  /// PostgreSQL inbox writer sorts a group's appends by it, so that instances writing the same events take
  /// their row locks in the same order and never deadlock.
  const std::string& order_key() const noexcept { return order_key_; }
  virtual bool run(Ctx& ctx) = 0;
  /// The error `run` produced (empty when it succeeded).
  virtual error_code error() const = 0;
  virtual void finish(error_code group_error) = 0;
  /// The execution context (io_context) the caller resumes on.
  virtual const asio::execution_context* home() const noexcept = 0;
  /// Posts `chunk` (jobs whose callers share home(), this job among them) to this job's caller's executor, where
  /// each caller is resumed with dispatch_result(). `this` may be gone when it returns.
  virtual void post_chunk(std::vector<std::unique_ptr<job>> chunk) = 0;
  /// Queues the caller's resumption on its executor; callable from any thread.
  virtual void post_result() = 0;
  /// Resumes the caller inline when called on a thread running home() and the caller's strand is free (else
  /// queues it, as post_result does).
  virtual void dispatch_result() = 0;
  void complete(error_code group_error) {
    finish(group_error);
    post_result();
  }

 private:
  isolation isolation_;
  std::string order_key_;
};

template <class T, class Ctx, class Fn, class Handler>
class job_impl final : public job<Ctx> {
 public:
  job_impl(Fn fn, Handler handler, isolation iso, std::string order_key)
      : job<Ctx>(iso, std::move(order_key)),
        fn_(std::move(fn)),
        handler_(std::move(handler)),
        work_(asio::make_work_guard(asio::get_associated_executor(handler_))),
        home_(&asio::query(work_.get_executor(), asio::execution::context)) {}

  bool run(Ctx& ctx) override {
    try {
      out_.emplace(fn_(ctx));
    } catch (const classified_error& e) {
      out_.emplace(boost::system::in_place_error, e.code());
    } catch (const std::exception& e) {
      store_logger()->error("store: unexpected failure: {}", e.what());
      out_.emplace(boost::system::in_place_error, omnisync::make_error_code(omnisync::errc::fail));
    }
    return out_->has_value();
  }

  error_code error() const override { return out_ && out_->has_error() ? out_->error() : error_code(); }

  void finish(error_code group_error) override {
    if (group_error)
      out_.emplace(boost::system::in_place_error, group_error);
    else if (!out_)
      out_.emplace(boost::system::in_place_error, omnisync::make_error_code(omnisync::errc::cancelled));
  }

  const asio::execution_context* home() const noexcept override { return home_; }
  void post_chunk(std::vector<std::unique_ptr<job<Ctx>>> chunk) override {
    auto ex = work_.get_executor();
    // After this post, an io thread may already have run the chunk and destroyed this job (and its work guard).
    // This guard keeps the context from running out of work — and its owner from destroying it, as
    // store::wait() does as soon as run() returns — while post() is still waking a thread of it.
    auto posting = asio::make_work_guard(ex);
    asio::post(ex, [jobs = std::move(chunk)]() mutable {
      for (auto& j : jobs) j->dispatch_result();
    });
  }
  void post_result() override { deliver(false); }
  void dispatch_result() override { deliver(true); }

 private:
  void deliver(bool may_run_inline) {
    auto ex = work_.get_executor();
    auto resume = [h = std::move(handler_), r = std::move(*out_)]() mutable { std::move(h)(std::move(r)); };
    if (may_run_inline)
      asio::dispatch(ex, std::move(resume));
    else
      asio::post(ex, std::move(resume));
    work_.reset();
  }

  Fn fn_;
  Handler handler_;
  asio::executor_work_guard<asio::associated_executor_t<Handler>> work_;
  const asio::execution_context* home_;
  std::optional<omnisync::result<T>> out_;
};

/// Hands finished jobs back to their callers. Jobs whose callers resume on the same execution context go over
/// in chunks: one post per chunk (one wake-up of an io thread), and on that thread each caller is resumed inline
/// where its strand allows (asio::dispatch), instead of one post — a lock, a queue entry and often a wake-up —
/// per job from the worker thread. The jobs are also destroyed there, so the worker thread spends its time on
/// SQL. Chunks (not one post per group) let more than one io thread share a large group's resumptions.
template <class Ctx>
void deliver(std::vector<std::unique_ptr<job<Ctx>>>& done) {
  constexpr std::size_t chunk_size = 8;
  std::vector<std::unique_ptr<job<Ctx>>> chunk;
  const asio::execution_context* chunk_home = nullptr;
  auto flush = [&] {
    if (chunk.empty()) return;
    auto* first = chunk.front().get();
    first->post_chunk(std::move(chunk));
    chunk.clear();  // moved from: valid but unspecified
  };
  for (auto& j : done) {
    if (j->home() != chunk_home || chunk.size() == chunk_size) {
      flush();
      chunk_home = j->home();
    }
    chunk.push_back(std::move(j));
  }
  flush();
  done.clear();
}

/// Queues `fn(ctx) -> result<T>` on the worker `w` (anything with `context_type` and
/// `push(unique_ptr<job<context_type>>)`) and returns the awaitable of its result. The coroutine resumes on its
/// own executor; the job holds work on that executor until it completes.
template <class T, class Worker, class Fn>
task<T> submit(Worker& w, Fn fn, isolation iso = isolation::savepoint, std::string order_key = {}) {
  using Ctx = typename Worker::context_type;
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(omnisync::result<T>)>(
      [&w, iso, key = std::move(order_key)](auto handler, Fn f) mutable {
        using handler_t = decltype(handler);
        w.push(std::make_unique<job_impl<T, Ctx, Fn, handler_t>>(std::move(f), std::move(handler), iso,
                                                                 std::move(key)));
      },
      asio::use_awaitable, std::move(fn));
}

}  // namespace omnisync::store::detail
