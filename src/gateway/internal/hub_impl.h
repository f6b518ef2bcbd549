// gateway/internal/hub_impl.h: the Hub's session registry (Hub::Impl) and what it hands to
// sessions. Private to parley_gateway (sessions and tests include it; nothing else should).
//
// Registry: topic -> local followers (weak references: the Hub never keeps a session alive).
// The node subscribes to a topic on the Bus when its first local follower arrives and
// unsubscribes when the last one leaves (Centrifuge style). Bus::subscribe/unsubscribe are
// called under the registry lock so that subscribe/unsubscribe of one topic cannot reorder;
// a Bus must therefore never call the sink from inside subscribe/unsubscribe (LocalBus does not).
//
// Dispatch (the Bus sink): a publication is decoded once into an immutable Delivery, the
// followers are collected under the lock and called outside it, all sharing the Delivery (and
// so the one encoded frame).
//
// What travels on a user's topic besides plain frames: control envelopes, starting with the
// byte 0x01 (a gateway frame always starts with '{'), so they survive a cross-node bus:
//   "\x01J<room_id> <last_seq> <dm_peer_unknown 0|1>\n<room.joined frame>"
//   "\x01R<session_id>"   sessions revoked (0 = all of the user's sessions)
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bus/bus.h"
#include "core/id.h"
#include "gateway/hub.h"
#include "gateway/room_cursor.h"

namespace parley::ops {
class Gauge;
}

namespace parley::gateway {

// One publication as sessions see it. Immutable once built; shared by every recipient.
struct Delivery {
  enum class Kind : std::uint8_t {
    kRoomEvent,   // durable room event: room_id, seq, frame, left_user
    kEphemeral,   // frame to send as is (seq 0 on a room topic, or a plain user-topic frame)
    kRoomJoined,  // room_id, seq = the room's last_seq, frame = room.joined, dm_peer_unknown
    kRevoked,     // session_id (0 = all)
  };
  Kind kind = Kind::kEphemeral;
  core::Id room_id = 0;
  std::int64_t seq = 0;
  core::Id left_user = 0;       // kRoomEvent of type member.left: who left
  core::Id session_id = 0;      // kRevoked
  bool dm_peer_unknown = false; // kRoomJoined: the frame's dm_peer_id could not be filled
  Frame frame;
  std::int64_t received_ns = 0;  // steady clock, when this node's sink got it
};
using DeliveryPtr = std::shared_ptr<const Delivery>;

// A local receiver of publications (a WebSocket session; a fake in tests).
class Follower {
 public:
  virtual ~Follower() = default;
  // Called on the bus sink's thread, without Hub locks held. Must be quick and must not block
  // (sessions post to their strand).
  virtual void deliver(const DeliveryPtr& d) = 0;
};

// Control envelopes on user topics (see above).
std::string encode_room_joined(core::Id room_id, std::int64_t last_seq, bool dm_peer_unknown,
                               std::string_view frame);
std::string encode_revoked(core::Id session_id);
// Decodes a publication into what sessions act on; nullopt for a malformed control envelope.
std::optional<Delivery> decode_publication(const bus::Publication& p, std::int64_t received_ns);

struct Hub::Impl {
  Impl(bus::Bus& bus, ops::Registry& metrics);

  // Starts/stops following `topic`. Following twice is a no-op. The first follower on this
  // node subscribes the topic on the Bus; the last one leaving unsubscribes it.
  void follow(bus::Topic topic, const std::shared_ptr<Follower>& f);
  void unfollow(bus::Topic topic, const Follower* f);
  // Local followers of a topic (expired ones included until the next dispatch prunes them).
  std::size_t followers(bus::Topic topic) const;
  std::size_t topics() const;

  // The Bus sink.
  void dispatch(const bus::Publication& p);

  bus::Bus& bus;

 private:
  struct Entry {
    const Follower* key;
    std::weak_ptr<Follower> ref;
  };
  void remove_topic_locked(bus::Topic topic);

  ops::Gauge& topics_gauge_;
  mutable std::mutex mu_;
  std::unordered_map<bus::Topic, std::vector<Entry>, bus::TopicHash> topics_;
};

}  // namespace parley::gateway
