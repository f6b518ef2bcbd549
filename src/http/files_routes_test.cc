#include "http/files_routes.h"

#include <gtest/gtest.h>

namespace parley::http {
namespace {

TEST(ParseRange, SingleRangesArePartialAndClamped) {
  ByteRange r;
  ASSERT_EQ(parse_range("bytes=0-99", 1000, r), RangeResult::kPartial);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(r.length, 100u);
  ASSERT_EQ(parse_range("bytes=900-", 1000, r), RangeResult::kPartial);
  EXPECT_EQ(r.first, 900u);
  EXPECT_EQ(r.length, 100u);
  ASSERT_EQ(parse_range("bytes=990-5000", 1000, r), RangeResult::kPartial);
  EXPECT_EQ(r.length, 10u);
  ASSERT_EQ(parse_range("bytes=-10", 1000, r), RangeResult::kPartial);
  EXPECT_EQ(r.first, 990u);
  EXPECT_EQ(r.length, 10u);
  ASSERT_EQ(parse_range("bytes=-5000", 1000, r), RangeResult::kPartial);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(r.length, 1000u);
}

TEST(ParseRange, PastTheEndIsUnsatisfiable) {
  ByteRange r;
  EXPECT_EQ(parse_range("bytes=1000-", 1000, r), RangeResult::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=5000-6000", 1000, r), RangeResult::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=-0", 1000, r), RangeResult::kUnsatisfiable);
}

TEST(ParseRange, AnythingElseServesTheWholeBody) {
  ByteRange r;
  for (const char* h : {"", "bytes=", "bytes=a-b", "bytes=5-1", "bytes=0-1,5-6", "items=0-1",
                        "bytes=1-2x", "bytes=--1"}) {
    EXPECT_EQ(parse_range(h, 1000, r), RangeResult::kWhole) << h;
  }
}

}  // namespace
}  // namespace parley::http
