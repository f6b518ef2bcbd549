#include "bus/local/local_bus.h"

#include <gtest/gtest.h>

#include <vector>

namespace parley::bus {
namespace {

TEST(LocalBus, DeliversOnlySubscribedTopicsInOrder) {
  LocalBus bus;
  std::vector<std::int64_t> got;
  bus.set_sink([&](const Publication& p) { got.push_back(p.seq); });
  Topic room{Topic::Kind::kRoom, 42};
  Topic other{Topic::Kind::kRoom, 43};
  bus.publish({room, 1, std::make_shared<const std::string>("x")});  // not subscribed yet
  bus.subscribe(room);
  for (int i = 2; i <= 5; ++i) bus.publish({room, i, std::make_shared<const std::string>("x")});
  bus.publish({other, 99, std::make_shared<const std::string>("y")});
  bus.unsubscribe(room);
  bus.publish({room, 6, std::make_shared<const std::string>("x")});
  EXPECT_EQ(got, (std::vector<std::int64_t>{2, 3, 4, 5}));
}

TEST(LocalBus, RoomAndUserTopicsWithSameIdAreDistinct) {
  LocalBus bus;
  int n = 0;
  bus.set_sink([&](const Publication&) { ++n; });
  bus.subscribe({Topic::Kind::kUser, 7});
  bus.publish({{Topic::Kind::kRoom, 7}, 1, std::make_shared<const std::string>("x")});
  EXPECT_EQ(n, 0);
  bus.publish({{Topic::Kind::kUser, 7}, 0, std::make_shared<const std::string>("x")});
  EXPECT_EQ(n, 1);
}

}  // namespace
}  // namespace parley::bus
