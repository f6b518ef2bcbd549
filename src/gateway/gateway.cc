#include "gateway/gateway.h"

#include <boost/json/object.hpp>
#include <vector>

#include "api/json.h"
#include "gateway/internal/gateway_impl.h"
#include "ops/metrics.h"

namespace parley::gateway {

GatewayMetrics::GatewayMetrics(ops::Registry& r)
    : connections(r.gauge("parley_gateway_connections", "Open gateway WebSocket connections")),
      events_delivered(r.counter("parley_gateway_events_delivered_total",
                                 "Broadcast events written to gateway clients")),
      slow_consumers(r.counter("parley_gateway_slow_consumer_disconnects_total",
                               "Gateway connections closed with 4010 (outbound queue over cap)")),
      rate_limited(r.counter("parley_rate_limited_total", "Requests refused by a rate limit",
                             "where=\"gateway\"")),
      rate_limit_closes(r.counter("parley_gateway_closes_total",
                                  "Gateway connections closed by the server, by reason",
                                  "reason=\"rate_limited\"")),
      heartbeat_closes(r.counter("parley_gateway_closes_total",
                                 "Gateway connections closed by the server, by reason",
                                 "reason=\"heartbeat\"")),
      replay_resets(r.counter("parley_gateway_room_resets_total",
                              "room.reset frames sent (resume past the cap, epoch change, "
                              "unrepairable gap)")),
      gap_fetches(r.counter("parley_gateway_gap_fetches_total",
                            "Store fetches to replay or repair a room's event gap")),
      delivery_seconds(r.histogram("parley_gateway_delivery_seconds",
                                   "Broadcast event: node receipt to WebSocket write completion",
                                   ops::latency_buckets())) {}

Gateway::Impl::Impl(Deps d, ops::GatewayConfig c)
    : deps(d), config(std::move(c)), metrics(d.metrics) {
  boost::json::object h;
  h["heartbeat_ms"] = config.heartbeat_ms;
  h["protocol"] = 1;
  h["max_frame_bytes"] = config.max_frame_bytes;
  hello = std::make_shared<const std::string>(api::frame("hello", h));
}

bool Gateway::Impl::add(const std::shared_ptr<SessionHandle>& s) {
  std::lock_guard lock(mu_);
  if (draining_.load()) return false;
  if (sessions_.emplace(s.get(), s).second) metrics.connections.add(1);
  return true;
}

void Gateway::Impl::remove(const SessionHandle* s) {
  std::lock_guard lock(mu_);
  if (sessions_.erase(s) > 0) metrics.connections.add(-1);
}

std::size_t Gateway::Impl::size() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

void Gateway::Impl::drain() {
  std::vector<std::shared_ptr<SessionHandle>> open;
  {
    std::lock_guard lock(mu_);
    draining_.store(true);
    open.reserve(sessions_.size());
    for (auto& [key, weak] : sessions_) {
      if (auto s = weak.lock()) open.push_back(std::move(s));
    }
  }
  for (auto& s : open) s->drain_close();
}

Gateway::Gateway(Deps deps, ops::GatewayConfig config)
    : impl_(std::make_unique<Impl>(deps, std::move(config))) {}

Gateway::~Gateway() = default;

std::size_t Gateway::connections() const { return impl_->size(); }

void Gateway::drain() { impl_->drain(); }

}  // namespace parley::gateway
