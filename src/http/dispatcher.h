// http/dispatcher.h: the request pipeline shared by every route, independent of the services
// behind the routes (so it is unit-testable with fake handlers and a fake authenticator).
//
// For each request, in order: request id (the client's X-Request-Id if sane, else generated);
// route lookup (HEAD is served by GET routes); for paths no route knows, the static web client
// (GET/HEAD outside /api/ when a web root is set) or 404; body limit (413); credentials (bearer
// or cookie) and, for cookie-authenticated mutations, the CSRF origin check (403) before the
// authenticator runs (401); JSON content type for mutations with a body (400); query parsing
// (400); then the handler. Uploads are also checked before their body is read (admit()). Every response, success or error, gets X-Request-Id, the security headers
// and (API and ops routes) `Cache-Control: no-store`; it is counted in
// parley_http_requests_total{route,status} and parley_http_request_seconds{route} by route
// PATTERN, and logged as one JSON line without bodies or tokens.
//
// Threading: add() during start-up only. handle() from any thread; handlers run on the calling
// thread and may reply from any thread, exactly once (later replies are ignored).
#pragma once

#include <atomic>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/auth_service.h"
#include "core/result.h"
#include "http/api.h"
#include "http/middleware.h"
#include "http/router.h"
#include "http/static_files.h"
#include "ops/config.h"
#include "ops/metrics.h"

namespace parley::http {

class Dispatcher;

// One request in flight. Handlers receive it as shared_ptr and keep it alive in their callbacks.
class Call {
 public:
  const Request& request() const { return req_; }
  const std::string& request_id() const { return request_id_; }
  // A path placeholder, raw (ids need no decoding); "" when absent.
  std::string_view param(std::string_view name) const { return http::param(params_, name); }
  const Query& query() const { return query_; }
  // Set for routes that require authentication.
  const auth::AuthContext& auth() const { return *auth_; }
  const auth::Actor& actor() const { return auth_->actor; }
  bool cookie_auth() const { return cookie_auth_; }

  // The body as a JSON object (kInvalidJson otherwise). An empty body is an empty object when
  // `empty_ok` (routes whose every field is optional).
  core::Result<boost::json::object> json_body(bool empty_ok = false) const;

  // Replies; each finishes the call (common headers, metrics, log). Only the first counts.
  void reply_json(int status, const boost::json::object& body,
                  std::vector<std::pair<std::string, std::string>> extra_headers = {});
  void reply_empty(int status, std::vector<std::pair<std::string, std::string>> extra_headers = {});
  void reply(Response r);
  void fail(const core::Error& e);
  // A successful reply will carry a user's file: the download CSP (sandbox) and the route's own
  // Cache-Control (e.g. "private") instead of no-store.
  void mark_download() { download_ = true; }
  // Shorthand: fail when `r` holds an error; true if it did.
  template <class T>
  bool failed(const core::Result<T>& r) {
    if (r.ok()) return false;
    fail(r.error());
    return true;
  }

 private:
  friend class Dispatcher;
  struct RouteStats;
  Call() = default;

  Dispatcher* dispatcher_ = nullptr;
  Request req_;
  std::string request_id_;
  Params params_;
  Query query_;
  std::optional<auth::AuthContext> auth_;
  bool cookie_auth_ = false;
  bool web_page_ = false;   // static web client response: web CSP, its own caching
  bool download_ = false;   // mark_download()
  RouteStats* stats_ = nullptr;
  std::string_view route_;  // the pattern, for logs
  std::chrono::steady_clock::time_point start_;
  std::function<void(Response)> respond_;
  std::atomic<bool> done_{false};
};

class Dispatcher {
 public:
  using Handler = std::function<void(std::shared_ptr<Call>)>;
  using Authenticator =
      std::function<void(std::string token, store::Callback<auth::AuthContext> done)>;
  enum class Access { kPublic, kAuthenticated };

  struct Deps {
    Authenticator authenticate;
    ops::Registry& metrics;
  };
  Dispatcher(Deps deps, ops::HttpConfig config);
  ~Dispatcher();

  void add(std::string method, std::string pattern, Access access, Handler handler);
  void handle(Request req, std::function<void(Response)> respond);

  // For a request whose header has arrived and whose body has not been read (uploads, streamed
  // to disk): the route's credentials, CSRF and authentication checks, then `check` with the
  // authenticated call, all before any byte of the body is read. `check` either refuses (it
  // replies on the call: c->fail(...)) or calls `admit()`. `done` gets nullopt when admitted
  // (the body is then read and the request comes to handle() as usual) or the refusal, a
  // response counted and logged like any other. Unknown and public routes are admitted
  // (handle() answers them).
  using Check = std::function<void(std::shared_ptr<Call>, std::function<void()> admit)>;
  void admit(Request head, Check check, std::function<void(std::optional<Response>)> done);

 private:
  friend class Call;
  struct Route;
  void finish(Call& call, Response r);
  Call::RouteStats& stats_for(std::string_view pattern);
  std::string make_request_id();

  Deps deps_;
  ops::HttpConfig config_;
  Router router_;
  std::vector<std::unique_ptr<Route>> routes_;
  std::unique_ptr<Call::RouteStats> static_stats_;
  std::unique_ptr<Call::RouteStats> unmatched_stats_;
  std::unique_ptr<StaticFiles> static_files_;  // null when no web root
  ops::Counter& rate_limited_;
  std::string id_prefix_;
  std::atomic<std::uint64_t> id_counter_{0};
};

}  // namespace parley::http
