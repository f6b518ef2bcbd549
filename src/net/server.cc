// net/server.cc: net::Server, the production wiring of the HTTP transport (net/http_server.h)
// to the REST API (http::Api) and the gateway (gateway::accept_upgrade).
#include "net/server.h"

#include "gateway/upgrade.h"
#include "net/http_server.h"
#include "net/internal/upgrade.h"

namespace parley::net {

namespace {

class ApiGatewayBackend final : public Backend {
 public:
  ApiGatewayBackend(http::Api& api, gateway::Gateway& gateway) : api_(api), gateway_(gateway) {}

  void handle(http::Request req, std::function<void(http::Response)> respond) override {
    api_.handle(std::move(req), std::move(respond));
  }
  void set_draining(bool draining) override { api_.set_draining(draining); }
  void drain_gateway() override { gateway_.drain(); }
  std::size_t gateway_connections() const override { return gateway_.connections(); }
  std::optional<http::BodySink> body_sink(const http::Request& head) override {
    return api_.body_sink(head);
  }
  std::uint64_t max_sink_bytes() const override { return api_.max_sink_bytes(); }
  void admit(http::Request head, std::function<void(std::optional<http::Response>)> done) override {
    api_.admit(std::move(head), std::move(done));
  }
  void upgrade(std::unique_ptr<Upgrade> up) override {
    gateway::accept_upgrade(gateway_, std::move(up->stream), std::move(up->request),
                            std::move(up->client_ip), std::move(up->cookie_token));
  }

 private:
  http::Api& api_;
  gateway::Gateway& gateway_;
};

}  // namespace

struct Server::Impl {
  Impl(Deps deps, ops::HttpConfig config)
      : backend(deps.api, deps.gateway),
        server(backend, deps.metrics, HttpServerConfig{.http = std::move(config)}) {}
  ApiGatewayBackend backend;
  HttpServer server;
};

Server::Server(Deps deps, ops::HttpConfig config)
    : impl_(std::make_unique<Impl>(deps, std::move(config))) {}
Server::~Server() = default;

core::Result<int> Server::listen() { return impl_->server.listen(); }
void Server::run() { impl_->server.run(); }
void Server::stop(int grace_ms) { impl_->server.stop(grace_ms); }
void Server::set_shutdown_grace_ms(int grace_ms) { impl_->server.set_grace_ms(grace_ms); }

}  // namespace parley::net
