#include "core/id.h"

#include <gtest/gtest.h>

#include <set>

namespace parley::core {
namespace {

TEST(IdGenerator, IdsAreUniqueAndIncreasing) {
  ManualClock clock(kIdEpochMs + 1000);
  IdGenerator gen(clock, 3);
  Id prev = 0;
  std::set<Id> seen;
  for (int i = 0; i < 40000; ++i) {  // more than one millisecond's worth of counter
    Id id = gen.next();
    EXPECT_GT(id, prev);
    prev = id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 40000u);
}

TEST(IdGenerator, ClockGoingBackwardsKeepsOrder) {
  ManualClock clock(kIdEpochMs + 5000);
  IdGenerator gen(clock, 0);
  Id a = gen.next();
  clock.advance_ms(-2000);
  Id b = gen.next();
  EXPECT_GT(b, a);
}

TEST(IdGenerator, EncodesCreationTime) {
  ManualClock clock(kIdEpochMs + 123456789);
  IdGenerator gen(clock, 7);
  EXPECT_EQ(id_time_ms(gen.next()), kIdEpochMs + 123456789);
}

TEST(ParseId, RoundTripsAndRejectsGarbage) {
  EXPECT_EQ(parse_id(id_to_string(18446744073709551615ull)), 18446744073709551615ull);
  EXPECT_FALSE(parse_id(""));
  EXPECT_FALSE(parse_id("0"));
  EXPECT_FALSE(parse_id("-1"));
  EXPECT_FALSE(parse_id("12a"));
  EXPECT_FALSE(parse_id("18446744073709551616"));  // 2^64 overflows
}

}  // namespace
}  // namespace parley::core
