// ops/metrics.h: a small Prometheus registry. Metrics are created at start-up (registration
// takes a lock) and then updated lock-free from any thread. Labels are fixed at registration:
// never put user or room ids in labels (unbounded cardinality).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace parley::ops {

class Counter {
 public:
  void inc(std::uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

class Gauge {
 public:
  void set(std::int64_t v) { v_.store(v, std::memory_order_relaxed); }
  void add(std::int64_t d) { v_.fetch_add(d, std::memory_order_relaxed); }
  std::int64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> v_{0};
};

// Cumulative histogram with fixed upper bounds (seconds, bytes, counts: the caller's unit).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  // Snapshot for rendering: cumulative counts per bound, then +Inf, sum.
  std::vector<std::uint64_t> cumulative() const;
  double sum() const;
  std::uint64_t count() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_micro_{0};  // sum * 1e6, so it can be atomic
};

// Latency buckets in seconds: 0.5 ms .. 10 s.
std::vector<double> latency_buckets();

class Registry {
 public:
  // `labels` is a rendered Prometheus label set without braces, e.g. `route="/x",status="200"`,
  // or "". The same (name, labels) returns the same metric. References stay valid for the
  // registry's lifetime.
  Counter& counter(const std::string& name, const std::string& help, const std::string& labels = "");
  Gauge& gauge(const std::string& name, const std::string& help, const std::string& labels = "");
  Histogram& histogram(const std::string& name, const std::string& help,
                       std::vector<double> bounds, const std::string& labels = "");
  // Prometheus text exposition format 0.0.4.
  std::string render() const;

 private:
  enum class Kind { kCounter, kGauge, kHistogram };
  struct Entry {
    std::string name, help, labels;
    Kind kind;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  Entry* find(const std::string& name, const std::string& labels);
  mutable std::mutex mu_;
  std::deque<Entry> entries_;
};

}  // namespace parley::ops
