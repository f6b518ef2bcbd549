// Behaviour of the live-conversation use cases (read state, receipts, reactions) over the real
// SQLite store (temp file), with a recording publisher in place of the gateway.
#include "chat/live_service.h"

#include <gtest/gtest.h>

#include "chat/testing/fixture.h"
#include "core/testing/wait.h"
#include <unistd.h>

#include <filesystem>
#include <future>
#include <mutex>

#include "chat/chat_service.h"
#include "store/sqlite/sqlite_store.h"

namespace parley::chat {
namespace {

using core::Errc;
using core::Id;

class RecordingPublisher final : public Publisher {
 public:
  void room_event(const core::RoomEvent& e) override {
    std::lock_guard lock(mu_);
    events.push_back(e);
  }
  void room_joined(Id, const core::Room&) override {}
  void sessions_revoked(Id, Id) override {}
  void read_state(const core::ReadState& s) override {
    std::lock_guard lock(mu_);
    reads.push_back(s);
  }
  void receipt(const core::ReadState& s) override {
    std::lock_guard lock(mu_);
    receipts.push_back(s);
  }
  std::vector<core::RoomEvent> events;
  std::vector<core::ReadState> reads;
  std::vector<core::ReadState> receipts;

 private:
  std::mutex mu_;
};

using test::wait;

class LiveServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::fresh_test_dir("live");
    store_ = test::open_test_store(dir_);
    chat_ = std::make_unique<ChatService>(ChatService::Deps{*store_, pub_, clock_, ids_},
                                          ChatConfig{});
    live_ = std::make_unique<LiveService>(LiveService::Deps{*store_, pub_, clock_});
    alice_ = make_user("alice");
    bob_ = make_user("bob");
    carol_ = make_user("carol");
  }
  void TearDown() override {
    live_.reset();
    chat_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  auth::Actor make_user(const std::string& name) {
    return test::make_test_user(*store_, ids_, clock_, name);
  }

  core::Room group(const auth::Actor& owner, std::vector<Id> members) {
    CreateGroupRequest req{"team", "", std::move(members)};
    return wait<core::Room>([&](auto d) { chat_->create_group(owner, req, std::move(d)); }).value();
  }
  core::Room dm(const auth::Actor& a, const auth::Actor& b) {
    return wait<store::DmResult>([&](auto d) { chat_->open_dm(a, b.user_id, std::move(d)); }).value().room;
  }
  core::RoomEvent send(const auth::Actor& who, Id room, const std::string& body = "hi") {
    auto r = wait<store::AppendResult>([&](auto d) {
      chat_->send(who, SendRequest{room, "t" + std::to_string(++txn_), body, 0}, std::move(d));
    });
    if (!r) {
      ADD_FAILURE() << "send failed";
      return core::RoomEvent{};
    }
    return std::move(r.value().event);
  }
  core::Result<core::ReadState> read(const auth::Actor& who, Id room,
                                     std::optional<std::int64_t> seq) {
    return wait<core::ReadState>([&](auto d) { live_->mark_read(who, room, seq, std::move(d)); });
  }

  std::filesystem::path dir_;
  core::SystemClock clock_;
  core::IdGenerator ids_{clock_, 1};
  std::unique_ptr<store::SqliteStore> store_;
  RecordingPublisher pub_;
  std::unique_ptr<ChatService> chat_;
  std::unique_ptr<LiveService> live_;
  auth::Actor alice_, bob_, carol_;
  int txn_ = 0;
};

TEST_F(LiveServiceTest, ReadMarkerIsAnnouncedToTheReaderOnlyInGroups) {
  auto room = group(alice_, {bob_.user_id});
  send(alice_, room.id);
  auto last = send(alice_, room.id);
  auto r = read(bob_, room.id, 1);  // seq 1 is the first message
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->unread, 1);
  ASSERT_EQ(pub_.reads.size(), 1u);
  EXPECT_EQ(pub_.reads[0].user_id, bob_.user_id);
  EXPECT_TRUE(pub_.receipts.empty());  // groups: receipts on request only

  auto whole = read(bob_, room.id, std::nullopt);  // mark room read
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->last_read_seq, last.seq);
  EXPECT_EQ(whole->unread, 0);

  EXPECT_EQ(read(bob_, room.id, 1).error().code, Errc::kConflict);
  EXPECT_EQ(read(bob_, room.id, last.seq + 1).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(read(bob_, room.id, -3).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(read(carol_, room.id, 1).error().code, Errc::kNotFound);  // outsiders: no room
  EXPECT_EQ(pub_.reads.size(), 2u);  // failures announce nothing
}

TEST_F(LiveServiceTest, MarkUnreadFromAMessageAndMarkAllRead) {
  auto room = group(alice_, {bob_.user_id});
  auto first = send(alice_, room.id, "one");
  send(alice_, room.id, "two");
  ASSERT_TRUE(read(bob_, room.id, std::nullopt).ok());
  auto unread = wait<core::ReadState>([&](auto d) {
    live_->mark_unread(bob_, room.id, first.message->id, std::move(d));
  });
  ASSERT_TRUE(unread.ok()) << unread.error().message;
  EXPECT_EQ(unread->last_read_seq, first.seq - 1);
  EXPECT_EQ(unread->unread, 2);
  auto other_room = group(carol_, {});
  auto wrong = wait<core::ReadState>([&](auto d) {
    live_->mark_unread(carol_, other_room.id, first.message->id, std::move(d));
  });
  EXPECT_EQ(wrong.error().code, Errc::kNotFound);

  auto d = dm(alice_, bob_);
  send(alice_, d.id);
  auto all = wait<std::vector<core::ReadState>>([&](auto cb) { live_->mark_all_read(bob_, std::move(cb)); });
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
  for (const auto& s : *all) EXPECT_EQ(s.unread, 0);
  ASSERT_FALSE(pub_.receipts.empty());  // the DM's read is a receipt to the peer
  EXPECT_EQ(pub_.receipts.back().room_id, d.id);
}

TEST_F(LiveServiceTest, DmReceiptsComeDeliveredThenRead) {
  auto d = dm(alice_, bob_);
  auto m = send(alice_, d.id);
  auto del = wait<core::ReadState>([&](auto cb) { live_->delivered(bob_, d.id, m.seq, std::move(cb)); });
  ASSERT_TRUE(del.ok());
  auto again = wait<core::ReadState>([&](auto cb) { live_->delivered(bob_, d.id, m.seq, std::move(cb)); });
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(read(bob_, d.id, m.seq).ok());
  ASSERT_EQ(pub_.receipts.size(), 2u);  // the repeated delivered changed nothing
  EXPECT_EQ(pub_.receipts[0].delivered_seq, m.seq);
  EXPECT_EQ(pub_.receipts[0].last_read_seq, 0);
  EXPECT_EQ(pub_.receipts[1].last_read_seq, m.seq);
  auto beyond = wait<core::ReadState>([&](auto cb) { live_->delivered(bob_, d.id, 99, std::move(cb)); });
  EXPECT_EQ(beyond.error().code, Errc::kInvalidArgument);
}

TEST_F(LiveServiceTest, GroupReceiptsOnRequestHonourPrivacy) {
  auto room = group(alice_, {bob_.user_id, carol_.user_id});
  auto m = send(alice_, room.id);
  ASSERT_TRUE(read(bob_, room.id, m.seq).ok());
  ASSERT_TRUE(wait<core::User>([&](auto d) {
                live_->update_settings(carol_, false, std::nullopt, std::move(d));
              }).ok());
  ASSERT_TRUE(read(carol_, room.id, m.seq).ok());
  auto rc = wait<core::MessageReceipts>([&](auto d) {
    live_->receipts(alice_, room.id, m.message->id, std::move(d));
  });
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(rc->read_by, std::vector<Id>{bob_.user_id});
  EXPECT_EQ(rc->delivered_to.size(), 2u);
  auto outsider = make_user("dave");
  auto hidden = wait<core::MessageReceipts>([&](auto d) {
    live_->receipts(outsider, room.id, m.message->id, std::move(d));
  });
  EXPECT_EQ(hidden.error().code, Errc::kNotFound);
}

TEST_F(LiveServiceTest, ReactionsArePublishedRoomEventsAndValidated) {
  auto room = group(alice_, {bob_.user_id});
  auto m = send(alice_, room.id);
  pub_.events.clear();
  auto r = wait<store::ReactionResult>([&](auto d) {
    live_->react(bob_, room.id, m.message->id, "🎉", true, std::move(d));
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(pub_.events.size(), 1u);
  EXPECT_EQ(pub_.events[0].type, core::EventType::kReactionAdded);
  EXPECT_EQ(pub_.events[0].count, 1);
  auto same = wait<store::ReactionResult>([&](auto d) {
    live_->react(bob_, room.id, m.message->id, "🎉", true, std::move(d));
  });
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same->changed);
  EXPECT_EQ(pub_.events.size(), 1u);  // nothing changed, nothing published
  for (std::string bad : {std::string(), std::string("a b"), std::string(65, 'x'),
                          std::string("\x01"), std::string("\xff")}) {
    auto e = wait<store::ReactionResult>([&](auto d) {
      live_->react(bob_, room.id, m.message->id, bad, true, std::move(d));
    });
    EXPECT_EQ(e.error().code, Errc::kInvalidArgument) << bad;
  }
  auto outsider = wait<store::ReactionResult>([&](auto d) {
    live_->react(carol_, room.id, m.message->id, "🎉", true, std::move(d));
  });
  EXPECT_EQ(outsider.error().code, Errc::kNotFound);
}

}  // namespace
}  // namespace parley::chat
