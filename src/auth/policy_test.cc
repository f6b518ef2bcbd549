#include "auth/policy.h"

#include <gtest/gtest.h>

namespace parley::auth {
namespace {

using core::Errc;
using core::MemberRole;
using core::Role;
using core::RoomKind;

Subject member(MemberRole r, core::Id id = 1) { return Subject{id, Role::kUser, r}; }
Subject outsider(Role role = Role::kUser) { return Subject{1, role, std::nullopt}; }

TEST(Policy, OutsidersCannotSeeRoomsEvenAdmins) {
  EXPECT_EQ(authorize(outsider(), Action::kReadRoom).error().code, Errc::kNotFound);
  EXPECT_EQ(authorize(outsider(Role::kAdmin), Action::kSendMessage).error().code, Errc::kNotFound);
}

TEST(Policy, MembersReadAndSend) {
  EXPECT_TRUE(authorize(member(MemberRole::kMember), Action::kReadRoom));
  EXPECT_TRUE(authorize(member(MemberRole::kMember), Action::kSendMessage));
}

TEST(Policy, MembersReactReadAndTypeOutsidersDoNotLearnTheRoom) {
  for (Action a : {Action::kReact, Action::kMarkRead, Action::kViewReceipts, Action::kTyping}) {
    EXPECT_TRUE(authorize(member(MemberRole::kMember), a));
    EXPECT_EQ(authorize(outsider(), a).error().code, Errc::kNotFound);
    EXPECT_EQ(authorize(outsider(Role::kAdmin), a).error().code, Errc::kNotFound);
  }
}

TEST(Policy, OnlyTheSenderEdits) {
  Target own{RoomKind::kGroup, 1, std::nullopt};
  Target theirs{RoomKind::kGroup, 2, std::nullopt};
  EXPECT_TRUE(authorize(member(MemberRole::kMember), Action::kEditMessage, own));
  EXPECT_EQ(authorize(member(MemberRole::kOwner), Action::kEditMessage, theirs).error().code,
            Errc::kForbidden);
}

TEST(Policy, ModeratorsDeleteOthersMessagesInGroupsOnly) {
  Target theirs{RoomKind::kGroup, 2, std::nullopt};
  EXPECT_FALSE(authorize(member(MemberRole::kMember), Action::kDeleteMessage, theirs));
  EXPECT_TRUE(authorize(member(MemberRole::kModerator), Action::kDeleteMessage, theirs));
  EXPECT_TRUE(authorize(member(MemberRole::kOwner), Action::kDeleteMessage, theirs));
  Target dm_theirs{RoomKind::kDm, 2, std::nullopt};
  EXPECT_FALSE(authorize(member(MemberRole::kOwner), Action::kDeleteMessage, dm_theirs));
  Target own{RoomKind::kDm, 1, std::nullopt};
  EXPECT_TRUE(authorize(member(MemberRole::kMember), Action::kDeleteMessage, own));
}

TEST(Policy, RoomChangesNeedModeratorAndNeverApplyToDms) {
  Target group{RoomKind::kGroup, 0, std::nullopt};
  Target dm{RoomKind::kDm, 0, std::nullopt};
  EXPECT_FALSE(authorize(member(MemberRole::kMember), Action::kUpdateRoom, group));
  EXPECT_TRUE(authorize(member(MemberRole::kModerator), Action::kUpdateRoom, group));
  EXPECT_FALSE(authorize(member(MemberRole::kOwner), Action::kUpdateRoom, dm));
  EXPECT_TRUE(authorize(member(MemberRole::kMember), Action::kAddMember, group));
  EXPECT_FALSE(authorize(member(MemberRole::kOwner), Action::kAddMember, dm));
  EXPECT_TRUE(authorize(member(MemberRole::kMember), Action::kLeaveRoom, group));
  EXPECT_FALSE(authorize(member(MemberRole::kMember), Action::kLeaveRoom, dm));
}

TEST(Policy, RemovalFollowsRank) {
  auto target = [](MemberRole r) { return Target{RoomKind::kGroup, 0, r}; };
  EXPECT_FALSE(authorize(member(MemberRole::kMember), Action::kRemoveMember, target(MemberRole::kMember)));
  EXPECT_TRUE(authorize(member(MemberRole::kModerator), Action::kRemoveMember, target(MemberRole::kMember)));
  EXPECT_FALSE(authorize(member(MemberRole::kModerator), Action::kRemoveMember, target(MemberRole::kModerator)));
  EXPECT_TRUE(authorize(member(MemberRole::kOwner), Action::kRemoveMember, target(MemberRole::kModerator)));
  EXPECT_FALSE(authorize(member(MemberRole::kOwner), Action::kRemoveMember, target(MemberRole::kOwner)));
}

TEST(Policy, PinningFollowsTheRoomsPinPolicyAndDmsAlwaysAllowIt) {
  Target open_group{RoomKind::kGroup, 0, std::nullopt, core::PinPolicy::kMembers};
  Target strict_group{RoomKind::kGroup, 0, std::nullopt, core::PinPolicy::kModerators};
  Target dm{RoomKind::kDm, 0, std::nullopt, core::PinPolicy::kModerators};
  EXPECT_TRUE(authorize(member(MemberRole::kMember), Action::kPinMessage, open_group));
  auto refused = authorize(member(MemberRole::kMember), Action::kPinMessage, strict_group);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::kForbidden);
  EXPECT_TRUE(authorize(member(MemberRole::kModerator), Action::kPinMessage, strict_group));
  EXPECT_TRUE(authorize(member(MemberRole::kOwner), Action::kPinMessage, strict_group));
  EXPECT_TRUE(authorize(member(MemberRole::kMember), Action::kPinMessage, dm));
  EXPECT_EQ(authorize(outsider(Role::kAdmin), Action::kPinMessage, open_group).error().code,
            Errc::kNotFound);
}

TEST(Policy, MembersFollowThreadsAndSeeEditHistoryOutsidersDoNot) {
  for (Action a : {Action::kFollowThread, Action::kViewEditHistory}) {
    EXPECT_TRUE(authorize(member(MemberRole::kMember), a));
    EXPECT_EQ(authorize(outsider(), a).error().code, Errc::kNotFound);
    EXPECT_EQ(authorize(outsider(Role::kAdmin), a).error().code, Errc::kNotFound);
  }
}

TEST(Policy, MentioningEveryoneNeedsModeratorInLargeRooms) {
  auto room = [](std::int64_t members) {
    Target t{RoomKind::kGroup, 0, std::nullopt};
    t.room_members = members;
    t.mention_all_min_members = 20;
    return t;
  };
  EXPECT_TRUE(authorize(member(MemberRole::kMember), Action::kMentionAll, room(19)));
  auto refused = authorize(member(MemberRole::kMember), Action::kMentionAll, room(20));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::kMentionNotAllowed);
  EXPECT_TRUE(authorize(member(MemberRole::kModerator), Action::kMentionAll, room(5000)));
  EXPECT_TRUE(authorize(member(MemberRole::kOwner), Action::kMentionAll, room(20)));
  // Not a member: the room is not revealed.
  EXPECT_EQ(authorize(outsider(Role::kAdmin), Action::kMentionAll, room(2)).error().code,
            Errc::kNotFound);
}

TEST(Policy, AdministrationNeedsAdminRole) {
  EXPECT_EQ(authorize(outsider(Role::kUser), Action::kAdministerUsers).error().code, Errc::kForbidden);
  EXPECT_TRUE(authorize(outsider(Role::kAdmin), Action::kAdministerUsers));
}

}  // namespace
}  // namespace parley::auth
