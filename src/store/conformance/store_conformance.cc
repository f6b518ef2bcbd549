#include "store/conformance/store_conformance.h"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace parley::store::conformance {

using core::Errc;
using core::EventType;
using core::Id;
using core::MemberRole;
using core::Result;

// =============================================================================================
// Fixture

void StoreConformance::SetUp() {
  store_ = GetParam()();
  ASSERT_NE(store_, nullptr) << "the factory returned no store";
}

void StoreConformance::TearDown() { store_.reset(); }

core::User StoreConformance::make_user(const std::string& username,
                                       const std::string& display_name) {
  NewUser u;
  u.id = next_id();
  u.username = username;
  u.display_name = display_name.empty() ? username : display_name;
  u.password_hash = "$argon2id$fake";
  u.created_at = tick();
  auto r = call<core::User>([&](auto done) { store().create_user(u, std::move(done)); });
  EXPECT_TRUE(r.ok()) << "create_user " << username << ": " << (r ? "" : r.error().message);
  return r ? *r : core::User{};
}

core::Room StoreConformance::make_group(const core::User& owner,
                                        const std::vector<core::User>& members,
                                        const std::string& name) {
  NewGroupRoom r;
  r.id = next_id();
  r.name = name;
  r.topic = "topic of " + name;
  r.created_by = owner.id;
  for (const auto& m : members) r.member_ids.push_back(m.id);
  r.created_at = tick();
  auto room = call<core::Room>([&](auto done) { store().create_group_room(r, std::move(done)); });
  EXPECT_TRUE(room.ok()) << (room ? "" : room.error().message);
  return room ? *room : core::Room{};
}

core::Room StoreConformance::make_dm(const core::User& a, const core::User& b) {
  auto r = call<DmResult>(
      [&](auto done) { store().get_or_create_dm(a.id, b.id, next_id(), tick(), std::move(done)); });
  EXPECT_TRUE(r.ok()) << (r ? "" : r.error().message);
  return r ? r->room : core::Room{};
}

Result<AppendResult> StoreConformance::send(const core::Room& room, const core::User& sender,
                                            const std::string& body, const std::string& txn,
                                            Id reply_to) {
  NewMessage m;
  m.id = next_id();
  m.room_id = room.id;
  m.sender_id = sender.id;
  m.client_txn_id = txn.empty() ? "txn-" + std::to_string(++txn_) : txn;
  m.body = body;
  m.reply_to = reply_to;
  m.created_at = tick();
  return call<AppendResult>([&](auto done) { store().append_message(m, std::move(done)); });
}

core::Room StoreConformance::room(Id id) {
  auto r = call<core::Room>([&](auto done) { store().room_by_id(id, std::move(done)); });
  EXPECT_TRUE(r.ok());
  return r ? *r : core::Room{};
}

std::vector<core::RoomEvent> StoreConformance::all_events(Id room_id) {
  std::vector<core::RoomEvent> out;
  for (;;) {
    std::int64_t after = out.empty() ? 0 : out.back().seq;
    auto page = call<std::vector<core::RoomEvent>>(
        [&](auto done) { store().events_since(room_id, after, 200, std::move(done)); });
    EXPECT_TRUE(page.ok());
    if (!page || page->empty()) break;
    out.insert(out.end(), page->begin(), page->end());
  }
  return out;
}

namespace {

// Counts outstanding asynchronous calls; wait() returns when all have called back.
class Pending {
 public:
  explicit Pending(int n) : left_(n) {}
  void done_one() {
    std::lock_guard lock(mu_);
    if (--left_ == 0) cv_.notify_all();
  }
  bool wait(std::chrono::seconds timeout = std::chrono::seconds(60)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return left_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int left_;
};

std::vector<std::int64_t> seqs_of(const std::vector<core::RoomEvent>& events) {
  std::vector<std::int64_t> out;
  for (const auto& e : events) out.push_back(e.seq);
  return out;
}

std::vector<std::int64_t> one_to(std::int64_t n) {
  std::vector<std::int64_t> out;
  for (std::int64_t i = 1; i <= n; ++i) out.push_back(i);
  return out;
}

std::vector<std::string> bodies(const std::vector<core::Message>& ms) {
  std::vector<std::string> out;
  for (const auto& m : ms) out.push_back(m.body);
  return out;
}

}  // namespace

// =============================================================================================
// Basics

TEST_P(StoreConformance, EpochIsFixedAndPingAnswers) {
  std::string e = store().epoch();
  EXPECT_FALSE(e.empty());
  EXPECT_EQ(store().epoch(), e);
  auto p = call<core::Ok>([&](auto done) { store().ping(std::move(done)); });
  EXPECT_TRUE(p.ok());
}

// =============================================================================================
// Users

TEST_P(StoreConformance, CreatesAndFindsUsers) {
  NewUser u;
  u.id = next_id();
  u.username = "alice";
  u.display_name = "Alice A.";
  u.email = "alice@example.org";
  u.password_hash = "$argon2id$x";
  u.role = core::Role::kAdmin;
  u.created_at = tick();
  auto created = call<core::User>([&](auto done) { store().create_user(u, std::move(done)); });
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->id, u.id);
  EXPECT_EQ(created->status, core::UserStatus::kActive);

  auto by_id = call<core::User>([&](auto done) { store().user_by_id(u.id, std::move(done)); });
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(by_id->username, "alice");
  EXPECT_EQ(by_id->display_name, "Alice A.");
  EXPECT_EQ(by_id->email, "alice@example.org");
  EXPECT_EQ(by_id->password_hash, "$argon2id$x");
  EXPECT_EQ(by_id->role, core::Role::kAdmin);
  EXPECT_EQ(by_id->status, core::UserStatus::kActive);
  EXPECT_EQ(by_id->created_at, u.created_at);

  auto by_name =
      call<core::User>([&](auto done) { store().user_by_username("alice", std::move(done)); });
  ASSERT_TRUE(by_name.ok());
  EXPECT_EQ(by_name->id, u.id);

  EXPECT_EQ(call<core::User>([&](auto d) { store().user_by_id(42, std::move(d)); }).error().code,
            Errc::kNotFound);
  EXPECT_EQ(call<core::User>([&](auto d) { store().user_by_username("nobody", std::move(d)); })
                .error()
                .code,
            Errc::kNotFound);
}

TEST_P(StoreConformance, UsernameTakenIsConflictAndStoresNothing) {
  make_user("alice");
  NewUser u;
  u.id = next_id();
  u.username = "alice";
  u.display_name = "Other";
  u.password_hash = "h";
  u.created_at = tick();
  auto r = call<core::User>([&](auto done) { store().create_user(u, std::move(done)); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kConflict);
  EXPECT_EQ(call<core::User>([&](auto d) { store().user_by_id(u.id, std::move(d)); }).error().code,
            Errc::kNotFound);
  EXPECT_EQ(*call<std::int64_t>([&](auto d) { store().count_users(std::move(d)); }), 1);
}

TEST_P(StoreConformance, UpdateUserChangesOnlyGivenFields) {
  auto alice = make_user("alice", "Alice");
  UserUpdate up;
  up.id = alice.id;
  up.display_name = "Alice Liddell";
  auto r = call<core::User>([&](auto done) { store().update_user(up, std::move(done)); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->display_name, "Alice Liddell");
  EXPECT_EQ(r->password_hash, alice.password_hash);
  EXPECT_EQ(r->role, core::Role::kUser);

  UserUpdate up2;
  up2.id = alice.id;
  up2.email = "a@example.org";
  up2.password_hash = "new-hash";
  up2.role = core::Role::kAdmin;
  up2.status = core::UserStatus::kDeactivated;
  ASSERT_TRUE(call<core::User>([&](auto done) { store().update_user(up2, std::move(done)); }).ok());
  auto now = call<core::User>([&](auto d) { store().user_by_id(alice.id, std::move(d)); });
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->display_name, "Alice Liddell");
  EXPECT_EQ(now->email, "a@example.org");
  EXPECT_EQ(now->password_hash, "new-hash");
  EXPECT_EQ(now->role, core::Role::kAdmin);
  EXPECT_EQ(now->status, core::UserStatus::kDeactivated);

  UserUpdate ghost;
  ghost.id = 424242;
  ghost.display_name = "x";
  EXPECT_EQ(call<core::User>([&](auto d) { store().update_user(ghost, std::move(d)); }).error().code,
            Errc::kNotFound);
}

TEST_P(StoreConformance, ListUsersMatchesPrefixCaseInsensitivelyWithCursor) {
  auto alice = make_user("alice", "Alice");
  auto albert = make_user("albert", "Bert");
  auto bob = make_user("bob", "Allison Bob");
  auto carol = make_user("carol", "Carol");
  UserUpdate off;
  off.id = albert.id;
  off.status = core::UserStatus::kDeactivated;
  ASSERT_TRUE(call<core::User>([&](auto d) { store().update_user(off, std::move(d)); }).ok());

  auto list = [&](std::string prefix, Id after, int limit) {
    UserQuery q{std::move(prefix), after, limit};
    auto r = call<std::vector<core::User>>([&](auto d) { store().list_users(q, std::move(d)); });
    EXPECT_TRUE(r.ok());
    std::vector<Id> ids;
    if (r) {
      for (const auto& u : *r) ids.push_back(u.id);
    }
    return ids;
  };
  // Username or display name; every status (the caller filters); ascending id.
  EXPECT_EQ(list("AL", 0, 50), (std::vector<Id>{alice.id, albert.id, bob.id}));
  EXPECT_EQ(list("car", 0, 50), (std::vector<Id>{carol.id}));
  EXPECT_EQ(list("", 0, 50), (std::vector<Id>{alice.id, albert.id, bob.id, carol.id}));
  EXPECT_EQ(list("%", 0, 50), std::vector<Id>{});  // LIKE wildcards are literal
  EXPECT_EQ(list("a_", 0, 50), std::vector<Id>{});
  // Cursor pagination.
  EXPECT_EQ(list("", 0, 2), (std::vector<Id>{alice.id, albert.id}));
  EXPECT_EQ(list("", albert.id, 2), (std::vector<Id>{bob.id, carol.id}));
  EXPECT_EQ(list("", carol.id, 2), std::vector<Id>{});
  // Limits are clamped, not refused.
  EXPECT_EQ(list("", 0, 0), (std::vector<Id>{alice.id}));
  EXPECT_EQ(list("", 0, 100000).size(), 4u);
  EXPECT_EQ(*call<std::int64_t>([&](auto d) { store().count_users(std::move(d)); }), 4);
}

// =============================================================================================
// Sessions

TEST_P(StoreConformance, SessionsLifecycle) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto make = [&](const core::User& u, const std::string& hash) {
    core::Session s;
    s.id = next_id();
    s.token_hash = hash;
    s.user_id = u.id;
    s.device = "test-device";
    s.created_at = tick();
    s.last_used = s.created_at;
    s.expires_at = s.created_at + 1000000;
    auto r = call<core::Session>([&](auto d) { store().create_session(s, std::move(d)); });
    EXPECT_TRUE(r.ok());
    return s;
  };
  auto s1 = make(alice, "hash-1");
  auto s2 = make(alice, "hash-2");
  auto s3 = make(alice, "hash-3");
  auto sb = make(bob, "hash-b");

  core::Session dup = s1;
  dup.id = next_id();
  EXPECT_EQ(call<core::Session>([&](auto d) { store().create_session(dup, std::move(d)); })
                .error()
                .code,
            Errc::kConflict);

  auto found = call<core::Session>(
      [&](auto d) { store().session_by_token_hash("hash-2", std::move(d)); });
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->id, s2.id);
  EXPECT_EQ(found->user_id, alice.id);
  EXPECT_EQ(found->device, "test-device");
  EXPECT_EQ(found->expires_at, s2.expires_at);
  EXPECT_EQ(call<core::Session>([&](auto d) { store().session_by_token_hash("nope", std::move(d)); })
                .error()
                .code,
            Errc::kNotFound);

  std::int64_t later = tick() + 5000;
  ASSERT_TRUE(call<core::Ok>([&](auto d) { store().touch_session(s2.id, later, std::move(d)); }).ok());
  found = call<core::Session>([&](auto d) { store().session_by_token_hash("hash-2", std::move(d)); });
  EXPECT_EQ(found->last_used, later);
  EXPECT_EQ(found->expires_at, s2.expires_at);  // touching extends nothing else
  EXPECT_EQ(call<core::Ok>([&](auto d) { store().touch_session(999, later, std::move(d)); })
                .error()
                .code,
            Errc::kNotFound);

  auto listed =
      call<std::vector<core::Session>>([&](auto d) { store().list_sessions(alice.id, std::move(d)); });
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 3u);

  // Someone else's session is not found.
  EXPECT_EQ(call<core::Ok>([&](auto d) { store().delete_session(bob.id, s1.id, std::move(d)); })
                .error()
                .code,
            Errc::kNotFound);
  ASSERT_TRUE(call<core::Ok>([&](auto d) { store().delete_session(alice.id, s1.id, std::move(d)); }).ok());
  EXPECT_EQ(call<core::Session>([&](auto d) { store().session_by_token_hash("hash-1", std::move(d)); })
                .error()
                .code,
            Errc::kNotFound);

  // Everything but s3.
  auto n = call<std::int64_t>(
      [&](auto d) { store().delete_user_sessions(alice.id, s3.id, std::move(d)); });
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  listed =
      call<std::vector<core::Session>>([&](auto d) { store().list_sessions(alice.id, std::move(d)); });
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, s3.id);
  n = call<std::int64_t>([&](auto d) { store().delete_user_sessions(alice.id, 0, std::move(d)); });
  EXPECT_EQ(*n, 1);
  // Bob's session is untouched.
  EXPECT_TRUE(call<core::Session>([&](auto d) { store().session_by_token_hash("hash-b", std::move(d)); })
                  .ok());
  (void)sb;
}

// =============================================================================================
// Rooms and members

TEST_P(StoreConformance, GroupRoomHasOwnerAndMembersAndNoEvents) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto carol = make_user("carol");
  auto dave = make_user("dave");
  auto r = make_group(alice, {bob, carol}, "general");
  EXPECT_EQ(r.kind, core::RoomKind::kGroup);
  EXPECT_EQ(r.name, "general");
  EXPECT_EQ(r.topic, "topic of general");
  EXPECT_EQ(r.created_by, alice.id);
  EXPECT_EQ(r.last_seq, 0);

  auto stored = room(r.id);
  EXPECT_EQ(stored.name, "general");
  EXPECT_EQ(stored.created_at, r.created_at);
  EXPECT_EQ(stored.last_seq, 0);

  auto members =
      call<std::vector<core::Member>>([&](auto d) { store().list_members(r.id, std::move(d)); });
  ASSERT_TRUE(members.ok());
  ASSERT_EQ(members->size(), 3u);
  for (const auto& m : *members) {
    EXPECT_EQ(m.room_id, r.id);
    EXPECT_EQ(m.role, m.user_id == alice.id ? MemberRole::kOwner : MemberRole::kMember);
    EXPECT_EQ(m.last_read_seq, 0);
  }
  auto m = call<core::Member>([&](auto d) { store().member(r.id, bob.id, std::move(d)); });
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->role, MemberRole::kMember);
  EXPECT_EQ(call<core::Member>([&](auto d) { store().member(r.id, dave.id, std::move(d)); })
                .error()
                .code,
            Errc::kNotFound);
  EXPECT_TRUE(all_events(r.id).empty());
  EXPECT_EQ(call<core::Room>([&](auto d) { store().room_by_id(31337, std::move(d)); }).error().code,
            Errc::kNotFound);
}

TEST_P(StoreConformance, GroupRoomWithUnknownMemberIsNotFoundAndStoresNothing) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  NewGroupRoom r;
  r.id = next_id();
  r.name = "x";
  r.created_by = alice.id;
  r.member_ids = {bob.id, 777777};
  r.created_at = tick();
  auto res = call<core::Room>([&](auto d) { store().create_group_room(r, std::move(d)); });
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, Errc::kNotFound);
  EXPECT_EQ(call<core::Room>([&](auto d) { store().room_by_id(r.id, std::move(d)); }).error().code,
            Errc::kNotFound);
  auto mine = call<std::vector<core::RoomSummary>>(
      [&](auto d) { store().rooms_for_user(bob.id, std::move(d)); });
  ASSERT_TRUE(mine.ok());
  EXPECT_TRUE(mine->empty());
}

// room_heads_for_user is rooms_for_user's membership and last_seq, nothing else.
TEST_P(StoreConformance, RoomHeadsMatchTheRoomListMembershipAndLastSeq) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto carol = make_user("carol");
  auto group = make_group(alice, {bob}, "busy");
  auto dm = make_dm(alice, bob);
  auto other = make_group(alice, {carol}, "other");
  auto quiet = make_group(carol, {bob}, "quiet");
  ASSERT_TRUE(send(group, alice, "one").ok());
  ASSERT_TRUE(send(group, bob, "two").ok());
  ASSERT_TRUE(send(dm, alice, "hi").ok());
  ASSERT_TRUE(send(other, carol, "not for bob").ok());
  ASSERT_TRUE(call<core::RoomEvent>([&](auto d) {
                store().remove_member(quiet.id, bob.id, carol.id, tick(), std::move(d));
              }).ok());

  auto heads = call<std::vector<RoomHead>>(
      [&](auto d) { store().room_heads_for_user(bob.id, std::move(d)); });
  ASSERT_TRUE(heads.ok());
  std::vector<std::pair<Id, std::int64_t>> got;
  for (const RoomHead& h : *heads) got.emplace_back(h.room_id, h.last_seq);
  std::sort(got.begin(), got.end());
  auto rooms = call<std::vector<core::RoomSummary>>(
      [&](auto d) { store().rooms_for_user(bob.id, std::move(d)); });
  ASSERT_TRUE(rooms.ok());
  std::vector<std::pair<Id, std::int64_t>> want;
  for (const core::RoomSummary& r : *rooms) want.emplace_back(r.room.id, r.room.last_seq);
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
  // Bob is in the group (2 messages) and the DM (1); he left `quiet`, was never in `other`.
  std::vector<std::pair<Id, std::int64_t>> expected{{group.id, room(group.id).last_seq},
                                                    {dm.id, room(dm.id).last_seq}};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(got, expected);
  EXPECT_EQ(room(group.id).last_seq, 2);

  auto none = call<std::vector<RoomHead>>(
      [&](auto d) { store().room_heads_for_user(424242, std::move(d)); });
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_P(StoreConformance, OneDmPerPair) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto first = call<DmResult>(
      [&](auto d) { store().get_or_create_dm(alice.id, bob.id, next_id(), tick(), std::move(d)); });
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->room.kind, core::RoomKind::kDm);
  EXPECT_EQ(first->room.last_seq, 0);
  auto again = call<DmResult>(
      [&](auto d) { store().get_or_create_dm(bob.id, alice.id, next_id(), tick(), std::move(d)); });
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->room.id, first->room.id);

  auto members = call<std::vector<core::Member>>(
      [&](auto d) { store().list_members(first->room.id, std::move(d)); });
  ASSERT_EQ(members->size(), 2u);
  for (const auto& m : *members) EXPECT_EQ(m.role, MemberRole::kMember);

  EXPECT_EQ(call<DmResult>([&](auto d) {
              store().get_or_create_dm(alice.id, alice.id, next_id(), tick(), std::move(d));
            }).error().code,
            Errc::kInvalidArgument);
  Id ghost_room = next_id();
  EXPECT_EQ(call<DmResult>([&](auto d) {
              store().get_or_create_dm(alice.id, 555555, ghost_room, tick(), std::move(d));
            }).error().code,
            Errc::kNotFound);
  EXPECT_EQ(call<core::Room>([&](auto d) { store().room_by_id(ghost_room, std::move(d)); })
                .error()
                .code,
            Errc::kNotFound);
}

TEST_P(StoreConformance, ConcurrentDmCreationMakesOneRoom) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  constexpr int kN = 10;
  std::mutex mu;
  std::set<Id> ids;
  int created = 0;
  Pending pending(kN);
  for (int i = 0; i < kN; ++i) {
    Id a = i % 2 == 0 ? alice.id : bob.id, b = i % 2 == 0 ? bob.id : alice.id;
    store().get_or_create_dm(a, b, next_id(), tick(), [&](Result<DmResult> r) {
      {
        std::lock_guard lock(mu);
        EXPECT_TRUE(r.ok());
        if (r) {
          ids.insert(r->room.id);
          created += r->created ? 1 : 0;
        }
      }
      pending.done_one();
    });
  }
  ASSERT_TRUE(pending.wait());
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(created, 1);
}

TEST_P(StoreConformance, MembershipAndRoomChangesAreSequencedEvents) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto dave = make_user("dave");
  auto r = make_group(alice, {bob});

  auto joined = call<core::RoomEvent>([&](auto d) {
    store().add_member(r.id, dave.id, MemberRole::kModerator, alice.id, tick(), std::move(d));
  });
  ASSERT_TRUE(joined.ok());
  EXPECT_EQ(joined->type, EventType::kMemberJoined);
  EXPECT_EQ(joined->room_id, r.id);
  EXPECT_EQ(joined->seq, 1);
  EXPECT_EQ(joined->user_id, dave.id);
  EXPECT_EQ(joined->actor_id, alice.id);
  EXPECT_EQ(joined->member_role, MemberRole::kModerator);
  auto m = call<core::Member>([&](auto d) { store().member(r.id, dave.id, std::move(d)); });
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->role, MemberRole::kModerator);

  // Failures: already a member, unknown room, unknown user. None takes a seq.
  EXPECT_EQ(call<core::RoomEvent>([&](auto d) {
              store().add_member(r.id, bob.id, MemberRole::kMember, alice.id, tick(), std::move(d));
            }).error().code,
            Errc::kConflict);
  EXPECT_EQ(call<core::RoomEvent>([&](auto d) {
              store().add_member(4444, bob.id, MemberRole::kMember, alice.id, tick(), std::move(d));
            }).error().code,
            Errc::kNotFound);
  EXPECT_EQ(call<core::RoomEvent>([&](auto d) {
              store().add_member(r.id, 4444, MemberRole::kMember, alice.id, tick(), std::move(d));
            }).error().code,
            Errc::kNotFound);
  EXPECT_EQ(room(r.id).last_seq, 1);

  auto left = call<core::RoomEvent>(
      [&](auto d) { store().remove_member(r.id, dave.id, alice.id, tick(), std::move(d)); });
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->type, EventType::kMemberLeft);
  EXPECT_EQ(left->seq, 2);
  EXPECT_EQ(left->user_id, dave.id);
  EXPECT_EQ(call<core::Member>([&](auto d) { store().member(r.id, dave.id, std::move(d)); })
                .error()
                .code,
            Errc::kNotFound);
  EXPECT_EQ(call<core::RoomEvent>([&](auto d) {
              store().remove_member(r.id, dave.id, alice.id, tick(), std::move(d));
            }).error().code,
            Errc::kNotFound);

  auto renamed = call<core::RoomEvent>([&](auto d) {
    store().update_room(r.id, std::string("renamed"), std::nullopt, alice.id, tick(), std::move(d));
  });
  ASSERT_TRUE(renamed.ok());
  EXPECT_EQ(renamed->type, EventType::kRoomUpdated);
  EXPECT_EQ(renamed->seq, 3);
  EXPECT_EQ(renamed->name, "renamed");
  EXPECT_EQ(renamed->topic, r.topic);  // unchanged, but the event carries the current value
  auto retopic = call<core::RoomEvent>([&](auto d) {
    store().update_room(r.id, std::nullopt, std::string("new topic"), alice.id, tick(), std::move(d));
  });
  ASSERT_TRUE(retopic.ok());
  EXPECT_EQ(retopic->name, "renamed");
  EXPECT_EQ(retopic->topic, "new topic");
  EXPECT_EQ(call<core::RoomEvent>([&](auto d) {
              store().update_room(9999, std::string("x"), std::nullopt, alice.id, tick(),
                                  std::move(d));
            }).error().code,
            Errc::kNotFound);

  auto stored = room(r.id);
  EXPECT_EQ(stored.name, "renamed");
  EXPECT_EQ(stored.topic, "new topic");
  EXPECT_EQ(stored.last_seq, 4);

  auto events = all_events(r.id);
  ASSERT_EQ(seqs_of(events), one_to(4));
  EXPECT_EQ(events[0].type, EventType::kMemberJoined);
  EXPECT_EQ(events[0].user_id, dave.id);
  EXPECT_EQ(events[0].member_role, MemberRole::kModerator);
  EXPECT_EQ(events[1].type, EventType::kMemberLeft);
  EXPECT_EQ(events[1].user_id, dave.id);
  EXPECT_EQ(events[2].type, EventType::kRoomUpdated);
  EXPECT_EQ(events[2].name, "renamed");
  EXPECT_EQ(events[3].topic, "new topic");
  EXPECT_FALSE(events[0].message.has_value());
}

// =============================================================================================
// Messages

TEST_P(StoreConformance, AppendAssignsSeqAndStoresMessage) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto r = make_group(alice, {bob});
  NewMessage m;
  m.id = next_id();
  m.room_id = r.id;
  m.sender_id = bob.id;
  m.client_txn_id = "t-1";
  m.body = "hello world";
  m.created_at = tick();
  auto res = call<AppendResult>([&](auto d) { store().append_message(m, std::move(d)); });
  ASSERT_TRUE(res.ok());
  EXPECT_FALSE(res->duplicate);
  const auto& e = res->event;
  EXPECT_EQ(e.type, EventType::kMessageCreated);
  EXPECT_EQ(e.room_id, r.id);
  EXPECT_EQ(e.seq, 1);
  EXPECT_EQ(e.actor_id, bob.id);
  ASSERT_TRUE(e.message.has_value());
  EXPECT_EQ(e.message->id, m.id);
  EXPECT_EQ(e.message->seq, 1);
  EXPECT_EQ(e.message->sender_id, bob.id);
  EXPECT_EQ(e.message->client_txn_id, "t-1");
  EXPECT_EQ(e.message->body, "hello world");
  EXPECT_EQ(e.message->created_at, m.created_at);
  EXPECT_EQ(e.message->edited_at, 0);
  EXPECT_EQ(e.message->deleted_at, 0);

  auto stored = call<core::Message>([&](auto d) { store().message_by_id(m.id, std::move(d)); });
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->body, "hello world");
  EXPECT_EQ(stored->room_id, r.id);
  EXPECT_EQ(stored->seq, 1);
  EXPECT_EQ(call<core::Message>([&](auto d) { store().message_by_id(12, std::move(d)); })
                .error()
                .code,
            Errc::kNotFound);

  auto second = send(r, alice, "second");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->event.seq, 2);
  EXPECT_EQ(room(r.id).last_seq, 2);
}

TEST_P(StoreConformance, AppendChecksMembershipRoomAndReply) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto eve = make_user("eve");
  auto r = make_group(alice, {bob});
  auto other = make_group(alice, {}, "other");
  auto first = send(r, alice, "first");
  ASSERT_TRUE(first.ok());
  auto elsewhere = send(other, alice, "elsewhere");
  ASSERT_TRUE(elsewhere.ok());

  auto outsider = send(r, eve, "let me in");
  ASSERT_FALSE(outsider.ok());
  EXPECT_EQ(outsider.error().code, Errc::kForbidden);
  // The chat layer hides the room's existence from outsiders by this wording.
  EXPECT_NE(outsider.error().message.find("member"), std::string::npos);

  core::Room ghost;
  ghost.id = 8888;
  EXPECT_EQ(send(ghost, alice, "x").error().code, Errc::kNotFound);

  auto reply = send(r, bob, "re: first", "", first->event.message->id);
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->event.message->reply_to, first->event.message->id);
  EXPECT_EQ(send(r, bob, "bad reply", "", elsewhere->event.message->id).error().code,
            Errc::kInvalidArgument);
  EXPECT_EQ(send(r, bob, "bad reply", "", 123456789).error().code, Errc::kInvalidArgument);

  // None of the failures took a seq or left a message behind.
  EXPECT_EQ(room(r.id).last_seq, 2);
  auto events = all_events(r.id);
  EXPECT_EQ(seqs_of(events), one_to(2));
}

TEST_P(StoreConformance, RetryWithSameTxnReturnsTheOriginal) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto r = make_group(alice, {bob});
  auto first = send(r, alice, "original", "txn-A");
  ASSERT_TRUE(first.ok());
  auto other = send(r, alice, "other", "txn-B");
  ASSERT_TRUE(other.ok());
  auto retry = send(r, alice, "changed body", "txn-A");
  ASSERT_TRUE(retry.ok());
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->event.seq, first->event.seq);
  EXPECT_EQ(retry->event.type, EventType::kMessageCreated);
  ASSERT_TRUE(retry->event.message.has_value());
  EXPECT_EQ(retry->event.message->id, first->event.message->id);
  EXPECT_EQ(retry->event.message->body, "original");
  EXPECT_EQ(room(r.id).last_seq, 2);
  // The key is per sender: bob may use the same txn id.
  auto bobs = send(r, bob, "bob's", "txn-A");
  ASSERT_TRUE(bobs.ok());
  EXPECT_FALSE(bobs->duplicate);
  EXPECT_EQ(bobs->event.seq, 3);
}

TEST_P(StoreConformance, ConcurrentRetriesStoreOneMessage) {
  auto alice = make_user("alice");
  auto r = make_group(alice, {});
  constexpr int kN = 8;
  std::mutex mu;
  std::set<Id> ids;
  int originals = 0;
  Pending pending(kN);
  for (int i = 0; i < kN; ++i) {
    NewMessage m;
    m.id = next_id();
    m.room_id = r.id;
    m.sender_id = alice.id;
    m.client_txn_id = "same";
    m.body = "hi";
    m.created_at = tick();
    store().append_message(m, [&](Result<AppendResult> res) {
      {
        std::lock_guard lock(mu);
        EXPECT_TRUE(res.ok());
        if (res) {
          ids.insert(res->event.message->id);
          originals += res->duplicate ? 0 : 1;
        }
      }
      pending.done_one();
    });
  }
  ASSERT_TRUE(pending.wait());
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(originals, 1);
  EXPECT_EQ(room(r.id).last_seq, 1);
}

TEST_P(StoreConformance, EditAndDeleteRules) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto r = make_group(alice, {bob});
  auto other = make_group(alice, {}, "other");
  auto sent = send(r, bob, "typo");
  ASSERT_TRUE(sent.ok());
  Id mid = sent->event.message->id;

  auto edit = [&](Id room_id, Id msg, Id only_sender, const std::string& body) {
    return call<core::RoomEvent>([&](auto d) {
      store().edit_message(room_id, msg, only_sender, body, only_sender ? only_sender : alice.id,
                           tick(), std::move(d));
    });
  };
  auto del = [&](Id room_id, Id msg, Id only_sender) {
    return call<core::RoomEvent>([&](auto d) {
      store().delete_message(room_id, msg, only_sender, only_sender ? only_sender : alice.id,
                             tick(), std::move(d));
    });
  };

  auto edited = edit(r.id, mid, bob.id, "fixed");
  ASSERT_TRUE(edited.ok());
  EXPECT_EQ(edited->type, EventType::kMessageUpdated);
  EXPECT_EQ(edited->seq, 2);
  EXPECT_EQ(edited->actor_id, bob.id);
  ASSERT_TRUE(edited->message.has_value());
  EXPECT_EQ(edited->message->body, "fixed");
  EXPECT_EQ(edited->message->seq, 1);  // a message keeps the seq of its creation
  EXPECT_NE(edited->message->edited_at, 0);

  EXPECT_EQ(edit(r.id, mid, alice.id, "not yours").error().code, Errc::kForbidden);
  EXPECT_EQ(edit(other.id, mid, bob.id, "wrong room").error().code, Errc::kNotFound);
  EXPECT_EQ(edit(r.id, 99999, bob.id, "unknown").error().code, Errc::kNotFound);
  EXPECT_EQ(del(r.id, mid, alice.id).error().code, Errc::kForbidden);
  EXPECT_EQ(del(other.id, mid, 0).error().code, Errc::kNotFound);
  EXPECT_EQ(room(r.id).last_seq, 2);

  // only_sender = 0: a moderator may change anyone's message.
  auto moderated = edit(r.id, mid, 0, "moderated");
  ASSERT_TRUE(moderated.ok());
  EXPECT_EQ(moderated->actor_id, alice.id);
  EXPECT_EQ(moderated->seq, 3);

  auto deleted = del(r.id, mid, bob.id);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->type, EventType::kMessageDeleted);
  EXPECT_EQ(deleted->seq, 4);
  ASSERT_TRUE(deleted->message.has_value());
  EXPECT_EQ(deleted->message->body, "");
  EXPECT_NE(deleted->message->deleted_at, 0);

  auto tomb = call<core::Message>([&](auto d) { store().message_by_id(mid, std::move(d)); });
  ASSERT_TRUE(tomb.ok());
  EXPECT_EQ(tomb->body, "");
  EXPECT_NE(tomb->deleted_at, 0);
  EXPECT_EQ(edit(r.id, mid, bob.id, "resurrect").error().code, Errc::kNotFound);
  EXPECT_EQ(del(r.id, mid, bob.id).error().code, Errc::kNotFound);
  EXPECT_EQ(room(r.id).last_seq, 4);
}

TEST_P(StoreConformance, EventsSinceCarryCurrentMessageState) {
  auto alice = make_user("alice");
  auto r = make_group(alice, {});
  auto m1 = send(r, alice, "one");
  auto m2 = send(r, alice, "two secret");
  ASSERT_TRUE(m1.ok() && m2.ok());
  ASSERT_TRUE(call<core::RoomEvent>([&](auto d) {
                store().edit_message(r.id, m1->event.message->id, alice.id, "one (edited)",
                                     alice.id, tick(), std::move(d));
              }).ok());
  ASSERT_TRUE(call<core::RoomEvent>([&](auto d) {
                store().delete_message(r.id, m2->event.message->id, alice.id, alice.id, tick(),
                                       std::move(d));
              }).ok());

  auto events = call<std::vector<core::RoomEvent>>(
      [&](auto d) { store().events_since(r.id, 0, 100, std::move(d)); });
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(seqs_of(*events), one_to(4));
  const auto& ev = *events;
  EXPECT_EQ(ev[0].type, EventType::kMessageCreated);
  EXPECT_EQ(ev[0].message->body, "one (edited)");
  EXPECT_NE(ev[0].message->edited_at, 0);
  EXPECT_EQ(ev[1].type, EventType::kMessageCreated);
  EXPECT_EQ(ev[1].message->body, "");  // deleted content is never sent again
  EXPECT_NE(ev[1].message->deleted_at, 0);
  EXPECT_EQ(ev[2].type, EventType::kMessageUpdated);
  EXPECT_EQ(ev[2].message->id, m1->event.message->id);
  EXPECT_EQ(ev[3].type, EventType::kMessageDeleted);
  EXPECT_EQ(ev[3].message->body, "");
  for (const auto& e : ev) EXPECT_EQ(e.room_id, r.id);

  auto tail = call<std::vector<core::RoomEvent>>(
      [&](auto d) { store().events_since(r.id, 2, 100, std::move(d)); });
  EXPECT_EQ(seqs_of(*tail), (std::vector<std::int64_t>{3, 4}));
  auto one = call<std::vector<core::RoomEvent>>(
      [&](auto d) { store().events_since(r.id, 1, 1, std::move(d)); });
  EXPECT_EQ(seqs_of(*one), (std::vector<std::int64_t>{2}));
  auto none = call<std::vector<core::RoomEvent>>(
      [&](auto d) { store().events_since(r.id, 4, 100, std::move(d)); });
  EXPECT_TRUE(none->empty());
}

TEST_P(StoreConformance, HistoryCursors) {
  auto alice = make_user("alice");
  auto r = make_group(alice, {});
  auto other = make_group(alice, {}, "other");
  std::vector<Id> ids;
  for (int i = 1; i <= 10; ++i) {
    auto m = send(r, alice, "m" + std::to_string(i));
    ASSERT_TRUE(m.ok());
    ids.push_back(m->event.message->id);
  }
  auto foreign = send(other, alice, "foreign");
  ASSERT_TRUE(foreign.ok());
  ASSERT_TRUE(call<core::RoomEvent>([&](auto d) {
                store().delete_message(r.id, ids[4], 0, alice.id, tick(), std::move(d));
              }).ok());

  auto hist = [&](Id before, Id after, Id around, int limit) {
    HistoryQuery q{r.id, before, after, around, limit};
    return call<std::vector<core::Message>>([&](auto d) { store().history(q, std::move(d)); });
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(bodies(*hist(0, 0, 0, 3)), (V{"m8", "m9", "m10"}));
  EXPECT_EQ(bodies(*hist(ids[4], 0, 0, 3)), (V{"m2", "m3", "m4"}));
  EXPECT_EQ(bodies(*hist(ids[1], 0, 0, 3)), (V{"m1"}));
  EXPECT_EQ(bodies(*hist(0, ids[4], 0, 3)), (V{"m6", "m7", "m8"}));
  EXPECT_EQ(bodies(*hist(0, ids[9], 0, 3)), V{});
  // around: about half before, the rest from the cursor on (inclusive); m5 is a tombstone.
  EXPECT_EQ(bodies(*hist(0, 0, ids[4], 4)), (V{"m3", "m4", "", "m6"}));
  EXPECT_EQ(bodies(*hist(0, 0, ids[4], 5)), (V{"m3", "m4", "", "m6", "m7"}));
  EXPECT_EQ(bodies(*hist(0, 0, ids[0], 4)), (V{"m1", "m2"}));
  auto all = hist(0, 0, 0, 50);
  ASSERT_EQ(all->size(), 10u);
  for (std::size_t i = 1; i < all->size(); ++i) EXPECT_LT((*all)[i - 1].seq, (*all)[i].seq);
  EXPECT_NE((*all)[4].deleted_at, 0);
  // A limit below 1 is raised to 1.
  EXPECT_EQ(bodies(*hist(0, 0, 0, 0)), (V{"m10"}));
  // A cursor outside the room, or unknown, is not found.
  EXPECT_EQ(hist(foreign->event.message->id, 0, 0, 3).error().code, Errc::kNotFound);
  EXPECT_EQ(hist(0, 424242, 0, 3).error().code, Errc::kNotFound);
  EXPECT_EQ(hist(0, 0, 424242, 3).error().code, Errc::kNotFound);
}

TEST_P(StoreConformance, HistoryPagesAreCapped) {
  auto alice = make_user("alice");
  auto r = make_group(alice, {});
  constexpr int kN = 130;
  Pending pending(kN);
  for (int i = 0; i < kN; ++i) {
    NewMessage m;
    m.id = next_id();
    m.room_id = r.id;
    m.sender_id = alice.id;
    m.client_txn_id = "bulk-" + std::to_string(i);
    m.body = "b";
    m.created_at = tick();
    store().append_message(m, [&](Result<AppendResult> res) {
      EXPECT_TRUE(res.ok());
      pending.done_one();
    });
  }
  ASSERT_TRUE(pending.wait());
  auto page = [&](int limit) {
    HistoryQuery q{r.id, 0, 0, 0, limit};
    return call<std::vector<core::Message>>([&](auto d) { store().history(q, std::move(d)); })->size();
  };
  EXPECT_EQ(page(100), 100u);
  EXPECT_EQ(page(101), 101u);  // the chat layer asks for one extra row to learn has_more
  EXPECT_LE(page(5000), 101u);
}

// =============================================================================================
// Room list

TEST_P(StoreConformance, RoomsForUserNewestActivityFirstWithUnread) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto r1 = make_group(alice, {bob}, "first");
  auto r2 = make_group(alice, {}, "second");
  auto dm = make_dm(alice, bob);

  auto list = [&](const core::User& u) {
    auto r = call<std::vector<core::RoomSummary>>(
        [&](auto d) { store().rooms_for_user(u.id, std::move(d)); });
    EXPECT_TRUE(r.ok());
    return r ? *r : std::vector<core::RoomSummary>{};
  };
  auto ids = [](const std::vector<core::RoomSummary>& v) {
    std::vector<Id> out;
    for (const auto& s : v) out.push_back(s.room.id);
    return out;
  };
  // No messages yet: newest room first.
  auto mine = list(alice);
  EXPECT_EQ(ids(mine), (std::vector<Id>{dm.id, r2.id, r1.id}));
  ASSERT_EQ(mine.size(), 3u);
  EXPECT_EQ(mine[0].dm_peers, std::vector<Id>{bob.id});
  EXPECT_TRUE(mine[1].dm_peers.empty());
  EXPECT_EQ(mine[2].self.role, MemberRole::kOwner);
  EXPECT_EQ(mine[2].self.user_id, alice.id);
  EXPECT_FALSE(mine[2].last_message.has_value());
  EXPECT_EQ(mine[2].unread, 0);

  auto b1 = send(r1, bob, "from bob 1");
  auto b2 = send(r1, bob, "from bob 2");
  ASSERT_TRUE(b1.ok() && b2.ok());
  ASSERT_TRUE(call<core::RoomEvent>([&](auto d) {
                store().delete_message(r1.id, b2->event.message->id, bob.id, bob.id, tick(),
                                       std::move(d));
              }).ok());
  mine = list(alice);
  ASSERT_EQ(ids(mine), (std::vector<Id>{r1.id, dm.id, r2.id}));
  ASSERT_TRUE(mine[0].last_message.has_value());
  EXPECT_EQ(mine[0].last_message->body, "from bob 1");  // the newest message not deleted
  EXPECT_EQ(mine[0].unread, 1);                         // deleted messages do not count
  EXPECT_EQ(mine[0].room.last_seq, 3);

  auto a1 = send(r1, alice, "mine");
  ASSERT_TRUE(a1.ok());
  mine = list(alice);
  EXPECT_EQ(mine[0].last_message->body, "mine");
  EXPECT_EQ(mine[0].unread, 1);  // one's own messages do not count
  auto bobs = list(bob);
  ASSERT_EQ(ids(bobs), (std::vector<Id>{r1.id, dm.id}));
  EXPECT_EQ(bobs[0].unread, 1);
  EXPECT_EQ(bobs[1].dm_peers, std::vector<Id>{alice.id});

  auto dave = make_user("dave");
  EXPECT_TRUE(list(dave).empty());
}

// =============================================================================================
// Read state, receipts, reactions (issue 3)

namespace {
ReadUpdate read_to(const core::Room& room, const core::User& u, std::int64_t read,
                   std::int64_t delivered = -1, ReadMode mode = ReadMode::kForward) {
  ReadUpdate r;
  r.room_id = room.id;
  r.user_id = u.id;
  r.read_seq = read;
  r.delivered_seq = delivered;
  r.mode = mode;
  return r;
}
}  // namespace

TEST_P(StoreConformance, ReadMarkerMovesForwardWithinTheRoomAndCountsUnread) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto room = make_group(alice, {bob});
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(send(room, alice, "m" + std::to_string(i)).ok());
  auto upd = [&](ReadUpdate u) {
    return call<core::ReadState>([&](auto d) { store().update_read_state(u, std::move(d)); });
  };
  auto r = upd(read_to(room, bob, 2));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->read_changed);
  EXPECT_EQ(r->last_read_seq, 2);
  EXPECT_EQ(r->delivered_seq, 2);  // read implies delivered
  EXPECT_EQ(r->unread, 2);
  EXPECT_EQ(r->room_kind, core::RoomKind::kGroup);

  // Same value: no change. Backwards: conflict. Beyond last_seq: invalid. Not a member: 404.
  r = upd(read_to(room, bob, 2));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->read_changed);
  auto back = upd(read_to(room, bob, 1));
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.error().code, Errc::kConflict);
  auto beyond = upd(read_to(room, bob, 5));
  ASSERT_FALSE(beyond.ok());
  EXPECT_EQ(beyond.error().code, Errc::kInvalidArgument);
  auto carol = make_user("carol");
  auto outsider = upd(read_to(room, carol, 1));
  ASSERT_FALSE(outsider.ok());
  EXPECT_EQ(outsider.error().code, Errc::kNotFound);

  // Delivered moves on its own and never down.
  r = upd(read_to(room, bob, -1, 4));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->delivered_changed);
  EXPECT_FALSE(r->read_changed);
  EXPECT_EQ(r->delivered_seq, 4);
  r = upd(read_to(room, bob, -1, 3));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->delivered_changed);
  EXPECT_EQ(r->delivered_seq, 4);

  // Mark unread: exact mode goes backwards.
  r = upd(read_to(room, bob, 1, -1, ReadMode::kExact));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->last_read_seq, 1);
  EXPECT_EQ(r->unread, 3);
  EXPECT_EQ(r->delivered_seq, 4);

  // The summary agrees.
  auto rooms = call<std::vector<core::RoomSummary>>(
      [&](auto d) { store().rooms_for_user(bob.id, std::move(d)); });
  ASSERT_TRUE(rooms.ok());
  ASSERT_EQ(rooms->size(), 1u);
  EXPECT_EQ((*rooms)[0].self.last_read_seq, 1);
  EXPECT_EQ((*rooms)[0].self.delivered_seq, 4);
  EXPECT_EQ((*rooms)[0].unread, 3);
}

// Unread counts stop at 1,000 (docs/protocol.md): a member who never reads a busy room does not
// make every room list and identify count its whole history.
TEST_P(StoreConformance, UnreadCountStopsAtOneThousand) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto room = make_group(alice, {bob});
  constexpr int kN = 1005;
  Pending pending(kN);  // appended concurrently, so the writer commits them in groups
  for (int i = 0; i < kN; ++i) {
    NewMessage m;
    m.id = next_id();
    m.room_id = room.id;
    m.sender_id = alice.id;
    m.client_txn_id = "cap-" + std::to_string(i);
    m.body = "message " + std::to_string(i);
    m.created_at = tick();
    store().append_message(m, [&](Result<AppendResult> res) {
      EXPECT_TRUE(res.ok());
      pending.done_one();
    });
  }
  ASSERT_TRUE(pending.wait());
  auto unread_in_list = [&] {
    auto rooms = call<std::vector<core::RoomSummary>>(
        [&](auto d) { store().rooms_for_user(bob.id, std::move(d)); });
    EXPECT_TRUE(rooms.ok());
    return rooms && rooms->size() == 1 ? (*rooms)[0].unread : -1;
  };
  EXPECT_EQ(unread_in_list(), 1000);
  auto upd = [&](ReadUpdate u) {
    return call<core::ReadState>([&](auto d) { store().update_read_state(u, std::move(d)); });
  };
  auto r = upd(read_to(room, bob, 3));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->unread, 1000);  // 1,002 after the marker
  r = upd(read_to(room, bob, 1000));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->unread, 5);  // below the cap: exact again
  EXPECT_EQ(unread_in_list(), 5);
}

TEST_P(StoreConformance, MarkAllReadAndReceiptsRespectPrivacy) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto carol = make_user("carol");
  auto group = make_group(alice, {bob, carol});
  auto dm = make_dm(alice, bob);
  auto quiet = make_group(alice, {bob}, "quiet");
  auto m1 = send(group, alice, "one");
  ASSERT_TRUE(m1.ok());
  ASSERT_TRUE(send(dm, alice, "hi").ok());

  auto all = call<std::vector<core::ReadState>>(
      [&](auto d) { store().mark_all_read(bob.id, std::move(d)); });
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_EQ(all->size(), 2u);  // the quiet room had nothing to read
  for (const auto& st : *all) {
    EXPECT_EQ(st.unread, 0);
    EXPECT_TRUE(st.read_changed);
    EXPECT_EQ(st.room_kind, st.room_id == dm.id ? core::RoomKind::kDm : core::RoomKind::kGroup);
  }
  (void)quiet;

  // Carol holds the message but has read receipts off after reading it.
  ASSERT_TRUE(call<core::ReadState>([&](auto d) {
                store().update_read_state(read_to(group, carol, 1), std::move(d));
              }).ok());
  UserUpdate priv;
  priv.id = carol.id;
  priv.read_receipts = false;
  auto updated = call<core::User>([&](auto d) { store().update_user(priv, std::move(d)); });
  ASSERT_TRUE(updated.ok());
  EXPECT_FALSE(updated->read_receipts);
  EXPECT_FALSE(updated->invisible);

  auto rc = call<core::MessageReceipts>([&](auto d) {
    store().message_receipts(group.id, m1->event.seq, alice.id, std::move(d));
  });
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(rc->read_by, std::vector<Id>{bob.id});
  std::vector<Id> both{bob.id, carol.id};
  std::sort(both.begin(), both.end());
  EXPECT_EQ(rc->delivered_to, both);

  // The DM summary carries the peer's positions.
  auto rooms = call<std::vector<core::RoomSummary>>(
      [&](auto d) { store().rooms_for_user(alice.id, std::move(d)); });
  ASSERT_TRUE(rooms.ok());
  bool saw_dm = false;
  for (const auto& s : *rooms) {
    if (s.room.id != dm.id) continue;
    saw_dm = true;
    EXPECT_EQ(s.peer_read_seq, 1);
    EXPECT_EQ(s.peer_delivered_seq, 1);
  }
  EXPECT_TRUE(saw_dm);
}

TEST_P(StoreConformance, ReactionsAreToggledSequencedAndCounted) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto carol = make_user("carol");
  auto room = make_group(alice, {bob});
  auto m = send(room, alice, "react to me");
  ASSERT_TRUE(m.ok());
  const Id mid = m->event.message->id;
  auto react = [&](const core::User& u, const std::string& emoji, bool add, Id msg = 0) {
    ReactionUpdate r;
    r.room_id = room.id;
    r.message_id = msg == 0 ? mid : msg;
    r.user_id = u.id;
    r.emoji = emoji;
    r.add = add;
    r.now = tick();
    return call<ReactionResult>([&](auto d) { store().set_reaction(r, std::move(d)); });
  };
  auto a = react(alice, "👍", true);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_TRUE(a->changed);
  EXPECT_EQ(a->event.type, EventType::kReactionAdded);
  EXPECT_EQ(a->event.seq, 2);
  EXPECT_EQ(a->event.count, 1);
  EXPECT_EQ(a->event.target_id, mid);
  auto b = react(bob, "👍", true);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->event.count, 2);
  auto again = react(bob, "👍", true);  // already there: no event
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->changed);
  ASSERT_TRUE(react(bob, ":party:", true).ok());
  auto off = react(bob, "👍", false);
  ASSERT_TRUE(off.ok());
  EXPECT_TRUE(off->changed);
  EXPECT_EQ(off->event.type, EventType::kReactionRemoved);
  EXPECT_EQ(off->event.count, 1);
  EXPECT_EQ(off->event.seq, 5);

  // Outsiders, unknown messages, deleted messages.
  auto outsider = react(carol, "👍", true);
  ASSERT_FALSE(outsider.ok());
  EXPECT_EQ(outsider.error().code, Errc::kForbidden);
  auto unknown = react(alice, "👍", true, 42);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, Errc::kNotFound);

  // Too many kinds.
  for (int i = 0; i < kMaxReactionKinds - 2; ++i) {
    ASSERT_TRUE(react(alice, "e" + std::to_string(i), true).ok());
  }
  auto full = react(alice, "one-too-many", true);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code, Errc::kInvalidArgument);
  EXPECT_TRUE(react(bob, "e0", true).ok());  // an existing kind is still fine

  // History shows counts; events replay with emoji and count.
  HistoryQuery hq;
  hq.room_id = room.id;
  auto h = call<std::vector<core::Message>>([&](auto d) { store().history(hq, std::move(d)); });
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 1u);
  ASSERT_EQ((*h)[0].reactions.size(), static_cast<std::size_t>(kMaxReactionKinds));
  EXPECT_EQ((*h)[0].reactions[0].emoji, "👍");
  EXPECT_EQ((*h)[0].reactions[0].count, 1);
  auto events = all_events(room.id);
  ASSERT_GE(events.size(), 5u);
  EXPECT_EQ(events[2].type, EventType::kReactionAdded);
  EXPECT_EQ(events[2].emoji, "👍");
  EXPECT_EQ(events[2].count, 2);
  EXPECT_EQ(events[2].user_id, bob.id);
  EXPECT_EQ(events[2].target_id, mid);
  EXPECT_FALSE(events[2].message.has_value());
  EXPECT_EQ(events[4].type, EventType::kReactionRemoved);

  ASSERT_TRUE(call<core::RoomEvent>([&](auto d) {
                store().delete_message(room.id, mid, alice.id, alice.id, tick(), std::move(d));
              }).ok());
  auto dead = react(bob, "👍", true);
  ASSERT_FALSE(dead.ok());
  EXPECT_EQ(dead.error().code, Errc::kNotFound);
}

// What a compose callback was given (ContentLookup::previous copied out: it is only valid
// during the call).
struct Seen {
  ContentLookup look;
  std::optional<core::Mentions> previous;
};

// A content request that records what the store looked up and composes a fixed result.
ContentRequest content_for(std::vector<std::string> names, bool count_members,
                           std::shared_ptr<Seen> seen, MessageContent result,
                           std::optional<core::Error> fail = std::nullopt) {
  ContentRequest req;
  req.mention_names = std::move(names);
  req.count_members = count_members;
  req.compose = [seen, result, fail](const ContentLookup& look) -> core::Result<MessageContent> {
    seen->look = look;
    seen->look.previous = nullptr;
    seen->previous.reset();
    if (look.previous != nullptr) seen->previous = *look.previous;
    if (fail) return *fail;
    return result;
  };
  return req;
}

TEST_P(StoreConformance, ContentIsComposedInTheTransactionAndMentionsAreCounted) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto carol = make_user("carol");  // not a member
  auto room = make_group(alice, {bob});
  auto seen = std::make_shared<Seen>();

  MessageContent c1;
  c1.html = "<p>hi @bob</p>";
  c1.mentions.user_ids = {bob.id, carol.id};
  NewMessage m;
  m.id = next_id();
  m.room_id = room.id;
  m.sender_id = alice.id;
  m.client_txn_id = "c-1";
  m.body = "hi @bob @carol @nobody";
  m.created_at = tick();
  m.content = content_for({"bob", "carol", "nobody"}, true, seen, c1);
  auto r = call<AppendResult>([&](auto d) { store().append_message(m, std::move(d)); });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(seen->look.role, core::MemberRole::kOwner);
  EXPECT_EQ(seen->look.member_count, 2);
  EXPECT_EQ(seen->look.user_ids, (std::vector<Id>{bob.id, carol.id, 0}));
  EXPECT_EQ(seen->look.members, (std::vector<bool>{true, false, false}));
  EXPECT_FALSE(seen->previous.has_value());
  EXPECT_EQ(r->event.message->html, c1.html);
  EXPECT_EQ(r->event.message->mentions.user_ids, c1.mentions.user_ids);

  // Every read carries html and mentions.
  auto stored = call<core::Message>([&](auto d) { store().message_by_id(m.id, std::move(d)); });
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->html, c1.html);
  EXPECT_EQ(stored->mentions.user_ids, c1.mentions.user_ids);
  auto events = all_events(room.id);
  ASSERT_EQ(events.back().message->html, c1.html);
  EXPECT_EQ(events.back().message->mentions.user_ids, c1.mentions.user_ids);

  // A compose error stores nothing.
  NewMessage refused = m;
  refused.id = next_id();
  refused.client_txn_id = "c-2";
  refused.content = content_for({}, true, seen, c1,
                                core::make_error(Errc::kMentionNotAllowed, "no @room here"));
  auto no = call<AppendResult>([&](auto d) { store().append_message(refused, std::move(d)); });
  ASSERT_FALSE(no.ok());
  EXPECT_EQ(no.error().code, Errc::kMentionNotAllowed);
  EXPECT_EQ(this->room(room.id).last_seq, r->event.seq);

  // @room counts for every member but the sender, once per message.
  MessageContent all;
  all.html = "<p>@room</p>";
  all.mentions.room = true;
  all.mentions.user_ids = {bob.id};
  NewMessage m2 = m;
  m2.id = next_id();
  m2.client_txn_id = "c-3";
  m2.content = content_for({"bob"}, true, seen, all);
  auto r2 = call<AppendResult>([&](auto d) { store().append_message(m2, std::move(d)); });
  ASSERT_TRUE(r2.ok());
  EXPECT_TRUE(r2->event.message->mentions.room);
  ASSERT_TRUE(send(room, alice, "plain").ok());
  auto mentions_of = [&](const core::User& u) {
    auto rooms = call<std::vector<core::RoomSummary>>(
        [&](auto d) { store().rooms_for_user(u.id, std::move(d)); });
    return rooms->front().unread_mentions;
  };
  EXPECT_EQ(mentions_of(bob), 2);
  EXPECT_EQ(mentions_of(alice), 0);
  auto rs = call<core::ReadState>(
      [&](auto d) { store().update_read_state(read_to(room, bob, r->event.seq), std::move(d)); });
  ASSERT_TRUE(rs.ok());
  EXPECT_EQ(rs->unread_mentions, 1);

  // An edit recomposes with the previous mentions; its new mentions replace the old.
  MessageEdit x;
  x.room_id = room.id;
  x.message_id = m2.id;
  x.only_sender = alice.id;
  x.body = "never mind";
  x.actor = alice.id;
  x.now = tick();
  MessageContent none;
  none.html = "<p>never mind</p>";
  x.content = content_for({}, false, seen, none);
  auto e = call<core::RoomEvent>([&](auto d) { store().edit_message(x, std::move(d)); });
  ASSERT_TRUE(e.ok()) << e.error().message;
  ASSERT_TRUE(seen->previous.has_value());
  EXPECT_TRUE(seen->previous->room);
  EXPECT_EQ(seen->previous->user_ids, std::vector<Id>{bob.id});
  EXPECT_EQ(e->message->html, none.html);
  EXPECT_TRUE(e->message->mentions.empty());
  EXPECT_EQ(mentions_of(bob), 0);

  // mark_all_read reports zero mentions left; deleting clears html and mentions.
  auto all_read = call<std::vector<core::ReadState>>(
      [&](auto d) { store().mark_all_read(bob.id, std::move(d)); });
  ASSERT_TRUE(all_read.ok());
  ASSERT_EQ(all_read->size(), 1u);
  EXPECT_EQ(all_read->front().unread_mentions, 0);
  auto del = call<core::RoomEvent>([&](auto d) {
    store().delete_message(room.id, m.id, 0, alice.id, tick(), std::move(d));
  });
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(del->message->html, "");
  EXPECT_TRUE(del->message->mentions.empty());

  // The plain edit (no content request) leaves no stale HTML behind.
  auto plain = send(room, bob, "**b**");
  ASSERT_TRUE(plain.ok());
  auto pe = call<core::RoomEvent>([&](auto d) {
    store().edit_message(room.id, plain->event.message->id, bob.id, "c", bob.id, tick(),
                         std::move(d));
  });
  ASSERT_TRUE(pe.ok());
  EXPECT_EQ(pe->message->html, "");
}

TEST_P(StoreConformance, LastSeenOnlyMovesForward) {
  auto alice = make_user("alice");
  ASSERT_TRUE(call<core::Ok>([&](auto d) { store().set_last_seen(alice.id, 5000, std::move(d)); }).ok());
  ASSERT_TRUE(call<core::Ok>([&](auto d) { store().set_last_seen(alice.id, 4000, std::move(d)); }).ok());
  auto u = call<core::User>([&](auto d) { store().user_by_id(alice.id, std::move(d)); });
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->last_seen, 5000);
  auto none = call<core::Ok>([&](auto d) { store().set_last_seen(42, 1, std::move(d)); });
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, Errc::kNotFound);
}

// =============================================================================================
// Sequencing under concurrency and group commit

TEST_P(StoreConformance, FiftyConcurrentSendersGetGapFreeSeqsInOrder) {
  auto owner = make_user("owner");
  std::vector<core::User> senders;
  for (int i = 0; i < 50; ++i) senders.push_back(make_user("sender" + std::to_string(i)));
  auto r = make_group(owner, senders);
  constexpr int kThreads = 5, kPerSender = 20;
  const int total = static_cast<int>(senders.size()) * kPerSender;

  std::mutex mu;
  std::vector<std::int64_t> completion_order;
  int failures = 0;
  Pending pending(total);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < kPerSender; ++k) {
        for (std::size_t s = t; s < senders.size(); s += kThreads) {
          NewMessage m;
          m.id = next_id();
          m.room_id = r.id;
          m.sender_id = senders[s].id;
          m.client_txn_id = "k" + std::to_string(k);
          m.body = "msg";
          m.created_at = tick();
          store().append_message(std::move(m), [&](Result<AppendResult> res) {
            {
              std::lock_guard lock(mu);
              if (res) {
                completion_order.push_back(res->event.seq);
              } else {
                ++failures;
              }
            }
            pending.done_one();
          });
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(pending.wait());
  EXPECT_EQ(failures, 0);
  ASSERT_EQ(static_cast<int>(completion_order.size()), total);
  // Completions for one room arrive in seq order, so sorting changes nothing...
  EXPECT_TRUE(std::is_sorted(completion_order.begin(), completion_order.end()));
  // ...and the seqs are exactly 1..total: no gaps, no duplicates.
  EXPECT_EQ(completion_order, one_to(total));
  EXPECT_EQ(room(r.id).last_seq, total);
  EXPECT_EQ(seqs_of(all_events(r.id)), one_to(total));
}

TEST_P(StoreConformance, SeqsAreIndependentPerRoom) {
  auto alice = make_user("alice");
  std::vector<core::Room> rooms;
  for (int i = 0; i < 4; ++i) rooms.push_back(make_group(alice, {}, "r" + std::to_string(i)));
  constexpr int kThreads = 4, kPerThreadPerRoom = 25;
  std::mutex mu;
  std::map<Id, std::vector<std::int64_t>> order;
  Pending pending(kThreads * kPerThreadPerRoom * 4);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < kPerThreadPerRoom; ++k) {
        for (const auto& room : rooms) {
          NewMessage m;
          m.id = next_id();
          m.room_id = room.id;
          m.sender_id = alice.id;
          m.client_txn_id = "t" + std::to_string(t) + "-" + std::to_string(k) + "-" +
                            std::to_string(room.id);
          m.body = "x";
          m.created_at = tick();
          store().append_message(std::move(m), [&, id = room.id](Result<AppendResult> res) {
            {
              std::lock_guard lock(mu);
              EXPECT_TRUE(res.ok());
              if (res) {
                EXPECT_EQ(res->event.room_id, id);
                order[id].push_back(res->event.seq);
              }
            }
            pending.done_one();
          });
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(pending.wait());
  for (const auto& room : rooms) {
    EXPECT_EQ(order[room.id], one_to(kThreads * kPerThreadPerRoom)) << "room " << room.name;
    EXPECT_EQ(seqs_of(all_events(room.id)), one_to(kThreads * kPerThreadPerRoom));
  }
}

TEST_P(StoreConformance, FailingRequestDoesNotAffectOthersQueuedWithIt) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto eve = make_user("eve");
  auto r = make_group(alice, {bob});
  auto other = make_group(alice, {}, "other");
  auto foreign = send(other, alice, "foreign");
  ASSERT_TRUE(foreign.ok());

  // Fired back to back without waiting, so a group-committing backend batches them together.
  struct Outcome {
    std::string who;
    Result<AppendResult> res = core::make_error(Errc::kInternal, "not called");
  };
  std::vector<Outcome> outcomes(41);
  Pending pending(41);
  for (int i = 0; i < 41; ++i) {
    NewMessage m;
    m.id = next_id();
    m.room_id = r.id;
    m.created_at = tick();
    m.body = "b" + std::to_string(i);
    m.client_txn_id = "txn-" + std::to_string(i);
    if (i == 10) {
      m.sender_id = eve.id;  // not a member
      outcomes[i].who = "eve";
    } else if (i == 20) {
      m.sender_id = bob.id;  // reply to another room's message
      m.reply_to = foreign->event.message->id;
      outcomes[i].who = "bad-reply";
    } else {
      m.sender_id = i % 2 == 0 ? alice.id : bob.id;
      outcomes[i].who = "member";
    }
    store().append_message(std::move(m), [&, i](Result<AppendResult> res) {
      outcomes[i].res = std::move(res);
      pending.done_one();
    });
  }
  ASSERT_TRUE(pending.wait());
  std::vector<std::int64_t> seqs;
  for (auto& o : outcomes) {
    if (o.who == "eve") {
      ASSERT_FALSE(o.res.ok());
      EXPECT_EQ(o.res.error().code, Errc::kForbidden);
    } else if (o.who == "bad-reply") {
      ASSERT_FALSE(o.res.ok());
      EXPECT_EQ(o.res.error().code, Errc::kInvalidArgument);
    } else {
      ASSERT_TRUE(o.res.ok()) << o.res.error().message;
      seqs.push_back(o.res->event.seq);
    }
  }
  EXPECT_EQ(seqs, one_to(39));
  EXPECT_EQ(room(r.id).last_seq, 39);
  auto events = all_events(r.id);
  EXPECT_EQ(seqs_of(events), one_to(39));
  HistoryQuery q{r.id, 0, 0, 0, 100};
  auto hist = call<std::vector<core::Message>>([&](auto d) { store().history(q, std::move(d)); });
  ASSERT_EQ(hist->size(), 39u);
  for (const auto& m : *hist) {
    EXPECT_NE(m.sender_id, eve.id);
    EXPECT_NE(m.body, "b20");
  }
}

}  // namespace parley::store::conformance

// =============================================================================================
// Attachments and uploads (issue 4)

namespace parley::store::conformance {

namespace {

core::Attachment file_attachment(Id id, Id uploader, std::int64_t at, const std::string& sha,
                                 std::int64_t size = 100) {
  core::Attachment a;
  a.id = id;
  a.uploader_id = uploader;
  a.name = "report " + std::to_string(id) + ".pdf";
  a.mime = "application/pdf";
  a.kind = core::AttachmentKind::kFile;
  a.size = size;
  a.sha256 = sha;
  a.created_at = at;
  return a;
}

std::vector<Id> ids_of(const std::vector<core::Attachment>& as) {
  std::vector<Id> out;
  for (const auto& a : as) out.push_back(a.id);
  return out;
}

}  // namespace

TEST_P(StoreConformance, AttachmentsTravelWithTheirMessage) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto room = make_group(alice, {bob});
  auto create = [&](core::Attachment a, std::int64_t quota = 0) {
    NewAttachment n;
    n.attachment = std::move(a);
    n.quota = quota;
    return call<core::Attachment>([&](auto d) { store().create_attachment(n, std::move(d)); });
  };
  core::Attachment img = file_attachment(next_id(), alice.id, tick(), std::string(64, 'a'));
  img.name = "cat.png";
  img.mime = "image/png";
  img.kind = core::AttachmentKind::kImage;
  img.width = 640;
  img.height = 480;
  img.thumb_key = std::string(64, 'b');
  img.preview_key = std::string(64, 'c');
  auto a1 = create(img);
  ASSERT_TRUE(a1.ok()) << a1.error().message;
  auto a2 = create(file_attachment(next_id(), alice.id, tick(), std::string(64, 'd')));
  ASSERT_TRUE(a2.ok());
  auto b1 = create(file_attachment(next_id(), bob.id, tick(), std::string(64, 'e')));
  ASSERT_TRUE(b1.ok());

  auto got = call<core::Attachment>([&](auto d) { store().attachment_by_id(a1->id, std::move(d)); });
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->name, "cat.png");
  EXPECT_EQ(got->kind, core::AttachmentKind::kImage);
  EXPECT_EQ(got->width, 640);
  EXPECT_EQ(got->thumb_key, std::string(64, 'b'));
  EXPECT_EQ(got->message_id, 0u);
  auto used = call<std::int64_t>([&](auto d) { store().storage_used(alice.id, std::move(d)); });
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, 200);

  auto send_with = [&](const core::User& who, std::vector<Id> ids, const std::string& body) {
    NewMessage m;
    m.id = next_id();
    m.room_id = room.id;
    m.sender_id = who.id;
    m.client_txn_id = "att-" + std::to_string(m.id);
    m.body = body;
    m.created_at = tick();
    m.attachment_ids = std::move(ids);
    return call<AppendResult>([&](auto d) { store().append_message(m, std::move(d)); });
  };
  // Another user's upload, an unknown id, a repeated id: refused, nothing stored.
  auto theirs = send_with(alice, {a1->id, b1->id}, "");
  ASSERT_FALSE(theirs.ok());
  EXPECT_EQ(theirs.error().code, Errc::kNotFound);
  auto unknown = send_with(alice, {424242}, "x");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, Errc::kNotFound);
  auto twice = send_with(alice, {a1->id, a1->id}, "x");
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(this->room(room.id).last_seq, 0);
  got = call<core::Attachment>([&](auto d) { store().attachment_by_id(a1->id, std::move(d)); });
  EXPECT_EQ(got->message_id, 0u) << "a refused send attached nothing";

  auto sent = send_with(alice, {a2->id, a1->id}, "");
  ASSERT_TRUE(sent.ok()) << sent.error().message;
  const core::Message& msg = *sent->event.message;
  EXPECT_EQ(ids_of(msg.attachments), (std::vector<Id>{a2->id, a1->id}));
  EXPECT_EQ(msg.attachments[1].room_id, room.id);
  EXPECT_EQ(msg.attachments[1].message_id, msg.id);
  EXPECT_EQ(msg.attachments[1].position, 1);

  // Already sent: a second message cannot take it.
  auto again = send_with(alice, {a1->id}, "again");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, Errc::kConflict);

  // Every read carries them: by id, history, events, the retry of the same txn.
  auto by_id = call<core::Message>([&](auto d) { store().message_by_id(msg.id, std::move(d)); });
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(ids_of(by_id->attachments), (std::vector<Id>{a2->id, a1->id}));
  HistoryQuery hq;
  hq.room_id = room.id;
  auto hist = call<std::vector<core::Message>>([&](auto d) { store().history(hq, std::move(d)); });
  ASSERT_TRUE(hist.ok());
  ASSERT_EQ(hist->size(), 1u);
  EXPECT_EQ(ids_of(hist->front().attachments), (std::vector<Id>{a2->id, a1->id}));
  auto events = all_events(room.id);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(ids_of(events[0].message->attachments), (std::vector<Id>{a2->id, a1->id}));
  auto summaries = call<std::vector<core::RoomSummary>>(
      [&](auto d) { store().rooms_for_user(bob.id, std::move(d)); });
  ASSERT_TRUE(summaries.ok());
  ASSERT_TRUE(summaries->front().last_message.has_value());
  EXPECT_EQ(summaries->front().last_message->attachments.size(), 2u);

  auto refs = call<std::vector<std::string>>([&](auto d) {
    store().referenced_blobs({std::string(64, 'a'), std::string(64, 'b'), std::string(64, 'c'),
                              std::string(64, 'f')},
                             std::move(d));
  });
  ASSERT_TRUE(refs.ok());
  EXPECT_EQ(*refs, (std::vector<std::string>{std::string(64, 'a'), std::string(64, 'b'),
                                             std::string(64, 'c')}));

  // Deleting the message deletes its attachments; their blobs are no longer referenced.
  auto del = call<core::RoomEvent>([&](auto d) {
    store().delete_message(room.id, msg.id, 0, alice.id, tick(), std::move(d));
  });
  ASSERT_TRUE(del.ok());
  EXPECT_TRUE(del->message->attachments.empty());
  got = call<core::Attachment>([&](auto d) { store().attachment_by_id(a1->id, std::move(d)); });
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, Errc::kNotFound);
  refs = call<std::vector<std::string>>([&](auto d) {
    store().referenced_blobs({std::string(64, 'a'), std::string(64, 'e')}, std::move(d));
  });
  ASSERT_TRUE(refs.ok());
  EXPECT_EQ(*refs, (std::vector<std::string>{std::string(64, 'e')}));
  used = call<std::int64_t>([&](auto d) { store().storage_used(alice.id, std::move(d)); });
  EXPECT_EQ(*used, 0);
}

TEST_P(StoreConformance, UploadsReserveQuotaAndUnsentOnesAreSwept) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto open_upload = [&](const core::User& who, std::int64_t size, std::int64_t quota) {
    PendingUpload u;
    u.id = next_id();
    u.user_id = who.id;
    u.name = "movie.mp4";
    u.size = size;
    u.created_at = tick();
    return call<PendingUpload>([&](auto d) { store().create_upload(u, quota, std::move(d)); });
  };
  auto up = open_upload(alice, 600, 1000);
  ASSERT_TRUE(up.ok()) << up.error().message;
  auto got = call<PendingUpload>([&](auto d) { store().upload_by_id(up->id, std::move(d)); });
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->size, 600);
  EXPECT_EQ(got->user_id, alice.id);
  auto over = open_upload(alice, 401, 1000);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, Errc::kQuotaExceeded);
  EXPECT_TRUE(open_upload(bob, 1000, 1000).ok()) << "quotas are per user";
  auto zero = open_upload(alice, 0, 1000);
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().code, Errc::kInvalidArgument);

  // Completing the upload turns its reservation into the attachment (not counted twice).
  NewAttachment n;
  n.attachment = file_attachment(next_id(), alice.id, tick(), std::string(64, '1'), 600);
  n.upload_id = up->id;
  n.quota = 1000;
  auto done = call<core::Attachment>([&](auto d) { store().create_attachment(n, std::move(d)); });
  ASSERT_TRUE(done.ok()) << done.error().message;
  got = call<PendingUpload>([&](auto d) { store().upload_by_id(up->id, std::move(d)); });
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, Errc::kNotFound);
  auto used = call<std::int64_t>([&](auto d) { store().storage_used(alice.id, std::move(d)); });
  EXPECT_EQ(*used, 600);
  // Bob cannot complete or cancel Alice's upload; a one-shot attachment over quota fails whole.
  auto up2 = open_upload(alice, 100, 1000);
  ASSERT_TRUE(up2.ok());
  NewAttachment steal;
  steal.attachment = file_attachment(next_id(), bob.id, tick(), std::string(64, '2'), 100);
  steal.upload_id = up2->id;
  auto stolen = call<core::Attachment>([&](auto d) { store().create_attachment(steal, std::move(d)); });
  ASSERT_FALSE(stolen.ok());
  EXPECT_EQ(stolen.error().code, Errc::kNotFound);
  auto cancel = call<core::Ok>([&](auto d) { store().delete_upload(bob.id, up2->id, std::move(d)); });
  ASSERT_FALSE(cancel.ok());
  EXPECT_EQ(cancel.error().code, Errc::kNotFound);
  NewAttachment big;
  big.attachment = file_attachment(next_id(), alice.id, tick(), std::string(64, '3'), 301);
  big.quota = 1000;
  auto refused = call<core::Attachment>([&](auto d) { store().create_attachment(big, std::move(d)); });
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kQuotaExceeded);
  auto missing = call<core::Attachment>(
      [&](auto d) { store().attachment_by_id(big.attachment.id, std::move(d)); });
  EXPECT_FALSE(missing.ok());

  // The sweep takes unsent attachments and open uploads created before the cut-off only.
  const std::int64_t cutoff = tick();
  auto late = open_upload(alice, 10, 0);
  ASSERT_TRUE(late.ok());
  auto swept = call<SweepResult>([&](auto d) { store().sweep_unsent(cutoff, 100, std::move(d)); });
  ASSERT_TRUE(swept.ok()) << swept.error().message;
  EXPECT_EQ(ids_of(swept->attachments), (std::vector<Id>{done->id}));
  std::vector<Id> upload_ids;
  for (const auto& u : swept->uploads) upload_ids.push_back(u.id);
  EXPECT_EQ(upload_ids.size(), 2u);  // bob's and alice's up2
  EXPECT_TRUE(std::find(upload_ids.begin(), upload_ids.end(), up2->id) != upload_ids.end());
  EXPECT_TRUE(call<PendingUpload>([&](auto d) { store().upload_by_id(late->id, std::move(d)); }).ok());
  used = call<std::int64_t>([&](auto d) { store().storage_used(alice.id, std::move(d)); });
  EXPECT_EQ(*used, 10);
  auto cancelled =
      call<core::Ok>([&](auto d) { store().delete_upload(alice.id, late->id, std::move(d)); });
  EXPECT_TRUE(cancelled.ok());
}

TEST_P(StoreConformance, ResumableUploadsAreLeasedAndTheirOffsetKept) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  PendingUpload u;
  u.id = next_id();
  u.user_id = alice.id;
  u.name = "film.webm";
  u.size = 1000;
  u.created_at = tick();
  auto up = call<PendingUpload>([&](auto d) { store().create_upload(u, 0, std::move(d)); });
  ASSERT_TRUE(up.ok()) << up.error().message;
  EXPECT_EQ(up->offset, 0);
  EXPECT_EQ(up->updated_at, u.created_at);
  auto lease = [&](Id who, std::int64_t offset, std::int64_t token, std::int64_t now) {
    UploadLease l{.upload_id = u.id, .user_id = who, .offset = offset, .token = token,
                  .now = now, .until = now + 100};
    return call<PendingUpload>([&](auto d) { store().lease_upload(l, std::move(d)); });
  };
  auto release = [&](std::int64_t token, std::int64_t offset, std::int64_t now) {
    return call<PendingUpload>(
        [&](auto d) { store().release_upload(u.id, token, offset, now, std::move(d)); });
  };
  const std::int64_t t0 = tick();

  // Another user's upload looks like an unknown one; a wrong offset is refused.
  auto theirs = lease(bob.id, 0, 7, t0);
  ASSERT_FALSE(theirs.ok());
  EXPECT_EQ(theirs.error().code, Errc::kNotFound);
  auto wrong = lease(alice.id, 10, 7, t0);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, Errc::kConflict);
  EXPECT_NE(wrong.error().message.find("offset"), std::string::npos);

  // One writer at a time: a second token is refused while the first lease runs.
  auto first = lease(alice.id, 0, 7, t0);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->lease, 7);
  auto second = lease(alice.id, 0, 8, t0 + 50);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, Errc::kConflict);
  EXPECT_NE(second.error().message.find("busy"), std::string::npos);
  // The sweep leaves a leased upload alone even past its idle cut-off.
  auto swept = call<SweepResult>([&](auto d) { store().sweep_unsent(t0 + 50, 100, std::move(d)); });
  ASSERT_TRUE(swept.ok());
  EXPECT_TRUE(swept->uploads.empty());
  // Releasing records the durable offset; only the holder can.
  EXPECT_FALSE(release(8, 400, t0 + 60).ok());
  auto done = release(7, 400, t0 + 60);
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_EQ(done->offset, 400);
  EXPECT_EQ(done->lease, 0);
  auto got = call<PendingUpload>([&](auto d) { store().upload_by_id(u.id, std::move(d)); });
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->offset, 400);
  EXPECT_EQ(got->updated_at, t0 + 60);
  EXPECT_FALSE(lease(alice.id, 0, 9, t0 + 70).ok()) << "the old offset is gone";

  // A lease that ran out (its node died) can be taken over; the old holder's release then fails.
  ASSERT_TRUE(lease(alice.id, 400, 10, t0 + 80).ok());
  auto takeover = lease(alice.id, 400, 11, t0 + 500);
  ASSERT_TRUE(takeover.ok()) << takeover.error().message;
  auto late = release(10, 900, t0 + 510);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, Errc::kConflict);
  ASSERT_TRUE(release(11, 400, t0 + 520).ok());

  // Idle uploads are swept from their last activity, not from their creation.
  swept = call<SweepResult>([&](auto d) { store().sweep_unsent(t0 + 520, 100, std::move(d)); });
  ASSERT_TRUE(swept.ok());
  EXPECT_TRUE(swept->uploads.empty());
  swept = call<SweepResult>([&](auto d) { store().sweep_unsent(t0 + 521, 100, std::move(d)); });
  ASSERT_TRUE(swept.ok());
  ASSERT_EQ(swept->uploads.size(), 1u);
  EXPECT_EQ(swept->uploads[0].id, u.id);
  EXPECT_EQ(swept->uploads[0].offset, 400);
  auto gone = release(11, 400, t0 + 530);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, Errc::kNotFound);
}

}  // namespace parley::store::conformance
