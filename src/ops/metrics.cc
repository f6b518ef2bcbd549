#include "ops/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace parley::ops {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  std::sort(bounds_.begin(), bounds_.end());
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double v) {
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  if (v > 0) {
    sum_micro_.fetch_add(static_cast<std::uint64_t>(v * 1e6), std::memory_order_relaxed);
  }
}

std::vector<std::uint64_t> Histogram::cumulative() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  std::uint64_t acc = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    acc += buckets_[i].load(std::memory_order_relaxed);
    out[i] = acc;
  }
  return out;
}

double Histogram::sum() const { return static_cast<double>(sum_micro_.load()) / 1e6; }
std::uint64_t Histogram::count() const { return count_.load(); }

std::vector<double> latency_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

Registry::Entry* Registry::find(const std::string& name, const std::string& labels) {
  for (auto& e : entries_) {
    if (e.name == name && e.labels == labels) return &e;
  }
  return nullptr;
}

Counter& Registry::counter(const std::string& name, const std::string& help,
                           const std::string& labels) {
  std::lock_guard lock(mu_);
  if (auto* e = find(name, labels)) return *e->counter;
  auto& e = entries_.emplace_back(Entry{name, help, labels, Kind::kCounter, {}, {}, {}});
  e.counter = std::make_unique<Counter>();
  return *e.counter;
}

Gauge& Registry::gauge(const std::string& name, const std::string& help,
                       const std::string& labels) {
  std::lock_guard lock(mu_);
  if (auto* e = find(name, labels)) return *e->gauge;
  auto& e = entries_.emplace_back(Entry{name, help, labels, Kind::kGauge, {}, {}, {}});
  e.gauge = std::make_unique<Gauge>();
  return *e.gauge;
}

Histogram& Registry::histogram(const std::string& name, const std::string& help,
                               std::vector<double> bounds, const std::string& labels) {
  std::lock_guard lock(mu_);
  if (auto* e = find(name, labels)) return *e->histogram;
  auto& e = entries_.emplace_back(Entry{name, help, labels, Kind::kHistogram, {}, {}, {}});
  e.histogram = std::make_unique<Histogram>(std::move(bounds));
  return *e.histogram;
}

std::string Registry::render() const {
  std::lock_guard lock(mu_);
  // Group series by metric name so HELP/TYPE appear once per name.
  std::map<std::string, std::vector<const Entry*>> by_name;
  for (const auto& e : entries_) by_name[e.name].push_back(&e);
  std::string out;
  auto braces = [](const std::string& labels, const std::string& extra = "") {
    std::string all = labels;
    if (!extra.empty()) all += (all.empty() ? "" : ",") + extra;
    return all.empty() ? std::string() : "{" + all + "}";
  };
  for (const auto& [name, series] : by_name) {
    const Entry& first = *series.front();
    const char* type = first.kind == Kind::kCounter ? "counter"
                       : first.kind == Kind::kGauge ? "gauge"
                                                    : "histogram";
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, first.help, name, type);
    for (const Entry* e : series) {
      switch (e->kind) {
        case Kind::kCounter:
          out += fmt::format("{}{} {}\n", name, braces(e->labels), e->counter->value());
          break;
        case Kind::kGauge:
          out += fmt::format("{}{} {}\n", name, braces(e->labels), e->gauge->value());
          break;
        case Kind::kHistogram: {
          auto cum = e->histogram->cumulative();
          const auto& b = e->histogram->bounds();
          for (std::size_t i = 0; i < b.size(); ++i) {
            out += fmt::format("{}_bucket{} {}\n", name,
                               braces(e->labels, fmt::format("le=\"{}\"", b[i])), cum[i]);
          }
          out += fmt::format("{}_bucket{} {}\n", name, braces(e->labels, "le=\"+Inf\""),
                             cum.back());
          out += fmt::format("{}_sum{} {}\n", name, braces(e->labels), e->histogram->sum());
          out += fmt::format("{}_count{} {}\n", name, braces(e->labels), e->histogram->count());
          break;
        }
      }
    }
  }
  return out;
}

}  // namespace parley::ops
