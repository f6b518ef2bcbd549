// chat/live_service.h: the "live conversation" use cases (issue 3): read markers and unread
// state, delivered/read receipts, reactions, and the user's privacy settings for them.
// Transports (REST, gateway) call these; every "may this actor do that" goes through
// auth/policy.h, like ChatService.
//
// Durable vs ephemeral:
//  - reactions are durable room events with a seq (reaction.added / reaction.removed), published
//    through Publisher::room_event after commit, so resume replays them;
//  - a read marker is durable per-member state (members.last_read_seq); a change is announced to
//    the user's own sessions (Publisher::read_state) and the `ready` snapshot carries it. It is
//    not a room event: every member's reading would otherwise add an event per member per
//    message to every room (docs/protocol.md, "Read state and receipts");
//  - delivered/read receipts are announced as ephemeral `receipt` frames in DMs only; in groups
//    they are fetched on request (receipts()).
//
// Threading: every method returns at once and calls `done` exactly once: on a store thread, or
// inline when the input is rejected before reaching the store. Thread-safe; no locks held.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "auth/auth_service.h"
#include "chat/publisher.h"
#include "core/clock.h"
#include "core/result.h"
#include "core/types.h"
#include "store/store.h"

namespace parley::chat {

// Emoji (any text: a Unicode emoji or a :shortcode:) are 1..64 bytes of valid UTF-8 without
// whitespace or control characters.
inline constexpr std::size_t kMaxEmojiBytes = 64;
core::Status validate_emoji(std::string_view emoji);

class LiveService {
 public:
  struct Deps {
    store::Store& store;
    Publisher& publisher;
    const core::Clock& clock;
  };
  explicit LiveService(Deps deps);

  // Moves the read marker forward to `seq` (nullopt: the room's last_seq, "mark room read").
  // kConflict when below the current marker, kInvalidArgument beyond the room's last_seq.
  void mark_read(const auth::Actor& who, core::Id room_id, std::optional<std::int64_t> seq,
                 store::Callback<core::ReadState> done);
  // Marks `message_id` and everything after it unread (marker = its seq - 1, backwards allowed).
  void mark_unread(const auth::Actor& who, core::Id room_id, core::Id message_id,
                   store::Callback<core::ReadState> done);
  // Every room of the user read up to its last_seq; returns the rooms that changed.
  void mark_all_read(const auth::Actor& who, store::Callback<std::vector<core::ReadState>> done);
  // One of the user's devices holds everything up to `seq` (never goes down; beyond the room's
  // last_seq is kInvalidArgument).
  void delivered(const auth::Actor& who, core::Id room_id, std::int64_t seq,
                 store::Callback<core::ReadState> done);
  // Who holds / has read a message (other members than its sender).
  void receipts(const auth::Actor& who, core::Id room_id, core::Id message_id,
                store::Callback<core::MessageReceipts> done);
  // Adds (add = true) or removes the actor's `emoji` on a live message of the room.
  void react(const auth::Actor& who, core::Id room_id, core::Id message_id, std::string emoji,
             bool add, store::Callback<store::ReactionResult> done);
  // Privacy settings; nullopt = unchanged. Returns the user as stored.
  void update_settings(const auth::Actor& who, std::optional<bool> read_receipts,
                       std::optional<bool> invisible, store::Callback<core::User> done);

 private:
  void update(const auth::Actor& who, store::ReadUpdate u, store::Callback<core::ReadState> done);

  Deps deps_;
};

}  // namespace parley::chat
