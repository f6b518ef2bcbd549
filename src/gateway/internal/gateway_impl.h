// gateway/internal/gateway_impl.h: what every WebSocket session of this node shares
// (Gateway::Impl: collaborators, config, metrics, the encoded hello frame) and the registry of
// open sessions used by connections() and drain(). Private to parley_gateway; no Beast here.
//
// Lifetime: the Gateway (and its Deps) must outlive the io_context that runs its sessions
// (app/serve.cc destroys the net::Server first). The registry holds weak references only.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "chat/live_service.h"
#include "gateway/gateway.h"
#include "gateway/presence.h"
#include "gateway/room_cursor.h"

namespace parley::gateway {

struct GatewayMetrics {
  explicit GatewayMetrics(ops::Registry& r);
  ops::Gauge& connections;            // parley_gateway_connections
  ops::Counter& events_delivered;     // parley_gateway_events_delivered_total
  ops::Counter& slow_consumers;       // parley_gateway_slow_consumer_disconnects_total
  ops::Counter& rate_limited;         // parley_rate_limited_total{where="gateway"}
  ops::Counter& rate_limit_closes;    // parley_gateway_closes_total{reason="rate_limited"}
  ops::Counter& heartbeat_closes;     // parley_gateway_closes_total{reason="heartbeat"}
  ops::Counter& replay_resets;        // parley_gateway_room_resets_total
  ops::Counter& gap_fetches;          // parley_gateway_gap_fetches_total
  // parley_gateway_delivery_seconds: from this node receiving a broadcast event (for the
  // in-process bus, the publish itself) to the completion of its WebSocket write to a client.
  ops::Histogram& delivery_seconds;
};

// A session as the registry sees it.
class SessionHandle {
 public:
  virtual ~SessionHandle() = default;
  // Closes the session with 1012 (draining). Any thread; returns at once.
  virtual void drain_close() = 0;
};

struct Gateway::Impl {
  Impl(Deps d, ops::GatewayConfig c);
  // The tracker's settings from gateway.presence_idle_ms: activity is reported at most every
  // 10 s, or every half idle period when that is shorter (so an active session never looks idle).
  static PresenceConfig presence_config(const ops::GatewayConfig& c);
  ~Impl();

  // Registers an open session; false when draining (the session must close with 1012).
  bool add(const std::shared_ptr<SessionHandle>& s);
  void remove(const SessionHandle* s);
  std::size_t size() const;
  void drain();
  bool draining() const { return draining_.load(); }

  // Announces presence changes now (the pump calls it every flush_interval_ms; tests may too).
  void flush_presence(std::int64_t now_ms);

  Deps deps;
  ops::GatewayConfig config;
  GatewayMetrics metrics;
  Frame hello;  // {"op":"hello","d":{heartbeat_ms, protocol, max_frame_bytes}}, encoded once
  // Read markers, receipts, privacy settings for gateway ops (stateless; publishes via the Hub).
  chat::LiveService live;
  // Presence of this node's users; its changes go out from the presence pump thread (a
  // std::thread owned here, started in the constructor, stopped by drain() or the destructor).
  PresenceTracker presence;

 private:
  void presence_loop();
  void stop_presence();

  std::atomic<bool> draining_{false};
  mutable std::mutex mu_;
  std::unordered_map<const SessionHandle*, std::weak_ptr<SessionHandle>> sessions_;
  std::mutex pump_mu_;
  std::condition_variable pump_cv_;
  bool pump_stop_ = false;
  std::thread pump_;
};

}  // namespace parley::gateway
