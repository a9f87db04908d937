#pragma once
/// Prometheus metrics: counters, gauges and histograms with labels, rendered in the text exposition format
/// (version 0.0.4) for `GET /metrics`.
///
/// Families are created once at start-up (`registry::counter(...)`) and kept by the components that update
/// them; updating a labelled child (`family.with({"hubspot", "200"}).inc()`) takes a short lock on the family
/// the first time a label set is seen and is lock-free afterwards (children are never removed, so references
/// stay valid). Thread-safe.
#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace omnisync::metrics {

class metric_counter {
 public:
  void inc(double v = 1) noexcept;
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }
 private:
  std::atomic<double> value_{0};
};

class metric_gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(double v) noexcept;
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }
 private:
  std::atomic<double> value_{0};
};

class metric_histogram {
 public:
  explicit metric_histogram(const std::vector<double>& bounds);
  void observe(double v) noexcept;
  /// Cumulative counts per bound (last entry is +Inf), sum and count, read consistently enough for scraping.
  std::vector<std::uint64_t> cumulative() const;
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  const std::vector<double>& bounds() const noexcept { return bounds_; }
 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // per bucket, +Inf last
  std::atomic<double> sum_{0};
  std::atomic<std::uint64_t> count_{0};
};

enum class metric_type { counter, gauge, histogram };

/// A named metric with a fixed list of label names and one child per label-value tuple.
template <class Child>
class metric_family {
 public:
  metric_family(std::string name, std::string help, std::vector<std::string> labels, std::vector<double> bounds = {})
      : name_(std::move(name)), help_(std::move(help)), labels_(std::move(labels)), bounds_(std::move(bounds)) {}
  /// The child for these label values (same count as the label names; missing ones are empty strings).
  Child& with(const std::vector<std::string>& values);
  Child& get() { return with({}); }

  const std::string& name() const noexcept { return name_; }
  const std::string& help() const noexcept { return help_; }
  const std::vector<std::string>& labels() const noexcept { return labels_; }
  /// Snapshot of (label values, child) pairs, in label order.
  std::vector<std::pair<std::vector<std::string>, const Child*>> children() const;

 private:
  std::string name_, help_;
  std::vector<std::string> labels_;
  std::vector<double> bounds_;
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<Child>> children_;
};

class registry {
 public:
  metric_family<metric_counter>& counter(std::string name, std::string help, std::vector<std::string> labels = {});
  metric_family<metric_gauge>& gauge(std::string name, std::string help, std::vector<std::string> labels = {});
  /// Bounds in ascending order (seconds for durations); +Inf is implicit.
  metric_family<metric_histogram>& histogram(std::string name, std::string help, std::vector<double> bounds,
                                             std::vector<std::string> labels = {});
  /// The text exposition format, families in name order.
  std::string render() const;

  /// Default duration buckets: 0.5 ms .. 10 s.
  static std::vector<double> duration_buckets();

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<metric_family<metric_counter>>> counters_;
  std::map<std::string, std::unique_ptr<metric_family<metric_gauge>>> gauges_;
  std::map<std::string, std::unique_ptr<metric_family<metric_histogram>>> histograms_;
};

}  // namespace omnisync::metrics
