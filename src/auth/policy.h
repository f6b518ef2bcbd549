// auth/policy.h: the one place that decides "may X do Y". Pure functions over facts the caller
// has loaded (the actor, their membership, the target); no I/O, so every rule is unit tested.
// Callers must not make authorization decisions of their own.
#pragma once

#include <optional>

#include "core/result.h"
#include "core/types.h"

namespace parley::auth {

enum class Action {
  kReadRoom,          // read history, room details, members
  kSendMessage,
  kEditMessage,       // edit: the sender only
  kDeleteMessage,     // sender, or a moderator/owner of the room, or an admin
  kUpdateRoom,        // rename, topic: owner/moderator of a group
  kAddMember,         // any member of a group may invite (owner/moderator too)
  kRemoveMember,      // owner/moderator removes a plain member; owner removes anyone but self
  kLeaveRoom,         // any member of a group; not a DM
  kAdministerUsers,   // create users, set roles, deactivate: admins
  kReact,             // add/remove one's own reaction: any member (the message must be live)
  kMarkRead,          // move one's own read marker / delivered position: any member
  kViewReceipts,      // who read / holds a message: any member
  kTyping,            // typing notifications: any member
  kPinMessage,        // pin/unpin: DMs both members; groups per the room's pin_policy
  kFollowThread,      // follow/unfollow a thread, list its replies: any member
  kViewEditHistory,   // a message's earlier bodies: any member (like the message itself)
  kMentionAll,        // @room / @here: anyone in a room smaller than
                      // Target::mention_all_min_members, else owners and moderators only
};

struct Subject {
  core::Id user_id = 0;
  core::Role role = core::Role::kUser;
  std::optional<core::MemberRole> membership;  // actor's role in the room, if a member
};

struct Target {
  core::RoomKind room_kind = core::RoomKind::kGroup;
  core::Id owner_id = 0;                              // the message's sender, for message actions
  std::optional<core::MemberRole> target_membership;  // the affected member's role, if any
  core::PinPolicy pin_policy = core::PinPolicy::kMembers;  // the room's, for kPinMessage
  std::int64_t room_members = 0;                      // kMentionAll: members of the room now
  std::int64_t mention_all_min_members = 0;           // kMentionAll: from this size on (config)
};

// ok, or kForbidden (a member lacking the right) / kNotFound (not a member: the room is not
// revealed to outsiders). Admins get no implicit access to room contents.
core::Status authorize(const Subject& who, Action what, const Target& on = {});

}  // namespace parley::auth
