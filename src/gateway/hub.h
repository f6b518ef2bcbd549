// gateway/hub.h: this node's registry of live gateway sessions, by room and by user.
// It is the chat::Publisher (encodes each committed event once and publishes it on the Bus) and
// the Bus sink (hands each publication to the local sessions following that topic).
// The node subscribes to a topic on the Bus when its first local session needs it and
// unsubscribes when the last one goes.
//
// Thread safety: all methods may be called from any thread.
#pragma once

#include <memory>

#include "bus/bus.h"
#include "chat/publisher.h"

namespace parley::ops {
class Registry;
}

namespace parley::gateway {

class Hub final : public chat::Publisher {
 public:
  Hub(bus::Bus& bus, ops::Registry& metrics);
  ~Hub() override;

  // chat::Publisher
  void room_event(const core::RoomEvent& e) override;
  void room_joined(core::Id user_id, const core::Room& room) override;
  void sessions_revoked(core::Id user_id, core::Id session_id) override;
  // `read.updated` on the user's topic; `receipt` (seq 0) on a DM's room topic.
  void read_state(const core::ReadState& s) override;
  void receipt(const core::ReadState& s) override;

  struct Impl;  // session registry; defined in hub.cc, used by the session code
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::gateway
