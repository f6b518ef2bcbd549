// Behaviour of the pins / threads / edit history use cases over the real SQLite store (temp
// file), with a recording publisher in place of the gateway: the policy decisions, what is
// published, and what outsiders learn.
#include "chat/thread_service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>

#include "chat/chat_service.h"
#include "chat/testing/fixture.h"
#include "core/testing/wait.h"
#include "store/sqlite/sqlite_store.h"

namespace parley::chat {
namespace {

using core::Errc;
using core::EventType;
using core::Id;
using test::wait;

class RecordingPublisher final : public Publisher {
 public:
  void room_event(const core::RoomEvent& e) override {
    std::lock_guard lock(mu_);
    events.push_back(e);
  }
  void room_joined(Id, const core::Room&) override {}
  void sessions_revoked(Id, Id) override {}
  std::vector<core::RoomEvent> taken() {
    std::lock_guard lock(mu_);
    return std::exchange(events, {});
  }

 private:
  std::mutex mu_;
  std::vector<core::RoomEvent> events;
};

class ThreadServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::fresh_test_dir("thread");
    store_ = test::open_test_store(dir_);
    chat_ = std::make_unique<ChatService>(ChatService::Deps{*store_, pub_, clock_, ids_},
                                          ChatConfig{});
    alice_ = make_user("alice");
    bob_ = make_user("bob");
    eve_ = make_user("eve");
  }
  void TearDown() override {
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
  core::Result<store::AppendResult> send(const auth::Actor& who, Id room, Id thread_root = 0) {
    SendRequest req{room, "t" + std::to_string(++txn_), "hello", 0, thread_root};
    return wait<store::AppendResult>([&](auto d) { chat_->send(who, req, std::move(d)); });
  }
  core::Result<store::PinResult> pin(const auth::Actor& who, Id room, Id message, bool on = true) {
    return wait<store::PinResult>(
        [&](auto d) { chat_->threads().pin(who, room, message, on, std::move(d)); });
  }
  core::Result<core::RoomEvent> set_policy(const auth::Actor& who, Id room, core::PinPolicy p) {
    RoomUpdateRequest req{std::nullopt, std::nullopt, p};
    return wait<core::RoomEvent>([&](auto d) { chat_->update_room(who, room, req, std::move(d)); });
  }

  std::filesystem::path dir_;
  core::SystemClock clock_;
  core::IdGenerator ids_{clock_, 1};
  RecordingPublisher pub_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<ChatService> chat_;
  auth::Actor alice_, bob_, eve_;
  int txn_ = 0;
};

TEST_F(ThreadServiceTest, PinPolicyDecidesWhoPinsAndOnlyChangesArePublished) {
  auto room = group(alice_, {bob_.user_id});
  auto m = send(alice_, room.id);
  ASSERT_TRUE(m.ok());
  const Id mid = m->event.message->id;
  pub_.taken();

  auto first = pin(bob_, room.id, mid);
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto again = pin(bob_, room.id, mid);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->changed);
  auto published = pub_.taken();
  ASSERT_EQ(published.size(), 1u);  // the no-op pin publishes nothing
  EXPECT_EQ(published[0].type, EventType::kMessagePinned);

  // Only owners/moderators change the policy; then plain members may not pin or unpin.
  auto by_member = set_policy(bob_, room.id, core::PinPolicy::kModerators);
  ASSERT_FALSE(by_member.ok());
  EXPECT_EQ(by_member.error().code, Errc::kForbidden);
  auto changed = set_policy(alice_, room.id, core::PinPolicy::kModerators);
  ASSERT_TRUE(changed.ok()) << changed.error().message;
  EXPECT_EQ(changed->pin_policy, core::PinPolicy::kModerators);
  EXPECT_EQ(changed->name, "team");
  auto refused = pin(bob_, room.id, mid, false);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kForbidden);
  EXPECT_TRUE(pin(alice_, room.id, mid, false).ok());

  // Outsiders do not learn the room exists.
  auto outsider = pin(eve_, room.id, mid);
  ASSERT_FALSE(outsider.ok());
  EXPECT_EQ(outsider.error().code, Errc::kNotFound);
  auto pins = wait<std::vector<core::Pin>>(
      [&](auto d) { chat_->threads().pins(eve_, room.id, std::move(d)); });
  ASSERT_FALSE(pins.ok());
  EXPECT_EQ(pins.error().code, Errc::kNotFound);
}

TEST_F(ThreadServiceTest, ThreadRepliesArePublishedWithTheRootSummary) {
  auto room = group(alice_, {bob_.user_id});
  auto root = send(alice_, room.id);
  ASSERT_TRUE(root.ok());
  const Id root_id = root->event.message->id;
  pub_.taken();
  auto reply = send(bob_, room.id, root_id);
  ASSERT_TRUE(reply.ok()) << reply.error().message;
  auto published = pub_.taken();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].message->thread_root, root_id);
  ASSERT_TRUE(published[0].thread.has_value());
  EXPECT_EQ(published[0].thread->reply_count, 1);

  store::HistoryQuery q;
  q.room_id = room.id;
  q.thread_root = root_id;
  auto page = wait<ThreadPage>([&](auto d) { chat_->threads().thread(alice_, q, std::move(d)); });
  ASSERT_TRUE(page.ok()) << page.error().message;
  EXPECT_EQ(page->root.id, root_id);
  ASSERT_EQ(page->replies.size(), 1u);
  EXPECT_TRUE(page->following);  // the root's author follows automatically

  // A reply is not a thread of its own; outsiders see nothing.
  q.thread_root = reply->event.message->id;
  auto not_root = wait<ThreadPage>([&](auto d) { chat_->threads().thread(alice_, q, std::move(d)); });
  ASSERT_FALSE(not_root.ok());
  EXPECT_EQ(not_root.error().code, Errc::kNotFound);
  q.thread_root = root_id;
  auto outsider = wait<ThreadPage>([&](auto d) { chat_->threads().thread(eve_, q, std::move(d)); });
  ASSERT_FALSE(outsider.ok());
  EXPECT_EQ(outsider.error().code, Errc::kNotFound);
  auto outsider_send = send(eve_, room.id, root_id);
  ASSERT_FALSE(outsider_send.ok());
  EXPECT_EQ(outsider_send.error().code, Errc::kNotFound);
}

TEST_F(ThreadServiceTest, EditHistoryIsForMembersOfTheRoom) {
  auto room = group(alice_, {bob_.user_id});
  auto m = send(alice_, room.id);
  ASSERT_TRUE(m.ok());
  const Id mid = m->event.message->id;
  ASSERT_TRUE(wait<core::RoomEvent>([&](auto d) {
                chat_->edit(alice_, room.id, mid, "hello, edited", std::move(d));
              }).ok());
  auto h = wait<EditHistory>([&](auto d) { chat_->threads().edit_history(bob_, room.id, mid, std::move(d)); });
  ASSERT_TRUE(h.ok()) << h.error().message;
  EXPECT_EQ(h->message.body, "hello, edited");
  EXPECT_EQ(h->message.edit_count, 1);
  ASSERT_EQ(h->revisions.size(), 1u);
  EXPECT_EQ(h->revisions[0].body, "hello");
  auto outsider = wait<EditHistory>(
      [&](auto d) { chat_->threads().edit_history(eve_, room.id, mid, std::move(d)); });
  ASSERT_FALSE(outsider.ok());
  EXPECT_EQ(outsider.error().code, Errc::kNotFound);
  auto other_room = group(eve_, {});
  auto wrong_room = wait<EditHistory>(
      [&](auto d) { chat_->threads().edit_history(eve_, other_room.id, mid, std::move(d)); });
  ASSERT_FALSE(wrong_room.ok());
  EXPECT_EQ(wrong_room.error().code, Errc::kNotFound);
}

}  // namespace
}  // namespace parley::chat
