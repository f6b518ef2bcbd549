#include "gateway/outbound_queue.h"

#include <gtest/gtest.h>

#include <string>

namespace parley::gateway {
namespace {

Frame bytes(std::size_t n) { return std::make_shared<const std::string>(n, 'x'); }

TEST(OutboundQueue, CountsBytesUntilTheWriteCompletes) {
  OutboundQueue q(100);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.push(bytes(30), 7), OutboundQueue::Push::kOk);
  EXPECT_EQ(q.push(bytes(20)), OutboundQueue::Push::kOk);
  EXPECT_EQ(q.bytes(), 50u);
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.front().frame->size(), 30u);
  EXPECT_EQ(q.front().stamp_ns, 7);
  q.pop();  // the first write completed
  EXPECT_EQ(q.bytes(), 20u);
  EXPECT_EQ(q.front().frame->size(), 20u);
  q.pop();
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
}

TEST(OutboundQueue, OverTheCapReportsSlowConsumer) {
  OutboundQueue q(100);
  EXPECT_EQ(q.push(bytes(60)), OutboundQueue::Push::kOk);
  EXPECT_EQ(q.push(bytes(40)), OutboundQueue::Push::kOk) << "exactly at the cap is fine";
  EXPECT_EQ(q.push(bytes(1)), OutboundQueue::Push::kOverCap);
  EXPECT_EQ(q.bytes(), 100u) << "a refused frame is not queued";
  EXPECT_EQ(q.size(), 2u);
  q.pop();
  EXPECT_EQ(q.push(bytes(50)), OutboundQueue::Push::kOk) << "room again once the client reads";
}

TEST(OutboundQueue, ALoneFrameLargerThanTheCapIsAccepted) {
  OutboundQueue q(100);
  EXPECT_EQ(q.push(bytes(500)), OutboundQueue::Push::kOk);
  EXPECT_EQ(q.push(bytes(1)), OutboundQueue::Push::kOverCap);
}

TEST(OutboundQueue, ForcedFramesCountButNeverTripTheCap) {
  OutboundQueue q(100);
  q.push_forced(bytes(300));  // a replay page
  EXPECT_EQ(q.bytes(), 300u);
  EXPECT_EQ(q.capped_bytes(), 0u);
  EXPECT_EQ(q.push(bytes(80)), OutboundQueue::Push::kOk) << "live traffic is judged on its own";
  EXPECT_EQ(q.push(bytes(30)), OutboundQueue::Push::kOverCap);
  q.pop();
  EXPECT_EQ(q.bytes(), 80u);
  EXPECT_EQ(q.capped_bytes(), 80u);
}

TEST(OutboundQueue, ManyPushPopCyclesKeepAccountingExact) {
  OutboundQueue q(1 << 20);
  std::size_t expect = 0;
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 100; ++i) {
      ASSERT_EQ(q.push(bytes(10 + i % 7)), OutboundQueue::Push::kOk);
      expect += 10 + i % 7;
    }
    for (int i = 0; i < 60; ++i) {
      expect -= q.front().frame->size();
      q.pop();
    }
    ASSERT_EQ(q.bytes(), expect);
  }
  while (!q.empty()) q.pop();
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_EQ(q.capped_bytes(), 0u);
}

TEST(OutboundQueue, PreservesOrder) {
  OutboundQueue q(1000);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(q.push(std::make_shared<const std::string>(std::to_string(i))), OutboundQueue::Push::kOk);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(*q.front().frame, std::to_string(i));
    q.pop();
  }
}

TEST(OutboundQueue, ClearDropsEverything) {
  OutboundQueue q(100);
  q.push(bytes(10));
  q.push_forced(bytes(10));
  q.clear();
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_EQ(q.capped_bytes(), 0u);
}

}  // namespace
}  // namespace parley::gateway
