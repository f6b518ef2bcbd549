// bench/stats_test.cc: the instruments must not lie: a histogram's percentiles land within its
// stated precision, and the seq checker reports loss, duplicates and reordering exactly.
#include "stats.h"

#include <gtest/gtest.h>

#include "probes.h"

namespace parley::bench {
namespace {

TEST(LatencyHistogram, PercentilesWithinPrecision) {
  LatencyHistogram h;
  for (int us = 1; us <= 100000; ++us) h.record_us(us);  // uniform 1 us .. 100 ms
  EXPECT_EQ(h.count(), 100000u);
  EXPECT_EQ(h.max_us(), 100000);
  auto near = [](std::int64_t got, double want) {
    EXPECT_GE(static_cast<double>(got), want * 0.98) << got;
    EXPECT_LE(static_cast<double>(got), want * 1.02) << got;
  };
  near(h.percentile_us(0.50), 50000);
  near(h.percentile_us(0.99), 99000);
  near(h.percentile_us(0.999), 99900);
  EXPECT_EQ(h.percentile_us(1.0), 100000);
}

TEST(LatencyHistogram, SmallValuesAreExactAndEmptyIsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.percentile_us(0.99), 0);
  for (int i = 0; i < 99; ++i) h.record_us(7);
  h.record_us(5'000'000);  // one 5 s outlier
  EXPECT_EQ(h.percentile_us(0.5), 7);
  EXPECT_EQ(h.percentile_us(0.99), 7);
  EXPECT_EQ(h.max_us(), 5'000'000);
  EXPECT_GE(h.percentile_us(0.999), 4'900'000);
}

TEST(LatencyHistogram, BucketsAreMonotonic) {
  std::int64_t prev = -1;
  for (int b = 0; b < LatencyHistogram::kBuckets; ++b) {
    auto up = LatencyHistogram::bucket_upper_us(b);
    ASSERT_GT(up, prev);
    ASSERT_EQ(LatencyHistogram::bucket_of(up), b);
    prev = up;
  }
}

TEST(LatencyHistogram, MergeAddsCounts) {
  LatencyHistogram a, b;
  a.record_us(10);
  b.record_us(20000);
  b.record_us(30000);
  a.merge(b);
  EXPECT_EQ(a.count(), 3u);
  EXPECT_EQ(a.max_us(), 30000);
}

TEST(SeqTracker, InOrderDeliveryHasNoLoss) {
  SeqTracker t(5);
  for (int s = 6; s <= 10; ++s) EXPECT_EQ(t.on_event(s), SeqTracker::Verdict::kInOrder);
  EXPECT_EQ(t.expected(10), 5);
  EXPECT_EQ(t.received(), 5);
  EXPECT_EQ(t.lost(10), 0);
}

TEST(SeqTracker, MissingTailIsLoss) {
  SeqTracker t(0);
  t.on_event(1);
  t.on_event(2);
  // The room reached seq 4 (an ack said so) but this session never got 3 and 4.
  EXPECT_EQ(t.lost(4), 2);
}

TEST(SeqTracker, GapThenLateArrivalIsReorderNotLoss) {
  SeqTracker t(0);
  EXPECT_EQ(t.on_event(1), SeqTracker::Verdict::kInOrder);
  EXPECT_EQ(t.on_event(3), SeqTracker::Verdict::kGap);
  EXPECT_EQ(t.lost(3), 1);
  EXPECT_EQ(t.on_event(2), SeqTracker::Verdict::kLate);
  EXPECT_EQ(t.lost(3), 0);
}

TEST(SeqTracker, RepeatsAndPreStartEventsAreDuplicates) {
  SeqTracker t(10);
  EXPECT_EQ(t.on_event(10), SeqTracker::Verdict::kDuplicate);  // already in the snapshot
  EXPECT_EQ(t.on_event(11), SeqTracker::Verdict::kInOrder);
  EXPECT_EQ(t.on_event(11), SeqTracker::Verdict::kDuplicate);
  EXPECT_EQ(t.received(), 1);
  EXPECT_EQ(t.lost(11), 0);
}

TEST(SeqTracker, RoomResetGivesUpSeqsWithoutCountingThemLost) {
  SeqTracker t(0);
  t.on_event(1);
  t.on_event(4);  // 2 and 3 missing
  t.on_reset(8);  // server: cannot replay, refetch up to 8
  EXPECT_EQ(t.last(), 8);
  EXPECT_EQ(t.on_event(9), SeqTracker::Verdict::kInOrder);
  EXPECT_EQ(t.lost(9), 0);
  EXPECT_EQ(t.lost(10), 1);
}

TEST(FindMetric, SumsLabelledSamplesAndIgnoresPrefixes) {
  std::string page =
      "# HELP parley_store_commits_total Commits\n"
      "# TYPE parley_store_commits_total counter\n"
      "parley_store_commits_total 41\n"
      "parley_store_commits_total_bytes 999\n"
      "parley_x{a=\"1\"} 3\n"
      "parley_x{a=\"2\"} 4\n";
  EXPECT_EQ(find_metric(page, "parley_store_commits_total"), 41.0);
  EXPECT_EQ(find_metric(page, "parley_x"), 7.0);
  EXPECT_FALSE(find_metric(page, "parley_missing").has_value());
}

}  // namespace
}  // namespace parley::bench
