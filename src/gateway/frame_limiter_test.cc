#include "gateway/frame_limiter.h"

#include <gtest/gtest.h>

namespace parley::gateway {
namespace {

using V = FrameLimiter::Verdict;

TEST(FrameLimiter, AllowsTheBurstThenLimitsWithRetryAfter) {
  FrameLimiter l(20, 40);
  for (int i = 0; i < 40; ++i) ASSERT_EQ(l.on_frame(1000).verdict, V::kAllow) << i;
  auto d = l.on_frame(1000);
  EXPECT_EQ(d.verdict, V::kLimited);
  EXPECT_EQ(d.retry_after_ms, 50) << "one frame per 50 ms at 20/s";
  EXPECT_EQ(l.on_frame(1050).verdict, V::kAllow) << "refilled after retry_after_ms";
}

TEST(FrameLimiter, SteadyRateWithinBudgetIsNeverLimited) {
  FrameLimiter l(20, 40);
  for (int i = 0; i < 2000; ++i) ASSERT_EQ(l.on_frame(i * 50).verdict, V::kAllow) << i;
}

TEST(FrameLimiter, BetweenOneAndTwoTimesTheBudgetIsLimitedButNotClosed) {
  FrameLimiter l(20, 40);
  int limited = 0;
  for (int i = 0; i < 3000; ++i) {  // 30 frames/s for 100 s
    auto d = l.on_frame(i * 100 / 3);
    ASSERT_NE(d.verdict, V::kAbuse) << i;
    if (d.verdict == V::kLimited) ++limited;
  }
  EXPECT_GT(limited, 500);
}

TEST(FrameLimiter, SustainedAboveTwiceTheBudgetIsAbuse) {
  FrameLimiter l(20, 40);
  bool abuse = false;
  for (int i = 0; i < 1000 && !abuse; ++i) {  // 60 frames/s
    abuse = l.on_frame(i * 50 / 3).verdict == V::kAbuse;
  }
  EXPECT_TRUE(abuse);
}

TEST(FrameLimiter, ClockGoingBackwardsDoesNotMintTokens) {
  FrameLimiter l(1, 1);
  EXPECT_EQ(l.on_frame(10000).verdict, V::kAllow);
  EXPECT_EQ(l.on_frame(5000).verdict, V::kLimited);
  EXPECT_NE(l.on_frame(10000).verdict, V::kAllow);
}

}  // namespace
}  // namespace parley::gateway
