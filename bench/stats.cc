// bench/stats.cc: see stats.h.
#include "stats.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace parley::bench {

int LatencyHistogram::bucket_of(std::int64_t us) {
  if (us < 0) us = 0;
  auto v = static_cast<std::uint64_t>(us);
  if (v < 2 * kSub) return static_cast<int>(v);
  int msb = 63 - std::countl_zero(v);
  int shift = msb - kSubBits;  // v >> shift is in [64, 128)
  int idx = 2 * kSub + (shift - 1) * kSub + static_cast<int>((v >> shift) - kSub);
  return std::min(idx, kBuckets - 1);
}

std::int64_t LatencyHistogram::bucket_upper_us(int bucket) {
  if (bucket < 2 * kSub) return bucket;
  int rel = bucket - 2 * kSub;
  int shift = rel / kSub + 1;
  std::uint64_t mantissa = static_cast<std::uint64_t>(rel % kSub + kSub);
  return static_cast<std::int64_t>(((mantissa + 1) << shift) - 1);
}

void LatencyHistogram::record_us(std::int64_t us) {
  buckets_[bucket_of(us)].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  auto prev = max_.load(std::memory_order_relaxed);
  while (us > prev && !max_.compare_exchange_weak(prev, us, std::memory_order_relaxed)) {
  }
}

std::int64_t LatencyHistogram::percentile_us(double q) const {
  std::uint64_t n = count();
  if (n == 0) return 0;
  auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(n)));
  rank = std::clamp<std::uint64_t>(rank, 1, n);
  std::uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += buckets_[b].load(std::memory_order_relaxed);
    if (seen >= rank) return std::min(bucket_upper_us(b), max_us());
  }
  return max_us();
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (int b = 0; b < kBuckets; ++b) {
    buckets_[b].fetch_add(other.buckets_[b].load(std::memory_order_relaxed),
                          std::memory_order_relaxed);
  }
  count_.fetch_add(other.count(), std::memory_order_relaxed);
  auto m = other.max_us();
  auto prev = max_.load(std::memory_order_relaxed);
  while (m > prev && !max_.compare_exchange_weak(prev, m, std::memory_order_relaxed)) {
  }
}

SeqTracker::Verdict SeqTracker::on_event(std::int64_t seq) {
  if (seq == last_ + 1) {
    last_ = seq;
    ++received_;
    return Verdict::kInOrder;
  }
  if (seq > last_ + 1) {
    for (std::int64_t s = last_ + 1; s < seq; ++s) {
      if (gaps_.size() < kMaxGaps) {
        gaps_.insert(s);
      } else {
        ++overflow_;
      }
    }
    last_ = seq;
    ++received_;
    return Verdict::kGap;
  }
  if (auto it = gaps_.find(seq); it != gaps_.end()) {
    gaps_.erase(it);
    ++received_;
    return Verdict::kLate;
  }
  return Verdict::kDuplicate;
}

void SeqTracker::on_reset(std::int64_t last_seq) {
  if (last_seq <= last_) return;
  // Seqs between what we hold and the reset point are given up, as are open gaps below it.
  skipped_ += last_seq - last_;
  for (auto it = gaps_.begin(); it != gaps_.end() && *it <= last_seq;) {
    ++skipped_;
    it = gaps_.erase(it);
  }
  last_ = last_seq;
}

std::int64_t SeqTracker::expected(std::int64_t final_seq) const {
  return std::max<std::int64_t>(0, std::max(final_seq, last_) - start_ - skipped_);
}

std::int64_t SeqTracker::lost(std::int64_t final_seq) const {
  return std::max<std::int64_t>(0, expected(final_seq) - received_);
}

}  // namespace parley::bench
