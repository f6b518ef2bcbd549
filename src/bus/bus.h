// bus/bus.h: fan-out between nodes. A node subscribes to a topic (a room, or a user's private
// channel) when its first local session needs it and unsubscribes after the last one leaves;
// every publication on a subscribed topic reaches the node's sink.
//
// Publications carry the event already encoded as a gateway frame (encoded once, shared by
// every recipient). Durable room events carry their seq; ephemeral ones carry seq 0. A bus may
// lose publications (Redis pub/sub is at-most-once): receivers detect the seq gap and repair
// from the store. Publishers publish a room's events in seq order; a bus keeps that order.
//
// Thread safety: all methods may be called from any thread. The sink may be called on any
// thread, must be quick and must not call back into the bus.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/id.h"

namespace parley::bus {

struct Topic {
  enum class Kind : std::uint8_t { kRoom, kUser };
  Kind kind = Kind::kRoom;
  core::Id id = 0;
  friend bool operator==(const Topic&, const Topic&) = default;
};

struct TopicHash {
  std::size_t operator()(const Topic& t) const noexcept {
    return std::hash<core::Id>()(t.id) ^ (static_cast<std::size_t>(t.kind) << 63);
  }
};

struct Publication {
  Topic topic;
  std::int64_t seq = 0;  // per-room seq of a durable event; 0 for ephemeral events
  std::shared_ptr<const std::string> frame;  // the encoded gateway frame
};

class Bus {
 public:
  using Sink = std::function<void(const Publication&)>;
  virtual ~Bus() = default;

  // Where this node's publications arrive. Set once, before the first subscribe.
  virtual void set_sink(Sink sink) = 0;
  virtual void subscribe(Topic t) = 0;
  virtual void unsubscribe(Topic t) = 0;
  virtual void publish(Publication p) = 0;
};

}  // namespace parley::bus
