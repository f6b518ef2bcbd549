// net/server.h: the listener and HTTP/1.1 sessions (transport only). Requests are translated
// into http::Request and answered by http::Api; WebSocket upgrades for /api/v1/gateway are
// handed to the gateway. Beast and Asio stay inside net/*.cc.
//
// Threading: listen() and run() from the main thread; run() blocks. stop() from any thread.
// The transport itself lives in net/http_server.h (testable against a fake backend).
#pragma once

#include <memory>

#include "core/result.h"
#include "gateway/gateway.h"
#include "http/api.h"
#include "ops/config.h"
#include "ops/metrics.h"

namespace parley::net {

class Server {
 public:
  struct Deps {
    http::Api& api;
    gateway::Gateway& gateway;
    ops::Registry& metrics;
  };
  Server(Deps deps, ops::HttpConfig config);
  ~Server();

  // Binds http.bind:http.port (port 0 = any free port). Returns the bound port, or an error
  // naming the setting ("http.port: address already in use").
  core::Result<int> listen();
  // Runs the network threads (http.threads, 0 = cores) until stop() completes. Blocks.
  void run();
  // Graceful: stop accepting, api.set_draining(), gateway.drain() (1012), finish in-flight
  // requests for up to grace_ms, then close everything and make run() return.
  // Safe to call from a signal-handling context via the server's own signal set (see run()).
  void stop(int grace_ms);
  // The grace run() gives stop() when SIGTERM or SIGINT arrives (default 10000 ms, like
  // ops::Config::shutdown_grace_ms); a second signal stops at once. Call before run().
  void set_shutdown_grace_ms(int grace_ms);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::net
