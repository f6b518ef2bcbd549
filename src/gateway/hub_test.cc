#include "gateway/hub.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <atomic>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include "api/json.h"
#include "gateway/internal/hub_impl.h"
#include "ops/metrics.h"

namespace parley::gateway {
namespace {

using bus::Topic;
constexpr auto kRoom = Topic::Kind::kRoom;
constexpr auto kUser = Topic::Kind::kUser;

// Delivers synchronously to the sink for subscribed topics (like LocalBus) and records calls.
class FakeBus final : public bus::Bus {
 public:
  void set_sink(Sink s) override { sink_ = std::move(s); }
  void subscribe(Topic t) override {
    subscribed_.push_back(t);
    topics_.insert(t);
  }
  void unsubscribe(Topic t) override {
    unsubscribed_.push_back(t);
    topics_.erase(t);
  }
  void publish(bus::Publication p) override {
    published_.push_back(p);
    if (sink_ && topics_.contains(p.topic)) sink_(p);
  }
  std::vector<Topic> subscribed_, unsubscribed_;
  std::vector<bus::Publication> published_;
  std::unordered_set<Topic, bus::TopicHash> topics_;

 private:
  Sink sink_;
};

class FakeFollower final : public Follower {
 public:
  void deliver(const DeliveryPtr& d) override {
    std::lock_guard lock(mu_);
    got.push_back(d);
  }
  std::mutex mu_;
  std::vector<DeliveryPtr> got;
};

core::RoomEvent message_event(core::Id room, std::int64_t seq) {
  core::RoomEvent e;
  e.room_id = room;
  e.seq = seq;
  e.type = core::EventType::kMessageCreated;
  e.actor_id = 5;
  e.created_at = 1700000000000;
  core::Message m;
  m.id = 1000 + static_cast<core::Id>(seq);
  m.room_id = room;
  m.seq = seq;
  m.sender_id = 5;
  m.client_txn_id = "t" + std::to_string(seq);
  m.body = "hello";
  m.created_at = e.created_at;
  e.message = m;
  return e;
}

struct HubTest : ::testing::Test {
  FakeBus bus;
  ops::Registry metrics;
  Hub hub{bus, metrics};
  Hub::Impl& impl = hub.impl();
};

TEST_F(HubTest, FanOutEncodesOnceAndEveryFollowerSharesTheFrame) {
  auto a = std::make_shared<FakeFollower>();
  auto b = std::make_shared<FakeFollower>();
  auto c = std::make_shared<FakeFollower>();
  auto elsewhere = std::make_shared<FakeFollower>();
  impl.follow({kRoom, 10}, a);
  impl.follow({kRoom, 10}, b);
  impl.follow({kRoom, 10}, c);
  impl.follow({kRoom, 11}, elsewhere);

  const auto e = message_event(10, 7);
  hub.room_event(e);

  ASSERT_EQ(bus.published_.size(), 1u);
  EXPECT_EQ(bus.published_[0].seq, 7);
  EXPECT_EQ(*bus.published_[0].frame, api::event_frame(e));
  for (auto* f : {a.get(), b.get(), c.get()}) {
    ASSERT_EQ(f->got.size(), 1u);
    const Delivery& d = *f->got[0];
    EXPECT_EQ(d.kind, Delivery::Kind::kRoomEvent);
    EXPECT_EQ(d.room_id, 10u);
    EXPECT_EQ(d.seq, 7);
    EXPECT_EQ(d.left_user, 0u);
    EXPECT_GT(d.received_ns, 0);
    EXPECT_EQ(d.frame.get(), bus.published_[0].frame.get()) << "one encoded frame for everyone";
  }
  EXPECT_TRUE(elsewhere->got.empty());
}

TEST_F(HubTest, SubscribesOnFirstFollowerAndUnsubscribesAfterTheLast) {
  auto a = std::make_shared<FakeFollower>();
  auto b = std::make_shared<FakeFollower>();
  impl.follow({kRoom, 10}, a);
  EXPECT_EQ(bus.subscribed_, (std::vector<Topic>{{kRoom, 10}}));
  impl.follow({kRoom, 10}, b);
  impl.follow({kRoom, 10}, b);  // idempotent
  EXPECT_EQ(bus.subscribed_.size(), 1u) << "one bus subscription per topic per node";
  EXPECT_EQ(impl.followers({kRoom, 10}), 2u);

  impl.unfollow({kRoom, 10}, a.get());
  EXPECT_TRUE(bus.unsubscribed_.empty());
  hub.room_event(message_event(10, 1));
  EXPECT_TRUE(a->got.empty()) << "an unfollowed session gets nothing";
  EXPECT_EQ(b->got.size(), 1u);

  impl.unfollow({kRoom, 10}, b.get());
  EXPECT_EQ(bus.unsubscribed_, (std::vector<Topic>{{kRoom, 10}}));
  EXPECT_EQ(impl.topics(), 0u);
  hub.room_event(message_event(10, 2));
  EXPECT_EQ(b->got.size(), 1u);

  impl.follow({kRoom, 10}, a);
  EXPECT_EQ(bus.subscribed_.size(), 2u) << "subscribes again for a new first follower";
}

TEST_F(HubTest, RoomAndUserTopicsAreSeparate) {
  auto a = std::make_shared<FakeFollower>();
  impl.follow({kUser, 10}, a);
  hub.room_event(message_event(10, 1));
  EXPECT_TRUE(a->got.empty());
}

TEST_F(HubTest, DoesNotKeepFollowersAliveAndPrunesDeadOnes) {
  auto a = std::make_shared<FakeFollower>();
  std::weak_ptr<FakeFollower> weak = a;
  impl.follow({kRoom, 10}, a);
  a.reset();
  EXPECT_TRUE(weak.expired()) << "the Hub holds weak references only";
  hub.room_event(message_event(10, 1));  // no crash; the dead entry is pruned
  EXPECT_EQ(impl.followers({kRoom, 10}), 0u);
  EXPECT_EQ(bus.unsubscribed_, (std::vector<Topic>{{kRoom, 10}}));
}

TEST_F(HubTest, MemberLeftNamesWhoLeft) {
  auto a = std::make_shared<FakeFollower>();
  impl.follow({kRoom, 10}, a);
  core::RoomEvent e;
  e.room_id = 10;
  e.seq = 3;
  e.type = core::EventType::kMemberLeft;
  e.actor_id = 42;
  e.user_id = 42;
  hub.room_event(e);
  ASSERT_EQ(a->got.size(), 1u);
  EXPECT_EQ(a->got[0]->left_user, 42u);
  EXPECT_EQ(*a->got[0]->frame, api::event_frame(e)) << "sent to clients unchanged";
}

TEST_F(HubTest, RoomJoinedGoesToTheUsersTopicAsARoomSummary) {
  auto alice = std::make_shared<FakeFollower>();
  auto bob = std::make_shared<FakeFollower>();
  impl.follow({kUser, 1}, alice);
  impl.follow({kUser, 2}, bob);
  core::Room room;
  room.id = 10;
  room.kind = core::RoomKind::kGroup;
  room.name = "design";
  room.created_by = 1;
  room.last_seq = 4;
  hub.room_joined(1, room);
  hub.room_joined(2, room);

  ASSERT_EQ(alice->got.size(), 1u);
  const Delivery& d = *alice->got[0];
  EXPECT_EQ(d.kind, Delivery::Kind::kRoomJoined);
  EXPECT_EQ(d.room_id, 10u);
  EXPECT_EQ(d.seq, 4) << "events follow from the room's last_seq";
  EXPECT_FALSE(d.dm_peer_unknown);
  auto v = boost::json::parse(*d.frame);
  EXPECT_EQ(v.at("op"), "room.joined");
  const auto& s = v.at("d").at("room");
  EXPECT_EQ(s.at("room").at("id"), "10");
  EXPECT_EQ(s.at("room").at("last_seq"), 4);
  EXPECT_EQ(s.at("role"), "owner") << "the creator owns the group";
  EXPECT_EQ(s.at("unread"), 0);
  EXPECT_TRUE(s.at("last_message").is_null());
  EXPECT_TRUE(s.at("dm_peer_id").is_null());

  ASSERT_EQ(bob->got.size(), 1u);
  EXPECT_EQ(boost::json::parse(*bob->got[0]->frame).at("d").at("room").at("role"), "member");
}

TEST_F(HubTest, DmJoinNamesThePeerWhenItCan) {
  auto opener = std::make_shared<FakeFollower>();
  auto peer = std::make_shared<FakeFollower>();
  impl.follow({kUser, 1}, opener);
  impl.follow({kUser, 2}, peer);
  core::Room dm;
  dm.id = 20;
  dm.kind = core::RoomKind::kDm;
  dm.created_by = 1;
  hub.room_joined(1, dm);
  hub.room_joined(2, dm);
  ASSERT_EQ(peer->got.size(), 1u);
  EXPECT_FALSE(peer->got[0]->dm_peer_unknown);
  EXPECT_EQ(boost::json::parse(*peer->got[0]->frame).at("d").at("room").at("dm_peer_id"), "1");
  ASSERT_EQ(opener->got.size(), 1u);
  EXPECT_TRUE(opener->got[0]->dm_peer_unknown) << "the session looks the peer up";
}

TEST_F(HubTest, SessionsRevokedReachTheUsersSessions) {
  auto a = std::make_shared<FakeFollower>();
  auto other_user = std::make_shared<FakeFollower>();
  impl.follow({kUser, 1}, a);
  impl.follow({kUser, 2}, other_user);
  hub.sessions_revoked(1, 99);
  hub.sessions_revoked(1, 0);
  ASSERT_EQ(a->got.size(), 2u);
  EXPECT_EQ(a->got[0]->kind, Delivery::Kind::kRevoked);
  EXPECT_EQ(a->got[0]->session_id, 99u);
  EXPECT_EQ(a->got[1]->session_id, 0u) << "0 = every session of the user";
  EXPECT_TRUE(other_user->got.empty());
}

TEST(HubConcurrency, ChurnOnATopicDoesNotDisturbStableFollowers) {
  // A real in-process bus: publish runs the sink on the publishing thread.
  class SyncBus final : public bus::Bus {
   public:
    void set_sink(Sink s) override {
      std::lock_guard lock(mu_);
      sink_ = std::move(s);
    }
    void subscribe(Topic t) override {
      std::lock_guard lock(mu_);
      topics_.insert(t);
    }
    void unsubscribe(Topic t) override {
      std::lock_guard lock(mu_);
      topics_.erase(t);
    }
    void publish(bus::Publication p) override {
      Sink sink;
      {
        std::lock_guard lock(mu_);
        if (!sink_ || !topics_.contains(p.topic)) return;
        sink = sink_;
      }
      sink(p);
    }

   private:
    std::mutex mu_;
    Sink sink_;
    std::unordered_set<Topic, bus::TopicHash> topics_;
  } bus;
  ops::Registry metrics;
  Hub hub(bus, metrics);
  auto stable = std::make_shared<FakeFollower>();
  hub.impl().follow({kRoom, 1}, stable);

  std::atomic<bool> stop{false};
  std::thread churn([&] {
    while (!stop.load()) {
      auto f = std::make_shared<FakeFollower>();
      hub.impl().follow({kRoom, 1}, f);
      hub.impl().follow({kRoom, 2}, f);
      hub.impl().unfollow({kRoom, 1}, f.get());
      // f dies still following room 2: the Hub must cope with the dangling weak reference.
    }
  });
  constexpr int kEvents = 3000;
  std::thread publisher([&] {
    for (int i = 1; i <= kEvents; ++i) {
      hub.room_event(message_event(1, i));
      if (i % 3 == 0) hub.room_event(message_event(2, i));
    }
  });
  publisher.join();
  stop.store(true);
  churn.join();

  ASSERT_EQ(stable->got.size(), static_cast<std::size_t>(kEvents));
  for (int i = 0; i < kEvents; ++i) ASSERT_EQ(stable->got[i]->seq, i + 1) << "in publish order";
  EXPECT_EQ(hub.impl().followers({kRoom, 1}), 1u);
}

TEST(HubEnvelope, PlainUserFramesPassThroughAndBadEnvelopesAreRejected) {
  auto plain = std::make_shared<const std::string>(R"({"op":"typing","d":{}})");
  auto d = decode_publication({{kUser, 1}, 0, plain}, 1);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->kind, Delivery::Kind::kEphemeral);
  EXPECT_EQ(d->frame.get(), plain.get());

  EXPECT_FALSE(decode_publication({{kUser, 1}, 0, std::make_shared<const std::string>("\x01Rx")}, 1));
  EXPECT_FALSE(decode_publication({{kUser, 1}, 0, std::make_shared<const std::string>("\x01J12")}, 1));
  EXPECT_FALSE(decode_publication({{kUser, 1}, 0, std::make_shared<const std::string>("\x01Q")}, 1));
  EXPECT_FALSE(decode_publication({{kUser, 1}, 0, std::make_shared<const std::string>("")}, 1));

  auto j = decode_publication(
      {{kUser, 1}, 0, std::make_shared<const std::string>(encode_room_joined(12, 34, true, "{}"))}, 1);
  ASSERT_TRUE(j);
  EXPECT_EQ(j->room_id, 12u);
  EXPECT_EQ(j->seq, 34);
  EXPECT_TRUE(j->dm_peer_unknown);
  EXPECT_EQ(*j->frame, "{}");

  auto eph = decode_publication({{kRoom, 3}, 0, plain}, 1);
  ASSERT_TRUE(eph);
  EXPECT_EQ(eph->kind, Delivery::Kind::kEphemeral) << "seq 0 on a room topic is ephemeral";
}

}  // namespace
}  // namespace parley::gateway
