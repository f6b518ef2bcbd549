#include "auth/rate_limiter.h"

#include <gtest/gtest.h>

namespace parley::auth {
namespace {

using core::Errc;

TEST(RateLimiter, AllowsBurstThenLimitsWithRetryAfter) {
  core::ManualClock clock(1'000'000);
  RateLimiter rl(clock, RateLimiterConfig{.per_minute = 6, .burst = 3});
  EXPECT_TRUE(rl.try_acquire("1.2.3.4").ok());
  EXPECT_TRUE(rl.try_acquire("1.2.3.4").ok());
  EXPECT_TRUE(rl.try_acquire("1.2.3.4").ok());
  auto denied = rl.try_acquire("1.2.3.4");
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code, Errc::kRateLimited);
  // 6 per minute: one token every 10 s.
  EXPECT_EQ(denied.error().retry_after_ms, 10'000);
}

TEST(RateLimiter, KeysAreIndependent) {
  core::ManualClock clock(0);
  RateLimiter rl(clock, RateLimiterConfig{.per_minute = 1, .burst = 1});
  EXPECT_TRUE(rl.try_acquire("alice").ok());
  EXPECT_FALSE(rl.try_acquire("alice").ok());
  EXPECT_TRUE(rl.try_acquire("bob").ok());
}

TEST(RateLimiter, RefillsOverTimeButNotBeyondBurst) {
  core::ManualClock clock(0);
  RateLimiter rl(clock, RateLimiterConfig{.per_minute = 60, .burst = 2});
  EXPECT_TRUE(rl.try_acquire("k").ok());
  EXPECT_TRUE(rl.try_acquire("k").ok());
  EXPECT_FALSE(rl.try_acquire("k").ok());
  clock.advance_ms(500);
  auto still = rl.try_acquire("k");
  ASSERT_FALSE(still.ok());
  EXPECT_EQ(still.error().retry_after_ms, 500);
  clock.advance_ms(500);
  EXPECT_TRUE(rl.try_acquire("k").ok());
  // A long idle period refills to the burst, not more.
  clock.advance_ms(3'600'000);
  EXPECT_TRUE(rl.try_acquire("k").ok());
  EXPECT_TRUE(rl.try_acquire("k").ok());
  EXPECT_FALSE(rl.try_acquire("k").ok());
}

TEST(RateLimiter, ClockGoingBackwardsNeitherRefillsNorBreaks) {
  core::ManualClock clock(100'000);
  RateLimiter rl(clock, RateLimiterConfig{.per_minute = 60, .burst = 1});
  EXPECT_TRUE(rl.try_acquire("k").ok());
  clock.advance_ms(-50'000);
  EXPECT_FALSE(rl.try_acquire("k").ok());
  clock.advance_ms(51'000);
  EXPECT_TRUE(rl.try_acquire("k").ok());
}

TEST(RateLimiter, MemoryIsBoundedByEvictingLeastRecentlyUsed) {
  core::ManualClock clock(0);
  RateLimiter rl(clock, RateLimiterConfig{.per_minute = 1, .burst = 1, .max_keys = 3});
  EXPECT_TRUE(rl.try_acquire("a").ok());
  EXPECT_TRUE(rl.try_acquire("b").ok());
  EXPECT_TRUE(rl.try_acquire("c").ok());
  EXPECT_FALSE(rl.try_acquire("a").ok());  // a is now the most recently used
  EXPECT_TRUE(rl.try_acquire("d").ok());   // evicts b, the least recently used
  EXPECT_EQ(rl.size(), 3u);
  EXPECT_FALSE(rl.try_acquire("a").ok());  // a kept its (empty) bucket
  EXPECT_FALSE(rl.try_acquire("c").ok());
  EXPECT_TRUE(rl.try_acquire("b").ok());   // b was forgotten: a fresh bucket
  for (int i = 0; i < 1000; ++i) (void)rl.try_acquire("spray-" + std::to_string(i));
  EXPECT_EQ(rl.size(), 3u);
}

}  // namespace
}  // namespace parley::auth
