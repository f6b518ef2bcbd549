// Conformance: pins, threads, reply previews and edit history (issue 3). Part of the suite in
// store_conformance.h; every backend runs it.
#include <string>
#include <vector>

#include "store/conformance/store_conformance.h"

namespace parley::store::conformance {

using core::Errc;
using core::EventType;
using core::Id;

namespace {

NewMessage reply_in(const core::Room& room, const core::User& sender, Id root, std::string body,
                    std::string txn) {
  NewMessage m;
  m.room_id = room.id;
  m.sender_id = sender.id;
  m.client_txn_id = std::move(txn);
  m.body = std::move(body);
  m.thread_root = root;
  return m;
}

}  // namespace

TEST_P(StoreConformance, PinsAreSequencedBoundedAndDroppedWithTheMessage) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto eve = make_user("eve");
  auto room = make_group(alice, {bob});
  auto other = make_group(eve, {});
  auto m1 = send(room, alice, "first");
  auto m2 = send(room, bob, "second");
  auto elsewhere = send(other, eve, "not yours");
  ASSERT_TRUE(m1.ok() && m2.ok() && elsewhere.ok());
  auto pin = [&](const core::User& u, Id mid, bool on, Id room_id = 0) {
    PinUpdate p;
    p.room_id = room_id == 0 ? room.id : room_id;
    p.message_id = mid;
    p.user_id = u.id;
    p.pin = on;
    p.now = tick();
    return call<PinResult>([&](auto d) { store().set_pin(p, std::move(d)); });
  };
  auto pinned = pin(bob, m1->event.message->id, true);
  ASSERT_TRUE(pinned.ok()) << pinned.error().message;
  EXPECT_TRUE(pinned->changed);
  EXPECT_EQ(pinned->event.type, EventType::kMessagePinned);
  EXPECT_EQ(pinned->event.seq, 3);
  EXPECT_EQ(pinned->event.target_id, m1->event.message->id);
  EXPECT_EQ(pinned->event.actor_id, bob.id);
  ASSERT_TRUE(pinned->event.message.has_value());
  EXPECT_EQ(pinned->event.message->body, "first");
  auto again = pin(alice, m1->event.message->id, true);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->changed);  // already pinned: no event
  ASSERT_TRUE(pin(alice, m2->event.message->id, true).ok());

  auto list = call<std::vector<core::Pin>>([&](auto d) { store().list_pins(room.id, std::move(d)); });
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].message.id, m2->event.message->id);  // most recently pinned first
  EXPECT_EQ((*list)[1].message.id, m1->event.message->id);
  EXPECT_EQ((*list)[1].pinned_by, bob.id);

  // Refusals: another room's message, an unknown one, a non-member.
  auto foreign = pin(alice, elsewhere->event.message->id, true);
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.error().code, Errc::kNotFound);
  auto unknown = pin(alice, 424242, true);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, Errc::kNotFound);
  auto outsider = pin(eve, m1->event.message->id, false);
  ASSERT_FALSE(outsider.ok());
  EXPECT_EQ(outsider.error().code, Errc::kForbidden);

  auto unpinned = pin(alice, m2->event.message->id, false);
  ASSERT_TRUE(unpinned.ok());
  EXPECT_TRUE(unpinned->changed);
  EXPECT_EQ(unpinned->event.type, EventType::kMessageUnpinned);

  // Deleting a pinned message drops its pin; pinning a deleted one is kNotFound.
  auto del = call<core::RoomEvent>([&](auto d) {
    store().delete_message(room.id, m1->event.message->id, 0, alice.id, tick(), std::move(d));
  });
  ASSERT_TRUE(del.ok());
  list = call<std::vector<core::Pin>>([&](auto d) { store().list_pins(room.id, std::move(d)); });
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
  auto dead = pin(alice, m1->event.message->id, true);
  ASSERT_FALSE(dead.ok());
  EXPECT_EQ(dead.error().code, Errc::kNotFound);

  // Pin events replay with their message.
  auto events = all_events(room.id);
  ASSERT_GE(events.size(), 6u);
  EXPECT_EQ(events[2].type, EventType::kMessagePinned);
  EXPECT_EQ(events[2].target_id, m1->event.message->id);
  ASSERT_TRUE(events[2].message.has_value());
  EXPECT_EQ(events[4].type, EventType::kMessageUnpinned);
  EXPECT_EQ(events[4].target_id, m2->event.message->id);
}

TEST_P(StoreConformance, PinsPerRoomAreBounded) {
  auto alice = make_user("alice");
  auto room = make_group(alice, {});
  std::vector<Id> ids;
  for (int i = 0; i <= kMaxPinsPerRoom; ++i) {
    auto m = send(room, alice, "m" + std::to_string(i));
    ASSERT_TRUE(m.ok());
    ids.push_back(m->event.message->id);
  }
  for (int i = 0; i <= kMaxPinsPerRoom; ++i) {
    PinUpdate p{room.id, ids[static_cast<std::size_t>(i)], alice.id, true, tick()};
    auto r = call<PinResult>([&](auto d) { store().set_pin(p, std::move(d)); });
    if (i < kMaxPinsPerRoom) {
      ASSERT_TRUE(r.ok()) << i << ": " << r.error().message;
    } else {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
    }
  }
}

TEST_P(StoreConformance, PinPolicyIsARoomSettingAnnouncedByRoomUpdated) {
  auto alice = make_user("alice");
  auto room = make_group(alice, {});
  EXPECT_EQ(room.pin_policy, core::PinPolicy::kMembers);
  RoomChange ch;
  ch.room_id = room.id;
  ch.pin_policy = core::PinPolicy::kModerators;
  ch.actor = alice.id;
  ch.now = tick();
  auto e = call<core::RoomEvent>([&](auto d) { store().change_room(ch, std::move(d)); });
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->type, EventType::kRoomUpdated);
  EXPECT_EQ(e->pin_policy, core::PinPolicy::kModerators);
  EXPECT_EQ(e->name, "team");  // unchanged
  EXPECT_EQ(this->room(room.id).pin_policy, core::PinPolicy::kModerators);
  auto events = all_events(room.id);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].pin_policy, core::PinPolicy::kModerators);
  // A plain rename keeps the policy.
  auto renamed = call<core::RoomEvent>([&](auto d) {
    store().update_room(room.id, std::string("renamed"), std::nullopt, alice.id, tick(),
                        std::move(d));
  });
  ASSERT_TRUE(renamed.ok());
  EXPECT_EQ(renamed->pin_policy, core::PinPolicy::kModerators);
}

TEST_P(StoreConformance, ThreadRepliesKeepTheRootSummaryAndStayOutOfTheTimeline) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto carol = make_user("carol");
  auto room = make_group(alice, {bob, carol});
  auto root = send(room, alice, "root");
  ASSERT_TRUE(root.ok());
  const Id root_id = root->event.message->id;
  auto append = [&](const core::User& u, const std::string& body, Id thread = 0) {
    NewMessage m = reply_in(room, u, thread == 0 ? root_id : thread, body,
                            "t" + std::to_string(tick()));
    m.id = next_id();
    m.created_at = tick();
    return call<AppendResult>([&](auto d) { store().append_message(m, std::move(d)); });
  };
  auto r1 = append(bob, "one");
  ASSERT_TRUE(r1.ok()) << r1.error().message;
  EXPECT_EQ(r1->event.message->thread_root, root_id);
  ASSERT_TRUE(r1->event.thread.has_value());
  EXPECT_EQ(r1->event.thread->root_id, root_id);
  EXPECT_EQ(r1->event.thread->reply_count, 1);
  EXPECT_EQ(r1->event.thread->last_reply_id, r1->event.message->id);
  auto r2 = append(carol, "two");
  auto r3 = append(bob, "three");
  ASSERT_TRUE(r2.ok() && r3.ok());
  EXPECT_EQ(r3->event.thread->reply_count, 3);
  EXPECT_EQ(r3->event.thread->participants, (std::vector<Id>{bob.id, carol.id}));
  EXPECT_EQ(r3->event.thread->last_reply_at, r3->event.message->created_at);
  auto plain = send(room, carol, "not in a thread");
  ASSERT_TRUE(plain.ok());

  // Room summaries count and show timeline messages only: replies are the thread's business.
  auto rooms = call<std::vector<core::RoomSummary>>(
      [&](auto d) { store().rooms_for_user(bob.id, std::move(d)); });
  ASSERT_TRUE(rooms.ok());
  ASSERT_EQ(rooms->size(), 1u);
  EXPECT_EQ((*rooms)[0].unread, 2);  // the root and the plain message, not carol's reply
  ASSERT_TRUE((*rooms)[0].last_message.has_value());
  EXPECT_EQ((*rooms)[0].last_message->id, plain->event.message->id);

  // The timeline has the root (with its summary) and the plain message, not the replies.
  HistoryQuery timeline;
  timeline.room_id = room.id;
  auto h = call<std::vector<core::Message>>([&](auto d) { store().history(timeline, std::move(d)); });
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0].id, root_id);
  ASSERT_TRUE((*h)[0].thread.has_value());
  EXPECT_EQ((*h)[0].thread->reply_count, 3);
  EXPECT_EQ((*h)[0].thread->participants, (std::vector<Id>{bob.id, carol.id}));
  EXPECT_FALSE((*h)[1].thread.has_value());

  // The thread pages like history.
  HistoryQuery thread;
  thread.room_id = room.id;
  thread.thread_root = root_id;
  thread.limit = 2;
  auto page = call<std::vector<core::Message>>([&](auto d) { store().history(thread, std::move(d)); });
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].body, "two");
  EXPECT_EQ((*page)[1].body, "three");
  thread.before = (*page)[0].id;
  page = call<std::vector<core::Message>>([&](auto d) { store().history(thread, std::move(d)); });
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].body, "one");
  thread.before = plain->event.message->id;  // a cursor outside the thread
  page = call<std::vector<core::Message>>([&](auto d) { store().history(thread, std::move(d)); });
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.error().code, Errc::kNotFound);

  // Deleting a reply updates the summary (and the delete event carries it).
  auto del = call<core::RoomEvent>([&](auto d) {
    store().delete_message(room.id, r3->event.message->id, 0, bob.id, tick(), std::move(d));
  });
  ASSERT_TRUE(del.ok());
  ASSERT_TRUE(del->thread.has_value());
  EXPECT_EQ(del->thread->reply_count, 2);
  EXPECT_EQ(del->thread->last_reply_id, r2->event.message->id);

  // Replays carry thread_root and the summary as stored now.
  auto events = all_events(room.id);
  ASSERT_GE(events.size(), 3u);
  ASSERT_TRUE(events[1].message.has_value());
  EXPECT_EQ(events[1].message->thread_root, root_id);
  ASSERT_TRUE(events[1].thread.has_value());
  EXPECT_EQ(events[1].thread->reply_count, 2);
}

TEST_P(StoreConformance, ThreadRootMustBeALiveRootOfTheSameRoom) {
  auto alice = make_user("alice");
  auto room = make_group(alice, {});
  auto other = make_group(alice, {}, "other");
  auto root = send(room, alice, "root");
  auto foreign = send(other, alice, "elsewhere");
  auto gone = send(room, alice, "to delete");
  ASSERT_TRUE(root.ok() && foreign.ok() && gone.ok());
  ASSERT_TRUE(call<core::RoomEvent>([&](auto d) {
                store().delete_message(room.id, gone->event.message->id, 0, alice.id, tick(),
                                       std::move(d));
              }).ok());
  auto append = [&](Id thread) {
    NewMessage m = reply_in(room, alice, thread, "x", "t" + std::to_string(tick()));
    m.id = next_id();
    m.created_at = tick();
    return call<AppendResult>([&](auto d) { store().append_message(m, std::move(d)); });
  };
  auto reply = append(root->event.message->id);
  ASSERT_TRUE(reply.ok());
  for (Id bad : {foreign->event.message->id, gone->event.message->id,
                 reply->event.message->id, Id{987654}}) {
    const std::int64_t before = this->room(room.id).last_seq;
    auto r = append(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
    EXPECT_EQ(this->room(room.id).last_seq, before);  // nothing stored
  }
}

TEST_P(StoreConformance, FollowingThreadsAutoFollowUnfollowAndUnread) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto carol = make_user("carol");
  auto eve = make_user("eve");
  auto room = make_group(alice, {bob, carol});
  auto root = send(room, alice, "root");
  ASSERT_TRUE(root.ok());
  const Id root_id = root->event.message->id;
  auto append = [&](const core::User& u, const std::string& body) {
    NewMessage m = reply_in(room, u, root_id, body, "t" + std::to_string(tick()));
    m.id = next_id();
    m.created_at = tick();
    return call<AppendResult>([&](auto d) { store().append_message(m, std::move(d)); });
  };
  auto follows = [&](const core::User& u) {
    auto r = call<bool>([&](auto d) { store().thread_follow(root_id, u.id, std::move(d)); });
    EXPECT_TRUE(r.ok());
    return r.ok() && *r;
  };
  auto followed = [&](const core::User& u) {
    auto r = call<std::vector<core::FollowedThread>>(
        [&](auto d) { store().list_followed_threads(u.id, 50, std::move(d)); });
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::vector<core::FollowedThread>{};
  };
  EXPECT_FALSE(follows(alice));
  ASSERT_TRUE(append(bob, "one").ok());
  EXPECT_TRUE(follows(alice));  // the root's author
  EXPECT_TRUE(follows(bob));    // the replier
  EXPECT_FALSE(follows(carol));
  auto alices = followed(alice);
  ASSERT_EQ(alices.size(), 1u);
  EXPECT_EQ(alices[0].root.id, root_id);
  EXPECT_EQ(alices[0].unread, 1);
  EXPECT_EQ(followed(bob)[0].unread, 0);  // their own reply

  // Carol follows explicitly: what was there counts as read.
  auto f = call<bool>([&](auto d) {
    store().set_thread_follow(FollowUpdate{room.id, root_id, carol.id, true, tick()}, std::move(d));
  });
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(*f);
  ASSERT_TRUE(append(bob, "two").ok());
  EXPECT_EQ(followed(carol)[0].unread, 1);
  auto read = call<core::FollowedThread>(
      [&](auto d) { store().mark_thread_read(root_id, carol.id, -1, std::move(d)); });
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->unread, 0);
  EXPECT_EQ(followed(carol)[0].unread, 0);

  // Alice unfollows; a later reply by someone else does not make her follow again.
  ASSERT_TRUE(call<bool>([&](auto d) {
                store().set_thread_follow(FollowUpdate{room.id, root_id, alice.id, false, tick()},
                                          std::move(d));
              }).ok());
  ASSERT_TRUE(append(carol, "three").ok());
  EXPECT_FALSE(follows(alice));
  EXPECT_TRUE(followed(alice).empty());

  // Outsiders and bad roots are refused.
  auto outsider = call<bool>([&](auto d) {
    store().set_thread_follow(FollowUpdate{room.id, root_id, eve.id, true, tick()}, std::move(d));
  });
  ASSERT_FALSE(outsider.ok());
  EXPECT_EQ(outsider.error().code, Errc::kForbidden);
  auto bobs = followed(bob);
  ASSERT_EQ(bobs.size(), 1u);
  ASSERT_TRUE(bobs[0].root.thread.has_value());
  const Id a_reply = bobs[0].root.thread->last_reply_id;
  auto not_root = call<bool>([&](auto d) {
    store().set_thread_follow(FollowUpdate{room.id, a_reply, bob.id, true, tick()}, std::move(d));
  });
  ASSERT_FALSE(not_root.ok());
  EXPECT_EQ(not_root.error().code, Errc::kNotFound);
  auto unfollowed = call<core::FollowedThread>(
      [&](auto d) { store().mark_thread_read(root_id, alice.id, -1, std::move(d)); });
  ASSERT_FALSE(unfollowed.ok());
  EXPECT_EQ(unfollowed.error().code, Errc::kNotFound);
}

TEST_P(StoreConformance, RepliesCarryAPreviewOfTheQuotedMessage) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto room = make_group(alice, {bob});
  std::string long_body;
  for (int i = 0; i < 200; ++i) long_body += "é";  // 2 bytes per character
  auto quoted = send(room, alice, long_body);
  auto short_one = send(room, alice, "short");
  ASSERT_TRUE(quoted.ok() && short_one.ok());
  auto reply = send(room, bob, "yes", "", quoted->event.message->id);
  ASSERT_TRUE(reply.ok());
  ASSERT_TRUE(reply->event.message->reply_preview.has_value());
  const auto& p = *reply->event.message->reply_preview;
  EXPECT_EQ(p.message_id, quoted->event.message->id);
  EXPECT_EQ(p.sender_id, alice.id);
  EXPECT_EQ(p.body.size(), core::kReplyPreviewChars * 2);  // 140 characters, not bytes
  EXPECT_TRUE(p.truncated);
  EXPECT_FALSE(p.deleted);
  auto reply2 = send(room, bob, "ok", "", short_one->event.message->id);
  ASSERT_TRUE(reply2.ok());
  EXPECT_EQ(reply2->event.message->reply_preview->body, "short");
  EXPECT_FALSE(reply2->event.message->reply_preview->truncated);

  ASSERT_TRUE(call<core::RoomEvent>([&](auto d) {
                store().delete_message(room.id, short_one->event.message->id, 0, alice.id,
                                       tick(), std::move(d));
              }).ok());
  HistoryQuery q;
  q.room_id = room.id;
  auto h = call<std::vector<core::Message>>([&](auto d) { store().history(q, std::move(d)); });
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 4u);
  ASSERT_TRUE((*h)[3].reply_preview.has_value());
  EXPECT_TRUE((*h)[3].reply_preview->deleted);
  EXPECT_EQ((*h)[3].reply_preview->body, "");
  EXPECT_FALSE((*h)[0].reply_preview.has_value());
  auto events = all_events(room.id);
  ASSERT_TRUE(events[2].message->reply_preview.has_value());
  EXPECT_TRUE(events[2].message->reply_preview->truncated);
}

TEST_P(StoreConformance, EditsKeepABoundedHistoryDroppedOnDelete) {
  auto alice = make_user("alice");
  auto room = make_group(alice, {});
  auto m = send(room, alice, "v0");
  ASSERT_TRUE(m.ok());
  const Id mid = m->event.message->id;
  auto edit = [&](const std::string& body) {
    return call<core::RoomEvent>([&](auto d) {
      store().edit_message(room.id, mid, alice.id, body, alice.id, tick(), std::move(d));
    });
  };
  auto revisions = [&] {
    return call<std::vector<core::MessageRevision>>(
        [&](auto d) { store().message_revisions(mid, std::move(d)); });
  };
  auto none = revisions();
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto e1 = edit("v1");
  ASSERT_TRUE(e1.ok());
  EXPECT_EQ(e1->message->edit_count, 1);
  auto e2 = edit("v2");
  ASSERT_TRUE(e2.ok());
  EXPECT_EQ(e2->message->edit_count, 2);
  auto revs = revisions();
  ASSERT_TRUE(revs.ok());
  ASSERT_EQ(revs->size(), 2u);
  EXPECT_EQ((*revs)[0].rev, 2);
  EXPECT_EQ((*revs)[0].body, "v1");
  EXPECT_EQ((*revs)[0].written_at, e1->message->edited_at);
  EXPECT_EQ((*revs)[0].replaced_at, e2->message->edited_at);
  EXPECT_EQ((*revs)[1].rev, 1);
  EXPECT_EQ((*revs)[1].body, "v0");
  EXPECT_EQ((*revs)[1].written_at, m->event.message->created_at);
  auto stored = call<core::Message>([&](auto d) { store().message_by_id(mid, std::move(d)); });
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->edit_count, 2);

  for (int i = 3; i <= kMaxRevisionsPerMessage + 5; ++i) ASSERT_TRUE(edit("v" + std::to_string(i)).ok());
  revs = revisions();
  ASSERT_TRUE(revs.ok());
  ASSERT_EQ(revs->size(), static_cast<std::size_t>(kMaxRevisionsPerMessage));
  EXPECT_EQ(revs->front().body, "v" + std::to_string(kMaxRevisionsPerMessage + 4));
  EXPECT_EQ(revs->back().rev, 6);  // the oldest ones were dropped

  ASSERT_TRUE(call<core::RoomEvent>([&](auto d) {
                store().delete_message(room.id, mid, alice.id, alice.id, tick(), std::move(d));
              }).ok());
  auto gone = revisions();
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, Errc::kNotFound);
}

}  // namespace parley::store::conformance
