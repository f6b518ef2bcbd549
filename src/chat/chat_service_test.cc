// Behaviour of the chat use cases over the real SQLite store (temp file) with a recording
// publisher in place of the gateway.
#include "chat/chat_service.h"

#include <gtest/gtest.h>

#include "chat/testing/fixture.h"
#include "core/testing/wait.h"

#include <filesystem>
#include <future>
#include <mutex>

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
  void room_joined(Id user_id, const core::Room& room) override {
    std::lock_guard lock(mu_);
    joined.emplace_back(user_id, room.id);
  }
  void sessions_revoked(Id, Id) override {}
  std::vector<core::RoomEvent> events;
  std::vector<std::pair<Id, Id>> joined;

 private:
  std::mutex mu_;
};

class RecordingMentionSink final : public MentionSink {
 public:
  void mentioned(const core::Message& m, const MentionDelta& d) override {
    std::lock_guard lock(mu_);
    calls.emplace_back(m, d);
  }
  std::vector<std::pair<core::Message, MentionDelta>> calls;

 private:
  std::mutex mu_;
};

using test::wait;

class ChatServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::fresh_test_dir("chat");
    store_ = test::open_test_store(dir_);
    chat_ = std::make_unique<ChatService>(
        ChatService::Deps{*store_, pub_, clock_, ids_, &mentions_},
        ChatConfig{.mention_all_min_members = 3});
    alice_ = make_user("alice");
    bob_ = make_user("bob");
    carol_ = make_user("carol");
  }
  void TearDown() override {
    chat_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  Actor make_user(const std::string& name) {
    return test::make_test_user(*store_, ids_, clock_, name);
  }

  core::Room group(const Actor& owner, std::vector<Id> members) {
    CreateGroupRequest req{"team", "", std::move(members)};
    return wait<core::Room>([&](auto d) { chat_->create_group(owner, req, std::move(d)); }).value();
  }

  core::Result<store::AppendResult> send(const Actor& who, Id room, const std::string& txn,
                                         const std::string& body = "hi") {
    return wait<store::AppendResult>(
        [&](auto d) { chat_->send(who, SendRequest{room, txn, body, 0}, std::move(d)); });
  }

  std::filesystem::path dir_;
  core::SystemClock clock_;
  core::IdGenerator ids_{clock_, 1};
  std::unique_ptr<store::SqliteStore> store_;
  RecordingPublisher pub_;
  RecordingMentionSink mentions_;
  std::unique_ptr<ChatService> chat_;
  Actor alice_, bob_, carol_;
};

TEST_F(ChatServiceTest, SendStoresRenderedHtmlAndResolvedMentions) {
  auto room = group(alice_, {bob_.user_id});
  auto r = send(alice_, room.id, "t1", "**hi** @bob and @carol, not @nobody :tada:");
  ASSERT_TRUE(r);
  const core::Message& m = *r->event.message;
  EXPECT_EQ(m.html, "<p><strong>hi</strong> <span class=\"mention\" data-user-id=\"" +
                        core::id_to_string(bob_.user_id) + "\">@bob</span> and "
                        "<span class=\"mention\" data-user-id=\"" +
                        core::id_to_string(carol_.user_id) +
                        "\">@carol</span>, not @nobody \xf0\x9f\x8e\x89</p>\n");
  EXPECT_EQ(m.mentions.user_ids, (std::vector<Id>{bob_.user_id, carol_.user_id}));
  // The sink hears of members only (carol is not one).
  ASSERT_EQ(mentions_.calls.size(), 1u);
  EXPECT_EQ(mentions_.calls[0].second.user_ids, std::vector<Id>{bob_.user_id});
  EXPECT_FALSE(mentions_.calls[0].second.edited);
  // History carries the same.
  auto h = wait<std::vector<core::Message>>([&](auto d) {
    chat_->history(bob_, store::HistoryQuery{room.id, 0, 0, 0, 10}, std::move(d));
  });
  ASSERT_TRUE(h);
  EXPECT_EQ(h->back().html, m.html);
  EXPECT_EQ(h->back().mentions.user_ids, m.mentions.user_ids);
}

TEST_F(ChatServiceTest, MentioningEveryoneFollowsRoleAndRoomSize) {
  auto small = group(alice_, {bob_.user_id});  // 2 members: anyone may
  EXPECT_TRUE(send(bob_, small.id, "s1", "@room lunch?"));
  auto large = group(alice_, {bob_.user_id, carol_.user_id});  // 3 = the configured minimum
  auto refused = send(bob_, large.id, "l1", "@here lunch?");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::kMentionNotAllowed);
  auto owner = send(alice_, large.id, "l2", "@here lunch?");
  ASSERT_TRUE(owner);
  EXPECT_TRUE(owner->event.message->mentions.here);
  // Nothing of the refused send was stored.
  auto h = wait<std::vector<core::Message>>([&](auto d) {
    chat_->history(alice_, store::HistoryQuery{large.id, 0, 0, 0, 10}, std::move(d));
  });
  ASSERT_EQ(h->size(), 1u);
  // Inside code it is no mention, so no refusal.
  EXPECT_TRUE(send(bob_, large.id, "l3", "type `@room` to ping everyone"));
}

TEST_F(ChatServiceTest, EditReRendersAndTellsOnlyNewMentions) {
  auto room = group(alice_, {bob_.user_id, carol_.user_id});
  auto r = send(alice_, room.id, "t1", "hi @bob");
  ASSERT_TRUE(r);
  mentions_.calls.clear();
  auto e = wait<core::RoomEvent>([&](auto d) {
    chat_->edit(alice_, room.id, r->event.message->id, "hi *@bob* and @carol", std::move(d));
  });
  ASSERT_TRUE(e);
  EXPECT_NE(e->message->html.find("<em><span class=\"mention\""), std::string::npos);
  EXPECT_EQ(e->message->mentions.user_ids, (std::vector<Id>{bob_.user_id, carol_.user_id}));
  ASSERT_EQ(mentions_.calls.size(), 1u);
  EXPECT_EQ(mentions_.calls[0].second.user_ids, std::vector<Id>{carol_.user_id});
  EXPECT_TRUE(mentions_.calls[0].second.edited);
  // An edit that mentions nobody new tells nobody; a plain member may not add @room here.
  auto quiet = wait<core::RoomEvent>([&](auto d) {
    chat_->edit(alice_, room.id, r->event.message->id, "`code` only", std::move(d));
  });
  ASSERT_TRUE(quiet);
  EXPECT_EQ(quiet->message->html, "<p><code>code</code> only</p>\n");
  EXPECT_TRUE(quiet->message->mentions.empty());
  EXPECT_EQ(mentions_.calls.size(), 1u);
  auto b = send(bob_, room.id, "b1", "hello");
  auto bad = wait<core::RoomEvent>([&](auto d) {
    chat_->edit(bob_, room.id, b->event.message->id, "hello @room", std::move(d));
  });
  EXPECT_EQ(bad.error().code, Errc::kMentionNotAllowed);
}

TEST_F(ChatServiceTest, UnreadMentionCountsFollowTheReadMarker) {
  auto room = group(alice_, {bob_.user_id, carol_.user_id});
  ASSERT_TRUE(send(alice_, room.id, "t1", "@bob look"));
  ASSERT_TRUE(send(alice_, room.id, "t2", "no mention"));
  auto third = send(alice_, room.id, "t3", "@room and @bob");  // counted once
  ASSERT_TRUE(third);
  ASSERT_TRUE(send(bob_, room.id, "t4", "@bob talking to myself"));  // own: not counted
  auto summary = [&](const Actor& who) {
    auto rooms = wait<std::vector<core::RoomSummary>>(
        [&](auto d) { chat_->list_rooms(who, std::move(d)); });
    return rooms->front();
  };
  EXPECT_EQ(summary(bob_).unread_mentions, 2);
  EXPECT_EQ(summary(carol_).unread_mentions, 1);
  EXPECT_EQ(summary(alice_).unread_mentions, 0);
  auto rs = wait<core::ReadState>([&](auto d) {
    chat_->live().mark_read(bob_, room.id, third->event.seq - 1, std::move(d));
  });
  ASSERT_TRUE(rs) << rs.error().message;
  EXPECT_EQ(rs->unread_mentions, 1);
  EXPECT_EQ(summary(bob_).unread_mentions, 1);
  // Deleting the message takes its mention away.
  ASSERT_TRUE(wait<core::RoomEvent>([&](auto d) {
    chat_->remove_message(alice_, room.id, third->event.message->id, std::move(d));
  }));
  EXPECT_EQ(summary(bob_).unread_mentions, 0);
}

TEST_F(ChatServiceTest, OneDmPerPairCreatedOnFirstUse) {
  auto a = wait<store::DmResult>([&](auto d) { chat_->open_dm(alice_, bob_.user_id, std::move(d)); });
  auto b = wait<store::DmResult>([&](auto d) { chat_->open_dm(bob_, alice_.user_id, std::move(d)); });
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->created);
  EXPECT_FALSE(b->created);
  EXPECT_EQ(a->room.id, b->room.id);
  EXPECT_EQ(a->room.kind, core::RoomKind::kDm);
  EXPECT_EQ(pub_.joined.size(), 2u);  // announced once, to both
  auto self = wait<store::DmResult>([&](auto d) { chat_->open_dm(alice_, alice_.user_id, std::move(d)); });
  EXPECT_EQ(self.error().code, Errc::kInvalidArgument);
  auto ghost = wait<store::DmResult>([&](auto d) { chat_->open_dm(alice_, 12345, std::move(d)); });
  EXPECT_EQ(ghost.error().code, Errc::kNotFound);
}

TEST_F(ChatServiceTest, SendIsIdempotentAndPublishedOnce) {
  auto room = group(alice_, {bob_.user_id});
  auto first = send(alice_, room.id, "t1", "hello");
  auto again = send(alice_, room.id, "t1", "hello");
  ASSERT_TRUE(first && again);
  EXPECT_FALSE(first->duplicate);
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(first->event.message->id, again->event.message->id);
  EXPECT_EQ(first->event.seq, again->event.seq);
  EXPECT_EQ(pub_.events.size(), 1u);
}

TEST_F(ChatServiceTest, OutsidersCannotSendOrReadAndLearnNothing) {
  auto room = group(alice_, {bob_.user_id});
  EXPECT_EQ(send(carol_, room.id, "t1").error().code, Errc::kNotFound);
  store::HistoryQuery q;
  q.room_id = room.id;
  auto h = wait<std::vector<core::Message>>([&](auto d) { chat_->history(carol_, q, std::move(d)); });
  EXPECT_EQ(h.error().code, Errc::kNotFound);
  EXPECT_TRUE(pub_.events.empty());
}

TEST_F(ChatServiceTest, BadBodiesAreRejectedAndNothingStored) {
  auto room = group(alice_, {});
  EXPECT_EQ(send(alice_, room.id, "t1", "").error().code, Errc::kInvalidArgument);
  EXPECT_EQ(send(alice_, room.id, "t2", "\xff\xfe").error().code, Errc::kInvalidArgument);
  EXPECT_EQ(send(alice_, room.id, "t3", std::string(20000, 'a')).error().code, Errc::kTooLarge);
  store::HistoryQuery q;
  q.room_id = room.id;
  auto h = wait<std::vector<core::Message>>([&](auto d) { chat_->history(alice_, q, std::move(d)); });
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->empty());
}

TEST_F(ChatServiceTest, OnlySenderEditsModeratorsDelete) {
  auto room = group(alice_, {bob_.user_id, carol_.user_id});
  auto m = send(bob_, room.id, "b1", "from bob").value().event.message->id;
  auto by_alice = wait<core::RoomEvent>(
      [&](auto d) { chat_->edit(alice_, room.id, m, "hijack", std::move(d)); });
  EXPECT_EQ(by_alice.error().code, Errc::kForbidden);
  auto by_bob = wait<core::RoomEvent>(
      [&](auto d) { chat_->edit(bob_, room.id, m, "edited", std::move(d)); });
  ASSERT_TRUE(by_bob);
  EXPECT_EQ(by_bob->type, core::EventType::kMessageUpdated);
  EXPECT_EQ(by_bob->message->body, "edited");
  auto carol_deletes = wait<core::RoomEvent>(
      [&](auto d) { chat_->remove_message(carol_, room.id, m, std::move(d)); });
  EXPECT_EQ(carol_deletes.error().code, Errc::kForbidden);
  auto owner_deletes = wait<core::RoomEvent>(
      [&](auto d) { chat_->remove_message(alice_, room.id, m, std::move(d)); });
  ASSERT_TRUE(owner_deletes);
  EXPECT_EQ(owner_deletes->message->body, "");
  EXPECT_NE(owner_deletes->message->deleted_at, 0);
}

TEST_F(ChatServiceTest, MembershipChangesFollowRankAndAnnounceTheNewMember) {
  auto room = group(alice_, {bob_.user_id});
  auto bob_removes_alice = wait<core::RoomEvent>(
      [&](auto d) { chat_->remove_member(bob_, room.id, alice_.user_id, std::move(d)); });
  EXPECT_EQ(bob_removes_alice.error().code, Errc::kForbidden);
  auto add = wait<core::RoomEvent>(
      [&](auto d) { chat_->add_member(bob_, room.id, carol_.user_id, std::move(d)); });
  ASSERT_TRUE(add);
  EXPECT_EQ(add->type, core::EventType::kMemberJoined);
  EXPECT_EQ(pub_.joined.back(), std::make_pair(carol_.user_id, room.id));
  auto again = wait<core::RoomEvent>(
      [&](auto d) { chat_->add_member(bob_, room.id, carol_.user_id, std::move(d)); });
  EXPECT_EQ(again.error().code, Errc::kConflict);
  auto kick = wait<core::RoomEvent>(
      [&](auto d) { chat_->remove_member(alice_, room.id, carol_.user_id, std::move(d)); });
  ASSERT_TRUE(kick);
  EXPECT_EQ(kick->type, core::EventType::kMemberLeft);
  EXPECT_EQ(send(carol_, room.id, "c1").error().code, Errc::kNotFound);
  auto leave = wait<core::RoomEvent>(
      [&](auto d) { chat_->remove_member(bob_, room.id, bob_.user_id, std::move(d)); });
  ASSERT_TRUE(leave);
}

TEST_F(ChatServiceTest, DmsCannotBeLeftRenamedOrJoined) {
  auto dm = wait<store::DmResult>([&](auto d) { chat_->open_dm(alice_, bob_.user_id, std::move(d)); }).value().room;
  auto leave = wait<core::RoomEvent>(
      [&](auto d) { chat_->remove_member(alice_, dm.id, alice_.user_id, std::move(d)); });
  EXPECT_EQ(leave.error().code, Errc::kForbidden);
  auto add = wait<core::RoomEvent>(
      [&](auto d) { chat_->add_member(alice_, dm.id, carol_.user_id, std::move(d)); });
  EXPECT_EQ(add.error().code, Errc::kForbidden);
  auto rename = wait<core::RoomEvent>(
      [&](auto d) { chat_->update_room(alice_, dm.id, std::string("x"), std::nullopt, std::move(d)); });
  EXPECT_EQ(rename.error().code, Errc::kForbidden);
}

TEST_F(ChatServiceTest, EventsArePublishedInSeqOrderUnderConcurrentSenders) {
  auto room = group(alice_, {bob_.user_id, carol_.user_id});
  std::vector<std::shared_ptr<std::promise<void>>> done;
  std::vector<std::future<void>> futures;
  for (int i = 0; i < 200; ++i) {
    auto p = std::make_shared<std::promise<void>>();
    futures.push_back(p->get_future());
    const Actor& who = i % 3 == 0 ? alice_ : i % 3 == 1 ? bob_ : carol_;
    chat_->send(who, SendRequest{room.id, "t" + std::to_string(i), "m", 0},
                [p](core::Result<store::AppendResult> r) {
                  EXPECT_TRUE(r);
                  p->set_value();
                });
  }
  for (auto& f : futures) ASSERT_EQ(f.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  ASSERT_EQ(pub_.events.size(), 200u);
  for (std::size_t i = 0; i < pub_.events.size(); ++i) {
    EXPECT_EQ(pub_.events[i].seq, static_cast<std::int64_t>(i + 1));
  }
}

TEST_F(ChatServiceTest, PipelinedSendsOfOneClientCommitInSendOrder) {
  auto room = group(alice_, {bob_.user_id});
  std::vector<std::future<core::Result<store::AppendResult>>> results;
  for (int i = 0; i < 100; ++i) {  // sent back to back, like a client pipelining frames
    auto p = std::make_shared<std::promise<core::Result<store::AppendResult>>>();
    results.push_back(p->get_future());
    chat_->send(alice_, SendRequest{room.id, "p" + std::to_string(i), "m", 0},
                [p](core::Result<store::AppendResult> r) { p->set_value(std::move(r)); });
  }
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(results[i].wait_for(std::chrono::seconds(20)), std::future_status::ready);
    auto r = results[i].get();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->event.seq, i + 1) << "send " << i << " overtaken";
  }
}

}  // namespace
}  // namespace parley::chat
