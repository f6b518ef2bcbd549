// http/api.h: the REST API (docs/protocol.md, "REST API") and the operational endpoints, over
// plain request/response values: no Beast here, so routes compile fast and are unit testable.
//
// Threading: handle() may be called from any network thread; it returns at once and calls
// `respond` exactly once, possibly on another thread (store, hasher).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "auth/auth_service.h"
#include "chat/chat_service.h"
#include "core/clock.h"
#include "ops/config.h"
#include "ops/metrics.h"
#include "store/store.h"

namespace parley::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, as received
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string client_ip;
  bool tls = false;

  // First header with that (lower-case) name, or "".
  std::string_view header(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

class Api {
 public:
  struct Deps {
    auth::AuthService& auth;
    chat::ChatService& chat;
    store::Store& store;
    const core::Clock& clock;
    ops::Registry& metrics;
  };
  Api(Deps deps, ops::HttpConfig config);
  ~Api();

  void handle(Request req, std::function<void(Response)> respond);
  // While draining, /readyz answers 503.
  void set_draining(bool draining);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::http
