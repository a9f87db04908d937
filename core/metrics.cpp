#include "core/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace omnisync::metrics {
namespace {

void atomic_add(std::atomic<double>& a, double v) noexcept {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

std::string format_number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) std::snprintf(buf, sizeof buf, "%.0f", v);
  else std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string escape_help(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string label_set(const std::vector<std::string>& names, const std::vector<std::string>& values,
                      const std::string& extra = {}) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (!out.empty()) out += ',';
    out += names[i] + "=\"" + escape_label(i < values.size() ? values[i] : std::string()) + "\"";
  }
  if (!extra.empty()) {
    if (!out.empty()) out += ',';
    out += extra;
  }
  return out.empty() ? std::string() : "{" + out + "}";
}

template <class Family>
void header(std::string& out, const Family& f, const char* type) {
  out += "# HELP " + f.name() + " " + escape_help(f.help()) + "\n";
  out += "# TYPE " + f.name() + " " + type + "\n";
}

}  // namespace

void metric_counter::inc(double v) noexcept {
  if (v > 0) atomic_add(value_, v);
}

void metric_gauge::add(double v) noexcept { atomic_add(value_, v); }

metric_histogram::metric_histogram(const std::vector<double>& bounds)
    : bounds_(bounds), buckets_(new std::atomic<std::uint64_t>[bounds.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i] = 0;
}

void metric_histogram::observe(double v) noexcept {
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  buckets_[static_cast<size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  atomic_add(sum_, v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<std::uint64_t> metric_histogram::cumulative() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  std::uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    out[i] = total;
  }
  return out;
}

template <class Child>
Child& metric_family<Child>::with(const std::vector<std::string>& values) {
  std::vector<std::string> key = values;
  key.resize(labels_.size());
  std::lock_guard lock(mutex_);
  auto it = children_.find(key);
  if (it != children_.end()) return *it->second;
  std::unique_ptr<Child> child;
  if constexpr (std::is_same_v<Child, metric_histogram>) child = std::make_unique<Child>(bounds_);
  else child = std::make_unique<Child>();
  auto& ref = *child;
  children_.emplace(std::move(key), std::move(child));
  return ref;
}

template <class Child>
std::vector<std::pair<std::vector<std::string>, const Child*>> metric_family<Child>::children() const {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::vector<std::string>, const Child*>> out;
  for (const auto& [k, v] : children_) out.emplace_back(k, v.get());
  return out;
}

template class metric_family<metric_counter>;
template class metric_family<metric_gauge>;
template class metric_family<metric_histogram>;

namespace {
template <class Map, class... Args>
auto& get_or_add(std::mutex& m, Map& map, const std::string& name, Args&&... args) {
  std::lock_guard lock(m);
  auto it = map.find(name);
  if (it != map.end()) return *it->second;
  auto fam = std::make_unique<typename Map::mapped_type::element_type>(name, std::forward<Args>(args)...);
  auto& ref = *fam;
  map.emplace(name, std::move(fam));
  return ref;
}
}  // namespace

metric_family<metric_counter>& registry::counter(std::string name, std::string help, std::vector<std::string> labels) {
  return get_or_add(mutex_, counters_, name, std::move(help), std::move(labels));
}

metric_family<metric_gauge>& registry::gauge(std::string name, std::string help, std::vector<std::string> labels) {
  return get_or_add(mutex_, gauges_, name, std::move(help), std::move(labels));
}

metric_family<metric_histogram>& registry::histogram(std::string name, std::string help, std::vector<double> bounds,
                                                     std::vector<std::string> labels) {
  if (!std::is_sorted(bounds.begin(), bounds.end())) throw std::invalid_argument("histogram bounds must ascend");
  return get_or_add(mutex_, histograms_, name, std::move(help), std::move(labels), std::move(bounds));
}

std::vector<double> registry::duration_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::string registry::render() const {
  std::lock_guard lock(mutex_);
  // Families in name order across the three kinds.
  std::map<std::string, std::string> blocks;
  for (const auto& [name, f] : counters_) {
    std::string out;
    header(out, *f, "counter");
    for (const auto& [values, c] : f->children())
      out += name + label_set(f->labels(), values) + " " + format_number(c->value()) + "\n";
    blocks[name] = std::move(out);
  }
  for (const auto& [name, f] : gauges_) {
    std::string out;
    header(out, *f, "gauge");
    for (const auto& [values, g] : f->children())
      out += name + label_set(f->labels(), values) + " " + format_number(g->value()) + "\n";
    blocks[name] = std::move(out);
  }
  for (const auto& [name, f] : histograms_) {
    std::string out;
    header(out, *f, "histogram");
    for (const auto& [values, h] : f->children()) {
      auto cum = h->cumulative();
      for (size_t i = 0; i < cum.size(); ++i) {
        std::string le = "le=\"" + (i < h->bounds().size() ? format_number(h->bounds()[i]) : std::string("+Inf")) + "\"";
        out += name + "_bucket" + label_set(f->labels(), values, le) + " " + format_number(double(cum[i])) + "\n";
      }
      out += name + "_sum" + label_set(f->labels(), values) + " " + format_number(h->sum()) + "\n";
      out += name + "_count" + label_set(f->labels(), values) + " " + format_number(double(cum.back())) + "\n";
    }
    blocks[name] = std::move(out);
  }
  std::string all;
  for (auto& [n, b] : blocks) all += b;
  return all;
}

}  // namespace omnisync::metrics
