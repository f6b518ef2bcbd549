// net/http_server.h: the HTTP/1.1 transport behind net::Server, written against a small Backend
// interface instead of the concrete Api and Gateway, so the transport is tested with real
// sockets and a fake backend (net/http_server_test.cc). No Beast or Asio in this header.
//
// What it does: one acceptor on http.bind:http.port; per connection one coroutine on its own
// strand reading requests (keep-alive) under a header+body deadline (request_timeout_ms) and a
// body limit (413 problem+json, then close); each request goes to Backend::handle, whose
// response may come from any thread and is written back on the connection's strand. A
// WebSocket upgrade for /api/v1/gateway is handed to Backend::upgrade with the socket.
// Streaming: a request the backend gives a BodySink (uploads) is first shown to
// Backend::admit (credentials, limits) before any of its body is read or 100 Continue sent; a
// refusal is answered and the connection closed. An admitted one has its body written to a new
// file in the sink's directory as it arrives (each read under request_timeout_ms, the whole
// body under the sink's limit), and the file is removed when the request ends, whatever way it
// ends (a dropped connection leaves nothing behind). A response with a BodySource is written
// chunk by chunk.
//
// Ownership: HttpServer owns the io_contexts (one per network thread; accepted connections are
// dealt out round-robin), their threads, the acceptor and every HTTP connection; the Backend
// must outlive it. Upgraded connections belong to the backend but run on these io_contexts, so
// they stop when run() returns.
//
// Threading: listen() and run() from one (main) thread; run() blocks until stop() completes.
// stop() from any thread, any number of times (the first one counts).
#pragma once

#include <cstddef>
#include <functional>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/result.h"
#include "http/api.h"
#include "ops/config.h"
#include "ops/metrics.h"

namespace parley::net {

// An accepted WebSocket upgrade request: the socket, the parsed request, the peer address and
// the session cookie's token ("" if none, or if the Origin check failed, see below). Defined in
// net/internal/upgrade.h (Beast types).
struct Upgrade;

class Backend {
 public:
  virtual ~Backend() = default;
  // Same contract as http::Api::handle: returns at once, calls `respond` exactly once.
  virtual void handle(http::Request req, std::function<void(http::Response)> respond) = 0;
  // Graceful stop began: answer /readyz with 503 from now on.
  virtual void set_draining(bool draining) = 0;
  // Graceful stop began: close WebSocket sessions with 1012 and refuse new ones.
  virtual void drain_gateway() = 0;
  // Open WebSocket sessions; stop() waits (up to its grace) for this to reach zero.
  virtual std::size_t gateway_connections() const = 0;
  // Takes the connection. Called on the connection's strand; must not block.
  virtual void upgrade(std::unique_ptr<Upgrade> upgrade) = 0;
  // Same contract as http::Api::body_sink / max_sink_bytes (uploads streamed to disk).
  virtual std::optional<http::BodySink> body_sink(const http::Request&) { return std::nullopt; }
  virtual std::uint64_t max_sink_bytes() const { return 0; }
  // Same contract as http::Api::admit: for a request that has a BodySink, before its body is
  // read; `done(nullopt)` reads it, `done(response)` refuses it (sent, then the connection is
  // closed without reading the body). May answer from any thread.
  virtual void admit(http::Request head, std::function<void(std::optional<http::Response>)> done) {
    (void)head;
    done(std::nullopt);
  }
};

struct HttpServerConfig {
  ops::HttpConfig http;                     // bind, port, threads, limits, timeouts, origins
  std::size_t max_connections = 20000;      // HTTP connections beyond this are closed at accept
  std::size_t max_header_bytes = 16 * 1024; // request line + headers (cookies included)
  int grace_ms = 10000;                     // SIGTERM/SIGINT: drain this long, then close
};

class HttpServer {
 public:
  HttpServer(Backend& backend, ops::Registry& metrics, HttpServerConfig config);
  ~HttpServer();

  // Binds and listens; returns the bound port (useful with port 0). Errors name the setting.
  core::Result<int> listen();
  // Runs the io_contexts on http.threads threads (0 = cores) until stop() completes, handling
  // SIGTERM/SIGINT with stop(grace_ms); a second signal stops at once.
  void run();
  // Graceful stop: stop accepting, Backend::set_draining(true), Backend::drain_gateway(), close
  // idle keep-alive connections, let requests whose headers have arrived finish (their
  // responses carry `Connection: close`), all for up to grace_ms; then close what is left and
  // make run() return.
  void stop(int grace_ms);
  void set_grace_ms(int grace_ms);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::net
