#include "core/types.h"

namespace parley::core {

std::string_view to_string(Role r) { return r == Role::kAdmin ? "admin" : "user"; }
std::string_view to_string(UserStatus s) {
  return s == UserStatus::kActive ? "active" : "deactivated";
}
std::string_view to_string(RoomKind k) { return k == RoomKind::kDm ? "dm" : "group"; }
std::string_view to_string(MemberRole r) {
  switch (r) {
    case MemberRole::kMember: return "member";
    case MemberRole::kModerator: return "moderator";
    case MemberRole::kOwner: return "owner";
  }
  return "member";
}
std::optional<Role> parse_role(std::string_view s) {
  if (s == "admin") return Role::kAdmin;
  if (s == "user") return Role::kUser;
  return std::nullopt;
}
std::optional<MemberRole> parse_member_role(std::string_view s) {
  if (s == "member") return MemberRole::kMember;
  if (s == "moderator") return MemberRole::kModerator;
  if (s == "owner") return MemberRole::kOwner;
  return std::nullopt;
}
std::string_view to_string(AttachmentKind k) {
  switch (k) {
    case AttachmentKind::kImage: return "image";
    case AttachmentKind::kVideo: return "video";
    case AttachmentKind::kAudio: return "audio";
    case AttachmentKind::kFile: return "file";
  }
  return "file";
}
std::optional<AttachmentKind> parse_attachment_kind(std::string_view s) {
  if (s == "image") return AttachmentKind::kImage;
  if (s == "video") return AttachmentKind::kVideo;
  if (s == "audio") return AttachmentKind::kAudio;
  if (s == "file") return AttachmentKind::kFile;
  return std::nullopt;
}
std::string_view to_string(PinPolicy p) {
  return p == PinPolicy::kModerators ? "moderators" : "members";
}
std::optional<PinPolicy> parse_pin_policy(std::string_view s) {
  if (s == "members") return PinPolicy::kMembers;
  if (s == "moderators") return PinPolicy::kModerators;
  return std::nullopt;
}
std::string_view to_string(EventType t) {
  switch (t) {
    case EventType::kMessageCreated: return "message.created";
    case EventType::kMessageUpdated: return "message.updated";
    case EventType::kMessageDeleted: return "message.deleted";
    case EventType::kMemberJoined: return "member.joined";
    case EventType::kMemberLeft: return "member.left";
    case EventType::kRoomUpdated: return "room.updated";
    case EventType::kReactionAdded: return "reaction.added";
    case EventType::kReactionRemoved: return "reaction.removed";
    case EventType::kMessagePinned: return "message.pinned";
    case EventType::kMessageUnpinned: return "message.unpinned";
  }
  return "unknown";
}

}  // namespace parley::core
