#include "gateway/presence.h"

#include <gtest/gtest.h>

namespace parley::gateway {
namespace {

PresenceConfig config() {
  PresenceConfig c;
  c.idle_after_ms = 60'000;
  return c;
}

// The changes of one tick, flattened as "room:user=status".
std::vector<std::string> flat(const PresenceTick& t) {
  std::vector<std::string> out;
  for (const auto& b : t.batches) {
    for (const auto& c : b.changes) {
      out.push_back(std::to_string(b.room_id) + ":" + std::to_string(c.user_id) + "=" +
                    std::string(to_string(c.status)));
    }
  }
  return out;
}

int a1, a2, b1;  // session keys (addresses only)

TEST(Presence, OnlineWhenAnyDeviceIsActiveAwayWhenAllIdleOfflineWithLastSeen) {
  PresenceTracker p(config());
  p.connect(&a1, 1, false, 0, {10, 11}, 1000);
  p.connect(&a2, 1, false, 0, {10}, 1000);
  EXPECT_EQ(flat(p.tick(1500)), (std::vector<std::string>{"10:1=online", "11:1=online"}));
  EXPECT_TRUE(flat(p.tick(1600)).empty());  // nothing changed: nothing sent

  p.report(&a1, true, 2000);
  EXPECT_TRUE(flat(p.tick(2500)).empty());  // the other device is still active
  p.report(&a2, true, 2600);
  EXPECT_EQ(flat(p.tick(3000)), (std::vector<std::string>{"10:1=away", "11:1=away"}));

  p.report(&a2, false, 3100);
  EXPECT_EQ(flat(p.tick(3500)), (std::vector<std::string>{"10:1=online", "11:1=online"}));

  p.disconnect(&a1, 4000);
  EXPECT_TRUE(flat(p.tick(4500)).empty());
  p.disconnect(&a2, 5000);
  auto t = p.tick(5500);
  // Announced in the rooms of the sessions still connected at the end (a2 followed room 10 only).
  EXPECT_EQ(flat(t), (std::vector<std::string>{"10:1=offline"}));
  ASSERT_EQ(t.went_offline.size(), 1u);
  EXPECT_EQ(t.went_offline[0].last_seen, 5000);
  EXPECT_EQ(t.batches[0].changes[0].last_seen, 5000);
  EXPECT_EQ(p.users(), 0u);  // forgotten once announced
}

TEST(Presence, AUserJoiningARoomLaterIsAnnouncedThereOnceWithTheUnchangedStatus) {
  PresenceTracker p(config());
  p.connect(&a1, 1, false, 0, {10}, 1000);
  p.connect(&b1, 2, false, 0, {}, 1000);
  EXPECT_EQ(flat(p.tick(1500)), (std::vector<std::string>{"10:1=online"}));
  p.join(&b1, 12);  // a DM between 1 and 2 opened: both join it
  p.join(&a1, 12);
  p.join(&a1, 12);  // the same room again: nothing more
  EXPECT_EQ(flat(p.tick(2500)), (std::vector<std::string>{"12:1=online", "12:2=online"}));
  EXPECT_TRUE(flat(p.tick(3500)).empty());
  p.report(&b1, true, 3600);  // a change after the join goes to every room once, as before
  p.join(&b1, 13);
  EXPECT_EQ(flat(p.tick(4500)), (std::vector<std::string>{"12:2=away", "13:2=away"}));
}

TEST(Presence, IdleAfterConfiguredTimeAndBackOnActivity) {
  PresenceTracker p(config());
  p.connect(&a1, 1, false, 0, {10}, 0);
  (void)p.tick(100);
  EXPECT_TRUE(flat(p.tick(59'000)).empty());
  EXPECT_EQ(flat(p.tick(60'000)), (std::vector<std::string>{"10:1=away"}));
  p.activity(&a1, 61'000);
  EXPECT_EQ(flat(p.tick(61'500)), (std::vector<std::string>{"10:1=online"}));
}

TEST(Presence, InvisibleUsersLookOfflineAndKeepTheirLastSeen) {
  PresenceTracker p(config());
  p.connect(&a1, 1, true, 777, {10}, 1000);
  p.connect(&b1, 2, false, 0, {10}, 1000);
  EXPECT_EQ(flat(p.tick(1500)), (std::vector<std::string>{"10:2=online"}));
  auto snap = p.snapshot({10}, 2);
  EXPECT_TRUE(snap.empty());  // the invisible user is not in anyone's snapshot
  EXPECT_EQ(p.status(1).status, PresenceStatus::kOffline);
  p.disconnect(&a1, 2000);
  auto t = p.tick(2500);
  EXPECT_TRUE(flat(t).empty());
  EXPECT_TRUE(t.went_offline.empty());  // last_seen is not moved while invisible
  // Becoming visible is announced.
  p.connect(&a2, 1, true, 777, {10}, 3000);
  p.set_invisible(1, false);
  EXPECT_EQ(flat(p.tick(3500)), (std::vector<std::string>{"10:1=online"}));
}

TEST(Presence, FlappingBetweenTicksIsNeverAnnouncedAndSnapshotsAreBounded) {
  PresenceConfig c = config();
  c.max_snapshot_users = 3;
  PresenceTracker p(c);
  p.connect(&a1, 1, false, 0, {10}, 0);
  p.disconnect(&a1, 10);
  EXPECT_TRUE(flat(p.tick(100)).empty());
  std::vector<int> keys(10);
  for (int i = 0; i < 10; ++i) p.connect(&keys[i], 100 + i, false, 0, {10, 11}, 0);
  auto t = p.tick(200);
  ASSERT_EQ(t.batches.size(), 2u);  // one batch per room for all ten users
  EXPECT_EQ(t.batches[0].changes.size(), 10u);
  EXPECT_EQ(p.snapshot({10, 11}, 100).size(), 3u);
  // Reconnecting before the offline tick: no offline, no online announcement.
  p.disconnect(&keys[0], 300);
  p.connect(&keys[0], 100, false, 0, {11}, 310);
  EXPECT_TRUE(flat(p.tick(400)).empty());
  p.disconnect(&keys[0], 500);
  EXPECT_EQ(flat(p.tick(600)), (std::vector<std::string>{"11:100=offline"}));  // its rooms now
}

}  // namespace
}  // namespace parley::gateway
