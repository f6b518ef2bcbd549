// bus/local/local_bus.h: the in-process Bus for a single node. Publish delivers synchronously
// to the sink when the topic is subscribed, so per-room order is the publisher's order.
#pragma once

#include <mutex>
#include <unordered_set>

#include "bus/bus.h"

namespace parley::bus {

class LocalBus final : public Bus {
 public:
  void set_sink(Sink sink) override;
  void subscribe(Topic t) override;
  void unsubscribe(Topic t) override;
  void publish(Publication p) override;

 private:
  std::mutex mu_;
  Sink sink_;
  std::unordered_set<Topic, TopicHash> topics_;
};

}  // namespace parley::bus
