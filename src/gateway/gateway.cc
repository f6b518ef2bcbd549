#include "gateway/gateway.h"

#include <boost/json/object.hpp>
#include <algorithm>
#include <chrono>
#include <vector>

#include "api/json.h"
#include "gateway/internal/gateway_impl.h"
#include "gateway/internal/hub_impl.h"
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
    : deps(d),
      config(std::move(c)),
      metrics(d.metrics),
      live(chat::LiveService::Deps{d.store, d.hub, d.clock}),
      presence(presence_config(config)) {
  boost::json::object h;
  h["heartbeat_ms"] = config.heartbeat_ms;
  h["protocol"] = 1;
  h["max_frame_bytes"] = config.max_frame_bytes;
  hello = std::make_shared<const std::string>(api::frame("hello", h));
  pump_ = std::thread([this] { presence_loop(); });
}

Gateway::Impl::~Impl() { stop_presence(); }

PresenceConfig Gateway::Impl::presence_config(const ops::GatewayConfig& c) {
  PresenceConfig p;
  p.idle_after_ms = c.presence_idle_ms;
  p.activity_report_ms = std::min<std::int64_t>(p.activity_report_ms, c.presence_idle_ms / 2);
  return p;
}

void Gateway::Impl::stop_presence() {
  {
    std::lock_guard lock(pump_mu_);
    pump_stop_ = true;
  }
  pump_cv_.notify_all();
  if (pump_.joinable() && pump_.get_id() != std::this_thread::get_id()) pump_.join();
}

void Gateway::Impl::presence_loop() {
  const auto every = std::chrono::milliseconds(presence.config().flush_interval_ms);
  std::unique_lock lock(pump_mu_);
  while (!pump_stop_) {
    pump_cv_.wait_for(lock, every, [this] { return pump_stop_; });
    if (pump_stop_) break;
    lock.unlock();
    flush_presence(deps.clock.now_ms());
    lock.lock();
  }
}

void Gateway::Impl::flush_presence(std::int64_t now_ms) {
  PresenceTick t = presence.tick(now_ms);
  auto& bus = deps.hub.impl().bus;
  for (const PresenceBatch& b : t.batches) {
    // At most kUsersPerFrame users per frame, so a reconnect storm makes a few frames per room
    // per tick, each well under any outbound queue cap.
    constexpr std::size_t kUsersPerFrame = 500;
    for (std::size_t i = 0; i < b.changes.size(); i += kUsersPerFrame) {
      boost::json::object users;
      for (std::size_t j = i; j < std::min(b.changes.size(), i + kUsersPerFrame); ++j) {
        const PresenceChange& c = b.changes[j];
        boost::json::object u;
        u["status"] = to_string(c.status);
        u["last_seen"] = c.last_seen == 0 ? boost::json::value(nullptr) : boost::json::value(c.last_seen);
        users[core::id_to_string(c.user_id)] = std::move(u);
      }
      boost::json::object d;
      d["room_id"] = core::id_to_string(b.room_id);
      d["users"] = std::move(users);
      bus.publish(bus::Publication{bus::Topic{bus::Topic::Kind::kRoom, b.room_id}, 0,
                                   std::make_shared<const std::string>(api::frame("presence", d))});
    }
  }
  for (const PresenceChange& c : t.went_offline) {
    deps.store.set_last_seen(c.user_id, c.last_seen, [](core::Result<core::Ok>) {});
  }
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
  // No presence announcements while the node goes away (the store may be closed right after).
  stop_presence();
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
