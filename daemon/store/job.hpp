#pragma once
/// Internal to daemon/store: the job pattern both backends share. An operation becomes a job queued on one of
/// the store's worker threads; the worker runs it against its own connection(s) and hands the result back to
/// the awaiting coroutine on that coroutine's executor (in chunks, see `deliver`). The workers themselves
/// (group transactions, reconnects) are backend-specific: sqlite_store.cpp and pg_store.cpp.
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <pthread.h>

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

/// How a writer job is isolated inside the group transaction. `savepoint`: the job runs in its own SAVEPOINT, so
/// a job that fails after some of its statements rolls back only itself. `single_statement`: the job runs at
/// most one data-changing statement, which SQLite already makes atomic (a failing statement undoes its own
/// changes and leaves the transaction open), so the two extra statements per job are skipped. Inbox appends
/// are the hot case: one INSERT per webhook.
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
      out_.emplace(e.code());
    } catch (const std::exception& e) {
      store_logger()->error("store: unexpected failure: {}", e.what());
      out_.emplace(omnisync::make_error_code(omnisync::errc::fail));
    }
    return out_->has_value();
  }

  error_code error() const override { return out_ && out_->has_error() ? out_->error() : error_code(); }

  void finish(error_code group_error) override {
    if (group_error)
      out_.emplace(group_error);
    else if (!out_)
      out_.emplace(omnisync::make_error_code(omnisync::errc::cancelled));
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

/// The queue and thread every store worker (SQLite and PostgreSQL alike) runs its jobs on: `push` queues a job
/// (a cancelled job when stopping); the thread takes whatever is queued, up to `max_group` jobs, and hands them to
/// `run` as one batch, which must run and deliver every job and leave the batch empty. Destruction runs what is
/// queued, then joins. Declare it as the last member of its owner: the thread starts in the constructor and
/// `run` uses the owner's other members.
template <class Ctx>
class job_thread {
 public:
  using batch = std::vector<std::unique_ptr<job<Ctx>>>;

  job_thread(std::string name, std::size_t max_group, std::function<void(batch&)> run)
      : max_group_(max_group ? max_group : 1), run_(std::move(run)) {
    thread_ = std::thread([this, name = std::move(name)] {
      pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());  // visible in top -H, gdb, perf
      loop();
    });
  }
  ~job_thread() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  job_thread(const job_thread&) = delete;
  job_thread& operator=(const job_thread&) = delete;

  void push(std::unique_ptr<job<Ctx>> j) {
    bool wake = false;
    {
      std::lock_guard lock(mutex_);
      if (!stopping_) {
        // Only a thread waiting on an empty queue needs the notification (a futex call): one that is busy
        // takes the whole queue when its current batch is done.
        wake = queue_.empty() && idle_;
        queue_.push_back(std::move(j));
        j = nullptr;
      }
    }
    if (j) {
      j->complete(omnisync::make_error_code(omnisync::errc::cancelled));
      return;
    }
    if (wake) cv_.notify_one();
  }

 private:
  void loop() {
    batch b;
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        idle_ = true;
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        idle_ = false;
        if (queue_.empty()) return;  // stopping, and everything queued has run
        while (!queue_.empty() && b.size() < max_group_) {
          b.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      run_(b);
    }
  }

  std::size_t max_group_;
  std::function<void(batch&)> run_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<job<Ctx>>> queue_;
  bool stopping_ = false;
  bool idle_ = false;
  std::thread thread_;
};

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
