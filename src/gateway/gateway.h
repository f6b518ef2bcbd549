// gateway/gateway.h: the real-time protocol endpoint (docs/protocol.md, "The gateway").
// Owns every WebSocket session of this node. No Beast or Asio in this header: the transport
// hands over upgraded connections through gateway/upgrade.h.
//
// Threading: constructed and destroyed on the main thread; other methods from any thread.
// Lifetime: the Gateway (and everything in Deps) must outlive the io_context that runs its
// sessions (app/serve.cc destroys the net::Server first); sessions never keep it alive.
// Implementation: gateway/internal/gateway_impl.h (shared session state, registry),
// gateway/session.cc (the WebSocket session), gateway/room_cursor.h (per-room delivery order),
// gateway/outbound_queue.h (byte-capped queue), gateway/frame_limiter.h (inbound budget).
#pragma once

#include <cstddef>
#include <memory>

#include "auth/auth_service.h"
#include "chat/chat_service.h"
#include "core/clock.h"
#include "gateway/hub.h"
#include "ops/config.h"
#include "ops/metrics.h"
#include "store/store.h"

namespace parley::gateway {

class Gateway {
 public:
  struct Deps {
    Hub& hub;
    auth::AuthService& auth;
    chat::ChatService& chat;
    store::Store& store;  // for the epoch
    const core::Clock& clock;
    ops::Registry& metrics;
  };
  Gateway(Deps deps, ops::GatewayConfig config);
  ~Gateway();

  // Connected sessions (identified or not).
  std::size_t connections() const;
  // Refuses new sessions and closes every open one with 1012 (service restart).
  void drain();

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::gateway
