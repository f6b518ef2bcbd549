// chat/publisher.h: how the application announces committed changes to connected clients.
// Implemented by the gateway (which encodes each event once and hands it to the Bus).
//
// The chat service calls these only after the change is committed, from the store's completion
// thread, in seq order per room. Implementations must be quick and must not block.
#pragma once

#include "core/types.h"

namespace parley::chat {

class Publisher {
 public:
  virtual ~Publisher() = default;

  // A durable room event (message.*, member.*, room.updated), to every member's sessions.
  virtual void room_event(const core::RoomEvent& e) = 0;
  // `user_id` became a member of `room` (created it, was added, or a DM was opened with them).
  // Their sessions start following the room from `room.last_seq` as given here.
  virtual void room_joined(core::Id user_id, const core::Room& room) = 0;
  // Sessions of `user_id` were revoked: one (`session_id`) or all (`session_id` == 0).
  // Connected gateway sessions close with the final "session revoked" code.
  virtual void sessions_revoked(core::Id user_id, core::Id session_id) = 0;

  // The user's own read state in a room changed (read marker): to all of that user's sessions,
  // so reading on one device clears the badge on the others. Not a room event.
  virtual void read_state(const core::ReadState& s) { (void)s; }
  // A DM member's delivered/read position changed: an ephemeral `receipt` to the room's
  // sessions (read left out when the member does not share read receipts).
  virtual void receipt(const core::ReadState& s) { (void)s; }
};

// Does nothing; for tools (CLI admin commands) that change state without connected clients.
class NullPublisher final : public Publisher {
 public:
  void room_event(const core::RoomEvent&) override {}
  void room_joined(core::Id, const core::Room&) override {}
  void sessions_revoked(core::Id, core::Id) override {}
};

}  // namespace parley::chat
