#include "bus/local/local_bus.h"

namespace parley::bus {

void LocalBus::set_sink(Sink sink) {
  std::lock_guard lock(mu_);
  sink_ = std::move(sink);
}

void LocalBus::subscribe(Topic t) {
  std::lock_guard lock(mu_);
  topics_.insert(t);
}

void LocalBus::unsubscribe(Topic t) {
  std::lock_guard lock(mu_);
  topics_.erase(t);
}

void LocalBus::publish(Publication p) {
  Sink sink;
  {
    std::lock_guard lock(mu_);
    if (!sink_ || !topics_.contains(p.topic)) return;
    sink = sink_;
  }
  sink(p);  // outside the lock: the sink may take its own locks
}

}  // namespace parley::bus
