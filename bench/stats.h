// bench/stats.h: the measuring instruments of parley-bench, free of any I/O so they can be
// unit tested: a lock-free latency histogram (HDR-style log-linear buckets) and the per-room
// sequence checker that turns received events into loss / duplicate / order-violation counts.
//
// Threading: LatencyHistogram may be recorded into from any thread (relaxed atomics); read it
// after the recording threads are done. SeqTracker is plain data owned by one client session
// (touched only on that session's strand).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <set>

namespace parley::bench {

// Values in microseconds, 1.6% relative precision (64 linear sub-buckets per power of two),
// range up to 2^40 us (about 12 days). Record is wait-free.
class LatencyHistogram {
 public:
  static constexpr int kSubBits = 6;
  static constexpr int kSub = 1 << kSubBits;                  // 64
  static constexpr int kBuckets = 2 * kSub + 40 * kSub;       // exact below 128 us, then log-linear

  void record_us(std::int64_t us);
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  std::int64_t max_us() const { return max_.load(std::memory_order_relaxed); }
  // The smallest recorded-bucket upper bound below which at least q (0..1] of the values lie,
  // capped at max_us(). 0 when empty.
  std::int64_t percentile_us(double q) const;
  // Adds every bucket of `other` (used to combine phases).
  void merge(const LatencyHistogram& other);

  static int bucket_of(std::int64_t us);
  static std::int64_t bucket_upper_us(int bucket);

 private:
  std::array<std::atomic<std::uint64_t>, kBuckets> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::int64_t> max_{0};
};

// What one session saw of one room: the seq it started from (its `ready` snapshot), the
// highest seq it holds, and the seqs it is still missing (gaps). Loss, duplicates and order
// violations are judged against the room's final seq at the end of the run.
class SeqTracker {
 public:
  enum class Verdict { kInOrder, kGap, kLate, kDuplicate };
  // Most missing seqs remembered per room; beyond this, further gaps are counted as lost.
  static constexpr std::size_t kMaxGaps = 4096;

  explicit SeqTracker(std::int64_t start_seq = 0) : start_(start_seq), last_(start_seq) {}

  // An event with `seq` arrived. kGap: it skipped seqs (they are now missing, maybe late);
  // kLate: it fills a gap (an order violation); kDuplicate: seen before or at/below the start.
  Verdict on_event(std::int64_t seq);
  // The server sent room.reset up to `last_seq`: those seqs will never come; not counted lost.
  void on_reset(std::int64_t last_seq);

  std::int64_t start() const { return start_; }
  std::int64_t last() const { return last_; }        // what the session asks to resume from
  std::int64_t received() const { return received_; }  // distinct seqs received above start
  std::int64_t skipped() const { return skipped_; }    // given up by room.reset
  std::int64_t gap_overflow() const { return overflow_; }  // gaps not remembered (kMaxGaps)
  // Events this session should have received given the room reached `final_seq`.
  std::int64_t expected(std::int64_t final_seq) const;
  // expected - received (never negative).
  std::int64_t lost(std::int64_t final_seq) const;

 private:
  std::int64_t start_;
  std::int64_t last_;
  std::int64_t received_ = 0;
  std::int64_t skipped_ = 0;
  std::int64_t overflow_ = 0;  // gaps that did not fit in gaps_
  std::set<std::int64_t> gaps_;
};

}  // namespace parley::bench
