// core/types.h: the domain records shared by every layer. Plain values, no I/O, no JSON.
// Times are Unix milliseconds; 0 means "not set" (never edited, never deleted, ...).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/id.h"

namespace parley::core {

enum class Role { kUser, kAdmin };
enum class UserStatus { kActive, kDeactivated };
enum class RoomKind { kDm, kGroup };
enum class MemberRole { kMember, kModerator, kOwner };
// What an attachment is, from its detected content type: images are the formats Parley
// thumbnails (JPEG, PNG, GIF, WebP); any other type is a "file" (SVG included: it can script).
enum class AttachmentKind { kImage, kVideo, kAudio, kFile };
// Who may pin messages in a group room (DMs: both members, always).
enum class PinPolicy { kMembers, kModerators };

std::string_view to_string(Role r);
std::string_view to_string(UserStatus s);
std::string_view to_string(RoomKind k);
std::string_view to_string(MemberRole r);
std::optional<Role> parse_role(std::string_view s);
std::optional<MemberRole> parse_member_role(std::string_view s);
std::string_view to_string(AttachmentKind k);  // "image" | "video" | "audio" | "file"
std::optional<AttachmentKind> parse_attachment_kind(std::string_view s);
std::string_view to_string(PinPolicy p);  // "members" | "moderators"
std::optional<PinPolicy> parse_pin_policy(std::string_view s);

struct User {
  Id id = 0;
  std::string username;      // normalised: lower case [a-z0-9._-], 2..32 chars
  std::string display_name;  // free text, validated UTF-8, <= 64 bytes
  std::string email;         // optional, "" when unset
  std::string password_hash; // argon2id encoded string; never leaves the server
  Role role = Role::kUser;
  UserStatus status = UserStatus::kActive;
  std::int64_t created_at = 0;
  std::int64_t last_seen = 0;   // when the user was last connected (0 = never); not moved while invisible
  // Privacy settings (the user's own).
  bool read_receipts = true;    // false: others see "delivered" only, never "read"
  bool invisible = false;       // true: presence shows the user as offline to everyone
};

struct Session {
  Id id = 0;
  std::string token_hash;  // hex SHA-256 of the bearer token; the token itself is never stored
  Id user_id = 0;
  std::string device;      // user agent or client-supplied device name, <= 128 bytes
  std::int64_t created_at = 0;
  std::int64_t last_used = 0;
  std::int64_t expires_at = 0;  // absolute expiry
};

struct Room {
  Id id = 0;
  RoomKind kind = RoomKind::kGroup;
  std::string name;   // "" for DMs
  std::string topic;
  Id created_by = 0;
  std::int64_t created_at = 0;
  std::int64_t last_seq = 0;  // seq of the newest durable event in the room
  PinPolicy pin_policy = PinPolicy::kMembers;  // groups only; changed by owners/moderators
};

struct Member {
  Id room_id = 0;
  Id user_id = 0;
  MemberRole role = MemberRole::kMember;
  std::int64_t joined_at = 0;
  std::int64_t last_read_seq = 0;
  std::int64_t delivered_seq = 0;  // highest seq one of the member's devices holds (>= last_read_seq)
};

// One emoji's reactions on a message, in the order the emoji first appeared.
struct ReactionCount {
  std::string emoji;
  std::int64_t count = 0;
};

// An uploaded file. Unsent (message_id 0, room_id 0) until a message of its uploader carries it;
// from then on it belongs to that message's room and only the room's members may fetch it.
// Blob keys are hex SHA-256 digests of the stored bytes (content-addressed: equal files share
// one blob, so a blob is deleted only when no attachment refers to it any more).
struct Attachment {
  Id id = 0;
  Id uploader_id = 0;
  Id message_id = 0;          // 0 until sent
  Id room_id = 0;             // 0 until sent
  int position = 0;           // order within the message (0-based)
  std::string name;           // the user's file name, sanitised (no paths, controls, bidi)
  std::string mime;           // detected from the content, never the client's claim
  AttachmentKind kind = AttachmentKind::kFile;
  std::int64_t size = 0;      // bytes of the original
  std::string sha256;         // hex digest of the original = its blob key
  int width = 0;              // images: pixels of the original; 0 otherwise
  int height = 0;
  std::string thumb_key;      // blob key of the thumbnail (image/webp); "" when there is none
  std::string preview_key;    // blob key of the preview (image/webp); "" when there is none
  std::int64_t created_at = 0;
};
// A thread's state as shown on its root message: live (not deleted) replies only.
struct ThreadSummary {
  Id root_id = 0;
  std::int64_t reply_count = 0;
  Id last_reply_id = 0;          // 0 when there is no live reply
  std::int64_t last_reply_at = 0;
  std::vector<Id> participants;  // first kMaxThreadParticipants distinct repliers, by first reply
};
inline constexpr int kMaxThreadParticipants = 5;

// The quoted message of a reply, so clients render the quote without another fetch.
struct ReplyPreview {
  Id message_id = 0;
  Id sender_id = 0;
  std::string body;        // first kReplyPreviewChars code points; "" when deleted
  bool truncated = false;  // the body is longer than the preview
  bool deleted = false;
};
inline constexpr std::size_t kReplyPreviewChars = 140;

// Whom a message mentions, resolved by the server when it was stored or last edited
// (docs/protocol.md "Mentions"). Empty once the message is deleted.
struct Mentions {
  std::vector<Id> user_ids;  // active users named with @username, in order of first mention
  bool room = false;         // @room: every member
  bool here = false;         // @here: every member (clients may treat it as "who is online")
  bool empty() const { return user_ids.empty() && !room && !here; }
};

struct Message {
  Id id = 0;
  Id room_id = 0;
  std::int64_t seq = 0;      // the seq of its message.created event
  Id sender_id = 0;
  std::string client_txn_id;
  std::string body;          // "" once deleted
  std::string html;          // body rendered (render/render.h); "" once deleted or if never rendered
  Mentions mentions;
  Id reply_to = 0;           // 0 when not a reply
  std::int64_t created_at = 0;
  std::int64_t edited_at = 0;
  std::int64_t deleted_at = 0;
  std::vector<ReactionCount> reactions;  // filled by history reads; empty elsewhere
  std::vector<Attachment> attachments;   // in position order; empty once deleted
  Id thread_root = 0;        // a thread reply: the root message (same room); 0 otherwise
  std::int64_t edit_count = 0;              // how many times the body was edited
  std::optional<ThreadSummary> thread;      // a root with live replies (store reads fill it)
  std::optional<ReplyPreview> reply_preview;  // reply_to != 0 (store reads fill it)
};

// Durable room events, each with a gap-free per-room seq assigned in the storing transaction.
enum class EventType {
  kMessageCreated,  // message set
  kMessageUpdated,  // message set (state after the edit)
  kMessageDeleted,  // message set (tombstone)
  kMemberJoined,    // user_id set (and member_role)
  kMemberLeft,      // user_id set (left or removed by actor_id)
  kRoomUpdated,     // name/topic set
  kReactionAdded,   // target_id (message), user_id, emoji, count (after the change)
  kReactionRemoved, // target_id (message), user_id, emoji, count (after the change)
  kMessagePinned,   // target_id (message), message set (as stored now)
  kMessageUnpinned, // target_id (message), message set (as stored now)
};
std::string_view to_string(EventType t);  // "message.created", ...

struct RoomEvent {
  Id room_id = 0;
  std::int64_t seq = 0;
  EventType type = EventType::kMessageCreated;
  Id actor_id = 0;
  std::int64_t created_at = 0;
  std::optional<Message> message;  // message.* events: the message as it is now stored
  Id user_id = 0;                  // member.* events
  MemberRole member_role = MemberRole::kMember;
  std::string name;                // room.updated
  std::string topic;               // room.updated
  Id target_id = 0;                // reaction.* events: the message reacted to
  std::string emoji;               // reaction.* events
  std::int64_t count = 0;          // reaction.* events: that emoji's count on the message after it
  PinPolicy pin_policy = PinPolicy::kMembers;  // room.updated
  // message.* events of a thread reply: the root's summary as stored now.
  std::optional<ThreadSummary> thread;
};

// One pinned message of a room.
struct Pin {
  Message message;
  Id pinned_by = 0;
  std::int64_t pinned_at = 0;
};

// One kept earlier version of a message body (the source text, before any rendering).
struct MessageRevision {
  std::int64_t rev = 0;         // 1 = the original body; increasing
  std::string body;
  std::int64_t written_at = 0;  // when this body was sent or set by an edit
  std::int64_t replaced_at = 0; // when the edit that replaced it happened
};

// A thread the user follows, with what they have not read in it.
struct FollowedThread {
  Id room_id = 0;
  Message root;                 // root.thread is set when the thread has live replies
  std::int64_t last_read_seq = 0;
  std::int64_t unread = 0;      // live replies by others with seq > last_read_seq
};

// A member's read state in one room after a change (read marker, delivered position).
struct ReadState {
  Id room_id = 0;
  Id user_id = 0;
  std::int64_t last_read_seq = 0;
  std::int64_t delivered_seq = 0;
  std::int64_t unread = 0;       // as RoomSummary::unread, after the change
  std::int64_t unread_mentions = 0;  // as RoomSummary::unread_mentions, after the change
  RoomKind room_kind = RoomKind::kGroup;
  bool read_changed = false;
  bool delivered_changed = false;
  bool read_receipts = true;     // the member's privacy setting (others may see "read")
};

// Who holds / has read one message (group rooms, on request). Members whose read_receipts are
// off appear in delivered_to only.
struct MessageReceipts {
  std::vector<Id> read_by;
  std::vector<Id> delivered_to;  // includes everyone in read_by
};

// One row of "my rooms": the room, my membership, the newest visible message, my unread count.
struct RoomSummary {
  Room room;
  Member self;
  std::optional<Message> last_message;
  std::int64_t unread = 0;      // timeline messages (not deleted, not mine, not thread replies)
                                // with seq > last_read_seq
  std::int64_t unread_mentions = 0;  // messages after last_read_seq mentioning me, @room or @here
  std::vector<Id> dm_peers;     // for DMs: the other member
  // For DMs: the peer's positions (read is 0 when the peer does not share read receipts).
  std::int64_t peer_delivered_seq = 0;
  std::int64_t peer_read_seq = 0;
};

}  // namespace parley::core
