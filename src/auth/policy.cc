#include "auth/policy.h"

#include <string>

namespace parley::auth {

using core::Errc;
using core::MemberRole;
using core::RoomKind;

namespace {

core::Error forbidden(const char* why) { return core::make_error(Errc::kForbidden, why); }

bool is_moderator(MemberRole r) { return r == MemberRole::kModerator || r == MemberRole::kOwner; }

}  // namespace

core::Status authorize(const Subject& who, Action what, const Target& on) {
  if (what == Action::kAdministerUsers) {
    if (who.role == core::Role::kAdmin) return core::ok_status();
    return forbidden("administrator role required");
  }
  // Every other action concerns a room; outsiders do not learn that the room exists.
  if (!who.membership) return core::make_error(Errc::kNotFound, "room not found");
  const MemberRole mine = *who.membership;

  switch (what) {
    case Action::kReadRoom:
    case Action::kSendMessage:
    case Action::kReact:
    case Action::kMarkRead:
    case Action::kViewReceipts:
    case Action::kTyping:
    case Action::kFollowThread:
    case Action::kViewEditHistory:
      return core::ok_status();
    case Action::kPinMessage:
      if (on.room_kind == RoomKind::kDm) return core::ok_status();
      if (on.pin_policy == core::PinPolicy::kMembers || is_moderator(mine)) {
        return core::ok_status();
      }
      return forbidden("only owners and moderators may pin messages in this room");
    case Action::kEditMessage:
      if (on.owner_id == who.user_id) return core::ok_status();
      return forbidden("only the sender may edit a message");
    case Action::kDeleteMessage:
      if (on.owner_id == who.user_id) return core::ok_status();
      if (on.room_kind == RoomKind::kGroup && is_moderator(mine)) return core::ok_status();
      return forbidden("only the sender or a moderator may delete a message");
    case Action::kUpdateRoom:
      if (on.room_kind == RoomKind::kDm) return forbidden("direct rooms cannot be renamed");
      if (is_moderator(mine)) return core::ok_status();
      return forbidden("only owners and moderators may change the room");
    case Action::kAddMember:
      if (on.room_kind == RoomKind::kDm) return forbidden("direct rooms have exactly two members");
      return core::ok_status();
    case Action::kRemoveMember: {
      if (on.room_kind == RoomKind::kDm) return forbidden("direct rooms have exactly two members");
      const MemberRole theirs = on.target_membership.value_or(MemberRole::kMember);
      if (mine == MemberRole::kOwner && theirs != MemberRole::kOwner) return core::ok_status();
      if (mine == MemberRole::kModerator && theirs == MemberRole::kMember) return core::ok_status();
      return forbidden("not allowed to remove this member");
    }
    case Action::kMentionAll:
      if (on.room_members < on.mention_all_min_members || is_moderator(mine)) {
        return core::ok_status();
      }
      return core::make_error(Errc::kMentionNotAllowed,
                              "only owners and moderators may mention @room or @here in a room "
                              "of " + std::to_string(on.mention_all_min_members) +
                                  " or more members");
    case Action::kLeaveRoom:
      if (on.room_kind == RoomKind::kDm) return forbidden("direct rooms cannot be left");
      return core::ok_status();
    case Action::kAdministerUsers:
      break;  // handled above
  }
  return forbidden("not allowed");
}

}  // namespace parley::auth
